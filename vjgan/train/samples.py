"""Sample grids: a fixed set of latents drawn by the EMA generator, saved as one PNG per snapshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vjgan.gan.stylegan2 import Generator
from vjgan.files import atomic_path

GRID_PIXELS = 1024  # the grid is at most about this wide


def grid_shape(size: int) -> tuple[int, int]:
    """(columns, rows) of a sample grid at `size` px: up to 8 x 4 images, at most ~GRID_PIXELS wide."""
    cols = max(1, min(8, GRID_PIXELS // size))
    return cols, max(1, min(4, cols // 2))


def fixed_latents(seed: int, count: int, z_dim: int) -> torch.Tensor:
    """The same latents for every snapshot of a run (independent of the training RNG)."""
    return torch.randn([count, z_dim], generator=torch.Generator().manual_seed(seed + 12345))


def tile(images: np.ndarray, cols: int) -> np.ndarray:
    """uint8 [N, H, W, 3] -> one [rows*H, cols*W, 3] picture (missing cells black)."""
    n, h, w, c = images.shape
    rows = -(-n // cols)
    out = np.zeros((rows * h, cols * w, c), np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        out[r * h:(r + 1) * h, k * w:(k + 1) * w] = images[i]
    return out


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] float images [N, 3, H, W] -> uint8 [N, H, W, 3]."""
    return (x.detach().float().clamp(-1, 1).add(1).mul(127.5).round()
            .to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())


@torch.no_grad()
def render_grid(G: Generator, z: torch.Tensor, cols: int, truncation_psi: float = 1.0) -> np.ndarray:
    images = [G(z[i:i + 4].to(G.mapping.w_avg.device), None, truncation_psi=truncation_psi, noise_mode="const")
              for i in range(0, z.shape[0], 4)]
    return tile(to_uint8(torch.cat(images)), cols)


def save_png(picture: np.ndarray, path: Path) -> Path:
    with atomic_path(path, what="the sample grid") as tmp:
        Image.fromarray(picture).save(tmp, format="PNG")
    return path
