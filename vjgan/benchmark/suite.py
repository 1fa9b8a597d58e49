"""`vjgan bench`: run the chosen sections and put them in one JSON-ready result.

Schema (documented in bench/README.md): `schema`, `machine` (date, cpu, cores, device, cuda_device,
torch, torch_threads, python, platform, vjgan, commit, loadavg_start, loadavg_end), `options`,
`sections` (one dict per section that ran: generator, analysis, effects, frame, render, latency,
sustained, contention; a section that could not run holds `error` or `skipped` instead), `goals`.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from vjgan.benchmark import goals
from vjgan.benchmark.machine import PACKAGE_DIR, describe, load_average
from vjgan.errors import VjganError

SCHEMA = "vjgan-bench/1"
SECTIONS = ("analysis", "generator", "effects", "frame", "render", "latency", "sustained", "contention")


@dataclass(frozen=True)
class SuiteOptions:
    sections: tuple[str, ...] = SECTIONS
    size: int = 256
    fps: float = 60.0
    window: bool = False  # latency, frame, sustained: present to a window instead of headless
    threads: int | None = None  # torch threads for the whole run (None: torch's default)
    model: str | None = None
    preset: str = "default"
    device: str = "auto"  # generator device: auto, cpu, cuda
    gen_sizes: tuple[int, ...] | None = None
    gen_runs: int = 100
    gen_batches: tuple[int, ...] = (1,)
    effect_sizes: tuple[int, ...] = (512, 1024)
    effect_repeats: int = 100
    frames: int = 300
    render_s: float = 10.0
    latency_s: float = 30.0
    latency_device: str | None = None
    latency_output: str | None = None
    sustained_s: float = 20.0
    contention_s: float = 8.0


def effects_bench_path() -> Path | None:
    """bench/effects_bench.py of the source checkout vjgan runs from (an installed vjgan has none)."""
    path = PACKAGE_DIR.parent / "bench" / "effects_bench.py"
    return path if path.is_file() else None


def run_effects(sizes: tuple[int, ...], repeats: int) -> dict[str, Any]:
    """Effects ms per pass and texture upload from bench/effects_bench.py: its `run(sizes, repeats)`,
    else its `bench_upload` / `bench_passes` on a headless context."""
    path = effects_bench_path()
    if path is None:
        return {"skipped": f"no {PACKAGE_DIR.parent / 'bench' / 'effects_bench.py'} (the effects bench lives in "
                           "vjgan's source checkout)"}
    spec = importlib.util.spec_from_file_location("vjgan_effects_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = getattr(module, "run", None)
    if callable(run):
        return {"source": "bench/effects_bench.py run()", **run(sizes, repeats)}
    upload, passes = getattr(module, "bench_upload", None), getattr(module, "bench_passes", None)
    if not (callable(upload) and callable(passes)):
        return {"skipped": f"{path} has no run(sizes, repeats) function"}
    from vjgan.gfx.context import create_headless_context, gl_description

    ctx = create_headless_context()
    try:
        return {"source": "bench/effects_bench.py bench_upload() + bench_passes()", "gl": gl_description(ctx),
                "upload": upload(ctx, [256, 512, 1024], repeats, 5, 10),
                "passes": {str(size): passes(ctx, size, repeats, 5, 10) for size in sizes}}
    except TypeError as exc:  # its functions changed shape: say so rather than guess
        return {"skipped": f"{path}: cannot call bench_upload/bench_passes ({exc}); give it run(sizes, repeats)"}
    finally:
        ctx.release()


def _runners(opts: SuiteOptions, say: Callable[[str], None]) -> dict[str, Callable[[], dict[str, Any]]]:
    from vjgan.benchmark.frames import FrameOptions

    frame_opts = FrameOptions(size=opts.size, fps=opts.fps, model=opts.model, preset=opts.preset, window=opts.window,
                              threads=opts.threads)

    def analysis() -> dict[str, Any]:
        from vjgan.benchmark.analysis import run_analysis

        return run_analysis()

    def generator() -> dict[str, Any]:
        from vjgan.benchmark.generator import run_generator

        return run_generator(opts.device, opts.gen_sizes, opts.gen_runs, opts.gen_batches, log=say)

    def frame() -> dict[str, Any]:
        from vjgan.benchmark.frames import run_frame_stages

        return run_frame_stages(frame_opts, opts.frames)

    def render() -> dict[str, Any]:
        from vjgan.benchmark.render import run_render

        return run_render(opts.render_s, opts.size, 30.0, opts.model, opts.preset)

    def latency() -> dict[str, Any]:
        from vjgan.benchmark.latency_run import LatencyOptions, run_latency

        return run_latency(LatencyOptions(seconds=opts.latency_s, fps=opts.fps, size=opts.size,
                                          input_device=opts.latency_device, output_device=opts.latency_output,
                                          model=opts.model, preset=opts.preset, window=opts.window,
                                          threads=opts.threads), log=say)

    def sustained() -> dict[str, Any]:
        from vjgan.benchmark.frames import run_sustained

        return run_sustained(frame_opts, opts.sustained_s)

    def contention() -> dict[str, Any]:
        from vjgan.benchmark.contention import run_contention

        return run_contention(frame_opts, opts.contention_s, log=say)

    return {"analysis": analysis, "generator": generator, "effects": lambda: run_effects(opts.effect_sizes,
            opts.effect_repeats), "frame": frame, "render": render, "latency": latency, "sustained": sustained,
            "contention": contention}


def run_suite(opts: SuiteOptions, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the sections of `opts` in a fixed order; a section that cannot run (no JACK server, a bad
    device name) records its one-line reason under `error` and the others go on."""
    say = log or (lambda _msg: None)
    unknown = set(opts.sections) - set(SECTIONS)
    if unknown:
        raise VjganError(f"unknown bench section(s) {', '.join(sorted(unknown))} — use: {', '.join(SECTIONS)}")
    if opts.threads is not None:
        import torch

        torch.set_num_threads(opts.threads)
    result: dict[str, Any] = {"schema": SCHEMA, "machine": describe(), "options": asdict(opts), "sections": {}}
    runners = _runners(opts, say)
    for name in SECTIONS:
        if name not in opts.sections:
            continue
        say(f"bench: {name} ...")
        t0 = time.perf_counter()
        try:
            section = runners[name]()
        except VjganError as exc:
            section = {"error": str(exc)}
            say(f"bench: {name} could not run: {exc}")
        section["section_wall_s"] = time.perf_counter() - t0
        section["loadavg_after"] = load_average()  # other processes on the machine skew what ran
        result["sections"][name] = section
    result["machine"]["loadavg_end"] = load_average()
    result["goals"] = goals.evaluate(result)
    return result
