"""Building blocks of the generator: equalized-lr linear layer, FIR resampling, modulated conv.

Everything is plain torch (no custom CUDA/JIT ops) so it runs on any device torch supports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

LRELU_SLOPE = 0.2
ACTIVATION_GAINS = {"linear": 1.0, "relu": math.sqrt(2.0), "lrelu": math.sqrt(2.0)}


def check_activation(name: str) -> str:
    """Return `name` if it is a supported activation, else raise ValueError naming it."""
    if name not in ACTIVATION_GAINS:
        raise ValueError(f"activation '{name}' is not supported; use one of {sorted(ACTIVATION_GAINS)}")
    return name


def bias_act(
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    activation: str = "linear",
    gain: float = 1.0,
    clamp: float | None = None,
) -> torch.Tensor:
    """x + bias (per channel, dim 1), then activation, then * gain, then clamp to ±clamp.

    Works in place when x needs no gradient (x must then be a fresh intermediate result).
    """
    inplace = not x.requires_grad
    if bias is not None:
        b = bias.to(x.dtype).reshape([1, -1] + [1] * (x.ndim - 2))
        x = x.add_(b) if inplace else x + b
    if activation == "lrelu":
        x = F.leaky_relu_(x, LRELU_SLOPE) if inplace else F.leaky_relu(x, LRELU_SLOPE)
    elif activation == "relu":
        x = F.relu_(x) if inplace else F.relu(x)
    if gain != 1.0:
        x = x.mul_(gain) if inplace else x * gain
    if clamp is not None:
        x = x.clamp_(-clamp, clamp) if inplace else x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale x so that its mean square along `dim` is 1."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def make_resample_filter(taps: Sequence[float]) -> torch.Tensor:
    """2-D FIR filter (outer product of the 1-D taps), normalized to sum 1. Shape [k, k]."""
    f = torch.as_tensor(list(taps), dtype=torch.float32)
    if f.ndim != 1 or f.numel() == 0:
        raise ValueError("resample_filter must be a non-empty list of numbers, e.g. [1, 3, 3, 1]")
    f2 = torch.outer(f, f)
    return f2 / f2.sum()


def _depthwise_kernel(f: torch.Tensor, channels: int, gain: float, dtype: torch.dtype) -> torch.Tensor:
    """The filter as a [C, 1, kh, kw] depthwise kernel, scaled by gain."""
    return (f * gain).to(dtype)[None, None].expand(channels, 1, *f.shape).contiguous()


def fir_filter(
    x: torch.Tensor, f: torch.Tensor, padding: int, gain: float = 1.0, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """Convolve every channel of x with the 2-D FIR filter f (true convolution), zero padding, + bias."""
    channels = x.shape[1]
    kernel = _depthwise_kernel(f.flip([0, 1]), channels, gain, x.dtype)
    return F.conv2d(x, kernel, bias=bias, padding=padding, groups=channels)


def upsample2d(x: torch.Tensor, f: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Upsample x by `factor`: zero insertion, then FIR filter f with gain factor**2. Size H*factor.

    A strided transposed conv with the filter as kernel inserts the zeros and filters in one op;
    the crop keeps the samples that the zero-insert / pad((k+factor-1)//2, (k-factor)//2) / filter
    chain of the reference implementation keeps, so pixel centres line up the same way.
    """
    channels = x.shape[1]
    k = f.shape[-1]
    kernel = _depthwise_kernel(f, channels, float(factor * factor), x.dtype)
    start = k - 1 - (k + factor - 1) // 2
    tail = k - factor - start
    if start == tail and start >= 0:
        return F.conv_transpose2d(x, kernel, stride=factor, padding=start, groups=channels)
    out = F.conv_transpose2d(x, kernel, stride=factor, groups=channels)
    h, w = x.shape[-2] * factor, x.shape[-1] * factor
    return _pad_or_crop(out, start, tail)[..., :h, :w]


