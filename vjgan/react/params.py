"""Reaction parameters, named and defaulted as in Lucid Sonic Dreams, with per-second meaning."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class ReactParams:
    """Parameters of the latent reactor.

    The LSD names keep LSD's defaults; every gain and decay is defined per second (LSD's per-frame
    constants at its 43 fps rewritten), so the same value means the same at 24, 60 or 144 fps.
    """

    speed_fpm: float = 12.0  # base keyframes per minute (0 = a still base)
    pulse_react: float = 0.5  # pulse gain: a hit adds this much to every z dimension
    pulse_decay_s: float = 0.081  # pulse time constant (LSD's 0.75 per 43-fps frame)
    motion_react: float = 0.5  # motion speed: z units per second at full level is 20 x this
    motion_randomness: float = 0.5  # fraction of dimensions slowed, redrawn every 4 s
    truncation: float = 1.0  # LSD truncation: scales base keyframes and motion bounds (z space)
    psi: float = 1.0  # StyleGAN w-space truncation (1 = off)
    class_pitch_react: float = 0.5  # how fast pitch classes pull the class vector
    class_smooth_seconds: float = 1.0  # one-pole smoothing of the class vector
    class_complexity: float = 1.0  # scale of the class vector
    class_latent_react: float = 0.6  # unconditional models: pitch classes steer 12 latent directions

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
