"""Generator ms per frame for each configuration asked, always beside the naive eager fp32 path of the
same model measured in the same run, so every figure is also a ratio.

Groups: the shipped default model at its resolution, and a resolution sweep of the StyleGAN2
config-f shape (z = w = 512, 8 mapping layers, fp16 on the top 4 resolutions, clamp 256) with seeded
random weights: full channels on CUDA (the issue's 256 / 512 / 1024 goals), small channels on a CPU
(base 4096, max 128: the shape without the hour-long frames). Configurations run round-robin in
chunks so slow drift and other load on the machine hit them all alike. Construction, warm-up, graph
capture and the first call are reported apart from the timed frames. (bench/generator_bench.py is the
longer study behind the runner's CPU choices.)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np

from vjgan.benchmark.stats import summarize

PSI = 0.7


@dataclass(frozen=True)
class GenConfig:
    """A GeneratorRunner configuration (see vjgan.gan.runner); batch > 1 times `render_batch`."""

    name: str
    dtype: str = "auto"
    channels_last: bool | str = "auto"
    cuda_graph: bool | str = "auto"
    batch: int = 1


def default_configs(device: str, batches: Sequence[int] = (1,)) -> list[GenConfig]:
    from vjgan.gan.runner import bf16_supported

    if device == "cuda":
        base = [GenConfig("fp32-eager", "fp32", cuda_graph=False), GenConfig("fp16-eager", "fp16", cuda_graph=False),
                GenConfig("fp16-graph", "fp16", cuda_graph=True),
                GenConfig("fp16-graph-channels_last", "fp16", channels_last=True, cuda_graph=True)]
    else:
        import torch

        base = [GenConfig("runner-auto")]
        if bf16_supported(torch.device("cpu")):
            base.append(GenConfig("runner-bf16", "bf16", channels_last=True))
    extra = [GenConfig(f"{c.name}-b{b}", c.dtype, c.channels_last, False, b)
             for b in batches if b > 1 for c in base if c.cuda_graph is not True]
    return base + extra


def config_f(resolution: int, channel_base: int = 32768, channel_max: int = 512, seed: int = 0) -> Any:
    """StyleGAN2 config-f shape with seeded random weights and a realistic w_avg."""
    import torch

    from vjgan.gan.stylegan2 import Generator

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=resolution, img_channels=3,
                      mapping_kwargs={"num_layers": 8},
                      synthesis_kwargs={"channel_base": channel_base, "channel_max": channel_max,
                                        "num_fp16_res": 4, "conv_clamp": 256})
        with torch.no_grad():
            G.mapping.w_avg.copy_(G.mapping(torch.randn(1024, 512), None).mean(dim=(0, 1)))
    return G.eval().requires_grad_(False)


def naive_frame(G: Any, device: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The baseline: what a user writes without a runner. Eager fp32, torch.no_grad, fresh tensors."""
    import torch

    from vjgan.gan.runner import write_uint8

    def frame(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            zt = torch.from_numpy(z).to(device)[None]
            img = G.synthesis(G.mapping(zt, None, truncation_psi=PSI), noise_mode="const", force_fp32=True)
            out = torch.empty([1, *img.shape[2:], 3], dtype=torch.uint8, device=device)
            write_uint8(img, out)
            return out[0].cpu().numpy()

    return frame


def measure_model(group: str, G: Any, device: str, configs: Sequence[GenConfig], runs: int,
                  chunk: int = 10) -> dict[str, Any]:
    import torch

    from vjgan.gan import GeneratorRunner

    dev = torch.device(device)
    G = G.to(dev)
    zs = np.random.default_rng(0).standard_normal((16, G.z_dim)).astype(np.float32)
    fns: dict[str, Callable[[], np.ndarray]] = {}
    info: dict[str, dict[str, Any]] = {"baseline": {"what": "naive eager fp32, torch.no_grad, no runner", "batch": 1}}
    baseline = naive_frame(G, dev)
    fns["baseline"] = lambda: baseline(zs[0])
    for c in configs:
        t0 = time.perf_counter()
        runner = GeneratorRunner(G, device=dev, dtype=c.dtype, channels_last=c.channels_last, cuda_graph=c.cuda_graph)
        info[c.name] = {**asdict(c), "construct_ms": (time.perf_counter() - t0) * 1e3, "warmup_ms": runner.warmup_ms,
                        "capture_ms": runner.capture_ms, "dtype": runner.dtype,
                        "channels_last": runner.channels_last, "cuda_graph": runner.cuda_graph}
        if c.batch > 1:
            batch = np.resize(zs, (c.batch, G.z_dim))
            fns[c.name] = lambda r=runner, b=batch: r.render_batch(b, None, PSI)
        else:
            fns[c.name] = lambda r=runner: r(zs[0], None, PSI)
    reference = fns["baseline"]()
    for name, fn in fns.items():
        t0 = time.perf_counter()
        frame = fn()
        info[name]["first_call_ms"] = (time.perf_counter() - t0) * 1e3
        first = frame[0] if frame.ndim == 4 else frame
        info[name]["max_diff_vs_baseline"] = int(np.abs(first.astype(np.int16) - reference.astype(np.int16)).max())
    times: dict[str, list[float]] = {name: [] for name in fns}
    done = 0
    while done < runs:
        n = min(chunk, runs - done)
        for name, fn in fns.items():
            per = info[name]["batch"]
            for _ in range(n):
                t0 = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - t0) * 1e3 / per)
        done += n
    base_p50 = float(np.median(times["baseline"]))
    result = {}
    for name, ms in times.items():
        row = {**info[name], **summarize(ms)}
        row["ratio_to_baseline_p50"] = row["p50_ms"] / base_p50
        row["speedup_vs_baseline"] = base_p50 / row["p50_ms"]
        result[name] = row
    return {"group": group, "resolution": int(G.img_resolution), "device": device, "configs": result}


def run_generator(device: str = "auto", sizes: Sequence[int] | None = None, runs: int = 100,
                  batches: Sequence[int] = (1,), chunk: int = 10, include_default: bool = True,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    import torch

    from vjgan.gan import default_model_path, load_generator

    say = log or (lambda _msg: None)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    cuda = device == "cuda"
    configs = default_configs(device, batches)
    sizes = list(sizes or ((256, 512, 1024) if cuda else (128, 256, 512)))
    groups = []
    if include_default:
        say(f"generator: default model on {device}")
        groups.append(measure_model("default", load_generator(default_model_path()), device, configs, runs, chunk))
    label = "config-f" if cuda else "config-f-shaped-small"
    for res in sizes:
        say(f"generator: {label} {res} px on {device}")
        G = config_f(res) if cuda else config_f(res, channel_base=4096, channel_max=128)
        n = runs if res <= 512 or cuda else max(20, runs // 3)  # a CPU frame above 512 px takes long
        groups.append(measure_model(label, G, device, configs, n, chunk))
    return {"device": device, "psi": PSI, "runs": runs, "batches": list(batches),
            "configs": [asdict(c) for c in configs], "groups": groups}
