"""A compact residual discriminator (StyleGAN2's 'resnet' layout), equalized learning rate, plain torch.

image [N, 3, R, R] -> fromrgb (1x1) -> one residual block per resolution R ... 8 (each halves the
size) -> at 4x4: minibatch standard deviation, 3x3 conv, fully connected, one logit per image.
Channels per resolution follow the generator's rule, min(channel_base // res, channel_max).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vjgan.gan.layers import ACTIVATION_GAINS, LRELU_SLOPE, FullyConnected, make_resample_filter

_BLUR_TAPS = (1, 3, 3, 1)


def downsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Low-pass with the 4x4 FIR filter f, then keep every second sample: [N, C, H, W] -> [N, C, H/2, W/2]."""
    channels = x.shape[1]
    kernel = f.to(x.dtype)[None, None].expand(channels, 1, *f.shape)
    return F.conv2d(x, kernel, stride=2, padding=(f.shape[-1] - 2) // 2, groups=channels)


class EqualConv2d(torch.nn.Module):
    """k x k conv with weights N(0, 1) scaled by 1/sqrt(fan_in) at run time, optional 2x downsampling first."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: str = "lrelu", down: bool = False) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels])) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.activation, self.down, self.padding = activation, down, kernel_size // 2
        self.act_gain = ACTIVATION_GAINS[activation]
        if down:
            self.register_buffer("blur", make_resample_filter(_BLUR_TAPS), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            x = downsample2d(x, self.blur)
        x = F.conv2d(x, self.weight * self.weight_gain, self.bias, padding=self.padding)
        if self.activation == "lrelu":
            x = F.leaky_relu(x, LRELU_SLOPE)
        return x * self.act_gain if self.act_gain != 1 else x


class ResidualBlock(torch.nn.Module):
    """conv 3x3 at R, then downsample + conv 3x3 to R/2; skip: downsample + 1x1; summed with gain sqrt(1/2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3, down=True)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False, activation="linear", down=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.skip(x) + self.conv1(self.conv0(x))) * math.sqrt(0.5)


def minibatch_stddev(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """Append one feature map: the std over groups of samples, averaged (lets D see a lack of variety)."""
    n, c, h, w = x.shape
    g = min(group_size, n)
    while n % g:
        g -= 1
    y = x.reshape(g, n // g, c, h, w).float()
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=[1, 2, 3])  # [n // g]
    y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w).to(x.dtype)
    return torch.cat([x, y], dim=1)


class Discriminator(torch.nn.Module):
    """image [N, img_channels, R, R] (in [-1, 1]) -> logits [N, 1]."""

    def __init__(self, img_resolution: int, img_channels: int = 3, channel_base: int = 4096,
                 channel_max: int = 128) -> None:
        super().__init__()
        if img_resolution < 8 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of two >= 8, got {img_resolution}")
        self.img_resolution, self.img_channels = img_resolution, img_channels
        resolutions = [2**i for i in range(int(math.log2(img_resolution)), 2, -1)]  # R ... 8
        channels = {res: max(min(channel_base // res, channel_max), 1) for res in resolutions + [4]}
        self.fromrgb = EqualConv2d(img_channels, channels[img_resolution], 1)
        self.blocks = torch.nn.ModuleList(ResidualBlock(channels[res], channels[res // 2]) for res in resolutions)
        c4 = channels[4]
        self.conv = EqualConv2d(c4 + 1, c4, 3)
        self.fc = FullyConnected(c4 * 16, c4, activation="lrelu")
        self.out = FullyConnected(c4, 1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.fromrgb(img)
        for block in self.blocks:
            x = block(x)
        x = self.conv(minibatch_stddev(x))
        return self.out(self.fc(x.flatten(1)))
