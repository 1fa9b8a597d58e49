"""MIDI clock -> tempo: 24 ticks per quarter note, start / stop / continue.

The tempo is measured over the last beat's worth of ticks (so the jitter of single ticks, which
arrive in batches of the MIDI driver's period, averages out) and then smoothed with a one-pole
time constant in seconds. A clock that stops ticking for `timeout_s` is no longer a tempo source,
and tempos outside `bpm_range` (a flood of clock bytes, a glitching device) are refused and counted.
"""

from __future__ import annotations

import collections
from typing import Iterable

from vjgan.audio.envelope import one_pole_coefficient

PPQN = 24  # MIDI clock ticks per quarter note


class ClockFollower:
    def __init__(self, smoothing_s: float = 0.5, window_ticks: int = PPQN, min_ticks: int = 6,
                 timeout_s: float = 0.5, bpm_range: tuple[float, float] = (20.0, 400.0)) -> None:
        self.smoothing_s = smoothing_s
        self.min_ticks = min_ticks
        self.timeout_s = timeout_s
        self.bpm_range = bpm_range
        self._times: collections.deque[float] = collections.deque(maxlen=window_ticks + 1)
        self._bpm: float | None = None
        self.running = False  # between start/continue and stop
        self.ticks_since_start = 0
        self.rejected = 0  # estimates outside bpm_range

    @property
    def bpm(self) -> float | None:
        """The smoothed tempo, or None while the clock is silent or not yet measured."""
        return self._bpm

    @property
    def beat_phase(self) -> float:
        """0..1 inside the current beat, counted from the last start (0 = on the beat)."""
        return (self.ticks_since_start % PPQN) / PPQN

    def transport(self, kind: str) -> None:
        """A "start", "stop" or "continue" message."""
        if kind == "start":
            self.running = True
            self.ticks_since_start = 0
            self._times.clear()
        elif kind == "continue":
            self.running = True
        elif kind == "stop":
            self.running = False

    def feed(self, tick_times_s: Iterable[float]) -> None:
        """Clock ticks, by arrival time (monotonic seconds), oldest first."""
        for t in tick_times_s:
            if self._times and t - self._times[-1] > self.timeout_s:
                self._times.clear()  # a gap: the clock stopped and started again
                self._bpm = None
            previous = self._times[-1] if self._times else None
            self._times.append(t)
            if self.running:
                self.ticks_since_start += 1
            if len(self._times) <= self.min_ticks:
                continue
            span_s = self._times[-1] - self._times[0]
            if span_s <= 0:
                self.rejected += 1
                continue
            raw = 60.0 * (len(self._times) - 1) / (PPQN * span_s)
            if not self.bpm_range[0] <= raw <= self.bpm_range[1]:
                self.rejected += 1
                continue
            if self._bpm is None:
                self._bpm = raw
            else:
                step_s = t - previous if previous is not None else 0.0
                self._bpm += one_pole_coefficient(step_s, self.smoothing_s) * (raw - self._bpm)

    def expire(self, now_s: float) -> None:
        """Forget the tempo when no tick came for `timeout_s` (call once per frame)."""
        if self._times and now_s - self._times[-1] > self.timeout_s:
            self._times.clear()
            self._bpm = None
