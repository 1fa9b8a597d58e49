"""vjgan's own StyleGAN3 generator ("alias-free"), configs T and R, written in plain torch.

Same calling contract as vjgan's StyleGAN2 and the public NVlabs release:
`G(z, c, truncation_psi, truncation_cutoff, noise_mode)`, `G.mapping(z, c, ...) -> ws`,
`G.synthesis(ws)`. Constructor arguments and state-dict keys follow NVlabs StyleGAN3 so its
checkpoints load key for key: `mapping.fc0.weight`, `mapping.w_avg`, `synthesis.input.freqs`,
`synthesis.input.affine.weight`, `synthesis.L0_36_512.weight`, `synthesis.L3_52_512.up_filter`,
`synthesis.L14_1024_3.bias`, ...

Config T: `conv_kernel=3, use_radial_filters=False` (the defaults). Config R: `conv_kernel=1,
use_radial_filters=True` (NVlabs also doubles channel_base and channel_max for R).
StyleGAN3 has no per-pixel noise; `noise_mode` is accepted (and checked) for the common contract.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vjgan.gan.sg3_layers import SynthesisInput, SynthesisLayer
from vjgan.gan.stylegan2 import Generator as _SG2Generator
from vjgan.gan.stylegan2 import MappingNetwork as _SG2Mapping
from vjgan.gan.stylegan2 import _check_noise_mode


class MappingNetwork(_SG2Mapping):
    """StyleGAN3 mapping: vjgan's StyleGAN2 mapping network (identical layers and key names:
    `embed`, `fc{i}`, `w_avg`) with StyleGAN3's defaults: 2 layers, all w_dim wide."""

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int,
        num_layers: int = 2,
        lr_multiplier: float = 0.01,
        w_avg_beta: float = 0.998,
        freeze_layers: int = 0,
        freeze_embed: bool = False,
    ) -> None:
        # freeze_* only matter for training (which layers receive gradients); the network is the same.
        super().__init__(z_dim, c_dim, w_dim, num_ws, num_layers=num_layers, lr_multiplier=lr_multiplier,
                         w_avg_beta=w_avg_beta)
        if not hasattr(self, "w_avg"):  # StyleGAN3 always keeps w_avg, even with w_avg_beta=None
            self.register_buffer("w_avg", torch.zeros([w_dim]))


def layer_schedule(
    img_resolution: int,
    img_channels: int,
    channel_base: int,
    channel_max: int,
    num_layers: int,
    num_critical: int,
    first_cutoff: float,
    first_stopband: float,
    last_stopband_rel: float,
    margin_size: int,
) -> dict[str, np.ndarray]:
    """Per-layer (index 0 = Fourier input, num_layers = ToRGB) cutoffs, half widths, sampling
    rates, sizes and channel counts: cutoff and minimum stopband grow geometrically from the first
    layer to the last non-critical one, then stay at the output's Nyquist frequency."""
    last_cutoff = img_resolution / 2
    last_stopband = last_cutoff * last_stopband_rel
    exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
    stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + margin_size * 2
    sizes[-2:] = img_resolution
    channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
    channels[-1] = img_channels
    return dict(cutoffs=cutoffs, half_widths=half_widths, sampling_rates=rates, sizes=sizes, channels=channels)


