"""Per-stage frame time of the whole engine, headless, on a synthetic music-like source.

    python bench/frame_stages.py --frames 300 --size 256 [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def synthetic_music(rate: int, duration_s: float) -> np.ndarray:
    t = np.arange(int(rate * duration_s)) / rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.6, 329.6)) * 0.1
    beat = (np.mod(t, 0.5) < 0.05) * np.sin(2 * np.pi * 60 * t) * 0.6
    mono = (chord + beat).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    from vjgan.audio.sources import SyntheticSource
    from vjgan.clock import FrameClock
    from vjgan.control.presets import load_preset
    from vjgan.gan import load_runner
    from vjgan.gfx.display import open_output
    from vjgan.pipeline import ShowOptions, build_engine

    rate = 48000
    total = args.frames + args.warmup
    source = SyntheticSource(synthetic_music(rate, total / args.fps + 1.0), rate)
    runner = load_runner(None)
    output = open_output((args.size, args.size), headless=True)
    engine, chain = build_engine(source, runner, load_preset("default"), output.ctx,
                                 (args.size, args.size), ShowOptions(size=args.size))
    clock = FrameClock(args.fps)
    stages: dict[str, list[float]] = {}
    totals = []
    for i in range(total):
        t0 = time.perf_counter()
        result = engine.step(clock.tick())
        t1 = time.perf_counter()
        chain.read()
        t2 = time.perf_counter()
        if i < args.warmup:
            continue
        for name, ms in result.timings_ms.items():
            stages.setdefault(name, []).append(ms)
        stages.setdefault("readback", []).append((t2 - t1) * 1e3)
        totals.append((t2 - t0) * 1e3)
    output.close()

    import torch

    from bench.machine import cpu_name, git_commit

    report = {
        "device": cpu_name(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "commit": git_commit(),
        "size": args.size,
        "frames": args.frames,
        "stages_ms": {k: {"p50": float(np.median(v)), "p99": float(np.percentile(v, 99))}
                      for k, v in stages.items()},
        "frame_ms": {"p50": float(np.median(totals)), "p99": float(np.percentile(totals, 99))},
    }
    report["fps_p50"] = 1000.0 / report["frame_ms"]["p50"]
    for name, figures in report["stages_ms"].items():
        print(f"{name:>10}: p50 {figures['p50']:7.2f} ms   p99 {figures['p99']:7.2f} ms")
    print(f"{'frame':>10}: p50 {report['frame_ms']['p50']:7.2f} ms   p99 "
          f"{report['frame_ms']['p99']:7.2f} ms   ({report['fps_p50']:.1f} fps)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
