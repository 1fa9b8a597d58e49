"""Alias-free resampling for vjgan's StyleGAN3: low-pass filter design and filtered leaky ReLU.

Plain numpy/torch (no scipy, no compiled ops). The filters are Kaiser-windowed low-passes:
a separable sinc for ordinary layers and a radially symmetric jinc (Bessel J1 from
`torch.special.bessel_j1`) for the rotation-equivariant config. `filtered_lrelu` is the
straightforward composition bias -> upsample -> leaky ReLU -> clamp -> downsample; it favours
clarity over speed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def kaiser_attenuation(numtaps: int, width: float) -> float:
    """Kaiser's estimate of stopband attenuation (dB) for `numtaps` taps and a transition band of
    `width` (as a fraction of the Nyquist frequency)."""
    return 2.285 * (numtaps - 1) * math.pi * width + 7.95


def kaiser_beta(attenuation: float) -> float:
    """Kaiser window shape parameter that reaches `attenuation` dB (Kaiser's empirical formula)."""
    if attenuation > 50:
        return 0.1102 * (attenuation - 8.7)
    if attenuation > 21:
        excess = attenuation - 21
        return 0.5842 * excess**0.4 + 0.07886 * excess
    return 0.0


def _kaiser_window(numtaps: int, width: float, fs: float) -> np.ndarray:
    beta = kaiser_beta(kaiser_attenuation(numtaps, width / (fs / 2)))
    return np.kaiser(numtaps, beta)


def bessel_j1(x: np.ndarray) -> np.ndarray:
    """Bessel function of the first kind, order 1, elementwise (float64)."""
    return torch.special.bessel_j1(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()


def lowpass_taps(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """1-D linear-phase low-pass: windowed sinc with cutoff `cutoff` (Hz at sample rate `fs`),
    Kaiser window sized for a transition band `width`, normalised to unit DC gain."""
    nyquist = fs / 2
    if not 0 < cutoff < nyquist:
        raise ValueError(f"filter cutoff {cutoff:g} must lie strictly between 0 and Nyquist {nyquist:g}")
    rel = cutoff / nyquist
    t = np.arange(numtaps) - (numtaps - 1) / 2
    taps = rel * np.sinc(rel * t) * _kaiser_window(numtaps, width, fs)
    return taps / taps.sum()


def radial_lowpass_taps(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """2-D radially symmetric low-pass [numtaps, numtaps]: the jinc (ideal disc filter's impulse
    response) times a separable Kaiser window, normalised to unit DC gain."""
    pos = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(pos[None, :], pos[:, None])
    arg = 2 * math.pi * cutoff * r
    safe_r = np.where(r > 0, r, 1.0)
    # J1(2*pi*c*r) / (pi*r) tends to c as r -> 0.
    taps = np.where(r > 0, bessel_j1(arg) / (math.pi * safe_r), cutoff)
    window = _kaiser_window(numtaps, width, fs)
    taps = taps * np.outer(window, window)
    return taps / taps.sum()


def design_lowpass_filter(
    numtaps: int, cutoff: float, width: float, fs: float, radial: bool = False
) -> torch.Tensor | None:
    """float32 filter tensor ([numtaps], or [numtaps, numtaps] when radial); None for one tap
    (the identity)."""
    if numtaps < 1:
        raise ValueError(f"numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    taps = radial_lowpass_taps(numtaps, cutoff, width, fs) if radial else lowpass_taps(numtaps, cutoff, width, fs)
    return torch.tensor(taps, dtype=torch.float32)


def _filter_size(f: torch.Tensor | None) -> int:
    return 1 if f is None else int(f.shape[-1])


def _window(x: torch.Tensor, axis: int, start: int, tail: int) -> torch.Tensor:
    """Drop `start` leading and `tail` trailing samples along axis (negative: add zeros there)."""
    if start >= 0 and tail >= 0:
        return x.narrow(axis, start, x.shape[axis] - start - tail)
    pads = [0, 0, 0, 0]
    first = 0 if axis == 3 else 2
    pads[first], pads[first + 1] = -start, -tail
    return F.pad(x, pads)


def _upsample_axis(x: torch.Tensor, f: torch.Tensor, up: int, axis: int, gain: float, start: int,
                   length: int) -> torch.Tensor:
    """Samples [start, start + length) of the true convolution of x, zero-inserted by `up` along
    `axis` (2 = height, 3 = width), with the 1-D filter f * gain (full convolution indexing).

    A depthwise transposed conv with stride `up` inserts the zeros and filters in one op; its
    `padding` trims equal amounts from both ends, the rest is trimmed (or zero-padded) after.
    """
    k, c = f.shape[0], x.shape[1]
    tail = (x.shape[axis] - 1) * up + k - start - length
    trim = max(min(start, tail), 0)
    shape = [c, 1, k, 1] if axis == 2 else [c, 1, 1, k]
    kernel = (f * gain).to(x.dtype).reshape(shape[1:]).expand(shape).contiguous()
    y = F.conv_transpose2d(x, kernel, stride=(up, 1) if axis == 2 else (1, up),
                           padding=(trim, 0) if axis == 2 else (0, trim), groups=c)
    return _window(y, axis, start - trim, tail - trim)


def _downsample(x: torch.Tensor, f: torch.Tensor, down: int) -> torch.Tensor:
    """Valid true convolution with f ([k] separable or [k, k]), evaluated every `down` samples."""
    c = x.shape[1]
    g = f.flip(list(range(f.ndim))).to(x.dtype)
    if f.ndim == 2:
        return F.conv2d(x, g[None, None].expand(c, 1, *g.shape).contiguous(), stride=down, groups=c)
    x = F.conv2d(x, g.reshape(1, 1, 1, -1).expand(c, 1, 1, -1).contiguous(), stride=(1, down), groups=c)
    return F.conv2d(x, g.reshape(1, 1, -1, 1).expand(c, 1, -1, 1).contiguous(), stride=(down, 1), groups=c)


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor | None,
    up: int = 1,
    down: int = 1,
    padding: Sequence[int] = (0, 0, 0, 0),
    gain: float = 1.0,
) -> torch.Tensor:
    """Upsample (zero insertion by `up`), pad [x0, x1, y0, y1] (negative crops), convolve with the
    FIR filter f (true convolution, only outputs whose footprint lies inside the padded image),
    then keep every `down`-th sample. `f` is None (identity), [k] (separable) or [k, k].
    """
    px0, px1, py0, py1 = (int(p) for p in padding)
    n, c, h, w = x.shape
    k = _filter_size(f)
    out_h = h * up + py0 + py1 - k + 1
    out_w = w * up + px0 + px1 - k + 1
    if out_h < 1 or out_w < 1:
        raise ValueError(f"upfirdn2d: a {h}x{w} input is too small for a {k}-tap filter with this padding")
    if f is None or (f.ndim == 2 and up > 1):
        if up > 1:
            y = x.new_zeros([n, c, h * up, w * up])
            y[:, :, ::up, ::up] = x
            x = y
        x = F.pad(x, [px0, px1, py0, py1])
        if f is not None:  # 2-D filter on the zero-inserted image
            x = _downsample(x, f * gain, 1)
        elif gain != 1:
            x = x * gain
    else:
        if f.ndim == 2:  # up == 1: pad, then one 2-D pass
            x = _downsample(F.pad(x, [px0, px1, py0, py1]), f * gain, 1)
        else:
            # In full-convolution indexing the wanted window starts at k - 1 - pad0.
            x = _upsample_axis(x, f, up, 3, math.sqrt(gain), k - 1 - px0, out_w)
            x = _upsample_axis(x, f, up, 2, math.sqrt(gain), k - 1 - py0, out_h)
    return x[:, :, ::down, ::down] if down > 1 else x


def filtered_lrelu(
    x: torch.Tensor,
    fu: torch.Tensor | None = None,
    fd: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: Sequence[int] = (0, 0, 0, 0),
    gain: float = math.sqrt(2),
    slope: float = 0.2,
    clamp: float | None = None,
) -> torch.Tensor:
    """Bias, upsample by `up` with filter fu (gain up**2, padding [x0, x1, y0, y1] on the upsampled
    image), leaky ReLU (negative slope `slope`) times `gain`, clamp to +-clamp, then low-pass with
    fd and decimate by `down`. slope=1, gain=1 makes it a purely linear resampler (the ToRGB case).
    """
    if gain <= 0:
        raise ValueError(f"gain must be positive, got {gain}")
    source = x
    if b is not None:
        x = x + b.to(x.dtype).reshape(1, -1, 1, 1)
    # lrelu(g * v) == g * lrelu(v) for g > 0, so the gain rides along with the upsampling filter.
    x = upfirdn2d(x, fu, up=up, padding=padding, gain=up * up * gain)
    # In place only on our own intermediate (never on the caller's tensor, never under autograd).
    inplace = not x.requires_grad and x.untyped_storage().data_ptr() != source.untyped_storage().data_ptr()
    if slope != 1:
        x = F.leaky_relu_(x, slope) if inplace else F.leaky_relu(x, slope)
    if clamp is not None:
        x = x.clamp_(-clamp, clamp) if inplace else x.clamp(-clamp, clamp)
    if fd is None:
        return x[:, :, ::down, ::down] if down > 1 else x
    return _downsample(x, fd, down)