class SynthesisNetwork(torch.nn.Module):
    """ws [N, num_layers + 2, w_dim] -> image: Fourier input, then layers `L{i}_{size}_{channels}`."""

    def __init__(
        self,
        w_dim: int,
        img_resolution: int,
        img_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        num_layers: int = 14,
        num_critical: int = 2,
        first_cutoff: float = 2,
        first_stopband: float = 2**2.1,
        last_stopband_rel: float = 2**0.3,
        margin_size: int = 10,
        output_scale: float = 0.25,
        num_fp16_res: int = 4,
        **layer_kwargs: Any,
    ) -> None:
        super().__init__()
        if img_resolution < 16 or img_resolution & (img_resolution - 1):
            raise ValueError(f"img_resolution must be a power of two >= 16, got {img_resolution}")
        if img_channels < 1:
            raise ValueError(f"img_channels must be >= 1, got {img_channels}")
        if not 0 <= num_critical < num_layers:
            raise ValueError(f"need 0 <= num_critical < num_layers, got num_critical={num_critical}, "
                             f"num_layers={num_layers}")
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.num_ws = num_layers + 2
        self.num_layers, self.num_critical = num_layers, num_critical
        self.margin_size, self.output_scale, self.num_fp16_res = margin_size, output_scale, num_fp16_res
        sched = layer_schedule(img_resolution, img_channels, channel_base, channel_max, num_layers, num_critical,
                               first_cutoff, first_stopband, last_stopband_rel, margin_size)
        cutoffs, half_widths = sched["cutoffs"], sched["half_widths"]
        rates, sizes, channels = sched["sampling_rates"], sched["sizes"], sched["channels"]
        if channels.min() < 1:
            raise ValueError(f"channel_base {channel_base} gives 0 channels in some layer; raise channel_base")

        self.input = SynthesisInput(w_dim, int(channels[0]), int(sizes[0]), float(rates[0]), float(cutoffs[0]))
        self.layer_names: list[str] = []
        for idx in range(num_layers + 1):
            prev = max(idx - 1, 0)
            layer = SynthesisLayer(
                w_dim=w_dim, is_torgb=idx == num_layers, is_critically_sampled=idx >= num_layers - num_critical,
                use_fp16=bool(rates[idx] * 2**num_fp16_res > img_resolution),
                in_channels=int(channels[prev]), out_channels=int(channels[idx]),
                in_size=int(sizes[prev]), out_size=int(sizes[idx]),
                in_sampling_rate=int(rates[prev]), out_sampling_rate=int(rates[idx]),
                in_cutoff=float(cutoffs[prev]), out_cutoff=float(cutoffs[idx]),
                in_half_width=float(half_widths[prev]), out_half_width=float(half_widths[idx]),
                **layer_kwargs,
            )
            name = f"L{idx}_{layer.out_size}_{layer.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", force_fp32: bool = False,
                **unused: Any) -> torch.Tensor:
        """ws: [N, num_ws, w_dim] -> float32 image [N, img_channels, H, W], roughly in [-1, 1]."""
        _check_noise_mode(noise_mode)
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        w_list = ws.float().unbind(dim=1)
        x = self.input(w_list[0])
        for name, w in zip(self.layer_names, w_list[1:]):
            x = getattr(self, name)(x, w, force_fp32=force_fp32)
        x = x.float().contiguous()
        return x * self.output_scale if self.output_scale != 1 else x

    def extra_repr(self) -> str:
        return (f"w_dim={self.w_dim}, num_ws={self.num_ws}, img_resolution={self.img_resolution}, "
                f"img_channels={self.img_channels}, num_layers={self.num_layers}, num_critical={self.num_critical}")


class Generator(_SG2Generator):
    """StyleGAN3 generator: `G(z, c) -> image [N, img_channels, H, W]` roughly in [-1, 1].

    The same constructor, calling contract and `init_kwargs` as vjgan's StyleGAN2 generator, with
    StyleGAN3's mapping and synthesis networks. Synthesis settings may come flat (as in an NVlabs
    pickle's init kwargs) or as `synthesis_kwargs={...}`; `init_kwargs` stores them nested, JSON-able.
    """

    mapping_class = MappingNetwork
    synthesis_class = SynthesisNetwork

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, img_resolution: int, img_channels: int = 3,
                 mapping_kwargs: dict[str, Any] | None = None, synthesis_kwargs: dict[str, Any] | None = None,
                 **extra_synthesis_kwargs: Any) -> None:
        if isinstance(z_dim, int) and not isinstance(z_dim, bool) and z_dim == 0:
            raise ValueError(f"z_dim and w_dim must be >= 1, got z_dim={z_dim}, w_dim={w_dim}")
        super().__init__(z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs,
                         synthesis_kwargs, **extra_synthesis_kwargs)
