"""One loader for every model format, and loading untrusted formats in a separate process.

Formats are told apart by their first bytes, never by the file name:

* vjgan `.safetensors` (an 8-byte header length, then a JSON header): `modelfile.load_generator`;
* PyTorch `torch.save` files (a zip archive, or the pre-1.6 pickle with torch's magic number):
  rosinality/stylegan2-pytorch checkpoints, `rosinality.load_rosinality`;
* any other pickle: an NVlabs StyleGAN2-ADA / StyleGAN3 network pickle, `nvlabs.load_nvlabs_pickle`.

`load_isolated` reads anything that is not a vjgan model file in a fresh child interpreter
(`python -m vjgan.gan.load_child IN OUT`) with a time limit and an optional address-space cap; the
child writes a vjgan `.safetensors` into a private temporary folder and the parent loads that
(data only). A broken or hostile file can hang or crash the child, never the caller or its threads.
"""

from __future__ import annotations

import os
import signal
import site
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

import vjgan
from vjgan.errors import VjganError
from vjgan.gan.modelfile import load_generator
from vjgan.gan.runner import resolve_device
from vjgan.gan.stylegan2 import Generator

VJGAN = "vjgan"
TORCH = "torch"
NVLABS = "nvlabs"
SUPPORTED = ("supported: vjgan .safetensors, NVlabs StyleGAN2-ADA/StyleGAN3 .pkl, "
             "rosinality stylegan2-pytorch .pt")
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_BYTES = 8 * 2**30
# Pickle protocol 2 header + the long 0x1950a86a20f9469cfc6c: how legacy (pre-zip) torch.save files start.
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
_ZIP_MAGIC = b"PK\x03\x04"


def _check_file(path: Path) -> int:
    """The file's size, or a VjganError when it is missing, a folder or unreadable."""
    if path.is_dir():
        raise VjganError(f"{path}: is a folder, not a model file; pass a model file ({SUPPORTED})")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise VjganError(f"{path}: model file not found; check the path") from None
    except OSError as exc:
        raise VjganError(f"{path}: cannot read the model file ({exc.strerror}); check its permissions") from None
    if not path.is_file():
        raise VjganError(f"{path}: not a regular file; pass a model file ({SUPPORTED})")
    return size


def detect_format(path: str | Path) -> str:
    """VJGAN, TORCH or NVLABS from the file's first bytes; a VjganError for anything else."""
    path = Path(path)
    size = _check_file(path)
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise VjganError(f"{path}: cannot read the model file ({exc.strerror}); check its permissions") from None
    if size == 0:
        raise VjganError(f"{path}: the file is empty; {SUPPORTED}")
    if head.startswith(_ZIP_MAGIC) or head.startswith(_LEGACY_TORCH_MAGIC):
        return TORCH
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:  # PROTO opcode, protocol 2-5
        return NVLABS
    if len(head) >= 9:
        (header_len,) = struct.unpack("<Q", head[:8])
        if 2 <= header_len <= size - 8 and head[8:9] == b"{":
            return VJGAN
    raise VjganError(f"{path}: not a model file vjgan can read (it starts with {head[:8]!r}); {SUPPORTED}")


def load_any(path: str | Path, device: str | torch.device = "cpu") -> Generator:
    """Load a model file of any supported format in this process (see `load_isolated` for untrusted files)."""
    path = Path(path)
    fmt = detect_format(path)
    dev = resolve_device(device)
    if fmt == VJGAN:
        return load_generator(path, device=dev)
    if fmt == TORCH:
        from vjgan.gan.rosinality import load_rosinality

        G = load_rosinality(path)
    else:
        from vjgan.gan.nvlabs import load_nvlabs_pickle

        G = load_nvlabs_pickle(path)
    return G.to(dev).eval().requires_grad_(False)


def _size_text(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # unreachable


def load_isolated(path: str | Path, timeout_s: float = DEFAULT_TIMEOUT_S, max_bytes: int = DEFAULT_MAX_BYTES,
                  memory_bytes: int | None = None, device: str | torch.device = "cpu") -> Generator:
    """Load any supported model file without reading untrusted formats in this process.

    vjgan .safetensors files load directly (they are data only). Anything else is converted by a
    child interpreter within `timeout_s` seconds (killed after that) and, when `memory_bytes` is
    given, an address-space limit of that many bytes; files over `max_bytes` are refused first.
    The child's one-line error is raised as a VjganError; no temporary file outlives the call.
    """
    path = Path(path)
    size = _check_file(path)
    if size > max_bytes:
        raise VjganError(f"{path}: the file is {_size_text(size)}, over the {_size_text(max_bytes)} limit for "
                         "model files; a StyleGAN generator is far smaller — check that this is the right file")
    fmt = detect_format(path)
    dev = resolve_device(device)
    if fmt == VJGAN:
        return load_generator(path, device=dev)
    with tempfile.TemporaryDirectory(prefix="vjgan-load-") as tmp:
        out = Path(tmp) / "model.safetensors"
        _convert_in_child(path, out, Path(tmp), timeout_s, memory_bytes)
        return load_generator(out, device=dev)


def _convert_in_child(path: Path, out: Path, workdir: Path, timeout_s: float, memory_bytes: int | None) -> None:
    cmd = [sys.executable, "-m", "vjgan.gan.load_child", str(path.resolve()), str(out)]
    if memory_bytes is not None:
        cmd += ["--memory-bytes", str(int(memory_bytes))]
    env = dict(os.environ)
    # The child runs in the private folder and must import this same vjgan: a source checkout's root
    # goes on its path (an installed vjgan in site-packages is found anyway and is not prepended).
    package_root = str(Path(vjgan.__file__).resolve().parent.parent)
    site_dirs = {str(Path(d).resolve()) for d in [*site.getsitepackages(), site.getusersitepackages()]}
    if package_root not in site_dirs:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=workdir, env=env)
    try:
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise VjganError(f"{path}: loading took longer than {timeout_s:g} s — the file is too big or broken; "
                             "convert it once with `vjgan convert` (its --timeout allows longer)") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode == 0 and out.is_file():
        return
    lines = [line.strip() for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    if proc.returncode > 0 and lines:
        raise VjganError(lines[-1])
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        cap = f" under the {_size_text(memory_bytes)} memory limit" if memory_bytes is not None else ""
        raise VjganError(f"{path}: the loader process was killed by {name}{cap} — the file is too big or "
                         "broken; convert it once with `vjgan convert` on a machine with more memory")
    raise VjganError(f"{path}: the loader process failed (exit status {proc.returncode}) without a message; "
                     "run `vjgan convert` on the file to see what is wrong")


def load_model(path: str | Path, device: str | torch.device = "cpu") -> Generator:
    """`vjgan.load_generator`: any supported model file (a vjgan .safetensors, an NVlabs .pkl, a
    rosinality .pt), with foreign formats read in a time-limited child process, never in this one."""
    return load_isolated(path, device=device)
