"""The shipped default model: its architecture, how it was trained, and `python -m vjgan.gan.default`.

The default model (vjgan/models/default.safetensors) is a StyleGAN2 that vjgan trained itself on
procedural synthwave scenes (`vjgan.train.synthwave`) with `vjgan train`; DEFAULT_RECIPE records
the exact settings and docs/train.md the command lines, wall time and hardware.
`python -m vjgan.gan.default` re-runs that recipe from nothing (about an hour on 2 CPU cores).

`build_default_generator` is the older seeded random initialisation of the same architecture,
with calibrated output scales; it stays as a quick stand-in (`--random-init`) for tests and for
machines that cannot train.
"""

from __future__ import annotations

import argparse
import copy
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vjgan.gan.stylegan2 import Generator

DEFAULT_MODEL_NAME = "default.safetensors"


# Default generator architecture: 128x128 RGB, unconditional, sized to train on and to run on a
# 2-core CPU (the effect chain scales its picture to the output size). Channels per resolution are
# min(channel_base // res, channel_max): 64 up to 32 px, then 32 and 16 at 64 and 128 px. These
# are exactly the `Generator(**kwargs)` arguments that `vjgan train --size 128 --width 64` uses.
DEFAULT_CONFIG: dict[str, Any] = {
    "z_dim": 256,
    "c_dim": 0,
    "w_dim": 256,
    "img_resolution": 128,
    "img_channels": 3,
    "mapping_kwargs": {"num_layers": 2},
    "synthesis_kwargs": {"channel_base": 2048, "channel_max": 64, "num_fp16_res": 4, "conv_clamp": 256},
}


@dataclass(frozen=True)
class DefaultRecipe:
    """How the shipped default model was made (see docs/train.md)."""

    data_count: int = 5000  # synthwave scenes, python -m vjgan.train.synthwave DIR --count --size --seed
    data_seed: int = 0
    size: int = 128
    width: int = 64
    batch: int = 8
    seed: int = 0
    kimg: float = 65.496  # where the shipped run stopped: 8187 steps of 8, its 62-minute time box
    threads: int = 1

    def train_argv(self, data_dir: Path, out: Path) -> list[str]:
        """The `vjgan train` arguments (after the program name) that reproduce the default model."""
        return ["train", str(data_dir), "-o", str(out), "--size", str(self.size), "--width", str(self.width),
                "--batch", str(self.batch), "--kimg", f"{self.kimg:g}", "--seed", str(self.seed),
                "--threads", str(self.threads)]


DEFAULT_RECIPE = DefaultRecipe()


def default_generator_kwargs() -> dict[str, Any]:
    """A fresh deep copy of DEFAULT_CONFIG, safe to modify."""
    return copy.deepcopy(DEFAULT_CONFIG)


# Calibration of the random init. Plain N(0, 1) init gives a picture that is about half clipped
# to pure black/white/primaries and has only blurry blobs: every torgb adds an output of std ~0.4-1.2
# and no layer injects detail (noise strengths start at 0). So the builder (a) turns on the
# per-pixel noise at the middle resolutions, which the following random convs shape into texture,
# and (b) rescales each torgb so its contribution has a chosen spatial std: larger at coarse
# scales (colour fields and shapes), smaller at fine scales (detail).
_NOISE_STRENGTH = {16: 0.3, 32: 0.25, 64: 0.2}
_TORGB_TARGET_STD = {4: 0.35, 8: 0.30, 16: 0.25, 32: 0.18, 64: 0.14, 128: 0.10, 256: 0.08}
_CALIBRATION_SAMPLES = 8
_W_AVG_SAMPLES = 4096


def default_model_path() -> Path:
    """Path of the shipped default model file (vjgan/models/default.safetensors)."""
    return Path(__file__).resolve().parent.parent / "models" / DEFAULT_MODEL_NAME


def build_default_generator(seed: int = 0) -> Generator:
    """Seeded, deterministic, calibrated random-weight generator of the default architecture (eval mode).

    Not the shipped model (that one is trained); a stand-in that draws a colourful picture.
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


def main(argv: list[str] | None = None) -> int:
    """Rebuild the default model from nothing: make the synthwave set, train it (about an hour on 2 CPU
    cores), write the model. --random-init writes the quick calibrated random stand-in instead."""
    parser = argparse.ArgumentParser(prog="python -m vjgan.gan.default", description=main.__doc__)
    parser.add_argument("--out", type=Path, default=None, help="output path (default: the shipped model path)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the synthwave images here (default: a temporary folder)")
    parser.add_argument("--random-init", action="store_true", help="write the calibrated random init (seconds)")
    parser.add_argument("--seed", type=int, default=0, help="random-init seed (default 0)")
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else default_model_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.random_init:
        from vjgan.gan.modelfile import save_generator

        save_generator(build_default_generator(args.seed), out)
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, random init)")
        return 0
    from vjgan.cli import main as train_main
    from vjgan.train.synthwave import write_synthwave_dataset

    recipe = DEFAULT_RECIPE
    with tempfile.TemporaryDirectory(prefix="vjgan-default-") as tmp:
        data = (args.workdir or Path(tmp)) / "synthwave"
        write_synthwave_dataset(data, recipe.data_count, recipe.size, recipe.data_seed)
        return train_main([*recipe.train_argv(data, out), "--workdir", str(Path(tmp) / "run")])


if __name__ == "__main__":
    raise SystemExit(main())
