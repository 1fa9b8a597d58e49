"""rosinality/stylegan2-pytorch checkpoints (`.pt`) mapped onto vjgan's StyleGAN2.

A rosinality checkpoint is a `torch.save` dict: `g_ema` (the generator's state_dict) and
`latent_avg` (the w average) from its convert_weight.py; training checkpoints from its train.py hold
`g`, `d`, `g_optim`, `d_optim`, `args` (an argparse.Namespace) and `ada_aug_p` instead of
`latent_avg`. The file is read with `torch.load(weights_only=True)`: tensors, plain containers and
numbers only, plus exactly one extra class, argparse.Namespace. Nothing else is ever unpickled.

Key mapping (rosinality -> vjgan; every tensor is only reshaped, none is permuted or flipped):

    style.{i+1}.weight/bias             -> mapping.fc{i}.weight/bias   (both store W / lr_mul)
    latent_avg                          -> mapping.w_avg
    input.input [1, C, 4, 4]            -> synthesis.b4.const [C, 4, 4]
    conv1.*                             -> synthesis.b4.conv1.*
    convs.{2k}.*, convs.{2k+1}.*        -> synthesis.b{8*2**k}.conv0.*, .conv1.*
    to_rgb1.*, to_rgbs.{k}.*            -> synthesis.b4.torgb.*, synthesis.b{8*2**k}.torgb.*
    noises.noise_0, noise_{2k+1}, noise_{2k+2} [1, 1, R, R] -> b4.conv1, b{R}.conv0, b{R}.conv1 .noise_const
    StyledConv  conv.weight [1, O, I, 3, 3] -> weight [O, I, 3, 3];  conv.modulation.* -> affine.*;
                noise.weight [1] -> noise_strength [];  activate.bias -> bias
    ToRGB       conv.weight [1, C, I, 1, 1] -> weight;  conv.modulation.* -> affine.*;  bias [1, C, 1, 1] -> bias [C]
    conv.blur.kernel, upsample.kernel   -> checked to be the [1, 3, 3, 1] filter vjgan builds; not stored

Why the upsampling conv weight is NOT flipped: convert_weight.py flips NVlabs TF's Conv0_up kernel
(`flip=True`) because rosinality runs it as `conv_transpose2d` (a true convolution) where TF ran a
correlation; NVlabs's own TF->PyTorch converter flips the same kernel for the same reason, and
vjgan's `modulated_conv2d(up=2)` is that same transposed conv. So rosinality's and vjgan's conv0
weights are already in the same orientation. The 1/sqrt(fan_in) weight scale rosinality applies
before demodulation cancels in the demodulation, as in NVlabs's code; ToRGB's scale is vjgan's
`weight_gain`. Channels: rosinality's table {4..32: 512, R >= 64: 16384 * channel_multiplier / R}
is vjgan's `min(channel_base // R, channel_max)` with channel_base = 16384 * channel_multiplier and
channel_max = 512 for channel_multiplier 1 (config-e) and 2 (config-f); any table of that form loads.
"""

from __future__ import annotations

import argparse
import math
import pickle
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from vjgan.errors import VjganError
from vjgan.gan.layers import make_resample_filter
from vjgan.gan.stylegan2 import DEFAULT_FILTER, Generator

LR_MLP = 0.01  # rosinality's Generator(lr_mlp=0.01); train.py never changes it
W_AVG_SAMPLES = 4096  # training checkpoints carry no latent_avg: it is estimated from this many z
W_AVG_SEED = 0
_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
_NOT_ROSINALITY = "vjgan reads rosinality/stylegan2-pytorch checkpoints (a dict with 'g_ema')"


