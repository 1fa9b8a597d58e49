"""The latent reactor: Lucid Sonic Dreams' pulse, motion, class and base drift, causal and per second.

Given the analysis blocks that arrived for a video frame (per role: pulse, motion, class) and the
frame's time, it returns the latent `z` (and class vector `c` for conditional models). The same features and seed always give the same
latents, at any frame rate the trajectory follows the same curves in seconds, and live and offline
render share this code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import numpy as np

from vjgan.audio.envelope import one_pole_coefficient
from vjgan.audio.features import CHROMA_BINS, AudioFeatures
from vjgan.react.params import ReactParams

REACTOR_ROLES = ("pulse", "motion", "class")
StemBlocks = Union[Mapping[str, Sequence[AudioFeatures]], Sequence[AudioFeatures]]

LSD_FPS = 43.07  # the frame rate LSD's per-frame constants were tuned at
MOTION_RANDOM_PERIOD_S = 4.0  # LSD redraws the per-dimension motion speeds every 4 s
TRUNCNORM_BOUND = 2.0  # LSD draws keyframes from a normal truncated at +-2
PULSE_ATTACK_S = 0.01  # rise time of the pulse toward a hit


@dataclass(frozen=True)
class Latents:
    """The reactor's output for one frame."""

    t_s: float
    z: np.ndarray  # (z_dim,) float32
    c: np.ndarray | None  # (c_dim,) float32 for conditional models
    pulse: float  # current pulse offset added to every z dimension
    percussive: float  # 0..1 hit envelope (drives pulse and flash)
    harmonic: float  # 0..1 sustained level (drives motion and contrast)
    class_vector: np.ndarray  # (12,) per pitch class, max = class_complexity


