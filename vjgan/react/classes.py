"""The class vector: pitch classes pull 12 class slots; slot j drives the model's classes[j].

Lucid Sonic Dreams' class integrator (add the chroma scaled per second, divide by the max), made
causal: the dominance ranking behind `dominant_classes_first` is a running one, smoothing is a
one-pole in seconds instead of a look-ahead window mean, and a shuffle rotates which slot a pitch
feeds (LSD rotated its class list; the effect is the same). Integration and smoothing happen in slot
space, so a shuffle or a re-ranking cross-fades over class_smooth_seconds instead of jumping.
"""

from __future__ import annotations

import math

import numpy as np

from vjgan.audio.envelope import one_pole_coefficient
from vjgan.react.params import CLASS_SLOTS, ParamError, ReactParams

LSD_FPS = 43.07  # the frame rate LSD's per-frame class gain was tuned at
RANK_HYSTERESIS = 0.05  # a pitch must beat the one ranked above it by 5 % to take its place


class PitchRanking:
    """Running dominance of the 12 pitch classes: a leaky sum of each block's share of the chroma.

    LSD sorts pitches by their share summed over the whole song; this is the same sum with a memory
    of `memory_s` seconds, so it follows a key change. Hysteresis keeps two nearly equal pitches
    from swapping classes back and forth.
    """

    def __init__(self) -> None:
        self.energy = np.zeros(CLASS_SLOTS)
        self.order = np.arange(CLASS_SLOTS)  # order[r] = the pitch at rank r (0 = most dominant)

    def update(self, chroma: np.ndarray, dt_s: float, memory_s: float) -> None:
        total = float(chroma.sum())
        self.energy *= math.exp(-dt_s / memory_s)
        if total > 0:
            self.energy += chroma / total * dt_s
        swapped = True
        while swapped:  # bubble pass: only a clear winner moves up, one place at a time
            swapped = False
            for r in range(CLASS_SLOTS - 1):
                above, below = self.order[r], self.order[r + 1]
                if self.energy[below] > self.energy[above] * (1.0 + RANK_HYSTERESIS) + 1e-12:
                    self.order[r], self.order[r + 1] = below, above
                    swapped = True

    def rank_of_pitch(self) -> np.ndarray:
        rank = np.empty(CLASS_SLOTS, dtype=int)
        rank[self.order] = np.arange(CLASS_SLOTS)
        return rank


class ClassVector:
    """The 12-slot class state; `vector()` is normalised so its max equals class_complexity."""

    def __init__(self) -> None:
        self.ranking = PitchRanking()
        self.shift = 0  # total rotation from shuffles, 0..11
        self._raw = np.zeros(CLASS_SLOTS)
        self._smooth = np.zeros(CLASS_SLOTS)

    def slot_of_pitch(self, dominant_first: bool) -> np.ndarray:
        rank = self.ranking.rank_of_pitch() if dominant_first else np.arange(CLASS_SLOTS)
        return (rank + self.shift) % CLASS_SLOTS

    def shuffle(self, strength: float) -> None:
        self.shift = (self.shift + round(strength * CLASS_SLOTS)) % CLASS_SLOTS

    def advance(self, chroma: np.ndarray, dt_s: float, p: ReactParams) -> None:
        if p.dominant_classes_first:
            self.ranking.update(chroma, dt_s, p.class_dominance_seconds)
        if chroma.any():
            mapped = np.zeros(CLASS_SLOTS)
            mapped[self.slot_of_pitch(p.dominant_classes_first)] = chroma
            raw = self._raw + p.class_pitch_react * LSD_FPS * dt_s * mapped
            peak = raw.max()
            if peak > 0:  # dt_s = 0 (a show's first frame) adds nothing: 0/0 would poison it
                self._raw = raw / peak
        weight = one_pole_coefficient(dt_s, p.class_smooth_seconds)
        self._smooth = self._smooth + weight * (self._raw - self._smooth)

    def vector(self, complexity: float) -> np.ndarray:
        peak = self._smooth.max()
        if peak <= 0:
            return np.zeros(CLASS_SLOTS)
        return self._smooth / peak * complexity


def slot_classes(classes: tuple[int, ...] | None, c_dim: int, rng: np.random.Generator) -> tuple[int, ...]:
    """The model class each of the 12 slots drives.

    Fewer than 12 classes repeat (slot j -> classes[j % n]), so every pitch is heard (LSD dropped the
    pitches beyond the list); more than 12: the first 12 are used, as in LSD. None: 12 distinct
    random classes (fewer if the model has fewer), seeded.
    """
    if c_dim <= 0:
        return ()
    if classes is None:
        classes = tuple(int(k) for k in rng.choice(c_dim, size=min(CLASS_SLOTS, c_dim), replace=False))
    bad = [k for k in classes if k >= c_dim]
    if bad:
        raise ParamError("classes", f"holds class id {bad[0]}, but this model has {c_dim} classes "
                         f"(ids 0..{c_dim - 1}) — pick ids below {c_dim}")
    return tuple(classes[j % len(classes)] for j in range(CLASS_SLOTS))


def class_input(slots: np.ndarray, slot_class: tuple[int, ...], c_dim: int, complexity: float) -> np.ndarray:
    """The model's class vector c: each slot's weight added to its class, max = class_complexity."""
    c = np.zeros(c_dim)
    for weight, cls in zip(slots, slot_class):
        c[cls] += weight
    peak = c.max()
    return c / peak * complexity if peak > 0 else c
