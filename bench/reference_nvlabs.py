"""Our StyleGAN2 against the NVlabs reference implementation: same weights, same inputs, same run.

Driven by `python bench/generator_bench.py --reference PATH [--device cuda]`. PATH is the user's own
checkout of NVlabs/stylegan2-ada-pytorch (its `training.networks` is used) or NVlabs/stylegan3
(`training.networks_stylegan2`). Its Python source is imported into this bench process only: nothing
of it is vendored into vjgan, and no pickle is ever loaded. Its Generator is built with our model's
constructor arguments, our weights are copied into it by name, both must agree in fp32 (else the
comparison fails), then both are timed round-robin on the same latents. Schema: bench/README.md.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from bench.generator_bench import PSI, config_f_kwargs, naive_frame, round_robin, stats
from bench.machine import cpu_name, git_commit
from bench.reference_checkout import ReferenceCode, first_line, load_reference
from vjgan.errors import VjganError
from vjgan.gan import GeneratorRunner, default_model_path, load_generator
from vjgan.gan.default import default_generator_kwargs
from vjgan.gan.runner import resolve_device, write_uint8
from vjgan.gan.stylegan2 import Generator

AGREEMENT_TOLERANCE = 1e-3  # max abs difference of the float images in fp32
AGREEMENT_LATENTS = 4
GOAL_SPEEDUP = {"cpu": 2.0, "cuda": 4.0}  # issue 5: ours at least this much faster than the reference
MODEL_FORMS = "default (the shipped model), default-RES (its architecture at RES px), config-f-RES"
DEFAULT_MODELS = {"cpu": ["default", "default-256", "default-512"],
                  "cuda": ["default", "config-f-256", "config-f-512", "config-f-1024"]}


# ---------------------------------------------------------------- same network, same weights

def build_reference(code: ReferenceCode, G: Generator) -> torch.nn.Module:
    """The reference Generator built with G's constructor arguments, G's weights copied in by name."""
    kwargs = copy.deepcopy(G.init_kwargs)
    if code.flavour == "stylegan3":  # its networks_stylegan2.Generator takes the synthesis arguments flat
        kwargs.update(kwargs.pop("synthesis_kwargs", {}))
    try:
        with torch.random.fork_rng(devices=[]):
            R = code.module.Generator(**kwargs)
    except Exception as exc:  # noqa: BLE001
        raise VjganError(f"--reference {code.path}: its Generator does not take our model's config {kwargs} "
                         f"({first_line(exc)})") from exc
    ours, theirs = G.state_dict(), R.state_dict()
    only_theirs, only_ours = sorted(set(theirs) - set(ours)), sorted(set(ours) - set(theirs))
    if only_theirs or only_ours:
        which = (f"its '{only_theirs[0]}' has no tensor of ours" if only_theirs
                 else f"our '{only_ours[0]}' has no tensor of its")
        raise VjganError(f"--reference {code.path}: weight names differ ({len(only_theirs) + len(only_ours)} "
                         f"keys; {which}); the weights cannot be copied by name")
    with torch.no_grad():
        for key, t in theirs.items():
            if tuple(t.shape) != tuple(ours[key].shape):
                raise VjganError(f"--reference {code.path}: weight '{key}' is {list(t.shape)} there, "
                                 f"{list(ours[key].shape)} here")
            t.copy_(ours[key])  # in place: keeps its dtype and memory format
    return R.eval().requires_grad_(False)


def seeded_model(cfg: dict[str, Any], seed: int = 0) -> Generator:
    """Seeded random weights, with non-zero biases and noise strengths so the comparison exercises them."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = Generator(**cfg).eval().requires_grad_(False)
        with torch.no_grad():
            for name, p in G.named_parameters():
                if name.startswith("synthesis.") and name.endswith("bias"):
                    p.normal_(0.0, 0.1)
                elif name.endswith("noise_strength"):
                    p.fill_(0.1)
            G.mapping.w_avg.copy_(G.mapping(torch.randn(1024, G.z_dim), None).mean(dim=(0, 1)))
    return G


def build_model(name: str) -> Generator:
    """`default`: the shipped model file; `default-RES` / `config-f-RES`: that architecture at RES px, seeded."""
    if name == "default":
        return load_generator(default_model_path())
    match = re.fullmatch(r"(default|config-f)-(\d+)", name)
    res = int(match.group(2)) if match else 0
    if res < 8 or res & (res - 1):
        raise VjganError(f"--models {name}: unknown model; use {MODEL_FORMS} (RES a power of two, at least 8)")
    if match.group(1) == "config-f":
        return seeded_model(config_f_kwargs(res))
    cfg = default_generator_kwargs()
    cfg["img_resolution"] = res
    return seeded_model(cfg)


