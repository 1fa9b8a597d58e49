"""Per-parameter smoothing in seconds: a one-pole follower, the same at any frame rate."""

from __future__ import annotations

from vjgan.audio.envelope import one_pole_coefficient


class Smoother:
    """Follows a target with time constant `time_constant_s` (63 % of a step in that time).

    It lands exactly on the target once within `snap` of it, so a settled value equals what was
    asked for (a fader at 0.5 gives 0.5, not 0.4999).
    """

    def __init__(self, value: float, time_constant_s: float, snap: float = 1e-4) -> None:
        self.value = float(value)
        self.target = float(value)
        self.time_constant_s = float(time_constant_s)
        self.snap = snap

    @property
    def settled(self) -> bool:
        return self.value == self.target

    def set_target(self, target: float) -> None:
        self.target = float(target)

    def jump(self, value: float) -> None:
        """Go straight to `value` (scene fades and presets that do their own smoothing)."""
        self.value = self.target = float(value)

    def step(self, dt_s: float) -> float:
        if self.value != self.target:
            self.value += one_pole_coefficient(max(0.0, dt_s), self.time_constant_s) * (
                self.target - self.value)
            if abs(self.target - self.value) <= self.snap:
                self.value = self.target
        return self.value