def read_checkpoint(path: Path) -> Any:
    """torch.load with weights_only=True (plus argparse.Namespace): no code in the file can run."""
    with path.open("rb") as f:
        zipped = f.read(2) == b"PK"
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            if path.name.endswith(".safetensors"):  # torch.load would hand such a *path* to safetensors
                with path.open("rb") as f:
                    return torch.load(f, map_location="cpu", weights_only=True)
            return torch.load(path, map_location="cpu", weights_only=True, mmap=zipped)
    except pickle.UnpicklingError as exc:
        found = _GLOBAL.search(str(exc))
        if found:
            raise VjganError(f"{path}: refused: the checkpoint asks to load {found.group(1)}, which a model "
                             "checkpoint never needs (only tensors, numbers and argparse.Namespace are read); "
                             "do not use this file") from None
        raise VjganError(f"{path}: not a readable PyTorch checkpoint ({_first_line(exc)}); the file is "
                         "truncated or corrupt — get it again") from None
    except MemoryError:
        raise VjganError(f"{path}: ran out of memory reading the checkpoint; free memory or convert it "
                         "on a bigger machine with `vjgan convert`") from None
    except Exception as exc:  # torch raises RuntimeError/EOFError/ValueError/zip errors for broken files
        if "allocate memory" in str(exc) or "out of memory" in str(exc).lower():
            raise VjganError(f"{path}: ran out of memory reading the checkpoint ({_first_line(exc)}); free "
                             "memory or convert it on a bigger machine with `vjgan convert`") from None
        raise VjganError(f"{path}: not a readable PyTorch checkpoint ({type(exc).__name__}: "
                         f"{_first_line(exc)}); the file is truncated or corrupt — get it again") from None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(exc).__name__


def load_rosinality(path: str | Path) -> Generator:
    """A rosinality .pt as a vjgan Generator (eval mode, float32, cpu, requires_grad False)."""
    path = Path(path)
    if not path.is_file():
        raise VjganError(f"{path}: checkpoint not found; pass the path of a rosinality .pt file")
    ckpt = read_checkpoint(path)
    if not isinstance(ckpt, dict):
        raise VjganError(f"{path}: holds a {type(ckpt).__name__}, not a checkpoint dict; {_NOT_ROSINALITY}")
    args = ckpt.get("args")
    if isinstance(args, argparse.Namespace) and getattr(args, "arch", "stylegan2") != "stylegan2":
        raise VjganError(f"{path}: a rosinality '{args.arch}' checkpoint; vjgan converts the 'stylegan2' "
                         "architecture only")
    if "g_ema" in ckpt:
        state, where = ckpt["g_ema"], "g_ema"
    elif "input.input" in ckpt or "style.1.weight" in ckpt:
        state, where = ckpt, "the file"  # a bare generator state_dict
    else:
        keys = ", ".join(sorted(map(str, ckpt))[:8])
        raise VjganError(f"{path}: no 'g_ema' generator in the checkpoint (it has: {keys}); {_NOT_ROSINALITY}")
    if not isinstance(state, dict):
        raise VjganError(f"{path}: '{where}' is a {type(state).__name__}, not a state_dict; {_NOT_ROSINALITY}")
    lr_mlp = getattr(args, "lr_mlp", LR_MLP) if isinstance(args, argparse.Namespace) else LR_MLP
    return generator_from_state_dict(state, ckpt.get("latent_avg"), path, lr_mlp=float(lr_mlp))


def _tensors(state: dict[Any, Any], path: Path) -> dict[str, torch.Tensor]:
    """The state_dict's floating-point tensors by name, with a DataParallel 'module.' prefix removed."""
    if state and all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    out = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise VjganError(f"{path}: entry {key!r} of the generator state_dict is not a named tensor; "
                             "the checkpoint is not a rosinality generator")
        if not value.is_floating_point():
            raise VjganError(f"{path}: tensor '{key}' has dtype {value.dtype}; model tensors must be floating point")
        out[key] = value
    return out


def _shape(shapes: dict[str, tuple[int, ...]], key: str, path: Path, ndim: int) -> tuple[int, ...]:
    if key not in shapes:
        raise VjganError(f"{path}: tensor '{key}' is missing; the checkpoint is incomplete or not a "
                         "rosinality StyleGAN2 generator")
    shape = shapes[key]
    if len(shape) != ndim or 0 in shape:
        raise VjganError(f"{path}: tensor '{key}' has shape {list(shape)}; a rosinality generator's has {ndim} "
                         "non-empty dimensions")
    return shape


