"""Audio-to-frame latency from timestamps: pair each click with the frame that shows it.

Pure functions over recorded data (the live run is `vjgan.benchmark.latency_run`):

- `click_starts` finds where each click begins in the captured audio (stream sample index);
- `arrival_ns` looks up when the capture block holding a sample landed in the parent's ring;
- `match_clicks` finds, for each click, the first frame that read it (F0) and the first frame from F0
  on that reacted to it (F, by `hit`: flash amplitude or onset), then splits click arrival -> F
  handed to the display into contiguous stages:

  capture    arrival -> F0 starts reading the ring (the samples wait for the next frame)
  onset      -> F's analysis ends (the analysis needs more samples than the click's block: the
             frames in between, plus F's own analysis time)
  react, generator, upload, effects, present: F's own stages
  other      the rest (loop overhead between stages), so the stages add up to the latency exactly
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from vjgan.benchmark.stages import FrameRecord
from vjgan.benchmark.stats import summarize

LATENCY_STAGES = ("capture", "onset", "react", "generator", "upload", "effects", "present", "other")


@dataclass(frozen=True)
class ClickMatch:
    click: int  # index in the click list
    sample: int  # stream sample where the click starts
    arrival_ns: int  # when its block landed in the parent
    first_frame: int  # F0: the first frame that read the click's samples
    frame: int  # F: the frame that shows it
    latency_ms: float  # arrival -> F handed to the display
    stages_ms: Mapping[str, float]  # LATENCY_STAGES, summing to latency_ms
    luma_rise: float | None  # F's output luma minus the frame before, when that one did not react


def click_starts(mono: np.ndarray, threshold: float = 0.05, quiet_s: float = 0.1,
                 sample_rate: int = 48000) -> np.ndarray:
    """Stream sample indices where |signal| first reaches `threshold` after `quiet_s` below it."""
    above = np.flatnonzero(np.abs(np.asarray(mono)) >= threshold)
    if above.size == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.diff(above) > int(quiet_s * sample_rate)
    return np.concatenate([above[:1], above[1:][new]]).astype(np.int64)


def arrival_ns(samples: np.ndarray, block_ends: np.ndarray, block_ns: np.ndarray) -> np.ndarray:
    """For each stream sample index, the arrival time of the block holding it: the first block whose
    end (exclusive frame count) is past the sample. -1 where no stamp covers the sample."""
    ends = np.asarray(block_ends, dtype=np.int64)
    idx = np.searchsorted(ends, np.asarray(samples, dtype=np.int64), side="right")
    out = np.full(idx.shape, -1, dtype=np.int64)
    ok = idx < ends.size
    out[ok] = np.asarray(block_ns, dtype=np.int64)[idx[ok]]
    return out


def flash_hit(threshold: float = 0.5) -> Callable[[FrameRecord], bool]:
    """A frame shows a flash when the flash effect's amplitude reaches `threshold`."""
    return lambda record: record.flash_amp >= threshold


def onset_hit(record: FrameRecord) -> bool:
    return record.onset


def _breakdown(arrival: int, first: FrameRecord, shown: FrameRecord) -> dict[str, float]:
    total_ms = (shown.present_ns - arrival) / 1e6
    read_ns = max(first.start_ns, arrival)
    s = shown.stages_ms
    stages = {"capture": (read_ns - arrival) / 1e6, "onset": (shown.audio_end_ns - read_ns) / 1e6,
              "react": s.get("react", 0.0), "generator": s.get("generator", 0.0) + s.get("filters", 0.0),
              "upload": s.get("upload", 0.0), "effects": s.get("effects", 0.0), "present": s.get("present", 0.0)}
    stages["other"] = total_ms - sum(stages.values())
    return stages


