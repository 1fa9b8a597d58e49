"""Generator alone at batch 1: runner configurations against the naive eager fp32 path of the same model.

    python bench/generator_bench.py --out bench/results/DATE-cpu-generator.json [--runs 200] [--no-512]
    python bench/generator_bench.py --reference ~/src/stylegan2-ada-pytorch [--device cuda] --out OUT.json

Per configuration: warm-up (reported apart: the runner's `warmup_ms` and `capture_ms`), then `--runs`
frames (latent -> uint8 frame on the host) timed one by one: p50, p99, mean, and the p50 ratio to the
baseline measured in the same run. Configurations run round-robin in chunks so that slow drift of the
machine hits all of them alike. `--reference PATH` instead times our generator against the NVlabs
reference code in the user's own checkout at PATH, same weights, same run (bench/reference_nvlabs.py).
Schema: bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import cpu_name, git_commit  # noqa: E402
from vjgan.gan import GeneratorRunner, default_model_path, load_generator  # noqa: E402
from vjgan.gan.dcgan import DCGANGenerator  # noqa: E402
from vjgan.gan.runner import bf16_supported, write_uint8  # noqa: E402
from vjgan.gan.stylegan2 import Generator  # noqa: E402

PSI = 0.7


def config_f_kwargs(resolution: int, channel_base: int = 32768, channel_max: int = 512) -> dict[str, Any]:
    """Generator arguments of the StyleGAN2 config-f shape (z = w = 512, 8 mapping layers, fp16 on the
    top 4 resolutions, clamp 256)."""
    return {"z_dim": 512, "c_dim": 0, "w_dim": 512, "img_resolution": resolution, "img_channels": 3,
            "mapping_kwargs": {"num_layers": 8},
            "synthesis_kwargs": {"channel_base": channel_base, "channel_max": channel_max,
                                 "num_fp16_res": 4, "conv_clamp": 256}}


def config_f(resolution: int, channel_base: int = 32768, channel_max: int = 512, seed: int = 0) -> Generator:
    """StyleGAN2 config-f shape, seeded random weights with a realistic w_avg."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = Generator(**config_f_kwargs(resolution, channel_base, channel_max))
        with torch.no_grad():
            G.mapping.w_avg.copy_(G.mapping(torch.randn(1024, 512), None).mean(dim=(0, 1)))
    return G.eval().requires_grad_(False)


def dcgan(resolution: int, seed: int = 0) -> DCGANGenerator:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DCGANGenerator(z_dim=128, img_resolution=resolution, channel_base=8192, channel_max=256).eval()


