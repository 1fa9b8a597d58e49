"""Envelope followers and rolling normalisers with time constants in seconds (block size does not matter)."""

from __future__ import annotations

import math


def one_pole_coefficient(step_s: float, time_constant_s: float) -> float:
    """The per-step weight of a one-pole smoother: y += c * (x - y) reaches 63 % in time_constant_s."""
    if time_constant_s <= 0.0:
        return 1.0
    return 1.0 - math.exp(-step_s / time_constant_s)


class EnvelopeFollower:
    """Fast-attack slow-release one-pole follower: rises with attack_s, falls with release_s."""

    def __init__(self, step_s: float, attack_s: float, release_s: float) -> None:
        self._attack = one_pole_coefficient(step_s, attack_s)
        self._release = one_pole_coefficient(step_s, release_s)
        self.value = 0.0

    def __call__(self, x: float) -> float:
        env = self.value
        env += (self._attack if x > env else self._release) * (x - env)
        self.value = env
        return env


class LevelNormaliser:
    """Causal rolling normaliser: level = rms / envelope, envelope = fast-attack slow-release follower.

    The same music at -30 dBFS and at -6 dBFS gives the same levels once the envelope has settled;
    blocks below silence_rms give 0.
    """

    def __init__(self, block_s: float, attack_s: float, release_s: float, floor_rms: float,
                 silence_rms: float) -> None:
        self._envelope = EnvelopeFollower(block_s, attack_s, release_s)
        self._floor_rms = max(floor_rms, silence_rms, 1e-12)
        self._silence_rms = silence_rms

    @property
    def envelope_rms(self) -> float:
        return self._envelope.value

    def __call__(self, rms: float) -> float:
        env = self._envelope(rms)
        if rms < self._silence_rms:
            return 0.0
        return min(1.0, rms / max(env, self._floor_rms))