def match_clicks(clicks: Sequence[int], arrivals: Sequence[int], frames: Sequence[FrameRecord],
                 hit: Callable[[FrameRecord], bool], max_latency_ms: float = 500.0) -> list[ClickMatch]:
    """Pair each click with the frame showing it (see the module doc). A click is left out when no
    stamp covers it, no frame read it, or no frame reacted before the next click was read or within
    `max_latency_ms`."""
    if not frames:
        return []
    ends = np.array([f.samples_end for f in frames], dtype=np.int64)
    firsts = np.searchsorted(ends, np.asarray(clicks, dtype=np.int64), side="right")
    matches = []
    for k, (sample, arrival, f0) in enumerate(zip(clicks, arrivals, firsts)):
        if arrival < 0 or f0 >= len(frames):
            continue
        stop = firsts[k + 1] if k + 1 < len(firsts) else len(frames)
        deadline_ns = arrival + max_latency_ms * 1e6
        for j in range(int(f0), int(max(stop, f0 + 1))):
            if j >= len(frames) or frames[j].present_ns > deadline_ns:
                break
            if hit(frames[j]):
                shown = frames[j]
                stages = _breakdown(int(arrival), frames[int(f0)], shown)
                # the flash check needs a frame before it that did not react (at a low frame rate the
                # previous click's flash may still be on): else it is left unchecked
                before = frames[j - 1] if j > 0 and not hit(frames[j - 1]) else None
                rise = None
                if shown.luma is not None and before is not None and before.luma is not None:
                    rise = shown.luma - before.luma
                matches.append(ClickMatch(k, int(sample), int(arrival), int(f0), j,
                                          (shown.present_ns - arrival) / 1e6, stages, rise))
                break
    return matches


def summarize_matches(matches: Sequence[ClickMatch], clicks: int, luma_min_rise: float = 0.01) -> dict:
    """Latency percentiles, per-stage figures (mean: they add up to the mean latency) and the luma check."""
    rises = [m.luma_rise for m in matches if m.luma_rise is not None]
    return {
        "clicks": int(clicks), "matched": len(matches), "missed": int(clicks) - len(matches),
        "latency": summarize(m.latency_ms for m in matches),
        "stages_mean_ms": {s: float(np.mean([m.stages_ms[s] for m in matches])) if matches else None
                           for s in LATENCY_STAGES},
        "stages": {s: summarize(m.stages_ms[s] for m in matches) for s in LATENCY_STAGES},
        "frames_after_first_read": summarize((m.frame - m.first_frame for m in matches), unit="frames"),
        "luma_checked": len(rises),
        "luma_verified": int(sum(r >= luma_min_rise for r in rises)),
        "luma_rise_median": float(np.median(rises)) if rises else None,
    }


def pair_schedule(found: np.ndarray, scheduled: np.ndarray, window: int) -> list[tuple[int, int, int]]:
    """Pairs (found index, scheduled index, shift) of captured and scheduled clicks, in order: each
    found click goes with the scheduled click nearest to it under the previous pair's offset (the
    player's stream and the capture's start at different times), within `window` samples. `shift` is
    how far the offset moved since the previous pair: samples lost (or repeated) on the way between
    the two clicks, 0 when the spacing arrived intact."""
    found = np.asarray(found, dtype=np.int64)
    scheduled = np.asarray(scheduled, dtype=np.int64)
    best: list[tuple[int, int, int]] = []
    for anchor in range(min(3, scheduled.size)):  # the first click may be lost while ports connect
        if found.size == 0:
            break
        offset = int(found[0] - scheduled[anchor])
        pairs: list[tuple[int, int, int]] = []
        for i, s in enumerate(found):
            j = int(np.argmin(np.abs(scheduled + offset - s)))
            if abs(int(scheduled[j]) + offset - int(s)) <= window and (not pairs or j > pairs[-1][1]):
                shift = int(s - scheduled[j]) - offset
                pairs.append((i, j, shift if pairs else 0))
                offset += shift
        if len(pairs) > len(best):
            best = pairs
    return best
