"""The latent reactor: Lucid Sonic Dreams' pulse, motion, class and base drift, causal and per second.

Given the analysis blocks that arrived for a video frame (per role: pulse, motion, class) and the
frame's time, it returns the latent `z` (and class vector `c` for conditional models). The same
features and seed always give the same latents, at any frame rate the trajectory follows the same
curves in seconds, and live and offline render share this code.

Which part of a role's audio drives it follows LSD: `*_percussive` picks the hits, `*_harmonic` the
sustained part, both or neither the whole level; a role with its own stem (LSD's `pulse_audio`,
a `--stem` channel or file) follows that stem's whole level, as LSD ignored the flags for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, Union

import numpy as np

from vjgan.audio.envelope import one_pole_coefficient
from vjgan.audio.features import CHROMA_BINS, AudioFeatures
from vjgan.react.classes import ClassVector, class_input, slot_classes
from vjgan.react.params import ReactParams
from vjgan.react.timing import BeatCounter, ShuffleSchedule, SyncedEvent

REACTOR_ROLES = ("pulse", "motion", "class")
StemBlocks = Union[Mapping[str, Sequence[AudioFeatures]], Sequence[AudioFeatures]]

MOTION_RANDOM_PERIOD_S = 4.0  # LSD redraws the per-dimension motion speeds every 4 s
TRUNCNORM_BOUND = 2.0  # LSD draws keyframes from a normal truncated at +-2
PULSE_ATTACK_S = 0.01  # rise time of the pulse toward a hit
_UNSET = object()


@dataclass(frozen=True)
class Latents:
    """The reactor's output for one frame."""

    t_s: float
    z: np.ndarray  # (z_dim,) float32
    c: np.ndarray | None  # (c_dim,) float32 for conditional models
    pulse: float  # current pulse offset added to every z dimension
    percussive: float  # 0..1 hit envelope (drives pulse and flash)
    harmonic: float  # 0..1 sustained level (drives motion and contrast)
    class_vector: np.ndarray  # (12,) per class slot (slot j drives classes[j]), max = class_complexity
    motion_speed: float = 0.0  # RMS motion of z over this frame, z units per second per dimension
    class_shift: int = 0  # how far shuffles have rotated the pitch -> class map (0..11)
    shuffled: bool = False  # a class shuffle happened during this frame


