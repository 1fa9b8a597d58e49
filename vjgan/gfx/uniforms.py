"""The shared shader uniform contract, as one frozen record per frame."""

from __future__ import annotations

from dataclasses import dataclass

_ZERO12 = (0.0,) * 12


@dataclass(frozen=True)
class FrameUniforms:
    """Everything a shader may read for one frame. Every field maps to a `u_<name>` uniform.

    `contrast_amp` / `flash_amp` are the 0..1 amplitudes of the contrast and flash stems
    (Lucid Sonic Dreams' normalised effect audio). Effect strengths live in each effect's spec.
    """

    time_s: float = 0.0
    frame: int = 0
    level: float = 0.0
    onset: float = 0.0
    pulse: float = 0.0
    low: float = 0.0
    mid: float = 0.0
    high: float = 0.0
    percussive: float = 0.0
    harmonic: float = 0.0
    chroma: tuple[float, ...] = _ZERO12
    bpm: float = 0.0
    beat_phase: float = 0.0
    contrast_amp: float = 0.0
    flash_amp: float = 0.0
