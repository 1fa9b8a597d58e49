"""Differentiable augmentation applied to every image the discriminator sees (real and generated).

The DiffAugment recipe (Zhao et al. 2020): random colour (brightness, saturation, contrast),
translation by up to 1/8 of the side with zero fill, and cutout of a random square of half the
side. Every op is built from differentiable tensor ops, so the generator's gradient flows through
them; each image in the batch gets its own random parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from vjgan.errors import VjganError
from vjgan.train.config import DEFAULT_POLICY, POLICIES


def parse_policy(text: str) -> tuple[str, ...]:
    """'color,translation,cutout' (any subset, or 'none') -> a tuple of op names; VjganError naming a bad one."""
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    if names in ((), ("none",)):
        return ()
    for name in names:
        if name not in POLICIES:
            raise VjganError(f"--augment: unknown augmentation '{name}'; use a comma list of "
                             f"{', '.join(POLICIES)} or 'none'")
    return names


def _rand(x: torch.Tensor) -> torch.Tensor:
    return torch.rand([x.shape[0], 1, 1, 1], device=x.device, dtype=x.dtype)


def color(x: torch.Tensor) -> torch.Tensor:
    """Brightness +-0.5, saturation x0-2, contrast x0.5-1.5 (images in [-1, 1])."""
    x = x + (_rand(x) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x) * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_rand(x) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ratio * side pixels in x and y; uncovered pixels become 0."""
    n, c, h, w = x.shape
    sy, sx = max(int(h * ratio + 0.5), 1), max(int(w * ratio + 0.5), 1)
    ty = torch.randint(-sy, sy + 1, [n, 1], device=x.device)
    tx = torch.randint(-sx, sx + 1, [n, 1], device=x.device)
    padded = F.pad(x, [sx, sx, sy, sy])
    rows = (torch.arange(h, device=x.device)[None] + sy - ty).clamp(0, h + 2 * sy - 1)  # [n, h]
    cols = (torch.arange(w, device=x.device)[None] + sx - tx).clamp(0, w + 2 * sx - 1)  # [n, w]
    padded = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * sx))
    return padded.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a random square of ratio * side in each image (the square may hang over the border)."""
    n, _, h, w = x.shape
    half_h, half_w = max(int(h * ratio / 2 + 0.5), 1), max(int(w * ratio / 2 + 0.5), 1)
    cy = torch.randint(0, h, [n, 1, 1], device=x.device)  # square centre
    cx = torch.randint(0, w, [n, 1, 1], device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = ((ys - cy).abs() < half_h) & ((xs - cx).abs() < half_w)  # [n, h, w]
    return x * (~inside).to(x.dtype)[:, None]


_OPS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: Sequence[str] = DEFAULT_POLICY) -> torch.Tensor:
    """Apply the ops in `policy` (in the order color, translation, cutout) with fresh random parameters."""
    for name in POLICIES:
        if name in policy:
            x = _OPS[name](x)
    return x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x