def _truncnorm(rng: np.random.Generator, size: int, bound: float) -> np.ndarray:
    values = rng.standard_normal(size)
    bad = np.abs(values) > bound
    while bad.any():  # redraw out-of-range values: an exact truncated normal
        values[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(values) > bound
    return values


class LatentReactor:
    """Persistent latent state driven by audio features.

    `params` may be replaced between frames (live control); the state carries over.
    `own_stems` names the roles that listen to a stem of their own rather than the mix.
    """

    def __init__(self, z_dim: int, c_dim: int = 0, seed: int = 0, params: ReactParams | None = None,
                 own_stems: frozenset[str] | set[str] | tuple[str, ...] = ()) -> None:
        self.z_dim = z_dim
        self.c_dim = c_dim
        self.seed = seed
        self.params = params or ReactParams()
        self.own_stems = frozenset(own_stems)
        rng = np.random.default_rng([seed, 0])
        self._motion_sign = rng.choice([-1.0, 1.0], size=z_dim)
        self._motion = np.zeros(z_dim)
        # 12 fixed orthonormal directions: harmony moves unconditional models too.
        self._pitch_dirs = _pitch_directions(rng, z_dim) * np.sqrt(z_dim) / 4.0  # (12, z_dim)
        self._class_rng_seed = [seed, 3]
        self._slot_class: tuple[int, ...] = ()
        self._slot_class_from: object = _UNSET
        self.slot_classes  # noqa: B018 - checks `classes` against the model now, not on a show frame
        self._classes = ClassVector()
        self._pulse = 0.0
        self._percussive = 0.0
        self._harmonic = 0.0
        self._t_s = 0.0
        self._keyframes: dict[int, np.ndarray] = {}
        self._rand_period = 0
        self._rand_scale = self._draw_rand_scale(0)
        self._redraw = SyncedEvent()
        self._shuffle = SyncedEvent()
        self._schedule = ShuffleSchedule()
        self._beats = BeatCounter()
        # The base walk's position is anchored, so a live speed change or a scene's latent anchor
        # moves on from where the walk is (with a constant speed: position = t x speed / 60).
        self._walk_t0_s = 0.0
        self._walk_pos0 = 0.0
        self._walk_speed_fpm = self.params.speed_fpm
        self._fade_from: np.ndarray | None = None  # base vector a scene recall slerps away from
        self._fade_t0_s = 0.0
        self._fade_s = 0.0

    @property
    def bpm(self) -> float:
        """The audio tempo the analyser reports (0 until it locks)."""
        return self._beats.bpm

    @property
    def beat_count(self) -> int:
        """Beats heard so far (a change between frames means a beat fell in the last frame)."""
        return self._beats.beats

    @property
    def slot_classes(self) -> tuple[int, ...]:
        """The model class each of the 12 slots drives (empty for unconditional models)."""
        if self.params.classes != self._slot_class_from:  # first use, or classes changed live
            self._slot_class = slot_classes(self.params.classes, self.c_dim,
                                            np.random.default_rng(self._class_rng_seed))
            self._slot_class_from = self.params.classes
        return self._slot_class

    # -- base drift --------------------------------------------------------------------------
    def _keyframe(self, k: int) -> np.ndarray:
        if k not in self._keyframes:
            rng = np.random.default_rng([self.seed, 1, k])
            self._keyframes[k] = _truncnorm(rng, self.z_dim, TRUNCNORM_BOUND)
            for old in [key for key in self._keyframes if key < k - 2]:
                del self._keyframes[old]
        return self._keyframes[k]

    def base_position(self, t_s: float) -> float:
        """Where the base walk is at t_s, in keyframes (a scene's latent anchor)."""
        return self._walk_pos0 + (t_s - self._walk_t0_s) * self._walk_speed_fpm / 60.0

    def move_base(self, position: float, t_s: float, fade_s: float = 0.0) -> None:
        """Jump the base walk to `position` (keyframes), slerping there from the current base over
        fade_s seconds (a scene recall); the walk goes on from there at the current speed."""
        start = self.base(t_s)
        self._walk_pos0, self._walk_t0_s = float(position), t_s
        self._fade_from, self._fade_t0_s, self._fade_s = (start, t_s, fade_s) if fade_s > 0 else (None, t_s, 0.0)

    def _follow_speed(self, t_s: float) -> None:
        if self.params.speed_fpm != self._walk_speed_fpm:  # changed live: carry on from here
            self._walk_pos0 = self.base_position(t_s)
            self._walk_t0_s = t_s
            self._walk_speed_fpm = self.params.speed_fpm

    def base(self, t_s: float) -> np.ndarray:
        """Endless keyframe walk: a new keyframe every 60/speed_fpm s, slerped, never a static tail."""
        p = self.params
        pos = self.base_position(t_s)
        k = int(np.floor(pos))
        if self._walk_speed_fpm <= 0 and pos == k:  # a still base sits exactly on a keyframe
            walk = p.truncation * self._keyframe(k)
        else:
            a, b, u = self._keyframe(k), self._keyframe(k + 1), pos - k
            walk = p.truncation * _slerp(a, b, u)
        if self._fade_from is not None:
            u = (t_s - self._fade_t0_s) / self._fade_s
            if u >= 1.0:
                self._fade_from = None
            elif u > 0.0:
                return _slerp(self._fade_from, walk, _smoothstep(u))
            else:
                return self._fade_from
        return walk

    # -- one frame ---------------------------------------------------------------------------
    def step(self, stems: StemBlocks, t_s: float, dt_s: float) -> Latents:
        """Advance by every analysis block that arrived for this frame, then build the frame's z.

        `stems` maps each role ("pulse", "motion", "class"; optionally "mix" for the beats) to the
        blocks of the audio that drives it (the same list for all roles when everything listens to
        the mix). A plain sequence of blocks drives every role. The fast signals advance per audio
        block, on the audio's own time base, so the result does not depend on the frame rate; the
        frame only samples them. A role with no blocks (audio stalled or ended) decays over dt_s.
        """
        p = self.params
        self._t_s = t_s
        self._follow_speed(t_s)
        silence = (AudioFeatures.silent(t_s, max(0.0, dt_s)),)
        by_role = stems if isinstance(stems, Mapping) else {role: stems for role in REACTOR_ROLES}
        beat, bar = self._beats.feed(by_role.get("mix") or by_role.get("class") or ())
        bpm = self._beats.bpm

        for block in by_role.get("pulse") or silence:
            self._advance_pulse(block)
        level_integral_s = 0.0
        for block in by_role.get("motion") or silence:
            level = self.signal(block, "motion")
            level_integral_s += max(0.0, block.duration_s) * level
            self._harmonic = level
        period = int(np.floor(t_s / MOTION_RANDOM_PERIOD_S))
        if period != self._rand_period:
            self._rand_period = period
            self._redraw.make_due(t_s)
        if self._redraw.fires(t_s, p.sync, bpm, beat, bar):
            self._rand_scale = self._draw_rand_scale(self._rand_period)
        before = self._motion.copy()
        self._advance_motion(level_integral_s)
        motion_speed = (float(np.sqrt(np.mean((self._motion - before) ** 2))) / dt_s
                        if dt_s > 0 else 0.0)

        due = self._schedule.due(t_s, p)
        if due:
            self._shuffle.make_due(t_s)
            if p.sync == "off" or bpm <= 0:  # several due in one frame: each one counts
                for _ in range(due - 1):
                    self._classes.shuffle(p.class_shuffle_strength)
        shuffled = self._shuffle.fires(t_s, p.sync, bpm, beat, bar)
        if shuffled:
            self._classes.shuffle(p.class_shuffle_strength)
        for block in by_role.get("class") or silence:
            self._classes.advance(np.asarray(block.chroma, dtype=float), max(0.0, block.duration_s), p)

        z = self.base(t_s) + self._motion + self._pulse
        class_vector = self._classes.vector(p.class_complexity)
        c = None
        if self.c_dim > 0:
            c = class_input(class_vector, self.slot_classes, self.c_dim, p.class_complexity)
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
            motion_speed=motion_speed,
            class_shift=self._classes.shift,
            shuffled=shuffled,
        )

    def signal(self, block: AudioFeatures, role: str) -> float:
        """The 0..1 level that drives `role` ("pulse" or "motion") in this block."""
        p = self.params
        percussive, harmonic = ((p.pulse_percussive, p.pulse_harmonic) if role == "pulse"
                                else (p.motion_percussive, p.motion_harmonic))
        if role in self.own_stems or percussive == harmonic:
            return block.level
        return block.percussive if percussive else block.harmonic

    def _advance_pulse(self, block: AudioFeatures) -> None:
        p = self.params
        dt_s = max(0.0, block.duration_s)
        level = self.signal(block, "pulse")
        self._percussive = level
        # Pulse: one-pole toward pulse_react * level (LSD: 0.75 per 43-fps frame), with a fast
        # attack so a hit shows on the next frame instead of a frame or two late.
        target = p.pulse_react * level
        rate = PULSE_ATTACK_S if target > self._pulse else p.pulse_decay_s
        self._pulse += one_pole_coefficient(dt_s, rate) * (target - self._pulse)

    def _draw_rand_scale(self, period: int) -> np.ndarray:
        """LSD's per-dimension speed factors: 1 or 1 - motion_randomness, redrawn every 4 s."""
        rng = np.random.default_rng([self.seed, 2, period])
        slow = rng.random(self.z_dim) < 0.5
        return np.where(slow, 1.0 - self.params.motion_randomness, 1.0)

    def _advance_motion(self, level_integral_s: float) -> None:
        p = self.params
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


def _pitch_directions(rng: np.random.Generator, z_dim: int) -> np.ndarray:
    """12 orthonormal directions in z (unit random ones when z has fewer than 12 dimensions)."""
    if z_dim >= CHROMA_BINS:
        q, _ = np.linalg.qr(rng.standard_normal((z_dim, CHROMA_BINS)))
        return q.T
    dirs = rng.standard_normal((CHROMA_BINS, z_dim))
    return dirs / np.linalg.norm(dirs, axis=1, keepdims=True)


def _smoothstep(u: float) -> float:
    return u * u * (3.0 - 2.0 * u)


def _slerp(a: np.ndarray, b: np.ndarray, u: float) -> np.ndarray:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = float(np.dot(a, b) / max(na * nb, 1e-12))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-4:
        return (1.0 - u) * a + u * b
    direction = (np.sin((1.0 - u) * omega) * a / na + np.sin(u * omega) * b / nb) / np.sin(omega)
    return direction * ((1.0 - u) * na + u * nb)
