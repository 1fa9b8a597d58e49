"""The bundled default model: a seeded random-weight StyleGAN2 of the default architecture.

Until the project trains its own default style, `vjgan/models/default.safetensors` holds these
weights. `python -m vjgan.gan.default` rewrites the file; the same seed always gives the same
weights, so the file is reproducible.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from vjgan.gan.stylegan2 import Generator

DEFAULT_SEED = 0
# 256 px, unconditional, sized for a 2-core CPU (about 10 ms a frame there) and a small file.
DEFAULT_CONFIG: dict[str, Any] = {
    "z_dim": 256,
    "c_dim": 0,
    "w_dim": 256,
    "img_resolution": 256,
    "img_channels": 3,
    "mapping_kwargs": {"num_layers": 4},
    "synthesis_kwargs": {"channel_base": 4096, "channel_max": 128},
}
# Plain random init sums every ToRGB at full strength and clips most pixels to pure colours. The
# ToRGB weights are scaled so the image's spread is about this (in [-1, 1] units): colour and
# structure instead of saturated blobs.
TARGET_IMAGE_STD = 0.85
_CALIBRATION_SAMPLES = 8


def default_model_path() -> Path:
    return Path(__file__).resolve().parents[1] / "models" / "default.safetensors"


def build_default_generator(seed: int = DEFAULT_SEED) -> Generator:
    """The default architecture with deterministic random weights for `seed`."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        G = Generator(**DEFAULT_CONFIG).eval().requires_grad_(False)
    with torch.no_grad():
        z = torch.randn([_CALIBRATION_SAMPLES, G.z_dim], generator=gen)
        std = float(G(z, None).std())
        scale = TARGET_IMAGE_STD / max(std, 1e-6)
        for name, param in G.named_parameters():
            if ".torgb." in name and name.endswith(".weight"):
                param.mul_(scale)
    return G


def main(argv: list[str] | None = None) -> int:
    from vjgan.gan.modelfile import save_generator

    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else default_model_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_generator(build_default_generator(), path)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