def generator_config(shapes: dict[str, tuple[int, ...]], path: Path, lr_mlp: float = LR_MLP) -> dict[str, Any]:
    """vjgan Generator kwargs for a rosinality generator, inferred from its tensors' shapes."""
    t = shapes  # short name: it is used on every line below
    n_mlp = 0
    while f"style.{n_mlp + 1}.weight" in t:
        n_mlp += 1
    style_dim = _shape(t, "style.1.weight", path, 2)[1]
    channels = {4: _shape(t, "input.input", path, 4)[1]}
    img_channels = _shape(t, "to_rgb1.conv.weight", path, 5)[1]
    # The depth comes from any to_rgbs.{k}.* tensor, so one missing tensor is reported by name.
    blocks = [int(m.group(1)) for m in (re.match(r"to_rgbs\.(\d+)\.", key) for key in t) if m]
    for k in range(max(blocks, default=-1) + 1):
        channels[8 * 2**k] = _shape(t, f"to_rgbs.{k}.conv.weight", path, 5)[2]
    size = max(channels)
    channel_max = max(channels.values())
    channel_base = channels[size] * size
    if any(min(channel_base // res, channel_max) != ch for res, ch in channels.items()):
        table = ", ".join(f"{res}: {ch}" for res, ch in channels.items())
        raise VjganError(f"{path}: channel widths {{{table}}} are not min(base / resolution, max) as vjgan's "
                         "StyleGAN2 builds them; only channel_multiplier 1 and 2 checkpoints convert")
    return dict(z_dim=style_dim, c_dim=0, w_dim=style_dim, img_resolution=size, img_channels=img_channels,
                mapping_kwargs={"num_layers": n_mlp, "lr_multiplier": lr_mlp},
                synthesis_kwargs={"channel_base": channel_base, "channel_max": channel_max,
                                  "num_fp16_res": 0, "conv_clamp": None})


def key_map(num_layers: int, img_resolution: int) -> Iterator[tuple[str, str]]:
    """(rosinality key, vjgan key) for every tensor of a generator of this depth and size."""
    for i in range(num_layers):
        for p in ("weight", "bias"):
            yield f"style.{i + 1}.{p}", f"mapping.fc{i}.{p}"
    yield "input.input", "synthesis.b4.const"
    convs = [("conv1", "synthesis.b4.conv1", "noises.noise_0")]
    rgbs = [("to_rgb1", "synthesis.b4.torgb")]
    for k in range(int(math.log2(img_resolution)) - 2):
        block = f"synthesis.b{8 * 2**k}"
        convs += [(f"convs.{2 * k}", f"{block}.conv0", f"noises.noise_{2 * k + 1}"),
                  (f"convs.{2 * k + 1}", f"{block}.conv1", f"noises.noise_{2 * k + 2}")]
        rgbs.append((f"to_rgbs.{k}", f"{block}.torgb"))
    for ros, ours, noise in convs:
        yield f"{ros}.conv.weight", f"{ours}.weight"
        yield f"{ros}.conv.modulation.weight", f"{ours}.affine.weight"
        yield f"{ros}.conv.modulation.bias", f"{ours}.affine.bias"
        yield f"{ros}.noise.weight", f"{ours}.noise_strength"
        yield f"{ros}.activate.bias", f"{ours}.bias"
        yield noise, f"{ours}.noise_const"
    for ros, ours in rgbs:
        yield f"{ros}.conv.weight", f"{ours}.weight"
        yield f"{ros}.conv.modulation.weight", f"{ours}.affine.weight"
        yield f"{ros}.conv.modulation.bias", f"{ours}.affine.bias"
        yield f"{ros}.bias", f"{ours}.bias"


def _rosinality_shape(ros_key: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape rosinality stores for a vjgan tensor of `shape` (the layouts differ by unit dims)."""
    if ros_key.startswith("noises."):
        return (1, 1, *shape)
    if ros_key in ("input.input",) or ros_key.endswith(".conv.weight"):
        return (1, *shape)
    if ros_key.endswith(".noise.weight"):
        return (1,)
    if ros_key.startswith("to_rgb") and ros_key.endswith(".bias") and ".conv." not in ros_key:
        return (1, shape[0], 1, 1)
    return shape


def _blur_keys(img_resolution: int) -> list[str]:
    n = int(math.log2(img_resolution)) - 2
    return [f"convs.{2 * k}.conv.blur.kernel" for k in range(n)] + [f"to_rgbs.{k}.upsample.kernel" for k in range(n)]


def generator_from_state_dict(state: dict[Any, Any], latent_avg: Any, path: Path,
                              lr_mlp: float = LR_MLP) -> Generator:
    """Build the vjgan Generator for a rosinality g_ema state_dict (+ its w average, or None)."""
    t = _tensors(state, path)
    config = generator_config({k: tuple(v.shape) for k, v in t.items()}, path, lr_mlp)
    try:
        with torch.device("meta"):
            G = Generator(**config)
    except (TypeError, ValueError) as exc:
        raise VjganError(f"{path}: the tensors describe a generator vjgan cannot build ({exc})") from None
    expected = {k: tuple(v.shape) for k, v in G.state_dict().items()}
    pairs = dict(key_map(config["mapping_kwargs"]["num_layers"], config["img_resolution"]))
    blur = _blur_keys(config["img_resolution"])
    for key in pairs:
        if key not in t:
            raise VjganError(f"{path}: tensor '{key}' is missing; the checkpoint is incomplete or not a "
                             "rosinality StyleGAN2 generator")
    extra = sorted(set(t) - set(pairs) - set(blur))
    if extra:
        raise VjganError(f"{path}: unexpected tensor '{extra[0]}' that a rosinality StyleGAN2 generator does not "
                         "have; the checkpoint is another architecture or was modified")
    want_kernel = make_resample_filter(DEFAULT_FILTER) * 4
    for key in blur:
        kernel = t.get(key)
        if kernel is None:
            raise VjganError(f"{path}: tensor '{key}' is missing; the checkpoint is incomplete")
        if tuple(kernel.shape) != (4, 4) or not torch.allclose(kernel.float(), want_kernel, atol=1e-6):
            raise VjganError(f"{path}: tensor '{key}' is not the [1, 3, 3, 1] blur kernel; vjgan converts "
                             "generators trained with the standard kernel only")
    tensors: dict[str, torch.Tensor] = {}
    for ros, ours in pairs.items():
        want = _rosinality_shape(ros, expected[ours])
        got = tuple(t[ros].shape)
        if got != want:
            raise VjganError(f"{path}: tensor '{ros}' has shape {list(got)} but this {config['img_resolution']} px "
                             f"generator needs {list(want)}; the checkpoint is inconsistent")
        tensors[ours] = _finite(t[ros].float().reshape(expected[ours]).clone(), ros, path)
    for key in expected:
        if key.endswith("resample_filter"):
            tensors[key] = make_resample_filter(DEFAULT_FILTER)
    w_dim = config["w_dim"]
    if latent_avg is not None:
        if not isinstance(latent_avg, torch.Tensor) or latent_avg.numel() != w_dim:
            got = list(latent_avg.shape) if isinstance(latent_avg, torch.Tensor) else type(latent_avg).__name__
            raise VjganError(f"{path}: 'latent_avg' is {got}, expected {w_dim} numbers (the w average)")
        tensors["mapping.w_avg"] = _finite(latent_avg.float().reshape(w_dim).clone(), "latent_avg", path)
    else:
        tensors["mapping.w_avg"] = torch.zeros(w_dim)
    G.load_state_dict(tensors, strict=True, assign=True)
    G.eval().requires_grad_(False)
    if latent_avg is None:
        with torch.no_grad():
            z = torch.randn([W_AVG_SAMPLES, G.z_dim], generator=torch.Generator().manual_seed(W_AVG_SEED))
            G.mapping.w_avg.copy_(G.mapping(z, None)[:, 0].mean(dim=0))
    return G


def _finite(t: torch.Tensor, key: str, path: Path) -> torch.Tensor:
    if not torch.isfinite(t).all():
        raise VjganError(f"{path}: tensor '{key}' contains NaN or infinity; the checkpoint is corrupt")
    return t