def naive_frame(G: torch.nn.Module, device: torch.device) -> Callable[[np.ndarray], np.ndarray]:
    """The baseline: what a user writes without a runner. Eager fp32, torch.no_grad, fresh tensors."""
    has_psi = hasattr(getattr(G, "mapping", None), "w_avg")

    def frame(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            zt = torch.from_numpy(z).to(device)[None]
            if has_psi:
                img = G.synthesis(G.mapping(zt, None, truncation_psi=PSI), noise_mode="const", force_fp32=True)
            else:
                img = G(zt, None)
            out = torch.empty([1, *img.shape[2:], 3], dtype=torch.uint8, device=device)
            write_uint8(img, out)
            return out[0].cpu().numpy()
    return frame


def stats(ms: list[float], base_p50: float | None) -> dict[str, Any]:
    arr = np.asarray(ms)
    out = {"runs": len(ms), "p50_ms": float(np.median(arr)), "p99_ms": float(np.percentile(arr, 99)),
           "mean_ms": float(arr.mean()), "min_ms": float(arr.min())}
    if base_p50:
        out["ratio_to_baseline_p50"] = out["p50_ms"] / base_p50
        out["speedup_vs_baseline"] = base_p50 / out["p50_ms"]
    return out


def round_robin(fns: dict[str, Callable[[np.ndarray], Any]], zs: np.ndarray, runs: int, chunk: int,
                threads: dict[str, int] | None = None) -> dict[str, list[float]]:
    """Time every fn on the latents zs (cycled), `runs` frames each, in rounds of `chunk` frames per fn.

    Each fn must return only when its frame is on the host (so no device sync is needed here). Before
    each chunk one untimed frame settles the thread pool (after a thread-count switch) and caches.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    done = 0
    while done < runs:
        n = min(chunk, runs - done)
        for name, fn in fns.items():
            if threads is not None:
                torch.set_num_threads(threads[name])
            fn(zs[0])  # untimed
            for k in range(n):
                z = zs[(done + k) % len(zs)]
                t0 = time.perf_counter()
                fn(z)
                times[name].append((time.perf_counter() - t0) * 1e3)
        done += n
    return times


def measure(group: str, G: torch.nn.Module, device: torch.device, specs: dict[str, dict[str, Any]],
            runs: int, chunk: int) -> dict[str, Any]:
    """Build every configuration of `specs` (runner kwargs plus 'threads'), time them round-robin."""
    G = G.to(device)
    default_threads = torch.get_num_threads()
    fns: dict[str, Callable[[np.ndarray], np.ndarray]] = {"baseline": naive_frame(G, device)}
    threads = {"baseline": default_threads}
    info: dict[str, dict[str, Any]] = {"baseline": {"what": "naive eager fp32, torch.no_grad, no runner"}}
    for name, spec in specs.items():
        kwargs = dict(spec)
        threads[name] = kwargs.pop("threads", default_threads)
        torch.set_num_threads(threads[name])
        t0 = time.perf_counter()
        runner = GeneratorRunner(G, device=device, **kwargs)
        info[name] = {"kwargs": kwargs, "construct_ms": (time.perf_counter() - t0) * 1e3,
                      "warmup_ms": runner.warmup_ms, "capture_ms": runner.capture_ms, "dtype": runner.dtype,
                      "channels_last": runner.channels_last, "cuda_graph": runner.cuda_graph}
        fns[name] = lambda z, r=runner: r(z, None, PSI)
    zs = np.random.default_rng(0).standard_normal((16, G.z_dim)).astype(np.float32)
    reference = fns["baseline"](zs[0])
    for name, fn in fns.items():
        torch.set_num_threads(threads[name])
        t0 = time.perf_counter()
        frame = fn(zs[0])
        info[name]["first_call_ms"] = (time.perf_counter() - t0) * 1e3
        diff = np.abs(frame.astype(np.int16) - reference.astype(np.int16))
        info[name].update(threads=threads[name], max_diff_vs_baseline=int(diff.max()),
                          frac_diff_vs_baseline=float((diff > 0).mean()))
    times = round_robin(fns, zs, runs, chunk, threads)
    torch.set_num_threads(default_threads)
    base = float(np.median(times["baseline"]))
    configs = {name: {**info[name], **stats(ms, None if name == "baseline" else base)} for name, ms in times.items()}
    print(f"\n{group} ({G.img_resolution} px, {device})")
    for name, c in configs.items():
        ratio = c.get("speedup_vs_baseline", 1.0)
        print(f"  {name:>22}: p50 {c['p50_ms']:8.2f} ms  p99 {c['p99_ms']:8.2f} ms  "
              f"x{ratio:5.2f} vs baseline  max diff {c['max_diff_vs_baseline']}")
    return {"group": group, "resolution": G.img_resolution, "device": str(device), "configs": configs}


def cpu_groups(args: argparse.Namespace) -> list[dict[str, Any]]:
    cpu = torch.device("cpu")
    specs: dict[str, dict[str, Any]] = {
        "auto": {},
        "fp32-1thread": {"dtype": "fp32", "channels_last": True, "threads": 1},
        "fp32-2threads": {"dtype": "fp32", "channels_last": True, "threads": 2},
        "fp32-nchw": {"dtype": "fp32", "channels_last": False},
        "fp32-channels_last": {"dtype": "fp32", "channels_last": True},
    }
    if bf16_supported(cpu):  # a CPU without native bf16: leave those configurations out
        specs["bf16-channels_last"] = {"dtype": "bf16", "channels_last": True}
        specs["bf16-nchw"] = {"dtype": "bf16", "channels_last": False}
    default = load_generator(default_model_path())
    groups = [measure(f"default-{default.img_resolution}", default, cpu, specs, args.runs, args.chunk)]
    small = {k: v for k, v in specs.items() if k in ("auto", "fp32-nchw", "fp32-channels_last", "bf16-channels_last")}
    groups.append(measure("dcgan-256", dcgan(256), cpu, small, args.runs, args.chunk))
    if not args.no_512:
        shaped = config_f(512, channel_base=4096, channel_max=128)
        groups.append(measure("config-f-shaped-512-small", shaped, cpu, small, max(args.runs // 2, 20), args.chunk))
    return groups


def cuda_groups(args: argparse.Namespace) -> list[dict[str, Any]]:
    dev = torch.device("cuda")
    specs = {"fp32-eager": {"dtype": "fp32", "cuda_graph": False},
             "fp16-eager": {"dtype": "fp16", "cuda_graph": False},
             "fp16-graph": {"dtype": "fp16", "cuda_graph": True},
             "fp16-graph-channels_last": {"dtype": "fp16", "cuda_graph": True, "channels_last": True}}
    return [measure("config-f", config_f(res), dev, specs, args.runs, args.chunk) for res in args.cuda_sizes]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200, help="timed frames per configuration (default 200)")
    parser.add_argument("--chunk", type=int, default=20, help="frames per configuration per round (default 20)")
    parser.add_argument("--no-512", action="store_true", help="skip the 512-px CPU model")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU groups (on a CUDA machine)")
    parser.add_argument("--cuda-sizes", type=int, nargs="*", default=[256, 512, 1024])
    parser.add_argument("--out", type=Path, help="write the JSON result here")
    ref = parser.add_argument_group("reference comparison (replaces the groups above)")
    ref.add_argument("--reference", type=Path, metavar="PATH",
                     help="your own checkout of NVlabs/stylegan2-ada-pytorch or NVlabs/stylegan3: time our "
                          "generator against its StyleGAN2 with the same weights in this run")
    ref.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="device for --reference (default cpu)")
    ref.add_argument("--models", nargs="+", metavar="NAME", default=None,
                     help="models for --reference: default (the shipped model file), default-RES (its "
                          "architecture at RES px, seeded weights), config-f-RES (default: default default-256 "
                          "default-512 on cpu; default config-f-256 config-f-512 config-f-1024 on cuda)")
    ref.add_argument("--reference-ops", choices=("auto", "ref"), default="auto",
                     help="reference custom CUDA ops: 'auto' builds them when it can (else its reference ops), "
                          "'ref' always uses its reference ops (CPU always does)")
    ref.add_argument("--threads", type=int, default=None, metavar="N",
                     help="torch intra-op threads for every configuration of --reference (default: torch's own)")
    ref.add_argument("--mixed-cpu-runs", type=int, default=5, metavar="N",
                     help="on cpu, also time N frames of the reference as shipped (its fp16 blocks, emulated on "
                          "a CPU: very slow), apart from the round robin; 0 skips (default 5)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.reference is not None:
        from bench.reference_nvlabs import run_reference
        from vjgan.errors import VjganError
        try:
            report = run_reference(args)
        except VjganError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return write_report(report, args.out)
    report: dict[str, Any] = {
        "bench": "generator", "date": time.strftime("%Y-%m-%d"), "cpu": cpu_name(), "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "commit": git_commit(), "psi": PSI, "batch": 1,
        "cuda_device": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "cpu_native_bf16": bf16_supported(torch.device("cpu")),
        "loadavg_start": os.getloadavg(), "groups": [],
    }
    if not args.no_cpu:
        report["groups"] += cpu_groups(args)
    if torch.cuda.is_available():
        report["groups"] += cuda_groups(args)
    report["loadavg_end"] = os.getloadavg()  # other work on the machine skews every figure alike
    return write_report(report, args.out)


def write_report(report: dict[str, Any], out: Path | None) -> int:
    if out:
        out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
