"""The effect chain's GPU costs, headless (EGL): frame upload paths and ms per effect pass.

    python bench/effects_bench.py [--runs 100] [--sizes 512 1024] [--json OUT.json]

Upload: direct `texture.write(bytes)` against a pixel buffer object (`ctx.buffer` written, then
`texture.write(buffer)`), for RGB and RGBA frames at 256 / 512 / 1024 px.
Passes: each built-in effect alone (input -> output texture at the size), the internal
statistics / limiter stages, the whole chain with no effects with and without the limiter, and a
plain "copy" pass, the baseline every entry is given as a ratio of.

Every timed call is bracketed by ctx.finish(), so the GPU (or llvmpipe's threads) really finished
the work. Entries of one group run round-robin in chunks of --chunk calls, so load from other
processes hits them alike and the ratios stay fair; p50, p99 and min over --runs calls per entry
after --warmup untimed ones (on a shared machine the min is the steadiest figure).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COPY_FRAG = "void main() { f_color = vec4(texture(u_input, v_uv).rgb, 1.0); }\n"


def round_robin(ctx, entries: dict[str, Callable[[], None]], runs: int, warmup: int,
                chunk: int) -> dict[str, dict]:
    for fn in entries.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in entries}
    while any(len(s) < runs for s in samples.values()):
        for name, fn in entries.items():
            for _ in range(min(chunk, runs - len(samples[name]))):
                ctx.finish()
                t0 = time.perf_counter()
                fn()
                ctx.finish()
                samples[name].append((time.perf_counter() - t0) * 1e3)
    out = {}
    for name, s in samples.items():
        a = np.asarray(s)
        out[name] = {"p50_ms": round(float(np.median(a)), 4),
                     "p99_ms": round(float(np.percentile(a, 99)), 4),
                     "min_ms": round(float(a.min()), 4), "runs": len(s)}
    return out


def bench_upload(ctx, sizes: list[int], runs: int, warmup: int, chunk: int) -> dict[str, dict]:
    rng = np.random.default_rng(0)
    out: dict[str, dict] = {}
    for size in sizes:
        entries: dict[str, Callable[[], None]] = {}
        objs = []
        for comps, kind in ((3, "rgb"), (4, "rgba")):
            img = rng.integers(0, 256, (size, size, comps), dtype=np.uint8)
            tex = ctx.texture((size, size), comps, alignment=1)
            buf = ctx.buffer(reserve=img.nbytes)
            objs += [tex, buf]
            entries[f"{size}/{kind}/direct"] = lambda t=tex, i=img: t.write(i, alignment=1)

            def pbo(t=tex, b=buf, i=img) -> None:
                b.write(i)
                t.write(b, alignment=1)

            entries[f"{size}/{kind}/pbo"] = pbo
        # what padding an RGB frame to RGBA on the CPU would cost instead
        rgb = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        rgba = np.full((size, size, 4), 255, np.uint8)

        def pad(src=rgb, dst=rgba) -> None:
            dst[..., :3] = src

        entries[f"{size}/rgb_to_rgba_numpy"] = pad
        out.update(round_robin(ctx, entries, runs, warmup, chunk))
        for o in objs:
            o.release()
    return out


def bench_passes(ctx, size: int, runs: int, warmup: int, chunk: int) -> dict[str, dict]:
    from vjgan.gfx import resources
    from vjgan.gfx.effects import EffectChain, EffectSpec
    from vjgan.gfx.finish import make_target
    from vjgan.gfx.passes import SAMPLER_UNITS, Pass
    from vjgan.gfx.uniforms import FrameUniforms

    u = FrameUniforms(level=0.7, contrast_amp=0.7, flash_amp=0.5, time_s=1.0)
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    src_tex, src_fbo = make_target(ctx, (size, size))
    src_tex.write(np.dstack([frame, np.full((size, size), 255, np.uint8)]).tobytes())
    prev_tex, prev_fbo = make_target(ctx, (size, size))
    prev_tex.write(np.full((size, size, 4), 100, np.uint8).tobytes())
    dst_tex, dst_fbo = make_target(ctx, (size, size))
    search = resources.shader_search_path(None)
    vert = resources.load_shader(resources.builtin_shader_dir() / resources.VERTEX_FILE, search)
    entries: dict[str, Callable[[], None]] = {}
    passes: list[Pass] = []
    chains: list[EffectChain] = []
    with tempfile.TemporaryDirectory() as tmp:
        copy_path = Path(tmp) / "copy.frag"
        copy_path.write_text(COPY_FRAG)
        for name in ["copy", *resources.available_effects()]:
            path = copy_path if name == "copy" else resources.effect_path(name)
            p = Pass(ctx, resources.load_shader(path, search), vert)
            passes.append(p)
            p.set_frame_uniforms(u, (size, size))
            p.set("u_strength", 0.6)
            p.set("u_amp", 0.7)
            stats_chain = None
            if p.has("u_input_stats"):  # the chain computes the luma statistics first
                stats_chain = EffectChain(ctx, (size, size), [EffectSpec(name)], limit=False)
                chains.append(stats_chain)
                entries[f"{name}_stats_reduction"] = lambda c=stats_chain: c._compute_stats(src_tex)

            def draw(p=p, c=stats_chain) -> None:
                if c is not None:
                    c._compute_stats(src_tex)  # leaves the result bound on u_input_stats
                src_tex.use(location=SAMPLER_UNITS["u_input"])
                src_tex.use(location=SAMPLER_UNITS["u_source"])
                prev_tex.use(location=SAMPLER_UNITS["u_prev_output"])
                dst_fbo.use()
                p.draw()

            entries[name] = draw
    # the chain's own stages: upload + fill, and the limiter (luma reduction + read-back of the
    # candidate each frame; the linear-light mix pass only while it holds a change back)
    clock = [0.0]
    for label, limit in (("chain_empty_no_limiter", False), ("chain_empty_with_limiter", True)):
        chain = EffectChain(ctx, (size, size), [], limit=limit)
        chains.append(chain)

        def render(c=chain) -> None:
            clock[0] += 1 / 60
            c.render(frame, FrameUniforms(time_s=clock[0]))

        entries[label] = render
    stage = chains[-1]._stage
    entries["limiter_luma_readback"] = lambda: stage.measure(src_tex)
    stage._limit.set("u_alpha", 0.5)
    stage._limit.set("u_gain", 1.0)

    def mix() -> None:
        src_tex.use(location=SAMPLER_UNITS["u_candidate"])
        prev_tex.use(location=SAMPLER_UNITS["u_shown"])
        dst_fbo.use()
        stage._limit.draw()

    entries["limiter_mix_pass"] = mix
    results = round_robin(ctx, entries, runs, warmup, chunk)
    for stat in ("p50", "min"):
        base = results["copy"][f"{stat}_ms"]
        for v in results.values():
            v[f"ratio_to_copy_{stat}"] = round(v[f"{stat}_ms"] / base, 2) if base > 0 else None
    for p in passes:
        p.release()
    for c in chains:
        c.release()
    for obj in (src_fbo, src_tex, prev_fbo, prev_tex, dst_fbo, dst_tex):
        obj.release()
    return results


def _loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=10, help="calls per entry per round")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024],
                        help="output sizes for the pass timings")
    parser.add_argument("--upload-sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--no-git", action="store_true", help="do not ask git for the commit")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    from bench.machine import cpu_name, git_commit
    from vjgan.gfx.context import create_headless_context, gl_description

    ctx = create_headless_context()
    result = {
        "bench": "effects",
        "date": time.strftime("%Y-%m-%d"),
        "device": gl_description(ctx),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "commit": None if args.no_git else git_commit(),
        "loadavg_start": _loadavg(),
        "upload": bench_upload(ctx, args.upload_sizes, args.runs, args.warmup, args.chunk),
        "passes": {str(size): bench_passes(ctx, size, args.runs, args.warmup, args.chunk)
                   for size in args.sizes},
        "loadavg_end": _loadavg(),
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
