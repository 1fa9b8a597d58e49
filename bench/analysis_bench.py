"""Cost of each analysis part per block, onset latency, and tempo accuracy.

    python bench/analysis_bench.py [--seconds 20] [--hop 128] [--json OUT.json]

The measuring code is `vjgan.benchmark.analysis` (also run by `vjgan bench --analysis`); this script
prints its figures as tables. What each figure means: see that module.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vjgan.benchmark.analysis import SR, measure_cost, measure_latency, measure_tempo  # noqa: E402
from vjgan.benchmark.machine import cpu_name  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="demo track length for the cost")
    parser.add_argument("--hop", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    cost = measure_cost(args.seconds, args.hop, args.repeats)
    block_ms = args.hop / SR * 1e3
    print(f"analysis cost per {args.hop}-sample block at {SR} Hz ({block_ms:.2f} ms of audio), {cpu_name()}")
    print(f"{'part':8s} {'mean us':>9s} {'median us':>10s} {'p99 us':>8s}")
    for part, row in cost.items():
        if part == "total":
            print(f"{'total*':8s} {row['mean_us']:9.1f}")
            continue
        print(f"{part:8s} {row['mean_us']:9.1f} {row['median_us']:10.1f} {row['p99_us']:8.1f}")
    print(f"* total: the whole analyser without timing wrappers, "
          f"{cost['total']['mean_us'] / (block_ms * 10):.2f} % of one core in real time")

    latency = {hop: measure_latency(hop) for hop in sorted({args.hop, 128, 256})}
    print("\nonset latency on a click track (ms): detection median / p95, compensated |error| median / p95")
    for hop, row in latency.items():
        print(f"hop {hop:4d}: {row['latency_median_ms']:5.1f} / {row['latency_p95_ms']:5.1f}   "
              f"{row['compensated_abs_error_median_ms']:4.1f} / {row['compensated_abs_error_p95_ms']:4.1f}"
              f"   ({row['onsets']} onsets for {row['clicks']} clicks)")

    tempo = [measure_tempo(bpm, args.hop) for bpm in (70.0, 90.0, 120.0, 140.0, 174.0)]
    print("\ntempo on click tracks: final bpm, known after, beat |error| median / max")
    for row in tempo:
        print(f"{row['true_bpm']:5.0f} BPM: {row['final_bpm'] or 0.0:7.2f}  {row['known_after_s'] or 0.0:5.2f} s  "
              f"{row['beat_abs_error_median_ms'] or 0.0:4.1f} / {row['beat_abs_error_max_ms'] or 0.0:4.1f} ms")

    if args.json is not None:
        report = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
                  "sample_rate": SR, "hop": args.hop, "cost_us_per_block": cost,
                  "onset_latency": {str(k): v for k, v in latency.items()}, "tempo": tempo}
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
