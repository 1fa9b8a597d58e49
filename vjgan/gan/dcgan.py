"""A small DCGAN-style generator: z (+ one-hot class) -> transposed convs -> tanh image.

It exists to show that `GeneratorRunner` drives any generator module with the plain contract
`z_dim`, `c_dim`, `img_resolution`, `img_channels` and `forward(z, c) -> [N, C, H, W]` in [-1, 1]
(no `mapping`/`synthesis`, so truncation psi does not apply). `init_kwargs` is JSON-able, like
`vjgan.gan.stylegan2.Generator.init_kwargs`.
"""

from __future__ import annotations

import math
from typing import Any

import torch


class DCGANGenerator(torch.nn.Module):
    """DCGAN generator (Radford et al. 2015): 4x4 transposed conv from z, then stride-2
    transposed convs + BatchNorm + ReLU doubling the size up to `img_resolution`, then tanh.

    Channels at resolution r are min(channel_base // r, channel_max). A conditional model
    (c_dim > 0) concatenates the class vector to z. Weights start He-initialised for the true
    fan-in of each transposed conv, so a freshly built (seeded) model already draws a visible picture.
    """

    def __init__(self, z_dim: int = 100, c_dim: int = 0, img_resolution: int = 64, img_channels: int = 3,
                 channel_base: int = 16384, channel_max: int = 512) -> None:
        super().__init__()
        for name, value, low in (("z_dim", z_dim, 0), ("c_dim", c_dim, 0), ("img_channels", img_channels, 1),
                                 ("channel_base", channel_base, 1), ("channel_max", channel_max, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if z_dim + c_dim <= 0:
            raise ValueError("z_dim + c_dim must be positive")
        if not isinstance(img_resolution, int) or img_resolution < 8 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of two >= 8, got {img_resolution!r}")
        self.init_kwargs: dict[str, Any] = dict(z_dim=z_dim, c_dim=c_dim, img_resolution=img_resolution,
                                                img_channels=img_channels, channel_base=channel_base,
                                                channel_max=channel_max)
        self.z_dim, self.c_dim = z_dim, c_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        resolutions = [2**i for i in range(2, int(math.log2(img_resolution)))]  # 4 .. img_resolution / 2
        channels = {r: max(1, min(channel_base // r, channel_max)) for r in resolutions}
        layers: list[torch.nn.Module] = [
            torch.nn.ConvTranspose2d(z_dim + c_dim, channels[4], 4, 1, 0, bias=False),
            torch.nn.BatchNorm2d(channels[4]), torch.nn.ReLU(inplace=True),
        ]
        for res in resolutions[1:]:
            layers += [torch.nn.ConvTranspose2d(channels[res // 2], channels[res], 4, 2, 1, bias=False),
                       torch.nn.BatchNorm2d(channels[res]), torch.nn.ReLU(inplace=True)]
        layers += [torch.nn.ConvTranspose2d(channels[resolutions[-1]], img_channels, 4, 2, 1, bias=False),
                   torch.nn.Tanh()]
        self.net = torch.nn.Sequential(*layers)
        self._init_weights()

    def _init_weights(self) -> None:
        """He-normal on each transposed conv's real fan-in (in_channels x taps per output pixel)."""
        convs = [m for m in self.net if isinstance(m, torch.nn.ConvTranspose2d)]
        with torch.no_grad():
            for idx, conv in enumerate(convs):
                # The first conv sees a 1x1 input (one tap per output pixel); a stride-2 4x4 one sees 2x2.
                kh, kw = conv.kernel_size
                taps = 1 if idx == 0 else (kh // conv.stride[0]) * (kw // conv.stride[1])
                gain = math.sqrt(2.0) if idx < len(convs) - 1 else 1.0  # last layer: std ~1 before tanh
                conv.weight.normal_(0.0, gain / math.sqrt(conv.in_channels * taps))

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None = None) -> torch.Tensor:
        """z [N, z_dim], c [N, c_dim] (None when c_dim == 0) -> image [N, img_channels, H, W] in [-1, 1]."""
        parts = []
        if self.z_dim > 0:
            if z is None or z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must have shape [N, {self.z_dim}], got {None if z is None else list(z.shape)}")
            parts.append(z)
        if self.c_dim > 0:
            if c is None or c.ndim != 2 or c.shape[1] != self.c_dim:
                raise ValueError(f"c must have shape [N, {self.c_dim}], got {None if c is None else list(c.shape)}")
            parts.append(c.to(parts[0].dtype) if parts else c)
        x = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return self.net(x[:, :, None, None])

    def extra_repr(self) -> str:
        return (f"z_dim={self.z_dim}, c_dim={self.c_dim}, img_resolution={self.img_resolution}, "
                f"img_channels={self.img_channels}")
