"""Per-stage frame time of the whole show loop, headless, on a synthetic music-like source.

    python bench/frame_stages.py --frames 300 --size 256 [--json OUT.json]

The measuring code is `vjgan.benchmark.frames.run_frame_stages` (also `vjgan bench --frame`): engine
step (audio, react, generator, effects with the texture upload split out) and present (GL finish),
on simulated time as fast as it goes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vjgan.benchmark.frames import FrameOptions, run_frame_stages  # noqa: E402
from vjgan.benchmark.machine import describe  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--fps", type=float, default=30.0, help="simulated frame rate of the audio")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    result = run_frame_stages(FrameOptions(size=args.size, fps=args.fps), args.frames, args.warmup)
    for name, figures in result["stages_ms"].items():
        print(f"{name:>10}: p50 {figures['p50_ms']:7.2f} ms   p99 {figures['p99_ms']:7.2f} ms")
    frame = result["frame_ms"]
    print(f"{'frame':>10}: p50 {frame['p50_ms']:7.2f} ms   p99 {frame['p99_ms']:7.2f} ms   "
          f"({result['fps_p50']:.1f} fps)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": describe(), **result}, fh, indent=2)


if __name__ == "__main__":
    main()
