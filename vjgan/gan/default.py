"""The shipped default model: architecture, seeded builder, and `python -m vjgan.gan.default` to write it.

Until a trained default exists, the default model is a seeded random initialisation whose output
scales are calibrated (see `build_default_generator`) so that it draws a visible, colourful picture.
"""

from __future__ import annotations

import argparse
import copy
import math
from pathlib import Path
from typing import Any

import torch

from vjgan.gan.stylegan2 import Generator

DEFAULT_MODEL_NAME = "default.safetensors"


# Default generator architecture: 256x256 RGB, unconditional, sized for a 2-core CPU. Channels per
# resolution are min(channel_base // res, channel_max): 128 up to 32 px, then 64, 32, 16 at 64, 128,
# 256 px. These are exactly the `Generator(**kwargs)` arguments; copy before changing anything.
DEFAULT_CONFIG: dict[str, Any] = {
    "z_dim": 256,
    "c_dim": 0,
    "w_dim": 256,
    "img_resolution": 256,
    "img_channels": 3,
    "mapping_kwargs": {"num_layers": 4},
    "synthesis_kwargs": {"channel_base": 4096, "channel_max": 128, "num_fp16_res": 4, "conv_clamp": 256},
}


def default_generator_kwargs() -> dict[str, Any]:
    """A fresh deep copy of DEFAULT_CONFIG, safe to modify."""
    return copy.deepcopy(DEFAULT_CONFIG)


# Calibration of the random init. Plain N(0, 1) init gives a picture that is about half clipped
# to pure black/white/primaries and has only blurry blobs: every torgb adds an output of std ~0.4-1.2
# and no layer injects detail (noise strengths start at 0). So the builder (a) turns on the
# per-pixel noise at the middle resolutions, which the following random convs shape into texture,
# and (b) rescales each torgb so its contribution has a chosen spatial std: larger at coarse
# scales (colour fields and shapes), smaller at fine scales (detail) -- giving frames with a uint8
# std of about 50-70 and roughly a tenth of the channel values clipped (plain init: about half).
_NOISE_STRENGTH = {16: 0.3, 32: 0.25, 64: 0.2}
_TORGB_TARGET_STD = {4: 0.35, 8: 0.30, 16: 0.25, 32: 0.18, 64: 0.14, 128: 0.10, 256: 0.08}
_CALIBRATION_SAMPLES = 8
_W_AVG_SAMPLES = 4096


def default_model_path() -> Path:
    """Path of the shipped default model file (vjgan/models/default.safetensors)."""
    return Path(__file__).resolve().parent.parent / "models" / DEFAULT_MODEL_NAME


def build_default_generator(seed: int = 0) -> Generator:
    """Seeded, deterministic random-weight generator of the default architecture (eval mode).

    Leaves torch's global RNG state as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = Generator(**default_generator_kwargs())
    G.eval().requires_grad_(False)
    rng = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for res in G.synthesis.block_resolutions:
            block = getattr(G.synthesis, f"b{res}")
            for name in ("conv0", "conv1"):
                layer = getattr(block, name, None)
                if layer is not None:
                    layer.noise_strength.fill_(_NOISE_STRENGTH.get(res, 0.0))
        # w_avg as training would have tracked it: the mean mapped latent.
        z = torch.randn([_W_AVG_SAMPLES, G.z_dim], generator=rng)
        G.mapping.w_avg.copy_(G.mapping(z, None).mean(dim=(0, 1)))
        _calibrate_torgb(G, torch.randn([_CALIBRATION_SAMPLES, G.z_dim], generator=rng))
    return G


def _calibrate_torgb(G: Generator, z: torch.Tensor) -> None:
    """Scale each block's torgb weight so its output has the target mean per-image spatial std."""
    stds: dict[int, float] = {}
    hooks = []
    for res in G.synthesis.block_resolutions:
        def record(_m: torch.nn.Module, _a: Any, out: torch.Tensor, res: int = res) -> None:
            stds[res] = float(out.std(dim=(2, 3)).mean())
        hooks.append(getattr(G.synthesis, f"b{res}").torgb.register_forward_hook(record))
    try:
        G(z, None)
    finally:
        for h in hooks:
            h.remove()
    for res, std in stds.items():
        target = _TORGB_TARGET_STD.get(res, 0.1)
        if std > 0 and math.isfinite(std):
            getattr(G.synthesis, f"b{res}").torgb.weight.mul_(target / std)


def main(argv: list[str] | None = None) -> None:
    """Write the default model file (or --out PATH)."""
    from vjgan.gan.modelfile import save_generator

    parser = argparse.ArgumentParser(prog="python -m vjgan.gan.default", description=main.__doc__)
    parser.add_argument("--seed", type=int, default=0, help="random-init seed (default 0)")
    parser.add_argument("--out", type=Path, default=None, help="output path (default: the shipped model path)")
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else default_model_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    save_generator(build_default_generator(args.seed), out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
