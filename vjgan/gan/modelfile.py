"""vjgan model files: safetensors tensors + a JSON architecture header in the metadata.

Metadata key "vjgan" holds `{"format": "vjgan-generator", "version": 1, "arch": "stylegan2",
"config": {<Generator init kwargs>}}`. Loading never unpickles anything.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from vjgan.errors import VjganError
from vjgan.files import atomic_path
from vjgan.gan.runner import resolve_device
from vjgan.gan.stylegan2 import Generator
from vjgan.gan.stylegan3 import Generator as StyleGAN3Generator

FORMAT_NAME = "vjgan-generator"
FORMAT_VERSION = 1
METADATA_KEY = "vjgan"
# arch name -> generator class. Every class needs `init_kwargs` (its JSON-able constructor arguments).
ARCHITECTURES: dict[str, type[torch.nn.Module]] = {"stylegan2": Generator, "stylegan3": StyleGAN3Generator}
_MAX_HEADER_BYTES = 100 * 1024 * 1024
_CONVERT_HINT = ("vjgan model files are .safetensors; convert a StyleGAN .pkl/.pt once with "
                 "`vjgan convert IN OUT.safetensors`")


def architecture_name(G: torch.nn.Module) -> str | None:
    """The ARCHITECTURES name of G's class (exact class match), or None."""
    return next((name for name, cls in ARCHITECTURES.items() if type(G) is cls), None)


def save_generator(G: torch.nn.Module, path: str | Path) -> Path:
    """Write G to `path` atomically (vjgan.files: temp file, fsync, rename). Returns the path."""
    path = Path(path)
    arch = architecture_name(G)
    if arch is None:
        raise TypeError(f"cannot save a {type(G).__name__}; expected one of {sorted(ARCHITECTURES)}")
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "arch": arch, "config": G.init_kwargs}
    try:
        header_json = json.dumps(header, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"generator config is not JSON-serialisable: {exc}") from exc
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in G.state_dict().items()}
    with atomic_path(path, what="the model file") as tmp:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: header_json})
    return path


def _sniff(path: Path) -> None:
    """Refuse files that are not safetensors before handing them to the parser (no unpickling)."""
    with open(path, "rb") as f:
        head = f.read(8)
        size = os.fstat(f.fileno()).st_size
        first = f.read(1)
    if head[:2] == b"PK" or head[:1] == b"\x80":
        raise VjganError(f"{path}: this is a pickle/PyTorch checkpoint, not a safetensors file; {_CONVERT_HINT}")
    if len(head) < 8:
        raise VjganError(f"{path}: file is too short to be a safetensors model ({size} bytes); {_CONVERT_HINT}")
    (header_len,) = struct.unpack("<Q", head)
    if header_len < 2 or header_len > min(size - 8, _MAX_HEADER_BYTES) or first != b"{":
        raise VjganError(f"{path}: not a safetensors file (no valid header); {_CONVERT_HINT}")


def _read_header(path: Path, metadata: dict[str, str] | None) -> tuple[str, dict[str, Any]]:
    """Validate the vjgan header; return (arch, config)."""
    if not metadata or METADATA_KEY not in metadata:
        raise VjganError(f"{path}: no '{METADATA_KEY}' header in the safetensors metadata; "
                         "this file was not written by vjgan (save models with vjgan.gan.save_generator)")
    try:
        header = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise VjganError(f"{path}: the '{METADATA_KEY}' header is not valid JSON ({exc.msg}); re-save the model") from exc
    if not isinstance(header, dict):
        raise VjganError(f"{path}: the '{METADATA_KEY}' header must be a JSON object; re-save the model")
    if header.get("format") != FORMAT_NAME:
        raise VjganError(f"{path}: header field 'format' is {header.get('format')!r}, expected '{FORMAT_NAME}'")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise VjganError(f"{path}: header field 'version' must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise VjganError(f"{path}: model format version {version} is newer than this vjgan supports "
                         f"({FORMAT_VERSION}); upgrade vjgan")
    arch = header.get("arch")
    if arch not in ARCHITECTURES:
        raise VjganError(f"{path}: unknown arch {arch!r} in the header; supported: {', '.join(sorted(ARCHITECTURES))}")
    config = header.get("config")
    if not isinstance(config, dict):
        raise VjganError(f"{path}: header field 'config' must be a JSON object of generator settings")
    for key in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"):
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise VjganError(f"{path}: header field 'config.{key}' must be a non-negative integer, got {value!r}")
    for key in ("mapping_kwargs", "synthesis_kwargs"):
        if not isinstance(config.get(key, {}), dict):
            raise VjganError(f"{path}: header field 'config.{key}' must be a JSON object")
    return arch, config


def _build(path: Path, arch: str, config: dict[str, Any]) -> Generator:
    """Construct the network on the meta device (no memory, no RNG use); weights come from the file."""
    try:
        with torch.device("meta"):
            return ARCHITECTURES[arch](**config)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise VjganError(f"{path}: invalid generator config in the header: {exc}") from exc


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> Generator:
    """Load a vjgan model file: a Generator in eval mode with requires_grad False, on `device`."""
    path = Path(path)
    dev = resolve_device(device)
    if not path.is_file():
        what = "is a folder, not a model file" if path.is_dir() else "model file not found"
        raise VjganError(f"{path}: {what}; pass the path of a vjgan .safetensors model")
    _sniff(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            arch, config = _read_header(path, f.metadata())
            G = _build(path, arch, config)
            expected = {k: tuple(v.shape) for k, v in G.state_dict().items()}
            found = set(f.keys())
            for key in expected:
                if key not in found:
                    raise VjganError(f"{path}: tensor '{key}' is missing (the header's {arch} config needs it); "
                                     "the file is incomplete or was written for another config")
            extra = sorted(found - expected.keys())
            if extra:
                raise VjganError(f"{path}: unexpected tensor '{extra[0]}' that the header's {arch} config does not "
                                 "use; the header and tensors do not match")
            tensors = {}
            for key, shape in expected.items():
                got = tuple(f.get_slice(key).get_shape())
                if got != shape:
                    raise VjganError(f"{path}: tensor '{key}' has shape {list(got)} but the header's config needs "
                                     f"{list(shape)}")
                t = f.get_tensor(key)
                if not t.is_floating_point():
                    raise VjganError(f"{path}: tensor '{key}' has dtype {t.dtype}; model tensors must be floating point")
                t = t.to(torch.float32)
                if not torch.isfinite(t).all():
                    raise VjganError(f"{path}: tensor '{key}' contains NaN or infinity; the model is corrupt")
                tensors[key] = t
    except SafetensorError as exc:
        raise VjganError(f"{path}: not a readable safetensors file ({exc}); {_CONVERT_HINT}") from exc
    G.load_state_dict(tensors, strict=True, assign=True)
    return G.to(dev).eval().requires_grad_(False)
