"""`vjgan bench`: the command line over `vjgan.benchmark.suite` (wired in by vjgan/cli.py).

    sub = parser.add_subparsers(...)
    add_parser(sub)            # adds "bench"
    ...
    return run(args)           # for args.command == "bench"; prints a summary, writes -o / --plots
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vjgan.benchmark.suite import SECTIONS, SuiteOptions, run_suite
from vjgan.errors import VjganError
from vjgan.files import atomic_write_text

FLAGS = {"generator": "generator ms per frame per configuration and resolution, with eager fp32 beside it",
         "analysis": "analysis µs per block, onset latency, tempo",
         "effects": "effects ms per pass and texture upload (bench/effects_bench.py, source checkout)",
         "frame": "the whole frame flat out, stage by stage (fps at --size)",
         "render": "offline render real-time factor and PyAV encode ms per frame",
         "latency": "audio->frame latency through the real capture path (JACK dummy server, or a loopback "
                    "cable with --latency-device/--latency-output)",
         "contention": "sustained runs beside a busy process: torch threads 1 vs 2 vs OMP_WAIT_POLICY=PASSIVE"}


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be positive")
        return value

    return parse


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "bench", help="measure latency and throughput (JSON + plots)",
        description="Benchmark this machine: generator, analysis, effects, whole frame, offline render, "
                    "end-to-end audio->frame latency through the real capture path, a sustained run at the "
                    "target refresh, CPU contention. With no section flag, everything runs (minutes).")
    for name, text in FLAGS.items():
        p.add_argument(f"--{name}", action="store_true", help=text)
    p.add_argument("--sustained", type=_positive(float), metavar="S",
                   help="run the show loop S seconds at --fps on the wall clock: fps, frame time, missed frames")
    p.add_argument("--all", action="store_true", help="every section (the default when none is named)")
    p.add_argument("-o", "--output", type=Path, metavar="OUT.json", help="write the full result here")
    p.add_argument("--plots", type=Path, metavar="DIR", help="write PNG plots here")
    p.add_argument("--size", type=int, default=256, metavar="N", help="output size in pixels (default 256)")
    p.add_argument("--fps", type=_positive(float), default=60.0, metavar="N",
                   help="target refresh for latency and sustained runs (default 60)")
    p.add_argument("--window", action="store_true",
                   help="present to a real window (flip, vsync) instead of headless, as the show does")
    p.add_argument("--threads", type=_positive(int), metavar="N",
                   help="torch threads for the whole run (default: torch's; see --contention)")
    p.add_argument("--model", metavar="FILE|STYLE", help="model for the show sections (default: the bundled one)")
    p.add_argument("--preset", default="default", metavar="NAME", help="preset (default: default)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="generator device")
    p.add_argument("--gen-sizes", type=int, nargs="+", metavar="N",
                   help="resolutions of the config-f sweep (default: 256 512 1024 on CUDA, 128 256 512 on CPU)")
    p.add_argument("--gen-runs", type=_positive(int), default=100, metavar="N", help="timed frames per configuration")
    p.add_argument("--gen-batch", type=int, nargs="+", default=[1], metavar="B",
                   help="batch sizes to time besides 1 (render_batch), e.g. --gen-batch 1 4 8")
    p.add_argument("--frames", type=_positive(int), default=300, metavar="N",
                   help="timed frames of the --frame section (default 300)")
    p.add_argument("--latency-seconds", type=_positive(float), default=30.0, metavar="S",
                   help="length of the click train (default 30)")
    p.add_argument("--latency-device", metavar="NAME",
                   help="measure a real interface: its input (a loopback cable from --latency-output)")
    p.add_argument("--latency-output", metavar="NAME", help="the output the clicks are played on")
    p.add_argument("--contention-seconds", type=_positive(float), default=8.0, metavar="S",
                   help="length of each contention run (default 8)")
    return p


def options_from_args(args: argparse.Namespace) -> SuiteOptions:
    chosen = [name for name in FLAGS if getattr(args, name)]
    if args.sustained is not None:
        chosen.append("sustained")
    if args.all or not chosen:
        chosen = list(SECTIONS)
    if (args.latency_device is None) != (args.latency_output is None):
        raise VjganError("--latency-device and --latency-output go together: the clicks leave on the output "
                         "and come back on the device through a loopback cable")
    return SuiteOptions(sections=tuple(chosen), size=args.size, fps=args.fps, window=args.window, model=args.model,
                        preset=args.preset, threads=args.threads,
                        device=args.device, gen_sizes=tuple(args.gen_sizes) if args.gen_sizes else None,
                        gen_runs=args.gen_runs, gen_batches=tuple(sorted({1, *args.gen_batch})), frames=args.frames,
                        latency_s=args.latency_seconds, latency_device=args.latency_device,
                        latency_output=args.latency_output, sustained_s=args.sustained or 20.0,
                        contention_s=args.contention_seconds)


def summary(result: dict[str, Any]) -> str:
    """A few lines a person reads: the headline figure of each section, then the goals table."""
    from vjgan.benchmark.goals import goals_table

    s = result["sections"]
    m = result["machine"]
    lines = [f"vjgan bench on {m['device']} ({m['cores']} cores), torch {m['torch']}, commit {m['commit']}, "
             f"load {m['loadavg_start']} -> {m.get('loadavg_end')}"]
    for name, section in s.items():
        if "error" in section or "skipped" in section:
            lines.append(f"  {name}: {section.get('error') or section.get('skipped')}")
        elif name == "latency":
            f = section["flash"]
            lines.append(f"  latency (flash frame): p50 {f['latency']['p50_ms']} ms, p95 {f['latency']['p95_ms']} ms, "
                         f"p99 {f['latency']['p99_ms']} ms over {f['matched']}/{f['clicks']} clicks")
        elif name == "frame":
            lines.append(f"  frame: p50 {section['frame_ms']['p50_ms']:.2f} ms ({section['fps_p50']:.1f} fps)")
        elif name == "sustained":
            lines.append(f"  sustained: {section['fps']:.1f} fps of {section['target_fps']:g}, frame time p99 "
                         f"{section['frame_interval']['p99_ms']:.1f} ms, {section['missed_frames']} missed")
        elif name == "render":
            lines.append(f"  render: {section['realtime_factor']:.2f}x real time")
        elif name == "analysis":
            lines.append(f"  analysis: {section['core_percent']:.2f} % of one core")
        elif name == "contention":
            lines.append(f"  contention: smallest share of missed frames beside a busy process: {section['best']}")
    lines.append(goals_table(result["goals"], m["device"]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    opts = options_from_args(args)
    result = run_suite(opts, log=lambda msg: print(msg, file=sys.stderr))
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.output, json.dumps(result, indent=1) + "\n", what="the bench result")
    if args.plots is not None:
        from vjgan.benchmark.plots import write_plots

        for path in write_plots(result, args.plots):
            print(f"wrote {path}")
    print(summary(result))
    if args.output is not None:
        print(f"wrote {args.output}")
    return 0