def float_image(G: torch.nn.Module, z: np.ndarray, device: torch.device, force_fp32: bool) -> torch.Tensor:
    with torch.no_grad():
        zt = torch.from_numpy(z).to(device)[None]
        ws = G.mapping(zt, None, truncation_psi=PSI)
        return G.synthesis(ws, noise_mode="const", force_fp32=force_fp32).float()


@contextlib.contextmanager
def _no_tf32() -> Iterator[None]:
    """True fp32 on CUDA (TF32 convolutions alone can move an image by about 1e-3)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def check_agreement(G: Generator, R: torch.nn.Module, zs: np.ndarray, device: torch.device, label: str
                    ) -> dict[str, Any]:
    """Max abs difference of the two float images in fp32 over AGREEMENT_LATENTS latents; fails above tolerance."""
    diff = peak = 0.0
    with _no_tf32():
        for z in zs[:AGREEMENT_LATENTS]:
            a, b = float_image(G, z, device, True), float_image(R, z, device, True)
            diff = max(diff, float((a - b).abs().max()))
            peak = max(peak, float(a.abs().max()))
    result = {"latents": AGREEMENT_LATENTS, "precision": "fp32 (TF32 off)", "max_abs_diff": diff,
              "tolerance": AGREEMENT_TOLERANCE, "image_abs_max": peak}
    if not diff <= AGREEMENT_TOLERANCE:  # also catches NaN
        raise VjganError(f"{label}: outputs disagree: max abs diff {diff:.3g} > {AGREEMENT_TOLERANCE:g} in fp32 "
                         f"over {AGREEMENT_LATENTS} latents with the same weights; fix the mismatch before timing")
    return result


def reference_frame(R: torch.nn.Module, device: torch.device, force_fp32: bool) -> Callable[[np.ndarray], np.ndarray]:
    """A reference frame the way its own scripts render one (mapping, synthesis), then the same uint8 step as ours."""
    def frame(z: np.ndarray) -> np.ndarray:
        img = float_image(R, z, device, force_fp32)
        out = torch.empty([1, *img.shape[2:], 3], dtype=torch.uint8, device=device)
        write_uint8(img, out)
        return out[0].cpu().numpy()
    return frame


# ---------------------------------------------------------------- timing

def compare_model(name: str, G: Generator, code: ReferenceCode, device: torch.device, runs: int, chunk: int,
                  mixed_cpu_runs: int) -> dict[str, Any]:
    label = f"--reference {code.path} ({name})"
    R = build_reference(code, G).to(device)
    G = G.to(device)
    zs = np.random.default_rng(0).standard_normal((16, G.z_dim)).astype(np.float32)
    agreement = check_agreement(G, R, zs, device, label)
    fns: dict[str, Callable[[np.ndarray], np.ndarray]] = {"reference-fp32": reference_frame(R, device, True)}
    info: dict[str, dict[str, Any]] = {"reference-fp32": {"what": "reference Generator, force_fp32=True, eager"}}
    if device.type == "cuda":
        fns["reference-mixed"] = reference_frame(R, device, False)
        info["reference-mixed"] = {"what": "reference as shipped: its fp16 blocks and conv clamp, eager"}
    fns["ours-eager-fp32"] = naive_frame(G, device)
    info["ours-eager-fp32"] = {"what": "our Generator, eager fp32, torch.no_grad, no runner"}
    t0 = time.perf_counter()
    runner = GeneratorRunner(G, device=device)
    info["ours-runner"] = {"what": "GeneratorRunner with its auto choices (production path)",
                           "construct_ms": (time.perf_counter() - t0) * 1e3, "dtype": runner.dtype,
                           "channels_last": runner.channels_last, "cuda_graph": runner.cuda_graph,
                           "warmup_ms": runner.warmup_ms, "capture_ms": runner.capture_ms}
    fns["ours-runner"] = lambda z: runner(z, None, PSI)
    truth = fns["reference-fp32"](zs[0])
    for cfg, fn in fns.items():
        t0 = time.perf_counter()
        frame = fn(zs[0])
        info[cfg]["first_call_ms"] = (time.perf_counter() - t0) * 1e3
        info[cfg]["max_uint8_diff_vs_reference_fp32"] = int(np.abs(frame.astype(np.int16) - truth).max())
    times = round_robin(fns, zs, runs, chunk)
    configs = {cfg: {**info[cfg], **stats(ms, None)} for cfg, ms in times.items()}
    refs = [cfg for cfg in configs if cfg.startswith("reference")]
    best = min(refs, key=lambda cfg: configs[cfg]["p50_ms"])
    for cfg in configs:
        if cfg.startswith("ours"):
            c = configs[cfg]
            c["ratio_to_reference_p50"] = c["p50_ms"] / configs[best]["p50_ms"]
            c["speedup_vs_reference"] = configs[best]["p50_ms"] / c["p50_ms"]
            c["speedup_vs_reference_p99"] = configs[best]["p99_ms"] / c["p99_ms"]
            c["speedup_vs_each_reference"] = {r: configs[r]["p50_ms"] / c["p50_ms"] for r in refs}
    goal = GOAL_SPEEDUP[device.type]
    group: dict[str, Any] = {
        "group": name, "resolution": G.img_resolution, "device": str(device), "init_kwargs": G.init_kwargs,
        "agreement": agreement, "configs": configs, "reference_config": best,
        "summary": {"speedup_runner": configs["ours-runner"]["speedup_vs_reference"],
                    "speedup_eager_fp32": configs["ours-eager-fp32"]["speedup_vs_reference"],
                    "goal_speedup": goal, "meets_goal": configs["ours-runner"]["speedup_vs_reference"] >= goal},
    }
    if device.type == "cpu" and mixed_cpu_runs > 0:
        group["reference_mixed_cpu"] = _mixed_on_cpu(R, device, zs, mixed_cpu_runs)
    _print_group(group)
    return group


def _mixed_on_cpu(R: torch.nn.Module, device: torch.device, zs: np.ndarray, n: int) -> dict[str, Any]:
    """The reference as shipped on a CPU (its fp16 blocks run in emulated half): a few frames, apart."""
    fn = reference_frame(R, device, False)
    fn(zs[0])
    ms = round_robin({"mixed": fn}, zs, n, n)["mixed"]
    return {"what": "reference as shipped (fp16 blocks) on CPU; timed apart, not used for ratios", **stats(ms, None)}


def _print_group(group: dict[str, Any]) -> None:
    print(f"\n{group['group']} ({group['resolution']} px, {group['device']}): max abs diff "
          f"{group['agreement']['max_abs_diff']:.2e} (fp32), ratios against {group['reference_config']}")
    for name, c in group["configs"].items():
        extra = f"  x{c['speedup_vs_reference']:5.2f} vs reference" if "speedup_vs_reference" in c else ""
        print(f"  {name:>16}: p50 {c['p50_ms']:8.2f} ms  p99 {c['p99_ms']:8.2f} ms{extra}")
    if "reference_mixed_cpu" in group:
        m = group["reference_mixed_cpu"]
        print(f"  {'reference-mixed':>16}: p50 {m['p50_ms']:8.2f} ms  ({m['runs']} frames, apart)")


def run_reference(args: Any) -> dict[str, Any]:
    """The whole comparison for generator_bench's parsed arguments; returns the report."""
    if args.threads is not None:
        if args.threads < 1:
            raise VjganError(f"--threads {args.threads}: pass a positive number of threads")
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    code = load_reference(args.reference, args.reference_ops)
    report: dict[str, Any] = {
        "bench": "generator-reference", "date": time.strftime("%Y-%m-%d"), "cpu": cpu_name(),
        "cuda_device": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "device": str(device), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "commit": git_commit(), "psi": PSI, "batch": 1, "noise_mode": "const",
        "loadavg_start": list(os.getloadavg()),
    }
    models = {name: build_model(name) for name in args.models or DEFAULT_MODELS[device.type]}  # bad names first
    groups = []
    for name, G in models.items():
        # A CPU takes several times longer per frame at 512 px and up: half the frames there.
        runs = max(args.runs // 2, 1) if device.type == "cpu" and G.img_resolution >= 512 else args.runs
        groups.append(compare_model(name, G, code, device, runs, args.chunk, args.mixed_cpu_runs))
    report["reference"] = code.describe()
    report["groups"] = groups
    report["loadavg_end"] = list(os.getloadavg())
    return report