def _pad_or_crop(x: torch.Tensor, before: int, after: int) -> torch.Tensor:
    """Remove `before`/`after` samples from both spatial borders (negative values pad zeros)."""
    return F.pad(x, [-before, -after, -before, -after])


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool = True,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    gain: float = 1.0,
) -> torch.Tensor:
    """StyleGAN2 modulated convolution: gain * (conv(x, weight modulated by styles) + bias).

    x: [N, I, H, W]; weight: [O, I, kh, kw]; styles: [N, I]; bias: [O]. With up=2 the kernel is
    applied as a stride-2 transposed conv (true convolution, as in the reference implementation)
    followed by the FIR low-pass filter; the bias comes after the filter. A single image (N=1) folds
    styles and demodulation into the weights (float32, then cast to x.dtype); a batch instead scales
    the activations around one shared-weight conv, which oneDNN runs far faster than a grouped conv.
    A channels_last x gives a channels_last result (several times faster on CPU).
    """
    n = x.shape[0]
    if n == 1:
        return _modulated_conv2d_single(x, weight, styles, demodulate, up, padding, resample_filter, bias, gain)
    wts = weight.float()[None] * styles.float()[:, None, :, None, None]  # [N, O, I, kh, kw]
    coefs = torch.full(wts.shape[:2], float(gain), device=x.device)
    if demodulate:
        coefs = coefs * (wts.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [N, O]
    b = None if bias is None else (bias if gain == 1.0 else bias * gain).to(x.dtype)
    x = x * styles.to(x.dtype)[:, :, None, None]
    x = _conv(x, weight.to(x.dtype), up, padding, resample_filter, None)
    coefs = coefs.to(x.dtype)[:, :, None, None]
    return torch.addcmul(b[None, :, None, None], x, coefs) if b is not None else x * coefs


def _modulated_conv2d_single(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool,
    up: int,
    padding: int,
    resample_filter: torch.Tensor | None,
    bias: torch.Tensor | None,
    gain: float,
) -> torch.Tensor:
    """modulated_conv2d for one image: the same arithmetic as the batch formula, in as few ops as possible
    (a frame at batch 1 is dominated by per-op overhead on a CPU for small models)."""
    w = weight if weight.dtype == torch.float32 else weight.float()
    s = styles if styles.dtype == torch.float32 else styles.float()
    wts = w * s.reshape(1, -1, 1, 1)  # [O, I, kh, kw]
    if demodulate:
        coefs = (wts.square().sum(dim=[1, 2, 3]) + 1e-8).rsqrt()
        if gain != 1.0:
            coefs = coefs * gain
        wts = wts * coefs.view(-1, 1, 1, 1)
    elif gain != 1.0:
        wts = wts * gain
    if wts.dtype != x.dtype:
        wts = wts.to(x.dtype)
    b = bias
    if b is not None:
        if gain != 1.0:
            b = b * gain
        if b.dtype != x.dtype:
            b = b.to(x.dtype)
    return _conv(x, wts, up, padding, resample_filter, b)


def _conv(
    x: torch.Tensor, weight: torch.Tensor, up: int, padding: int, f: torch.Tensor | None, bias: torch.Tensor | None
) -> torch.Tensor:
    """conv2d (up=1) or stride-2 transposed conv + FIR low-pass (up=2), weight [O, I, kh, kw]."""
    kh = weight.shape[-1]
    if up == 1:
        return F.conv2d(x, weight, bias=bias, padding=padding)
    if up != 2:
        raise ValueError(f"modulated_conv2d supports up=1 or up=2, got up={up}")
    if f is None:
        raise ValueError("modulated_conv2d with up=2 needs a resample_filter")
    x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)  # size 2H + kh - 2
    # Low-pass, padded so the result is 2H + 2*padding - kh + 1 (2H for kh=3, padding=1).
    fk = f.shape[-1]
    pad0 = padding + (fk + 1) // 2 - (kh - 1)
    pad1 = padding + (fk - 2) // 2 - (kh - 2)
    if pad0 != pad1 or pad0 < 0:
        x, pad0 = _pad_or_crop(x, -pad0, -pad1), 0
    return fir_filter(x, f, padding=pad0, gain=4.0, bias=bias)


class FullyConnected(torch.nn.Module):
    """Linear layer with equalized learning rate: weights stored as N(0,1)/lr_multiplier.

    The runtime scale lr_multiplier/sqrt(in_features) keeps every layer's output at unit variance.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.activation = check_activation(activation)
        self.weight = torch.nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight if self.weight.dtype == x.dtype else self.weight.to(x.dtype)
        w = w * self.weight_gain
        b = self.bias
        if b is not None:
            if b.dtype != x.dtype:
                b = b.to(x.dtype)
            if self.bias_gain != 1.0:
                b = b * self.bias_gain
        if self.activation == "linear" and b is not None and x.ndim == 2:
            return F.linear(x, w, b)  # addmm(b, x, w.t()), one op
        x = x.matmul(w.t())
        return bias_act(x, b, self.activation, gain=ACTIVATION_GAINS[self.activation])

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, activation={self.activation}"
