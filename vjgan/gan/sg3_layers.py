"""Layers of vjgan's StyleGAN3 generator: Fourier-feature input and the alias-free synthesis layer.

Parameter and buffer names follow the public NVlabs StyleGAN3 release so its checkpoints map onto
these modules key for key: `input.{weight, affine.*, transform, freqs, phases}` and
`L*.{weight, bias, magnitude_ema, up_filter, down_filter, affine.*}`. Filters that are the
identity (one tap) are registered as None buffers, exactly like the reference, so they do not
appear in the state dict.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from vjgan.gan.layers import FullyConnected
from vjgan.gan.sg3_filters import design_lowpass_filter, filtered_lrelu


def sg3_modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool,
    padding: int,
    input_gain: torch.Tensor | None = None,
) -> torch.Tensor:
    """conv2d(x, weight modulated per sample by styles [N, I], demodulated per output channel),
    times the scalar input_gain. Weight and styles are first normalised (unit-norm filter rows,
    unit-RMS styles) so every intermediate stays near unit scale, which keeps float16 safe.

    One image folds everything into the weights; a batch shares one plain conv and moves the
    per-sample scales onto the activations (same result, much faster than a grouped conv on CPU).
    """
    n = x.shape[0]
    w = weight.float()
    s = styles.float()
    if demodulate:
        w = w * w.square().sum(dim=[1, 2, 3], keepdim=True).rsqrt()
        s = s * s.square().mean(dim=1, keepdim=True).rsqrt()
        # sum over (i, kh, kw) of (w * s)^2, without building the [N, O, I, kh, kw] tensor.
        coefs = (s.square() @ w.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()  # [N, O]
    else:
        coefs = torch.ones([n, w.shape[0]], device=x.device)
    if input_gain is not None:
        coefs = coefs * input_gain.float()
    if n == 1:
        wts = w * s[0][None, :, None, None] * coefs[0][:, None, None, None]
        return F.conv2d(x, wts.to(x.dtype), padding=padding)
    x = x * s.to(x.dtype)[:, :, None, None]
    x = F.conv2d(x, w.to(x.dtype), padding=padding)
    return x * coefs.to(x.dtype)[:, :, None, None]


class SynthesisInput(torch.nn.Module):
    """Fourier features: `channels` sinusoids with random frequencies inside a disc of radius
    `bandwidth`, rotated and translated by a w-dependent affine, plus a user transform buffer,
    sampled on a `size` x `size` grid at `sampling_rate`, then mixed by a learned matrix."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float) -> None:
        super().__init__()
        self.w_dim, self.channels = w_dim, channels
        self.size = int(size)
        self.sampling_rate, self.bandwidth = float(sampling_rate), float(bandwidth)
        # Frequencies uniform over the disc: a 2-D Gaussian sample of radius r gives a random
        # direction, and exp(-r^2 / 4) is the square root of a uniform variate (uniform in area).
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * self.bandwidth
        phases = torch.rand([channels]) - 0.5
        self.weight = torch.nn.Parameter(torch.randn([channels, channels]))
        self.affine = FullyConnected(w_dim, 4)
        with torch.no_grad():  # starts as the identity transform: (cos, sin, tx, ty) = (1, 0, 0, 0)
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        # Inverse transform of the output image (identity = none); set it to pan/rotate the picture.
        self.register_buffer("transform", torch.eye(3, 3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", phases)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        n, dev = w.shape[0], w.device
        t = self.affine(w.float())
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        rot = torch.eye(3, device=dev).repeat(n, 1, 1)
        rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        shift = torch.eye(3, device=dev).repeat(n, 1, 1)
        shift[:, 0, 2], shift[:, 1, 2] = -t[:, 2], -t[:, 3]
        transforms = rot @ shift @ self.transform.float().unsqueeze(0)  # [N, 3, 3]
        freqs = self.freqs.float().unsqueeze(0)  # [1, C, 2]
        phases = self.phases.float().unsqueeze(0) + (freqs @ transforms[:, :2, 2:]).squeeze(2)  # [N, C]
        freqs = freqs @ transforms[:, :2, :2]  # [N, C, 2]
        # Fade out frequencies that the user transform pushed past the band limit.
        excess = (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)
        amplitudes = (1 - excess).clamp(0, 1)
        # Pixel-centre coordinates in units of the sampling period, centred on the image.
        coords = (torch.arange(self.size, device=dev, dtype=torch.float32) + 0.5 - self.size / 2) / self.sampling_rate
        gy, gx = torch.meshgrid(coords, coords, indexing="ij")
        grid = torch.stack([gx, gy], dim=-1)  # [H, W, 2] as (x, y)
        x = torch.einsum("hwk,nck->nhwc", grid, freqs) + phases[:, None, None, :]
        x = torch.sin(x * (2 * math.pi)) * amplitudes[:, None, None, :]
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)  # NCHW view of NHWC memory (channels_last)

    def extra_repr(self) -> str:
        return (f"w_dim={self.w_dim}, channels={self.channels}, size={self.size}, "
                f"sampling_rate={self.sampling_rate:g}, bandwidth={self.bandwidth:g}")


class SynthesisLayer(torch.nn.Module):
    """Modulated conv, then bias + leaky ReLU evaluated at `lrelu_upsampling` times the higher of
    the in/out sampling rates between a Kaiser up-filter and down-filter (alias-free activation).
    The last layer (is_torgb) is a plain 1x1 modulated conv without demodulation or nonlinearity."""

    def __init__(
        self,
        w_dim: int,
        is_torgb: bool,
        is_critically_sampled: bool,
        use_fp16: bool,
        in_channels: int,
        out_channels: int,
        in_size: int,
        out_size: int,
        in_sampling_rate: int,
        out_sampling_rate: int,
        in_cutoff: float,
        out_cutoff: float,
        in_half_width: float,
        out_half_width: float,
        conv_kernel: int = 3,
        filter_size: int = 6,
        lrelu_upsampling: int = 2,
        use_radial_filters: bool = False,
        conv_clamp: float | None = 256,
        magnitude_ema_beta: float = 0.999,
    ) -> None:
        super().__init__()
        self.w_dim, self.is_torgb = w_dim, bool(is_torgb)
        self.is_critically_sampled, self.use_fp16 = bool(is_critically_sampled), bool(use_fp16)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.in_size, self.out_size = int(in_size), int(out_size)
        self.in_sampling_rate, self.out_sampling_rate = in_sampling_rate, out_sampling_rate
        self.tmp_sampling_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.in_cutoff, self.out_cutoff = float(in_cutoff), float(out_cutoff)
        self.in_half_width, self.out_half_width = float(in_half_width), float(out_half_width)
        self.conv_kernel = 1 if is_torgb else int(conv_kernel)
        self.conv_clamp = conv_clamp
        self.magnitude_ema_beta = magnitude_ema_beta

        self.affine = FullyConnected(w_dim, self.in_channels, bias_init=1)
        k = self.conv_kernel
        self.weight = torch.nn.Parameter(torch.randn([self.out_channels, self.in_channels, k, k]))
        self.bias = torch.nn.Parameter(torch.zeros([self.out_channels]))
        self.register_buffer("magnitude_ema", torch.ones([]))

        self.up_factor = self._resample_factor(self.tmp_sampling_rate, in_sampling_rate, "up")
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer("up_filter", design_lowpass_filter(
            self.up_taps, self.in_cutoff, self.in_half_width * 2, self.tmp_sampling_rate))
        self.down_factor = self._resample_factor(self.tmp_sampling_rate, out_sampling_rate, "down")
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.down_radial = bool(use_radial_filters) and not self.is_critically_sampled
        self.register_buffer("down_filter", design_lowpass_filter(
            self.down_taps, self.out_cutoff, self.out_half_width * 2, self.tmp_sampling_rate, radial=self.down_radial))

        # Padding on the upsampled image so that out_size samples remain after both filters, with
        # sample positions centred the same way on input and output (pixel centres, not corners).
        pad_total = (self.out_size - 1) * self.down_factor + 1
        pad_total -= (self.in_size + k - 1) * self.up_factor
        pad_total += self.up_taps + self.down_taps - 2
        pad_lo = (pad_total + self.up_factor) // 2
        pad_hi = pad_total - pad_lo
        self.padding = [pad_lo, pad_hi, pad_lo, pad_hi]

    @staticmethod
    def _resample_factor(tmp_rate: float, rate: float, what: str) -> int:
        factor = int(np.rint(tmp_rate / rate))
        if factor * rate != tmp_rate:
            raise ValueError(f"{what}sampling from rate {rate:g} to {tmp_rate:g} is not an integer factor")
        return factor

    def forward(
        self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "const", force_fp32: bool = False,
        update_emas: bool = False,
    ) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1:] != (self.in_channels, self.in_size, self.in_size):
            raise ValueError(f"expected input [N, {self.in_channels}, {self.in_size}, {self.in_size}], "
                             f"got {list(x.shape)}")
        # float16 only where it is fast and supported: CUDA. CPU always runs float32.
        use_fp16 = self.use_fp16 and not force_fp32 and x.device.type == "cuda"
        dtype = torch.float16 if use_fp16 else torch.float32
        # oneDNN's depthwise resampling convs are several times faster in NHWC (channels_last).
        layout = torch.channels_last if x.device.type == "cpu" else torch.contiguous_format
        x = x.to(dtype).contiguous(memory_format=layout)
        styles = self.affine(w.float())
        if self.is_torgb:
            styles = styles * (1 / math.sqrt(self.in_channels * self.conv_kernel**2))
        x = sg3_modulated_conv2d(x, self.weight, styles, demodulate=not self.is_torgb,
                                 padding=self.conv_kernel - 1, input_gain=self.magnitude_ema.rsqrt())
        return filtered_lrelu(
            x, self.up_filter, self.down_filter, self.bias, up=self.up_factor, down=self.down_factor,
            padding=self.padding, gain=1.0 if self.is_torgb else math.sqrt(2), slope=1.0 if self.is_torgb else 0.2,
            clamp=self.conv_clamp,
        )

    def extra_repr(self) -> str:
        return (f"is_torgb={self.is_torgb}, critical={self.is_critically_sampled}, use_fp16={self.use_fp16}, "
                f"channels={self.in_channels}->{self.out_channels}, size={self.in_size}->{self.out_size}, "
                f"rate={self.in_sampling_rate:g}->{self.out_sampling_rate:g}, up={self.up_factor}, "
                f"down={self.down_factor}, kernel={self.conv_kernel}")
