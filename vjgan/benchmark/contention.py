"""CPU contention: does another CPU-heavy process stall frames, and which torch setting avoids it?

Each variant is a sustained run (`vjgan.benchmark.frames`) in a fresh process, so torch's thread
count and OpenMP's environment (OMP_WAIT_POLICY is read once, when the OpenMP runtime starts) apply
from the start: torch threads 1, torch threads 2, and 2 threads with OMP_WAIT_POLICY=PASSIVE (idle
OpenMP workers sleep instead of spinning). Each runs on a quiet machine and beside `competitors`
busy-looping processes (bounded: each stops by itself after the run's time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable

from vjgan.benchmark.frames import FrameOptions
from vjgan.errors import VjganError

CHILD = "from vjgan.benchmark.frames import main; main()"
SPIN = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


@dataclass(frozen=True)
class Variant:
    name: str
    threads: int
    env: tuple[tuple[str, str], ...] = ()


VARIANTS = (Variant("threads-1", 1), Variant("threads-2", 2),
            Variant("threads-2-passive", 2, (("OMP_WAIT_POLICY", "PASSIVE"),)))


def _child_env(extra: tuple[tuple[str, str], ...]) -> dict[str, str]:
    from vjgan.audio.supervisor import _child_env as package_env

    env = package_env()
    env.pop("OMP_WAIT_POLICY", None)
    env.update(dict(extra))
    return env


def run_variant(opts: FrameOptions, variant: Variant, seconds: float, timeout_s: float = 300.0) -> dict[str, Any]:
    config = {**asdict(replace(opts, threads=variant.threads)), "seconds": seconds}
    run = subprocess.run([sys.executable, "-c", CHILD, json.dumps(config)], env=_child_env(variant.env),
                         capture_output=True, text=True, timeout=timeout_s)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        said = run.stderr.strip().splitlines()[-3:]
        raise VjganError(f"sustained run '{variant.name}' failed (exit {run.returncode}): {' / '.join(said)}")
    result = json.loads(lines[-1])
    result["variant"] = variant.name
    result["env"] = dict(variant.env)
    return result


def run_contention(opts: FrameOptions, seconds: float, competitors: int = 1,
                   variants: tuple[Variant, ...] = VARIANTS, log: Callable[[str], None] | None = None
                   ) -> dict[str, Any]:
    say = log or (lambda _msg: None)
    runs = []
    for load in (0, competitors):
        for variant in variants:
            say(f"contention: {variant.name} beside {load} busy process(es), {seconds:.0f} s")
            spinners = [subprocess.Popen([sys.executable, "-c", SPIN, str(seconds + 60.0)])
                        for _ in range(load)]
            try:
                result = run_variant(opts, variant, seconds)
            finally:
                for proc in spinners:
                    proc.kill()
                    proc.wait()
            result["competitors"] = load
            runs.append(result)
    return {"seconds": seconds, "target_fps": opts.fps, "size": opts.size, "cores": os.cpu_count(),
            "runs": [_brief(r) for r in runs], "best": _best(runs, competitors)}


def _brief(run: dict[str, Any]) -> dict[str, Any]:
    keep = ("variant", "env", "competitors", "threads", "frames", "fps", "target_fps", "missed_frames",
            "longest_stall_ms", "frame_interval", "work_ms")
    return {k: run.get(k) for k in keep}


def _best(runs: list[dict[str, Any]], competitors: int) -> str | None:
    """The variant that missed the smallest share of its frames beside the competitors (then the
    higher fps): a variant that stalls on every frame misses few frames only because it shows few."""
    loaded = [r for r in runs if r["competitors"] == competitors and r["frames"] > 1]
    if not loaded:
        return None
    best = min(loaded, key=lambda r: (r["missed_frames"] / (r["frames"] - 1), -(r["fps"] or 0.0)))
    return str(best["variant"])
