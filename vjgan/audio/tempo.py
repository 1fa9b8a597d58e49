"""Tempo and beat clock: aubio's beat tracker for the period and the first phase, a flywheel that
keeps the beat, and the onsets to keep it honest.

aubio 0.4.9's `tempo` ("default" method) has habits this module works around:

- it reports only some of the beats (measured: 5 to 16 of 18 on a plain click track, depending on its
  hop): the beats come from a flywheel that ticks at the current period;
- its period comes out ~0.6 hop short (its comb filter centres lag a*(i+1)-1 on index i), i.e.
  +0.7 % at hop 256 and +1.4 % at hop 512, so its own beats drift by ~5 ms a beat between its
  re-syncs (every ~2.7 s): the period is refined from the intervals between recent onsets that sit
  on whole numbers of aubio's period (median of interval / n), and once the tempo is known each
  onset near a beat of the grid pulls the grid's phase half-way toward it (a phase-locked loop).
  aubio's beats place the grid only while it is not confirmed;
- it reports a tempo in silence and in noise (121 BPM, 167 BPM...): the tempo counts as known only
  while at least `min_support` of the last `support_beats` beats of the grid, one of the last two
  among them, have an onset within `support_tolerance_s`. Otherwise bpm is 0, beat_phase 0 and no
  beat is reported — from the start until a few beats have been heard (~3 s: aubio's first estimate
  needs ~2.7 s), and again two beats after the music stops;
- once locked it clings to its period long after the music changed tempo (12 s for 120 -> 100 BPM):
  when its tempo has gone unconfirmed for `relock_after_s` while onsets keep coming, it is restarted.

Everything is in stream seconds; aubio sees frames of `hop` samples (a multiple of the block size).
"""

from __future__ import annotations

import math
from collections import deque

import aubio
import numpy as np

MIN_BPM = 40.0
MAX_BPM = 250.0
MAX_ONSETS = 64  # bounds the pairwise period refinement (~2,000 pairs, once per beat)


