"""When discrete reaction events happen: class shuffles, motion redraws, and their landing on beats.

Lucid Sonic Dreams fires a shuffle every `class_shuffle_seconds` (an int only; floats never fired)
or at listed times, and redraws the motion speeds every 4 s. Here both can wait for the next beat or
bar once a tempo is known (`sync = "beat" | "bar"`), so changes land on the music. Bars are counted
as 4 beats from the first beat heard (no downbeat detection). Without a tempo, or if the beats stop,
an event fires anyway after at most five beats, so nothing waits forever.
"""

from __future__ import annotations

import math
from typing import Iterable

from vjgan.audio.features import AudioFeatures
from vjgan.react.params import ReactParams

BEATS_PER_BAR = 4
MAX_WAIT_BEATS = BEATS_PER_BAR + 1  # a synced event fires by then even if no bar comes


class BeatCounter:
    """Counts the beats the analyser reports; tells a frame whether a beat or a bar start fell in it."""

    def __init__(self) -> None:
        self.beats = 0
        self.bpm = 0.0

    def feed(self, blocks: Iterable[AudioFeatures]) -> tuple[bool, bool]:
        beat = bar = False
        for block in blocks:
            self.bpm = block.bpm
            if block.beat:
                bar = bar or self.beats % BEATS_PER_BAR == 0
                self.beats += 1
                beat = True
        return beat, bar


class SyncedEvent:
    """An event that falls due at a time and fires then, or on the next beat/bar when synced."""

    def __init__(self) -> None:
        self.pending = False
        self._due_t_s = 0.0

    def make_due(self, t_s: float) -> None:
        if not self.pending:
            self.pending, self._due_t_s = True, t_s

    def fires(self, t_s: float, sync: str, bpm: float, beat: bool, bar: bool) -> bool:
        if not self.pending:
            return False
        waited_beats = (t_s - self._due_t_s) * bpm / 60.0
        if (sync == "off" or bpm <= 0 or (sync == "beat" and beat) or (sync == "bar" and bar)
                or waited_beats >= MAX_WAIT_BEATS):
            self.pending = False
            return True
        return False


class ShuffleSchedule:
    """How many shuffles fell due in (last frame, this frame]: periodic, or at listed times."""

    def __init__(self) -> None:
        self._last_t_s: float | None = None

    def due(self, t_s: float, p: ReactParams) -> int:
        last = self._last_t_s
        self._last_t_s = t_s
        times = p.shuffle_times()
        if times is not None:
            return sum(1 for s in times if (last is None or s > last) and s <= t_s)
        period = p.shuffle_period_s()
        if period is None or last is None:
            return 0
        return max(0, _count(t_s, period) - _count(last, period))


def _count(t_s: float, period_s: float) -> int:
    """Shuffle times period, 2 x period, ... that are <= t_s (float error absorbed)."""
    return int(math.floor(t_s / period_s + 1e-9))
