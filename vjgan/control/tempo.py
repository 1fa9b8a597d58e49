"""One tempo for the show, from the best source that is alive: MIDI clock > tap tempo > audio.

Sources report BPM with `update(source, bpm, t_s)` (MIDI clock, the aubio beat tracker) or taps
with `tap(t_s)`. A source counts while it is fresh: MIDI clock for `midi_timeout_s` after its last
update, taps for `tap_hold_s` after the last tap, audio for `audio_timeout_s`. The beat counter is
continuous: when the BPM or the source changes the phase carries on from where it was, and a known
beat time (a tap, an audio beat, `beat_t_s`) pulls the phase onto the beat. Times are show seconds.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

SOURCES = ("midi", "tap", "audio")  # highest priority first
MIN_BPM, MAX_BPM = 20.0, 400.0
TAP_MIN_BPM, TAP_MAX_BPM = 30.0, 300.0
TAP_RESET_S = 60.0 / TAP_MIN_BPM  # a longer gap starts a new tap sequence
TAP_HISTORY = 8
BEATS_PER_BAR = 4


@dataclass
class _Reading:
    bpm: float = 0.0
    t_s: float = -math.inf


class Tempo:
    def __init__(self, midi_timeout_s: float = 2.0, tap_hold_s: float = 60.0,
                 audio_timeout_s: float = 4.0) -> None:
        self._timeouts = {"midi": midi_timeout_s, "tap": tap_hold_s, "audio": audio_timeout_s}
        self._readings = {s: _Reading() for s in SOURCES}
        self._taps: deque[float] = deque(maxlen=TAP_HISTORY)
        self._anchor_t_s = 0.0
        self._anchor_beats = 0.0
        self._bpm = 0.0
        self._source: str | None = None
        self.rejected = 0  # updates refused (unknown source, non-finite or absurd BPM)

    # -- input -------------------------------------------------------------------------------
    def update(self, source: str, bpm: float, t_s: float, beat_t_s: float | None = None) -> bool:
        """A BPM reading from `source` ("midi", "tap" or "audio") at show time t_s; `beat_t_s`
        optionally names a time that was on a beat. False (and counted) if refused."""
        if (source not in self._readings or not isinstance(bpm, (int, float))
                or not math.isfinite(bpm) or not MIN_BPM <= bpm <= MAX_BPM
                or not math.isfinite(t_s)):
            self.rejected += 1
            return False
        self._readings[source] = _Reading(float(bpm), t_s)
        self._refresh(t_s)
        if beat_t_s is not None and self._source == source:
            self._lock_phase(beat_t_s)
        return True

    def tap(self, t_s: float) -> float | None:
        """A tap on the beat. Returns the tapped BPM once two taps make one, else None."""
        if self._taps and not 0.0 < t_s - self._taps[-1] <= TAP_RESET_S:
            self._taps.clear()
        self._taps.append(t_s)
        if len(self._taps) < 2:
            return None
        taps = list(self._taps)
        intervals = sorted(b - a for a, b in zip(taps, taps[1:]))
        median = intervals[len(intervals) // 2]
        bpm = min(TAP_MAX_BPM, max(TAP_MIN_BPM, 60.0 / median))
        self.update("tap", bpm, t_s, beat_t_s=t_s)
        return bpm

    def clear(self, source: str) -> None:
        """Forget a source (MIDI clock stopped, tap tempo cleared)."""
        if source in self._readings:
            self._readings[source] = _Reading()
            if source == "tap":
                self._taps.clear()

    # -- output ------------------------------------------------------------------------------
    def bpm(self, t_s: float) -> float:
        """The current BPM (0 when no source is alive)."""
        self._refresh(t_s)
        return self._bpm

    def source(self, t_s: float) -> str | None:
        self._refresh(t_s)
        return self._source

    def beats(self, t_s: float) -> float:
        """Beats counted since the start (continuous; fractional part = beat phase)."""
        self._refresh(t_s)
        return self._anchor_beats + (t_s - self._anchor_t_s) * self._bpm / 60.0

    def beat_phase(self, t_s: float) -> float:
        """Where in the beat t_s falls: 0 on the beat, rising to 1."""
        return self.beats(t_s) % 1.0

    def next_beat_s(self, t_s: float, every: int = 1) -> float:
        """The time of the next beat (every=4: the next bar) at or after t_s; t_s without tempo."""
        bpm = self.bpm(t_s)
        if bpm <= 0:
            return t_s
        beats = self.beats(t_s)
        target = math.ceil(beats / every - 1e-9) * every
        return t_s + (target - beats) * 60.0 / bpm

    def beats_to_s(self, beats: float, t_s: float, fallback_bpm: float = 120.0) -> float:
        """How long `beats` beats last at the current tempo (at fallback_bpm when none is known)."""
        bpm = self.bpm(t_s) or fallback_bpm
        return beats * 60.0 / bpm

    def status(self, t_s: float) -> str:
        bpm = self.bpm(t_s)
        return f"{bpm:.1f} bpm ({self._source})" if bpm > 0 else "no tempo"

    # -- internals ---------------------------------------------------------------------------
    def _refresh(self, t_s: float) -> None:
        best: tuple[str, float] | None = None
        for s in SOURCES:
            r = self._readings[s]
            if r.bpm > 0 and t_s - r.t_s <= self._timeouts[s]:
                best = (s, r.bpm)
                break
        source, bpm = best if best else (None, 0.0)
        if bpm != self._bpm:
            # Keep the count continuous: re-anchor at t_s with the old rate before switching.
            self._anchor_beats += (t_s - self._anchor_t_s) * self._bpm / 60.0
            self._anchor_t_s = t_s
            self._bpm = bpm
        self._source = source

    def _lock_phase(self, beat_t_s: float) -> None:
        if self._bpm <= 0:
            return
        at = self._anchor_beats + (beat_t_s - self._anchor_t_s) * self._bpm / 60.0
        self._anchor_beats += round(at) - at