class TempoTracker:
    """Feed `frame()` every `hop` samples and `block()` once per analysis block (in stream order)."""

    def __init__(self, sample_rate: int, hop: int, window: int = 1024, method: str = "default", *,
                 support_beats: int = 8, min_support: int = 5, support_tolerance_s: float = 0.035,
                 lock_tolerance_s: float = 0.06, phase_gain: float = 0.5, history_s: float = 8.0,
                 relock_after_s: float = 4.0) -> None:
        self._make = lambda: aubio.tempo(method, window, hop, sample_rate)
        try:
            self._tempo = self._make()
        except RuntimeError as exc:
            raise ValueError(f"aubio cannot track tempo with method {method!r}, window {window}, "
                             f"hop {hop} — use method 'default' and a power-of-two window") from exc
        self.sample_rate = int(sample_rate)
        self.hop = int(hop)
        self._relock_after_s = relock_after_s
        self._unconfirmed_since_s: float | None = None  # aubio has a tempo the onsets do not confirm
        self._frames = 0
        self._support_beats = support_beats
        self._min_support = min_support
        self._tolerance_s = support_tolerance_s
        self._lock_tolerance_s = lock_tolerance_s
        self._phase_gain = phase_gain
        self._history_s = history_s
        self._onsets: deque[float] = deque()  # delay-compensated onset times, last history_s seconds
        self._aubio_period_s = 0.0  # aubio's own (biased) period; 0 while it has none
        self.period_s = 0.0  # refined period in use; 0 while unknown
        self._anchor_s: float | None = None  # time of the latest beat (reported or predicted)
        self._last_emit_s = -math.inf
        self._pending_beat_s: float | None = None  # aubio beat from the last frame, not yet applied
        self._offset_s = 0.0  # stream time at which the current aubio tracker started
        self.confident = False

    def frame(self, samples: np.ndarray) -> None:
        """One tempo frame: exactly `hop` float32 samples, the latest of the stream."""
        self._frames += 1
        offset_s = self._offset_s  # aubio's clock starts when it was (re)started
        if self._tempo(samples)[0] > 0.0:
            self._pending_beat_s = float(self._tempo.get_last_s()) + offset_s
        bpm = float(self._tempo.get_bpm())
        period_s = 60.0 / bpm if MIN_BPM <= bpm <= MAX_BPM else 0.0
        if period_s != self._aubio_period_s:
            self._aubio_period_s = period_s
            self._refine_period()
        self._check_relock(self._frames * self.hop / self.sample_rate)

    def _check_relock(self, t_s: float) -> None:
        """Restart aubio when its tempo has not been confirmed for relock_after_s of music with onsets."""
        if self.confident or self._aubio_period_s <= 0.0:
            self._unconfirmed_since_s = None
            return
        if self._unconfirmed_since_s is None:
            self._unconfirmed_since_s = t_s
        elif t_s - self._unconfirmed_since_s >= self._relock_after_s:
            recent = sum(1 for onset_s in self._onsets if onset_s > t_s - self._relock_after_s)
            self._unconfirmed_since_s = t_s
            if recent >= 4:
                self._tempo = self._make()
                self._offset_s = t_s
                self._aubio_period_s = self.period_s = 0.0
                self._pending_beat_s = None
                self._anchor_s = None

    def onset(self, onset_t_s: float) -> None:
        """A delay-compensated onset time (from the onset detector): kept for the period and the
        support check, and, near a beat of the grid, pulls the grid's phase toward it."""
        self._onsets.append(onset_t_s)
        while self._onsets and (self._onsets[0] < onset_t_s - self._history_s
                                or len(self._onsets) > MAX_ONSETS):
            self._onsets.popleft()
        period_s, anchor_s = self.period_s, self._anchor_s
        if anchor_s is not None and period_s > 0.0:
            error_s = onset_t_s - anchor_s
            error_s -= round(error_s / period_s) * period_s
            if abs(error_s) <= min(self._lock_tolerance_s, 0.12 * period_s):
                self._anchor_s = anchor_s + self._phase_gain * error_s

    def block(self, t_s: float) -> tuple[float, float, bool]:
        """(bpm, beat_phase, beat) for the block that ends at t_s."""
        period_s = self.period_s
        if period_s <= 0.0:
            self._pending_beat_s = None
            self._anchor_s = None
            self.confident = False
            return 0.0, 0.0, False
        beat = False
        if self._pending_beat_s is not None:
            beat_s = min(self._pending_beat_s, t_s)
            self._pending_beat_s = None
            # aubio places the grid until the onsets confirm it; then the onsets keep it in phase
            # (aubio's own beats drift by its period error between its re-syncs)
            if self._anchor_s is None or not self.confident:
                if beat_s - self._last_emit_s > 0.5 * period_s:
                    beat = self._emit(beat_s)
                self._anchor_s = beat_s
        anchor_s = self._anchor_s
        if not beat and anchor_s is not None and t_s >= anchor_s + period_s:  # the flywheel
            anchor_s += period_s
            self._anchor_s = anchor_s
            if anchor_s - self._last_emit_s > 0.5 * period_s:
                beat = self._emit(anchor_s)
        if not self.confident or self._anchor_s is None:
            return 0.0, 0.0, False
        # (the phase-locked loop may have moved the anchor a few ms past t_s: hold 0 until then)
        phase = (max(0.0, t_s - self._anchor_s) / period_s) % 1.0
        return 60.0 / period_s, phase, beat

    def _emit(self, beat_s: float) -> bool:
        self._last_emit_s = beat_s
        self._refine_period()
        self.confident = self._supported(beat_s)
        return self.confident

    def _supported(self, beat_s: float) -> bool:
        """Whether at least min_support of the support_beats grid beats before beat_s, one of the
        last two among them, had an onset near them (the tempo is dropped two beats after the
        music stops, and regained on the first beat the music is back)."""
        if not self._onsets:
            return False
        onsets = np.fromiter(self._onsets, dtype=np.float64, count=len(self._onsets))
        grid = beat_s - self.period_s * np.arange(1, self._support_beats + 1)
        hit = np.min(np.abs(grid[:, None] - onsets[None, :]), axis=1) <= self._tolerance_s
        return bool(hit[:2].any()) and int(np.count_nonzero(hit)) >= self._min_support

    def _refine_period(self) -> None:
        """Median of interval / n over recent onset pairs that sit on whole numbers n of aubio's period."""
        rough_s = self._aubio_period_s
        self.period_s = rough_s
        if rough_s <= 0.0 or len(self._onsets) < 3:
            return
        onsets = np.fromiter(self._onsets, dtype=np.float64, count=len(self._onsets))
        intervals = (onsets[None, :] - onsets[:, None])[np.triu_indices(onsets.size, 1)]
        n = np.round(intervals / rough_s)
        ok = (n >= 1.0) & (n <= 8.0)
        per_beat = intervals[ok] / n[ok]
        per_beat = per_beat[np.abs(per_beat / rough_s - 1.0) < 0.04]
        if per_beat.size >= 3:
            self.period_s = float(np.median(per_beat))
