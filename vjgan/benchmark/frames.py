"""The whole frame, flat out and at a target refresh: per-stage times, fps, missed frames.

- `run_frame_stages`: the show loop (engine step + present) as fast as it goes on simulated time, a
  synthetic music-like source: what one frame costs, stage by stage.
- `run_sustained`: the same loop for N seconds on the wall clock capped at the target fps, as a
  show runs: fps, frame-time (present to present) p50 / p99, and missed frames (a frame later than
  1.5 periods). `python -m vjgan.benchmark.frames CONFIG_JSON` runs it in a fresh process (the CPU
  contention study sets torch threads and OpenMP's environment there, before torch starts).
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vjgan.benchmark.stages import STAGE_ORDER, FrameLoop
from vjgan.benchmark.stats import summarize

MISSED_PERIODS = 1.5


@dataclass(frozen=True)
class FrameOptions:
    size: int = 256
    fps: float = 60.0
    model: str | None = None
    preset: str = "default"
    seed: int = 0
    threads: int | None = None  # torch intra-op threads (None: torch's default)
    window: bool = False  # present to a real window (flip, vsync when the driver has it), not headless


def synthetic_music(rate: int, duration_s: float) -> np.ndarray:
    """Three-note chord plus a 120 BPM thump, stereo float32."""
    t = np.arange(int(rate * duration_s)) / rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.6, 329.6)) * 0.1
    beat = (np.mod(t, 0.5) < 0.05) * np.sin(2 * np.pi * 60 * t) * 0.6
    mono = (chord + beat).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def _open(stack: ExitStack, opts: FrameOptions, duration_s: float) -> FrameLoop:
    from vjgan.audio.sources import SyntheticSource
    from vjgan.gfx.display import open_output
    from vjgan.pipeline import ShowOptions, build_engine, load_show_parts

    if opts.threads is not None:
        import torch

        torch.set_num_threads(opts.threads)
    show = ShowOptions(model=opts.model, size=opts.size, seed=opts.seed, preset=opts.preset, fps=opts.fps)
    preset, runner = load_show_parts(show)
    size = (opts.size, opts.size)
    output = open_output(size, headless=not opts.window)
    stack.callback(output.close)
    source = SyntheticSource(synthetic_music(48000, duration_s + 2.0), 48000)
    engine, chain = build_engine(source, runner, preset, output.ctx, size, show)
    stack.callback(chain.release)
    return FrameLoop(engine, chain, output)


def _stage_summary(loop: FrameLoop, skip: int) -> dict[str, Any]:
    records = loop.records[skip:]
    names = [s for s in STAGE_ORDER if any(s in r.stages_ms for r in records)]
    return {s: summarize(r.stages_ms[s] for r in records if s in r.stages_ms) for s in names}


def run_frame_stages(opts: FrameOptions, frames: int = 300, warmup: int = 10) -> dict[str, Any]:
    from vjgan.clock import FrameClock
    from vjgan.gfx.context import gl_description

    with ExitStack() as stack:
        loop = _open(stack, opts, (frames + warmup) / opts.fps)
        gl = gl_description(loop.output.ctx)
        clock = FrameClock(opts.fps)
        for _ in range(frames + warmup):
            loop.frame(clock.tick())
    records = loop.records[warmup:]
    whole_ms = [(r.present_ns - r.start_ns) / 1e6 for r in records]
    frame = summarize(whole_ms)
    return {"options": asdict(opts), "gl": gl, "frames": frames, "warmup_frames": warmup,
            "stages_ms": _stage_summary(loop, warmup), "frame_ms": frame,
            "fps_p50": 1000.0 / frame["p50_ms"] if frame["p50_ms"] else None}


def run_sustained(opts: FrameOptions, seconds: float, warmup_s: float = 1.0) -> dict[str, Any]:
    from vjgan.clock import WallClock

    with ExitStack() as stack:
        loop = _open(stack, opts, seconds + warmup_s)
        clock = WallClock(max_fps=opts.fps)
        clock.start()
        warm = 0
        while (t_s := clock.tick()) < warmup_s + seconds:
            loop.frame(t_s)
            if t_s < warmup_s:
                warm = len(loop.records)
    records = loop.records[warm:]
    present = np.array([r.present_ns for r in records], dtype=np.int64)
    intervals_ms = np.diff(present) / 1e6
    period_ms = 1000.0 / opts.fps
    elapsed_s = (present[-1] - present[0]) / 1e9 if present.size > 1 else 0.0
    import torch

    return {"options": asdict(opts), "seconds": seconds, "threads": torch.get_num_threads(),
            "frames": int(present.size), "fps": float((present.size - 1) / elapsed_s) if elapsed_s > 0 else None,
            "target_fps": opts.fps, "frame_interval": summarize(intervals_ms),
            "missed_frames": int(np.sum(intervals_ms > MISSED_PERIODS * period_ms)),
            "longest_stall_ms": float(intervals_ms.max()) if intervals_ms.size else None,
            "work_ms": summarize((r.present_ns - r.start_ns) / 1e6 for r in records),
            "stages_ms": _stage_summary(loop, warm)}


def main(argv: list[str] | None = None) -> None:
    """Child entry point for one sustained run: `python -m vjgan.benchmark.frames '{"seconds": 10, ...}'`;
    prints the result as one JSON line."""
    config = json.loads((argv if argv is not None else sys.argv)[1])
    seconds = float(config.pop("seconds"))
    started = time.perf_counter()
    result = run_sustained(FrameOptions(**config), seconds)
    result["wall_s"] = time.perf_counter() - started
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