def _truncnorm(rng: np.random.Generator, size: int, bound: float) -> np.ndarray:
    values = rng.standard_normal(size)
    bad = np.abs(values) > bound
    while bad.any():  # redraw out-of-range values: an exact truncated normal
        values[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(values) > bound
    return values


class LatentReactor:
    """Persistent latent state driven by audio features."""

    def __init__(self, z_dim: int, c_dim: int = 0, seed: int = 0, params: ReactParams | None = None,
                 classes: tuple[int, ...] | None = None) -> None:
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.seed = seed
        self.params = params or ReactParams()
        rng = np.random.default_rng([seed, 0])
        self._motion_sign = rng.choice([-1.0, 1.0], size=z_dim)
        self._motion = np.zeros(z_dim)
        # 12 fixed orthonormal directions: harmony moves unconditional models too.
        q, _ = np.linalg.qr(rng.standard_normal((z_dim, CHROMA_BINS)))
        self._pitch_dirs = q.T * np.sqrt(z_dim) / 4.0  # (12, z_dim), comparable to a z component
        if c_dim > 0:
            picked = classes if classes is not None else tuple(rng.choice(c_dim, CHROMA_BINS))
            self._classes = tuple(int(k) % c_dim for k in picked)
        else:
            self._classes = ()
        self._class_raw = np.zeros(CHROMA_BINS)
        self._class_smooth = np.zeros(CHROMA_BINS)
        self._pulse = 0.0
        self._percussive = 0.0
        self._harmonic = 0.0
        self._t_s = 0.0
        self._keyframes: dict[int, np.ndarray] = {}
        self._rand_period = -1
        self._rand_scale = np.ones(z_dim)

    # -- base drift --------------------------------------------------------------------------
    def _keyframe(self, k: int) -> np.ndarray:
        if k not in self._keyframes:
            rng = np.random.default_rng([self.seed, 1, k])
            self._keyframes[k] = _truncnorm(rng, self.z_dim, TRUNCNORM_BOUND)
            for old in [key for key in self._keyframes if key < k - 2]:
                del self._keyframes[old]
        return self._keyframes[k]

    def base(self, t_s: float) -> np.ndarray:
        """Endless keyframe walk: a new keyframe every 60/speed_fpm s, slerped, never a static tail."""
        p = self.params
        if p.speed_fpm <= 0:
            return p.truncation * self._keyframe(0)
        pos = t_s * p.speed_fpm / 60.0
        k = int(np.floor(pos))
        a, b, u = self._keyframe(k), self._keyframe(k + 1), pos - k
        return p.truncation * _slerp(a, b, u)

    # -- one frame ---------------------------------------------------------------------------
    def step(self, stems: StemBlocks, t_s: float, dt_s: float) -> Latents:
        """Advance by every analysis block that arrived for this frame, then build the frame's z.

        `stems` maps each role ("pulse", "motion", "class") to the blocks of the audio that drives
        it (Lucid Sonic Dreams' pulse_audio / motion_audio / class_audio; the same list for all
        roles when everything listens to the mix). A plain sequence of blocks drives every role.
        The fast signals advance per audio block, on the audio's own time base, so the result does
        not depend on the frame rate; the frame only samples them. A role with no blocks (audio
        stalled or ended) decays over dt_s.
        """
        p = self.params
        self._t_s = t_s
        silence = (AudioFeatures.silent(t_s, max(0.0, dt_s)),)
        by_role = stems if isinstance(stems, Mapping) else {role: stems for role in REACTOR_ROLES}
        for block in by_role.get("pulse") or silence:
            self._advance_pulse(block)
        level_integral_s = 0.0
        for block in by_role.get("motion") or silence:
            level_integral_s += max(0.0, block.duration_s) * block.harmonic
            self._harmonic = block.harmonic
        self._advance_motion(level_integral_s)
        for block in by_role.get("class") or silence:
            self._advance_class(block)

        z = self.base(t_s) + self._motion + self._pulse
        class_vector = self._class_smooth * p.class_complexity
        c = None
        if self.c_dim > 0:
            c = np.zeros(self.c_dim)
            for pitch, cls in enumerate(self._classes):
                c[cls] += class_vector[pitch]
        else:
            z = z + p.class_latent_react * (class_vector @ self._pitch_dirs)
        return Latents(
            t_s=t_s,
            z=z.astype(np.float32),
            c=None if c is None else c.astype(np.float32),
            pulse=float(self._pulse),
            percussive=float(self._percussive),
            harmonic=float(self._harmonic),
            class_vector=class_vector.astype(np.float32),
        )

    def _advance_pulse(self, block: AudioFeatures) -> None:
        p = self.params
        dt_s = max(0.0, block.duration_s)
        self._percussive = block.percussive
        # Pulse: one-pole toward pulse_react * percussive (LSD: 0.75 per 43-fps frame), with a fast
        # attack so a hit shows on the next frame instead of a frame or two late.
        target = p.pulse_react * block.percussive
        rate = PULSE_ATTACK_S if target > self._pulse else p.pulse_decay_s
        self._pulse += one_pole_coefficient(dt_s, rate) * (target - self._pulse)

    def _advance_class(self, block: AudioFeatures) -> None:
        """LSD's class integrator (add, then divide by the max), then one-pole smoothing."""
        p = self.params
        dt_s = max(0.0, block.duration_s)
        if any(block.chroma):
            self._class_raw = self._class_raw + p.class_pitch_react * LSD_FPS * dt_s * np.asarray(block.chroma)
            self._class_raw = self._class_raw / self._class_raw.max()
        weight = one_pole_coefficient(dt_s, p.class_smooth_seconds)
        self._class_smooth = self._class_smooth + weight * (self._class_raw - self._class_smooth)

    def _advance_motion(self, level_integral_s: float) -> None:
        p = self.params
        period = int(np.floor(self._t_s / MOTION_RANDOM_PERIOD_S))
        if period != self._rand_period:
            rng = np.random.default_rng([self.seed, 2, period])
            slow = rng.random(self.z_dim) < 0.5
            self._rand_scale = np.where(slow, 1.0 - p.motion_randomness, 1.0)
            self._rand_period = period
        step = p.motion_react * 20.0 * level_integral_s * self._motion_sign * self._rand_scale
        # Turn back at +-(2 truncation - motion_react), LSD's bounds, by reflecting the overshoot:
        # the continuous-time bounce, so where z turns does not depend on the frame rate.
        base = self.base(self._t_s)
        limit = max(2.0 * p.truncation - p.motion_react, 1e-3)
        z = np.clip(base + self._motion, -limit, limit) + step
        over, under = z > limit, z < -limit
        z = np.where(over, 2.0 * limit - z, np.where(under, -2.0 * limit - z, z))
        self._motion_sign = np.where(over, -1.0, np.where(under, 1.0, self._motion_sign))
        self._motion = z - base


def _slerp(a: np.ndarray, b: np.ndarray, u: float) -> np.ndarray:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = float(np.dot(a, b) / max(na * nb, 1e-12))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-4:
        return (1.0 - u) * a + u * b
    direction = (np.sin((1.0 - u) * omega) * a / na + np.sin(u * omega) * b / nb) / np.sin(omega)
    return direction * ((1.0 - u) * na + u * nb)
