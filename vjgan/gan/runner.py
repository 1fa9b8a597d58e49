"""Per-frame generator inference: numpy latent in, uint8 RGB frame out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vjgan.errors import VjganError
from vjgan.gan.stylegan2 import Generator


def resolve_device(device: str | torch.device) -> torch.device:
    """torch.device for `device`, or a VjganError if it is unknown or not available here."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise VjganError(f"device '{device}' is not a torch device name; use 'cpu' or 'cuda'") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise VjganError(f"device '{device}': CUDA is not available on this machine; use device 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise VjganError(f"device '{device}': only {torch.cuda.device_count()} CUDA device(s); use 'cuda:0'")
    elif dev.type != "cpu":
        raise VjganError(f"device '{device}' is not supported; use 'cpu' or 'cuda'")
    return dev


def check_vector(name: str, value: np.ndarray | None, dim: int) -> np.ndarray:
    """`value` as a finite float32 vector of shape (dim,), or a VjganError naming `name`."""
    arr = np.asarray(value, dtype=np.float32)
    if arr.shape != (dim,):
        raise VjganError(f"{name} has shape {arr.shape}; this model needs shape ({dim},)")
    if not np.all(np.isfinite(arr)):
        raise VjganError(f"{name} contains NaN or infinity; pass finite values")
    return arr


def check_batch(name: str, value: np.ndarray | None, dim: int, rows: int | None = None) -> np.ndarray:
    """`value` as a finite float32 C-contiguous batch (B, dim) with B >= 1 (B == rows when given)."""
    arr = np.ascontiguousarray(value, dtype=np.float32)
    want = f"({rows if rows is not None else 'B'}, {dim})"
    if arr.ndim != 2 or arr.shape[1] != dim or (rows is not None and arr.shape[0] != rows):
        raise VjganError(f"{name} has shape {arr.shape}; a batch for this model needs shape {want}")
    if arr.shape[0] == 0:
        raise VjganError(f"{name} has no rows; pass at least one row of shape ({dim},)")
    if not np.all(np.isfinite(arr)):
        raise VjganError(f"{name} contains NaN or infinity; pass finite values")
    return arr


def check_inputs(z: np.ndarray, c: np.ndarray | None, psi: float, z_dim: int, c_dim: int
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate one frame's inputs; returns (z (z_dim,), c (c_dim,), psi) with c empty when c_dim == 0."""
    z_arr = check_vector("z", z, z_dim)
    if c_dim > 0:
        if c is None:
            raise VjganError(f"the model is conditional (c_dim={c_dim}); pass a class vector c")
        c_arr = check_vector("c", c, c_dim)
    elif c is not None and np.asarray(c).size != 0:
        raise VjganError("the model is unconditional (c_dim=0); pass c=None")
    else:
        c_arr = np.zeros((0,), dtype=np.float32)
    return z_arr, c_arr, check_psi(psi)


def check_batch_inputs(z: np.ndarray, c: np.ndarray | None, psi: float, z_dim: int, c_dim: int
                       ) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate a batch; returns (z (B, z_dim), c (B, c_dim), psi) with c (B, 0) when c_dim == 0."""
    z_arr = check_batch("z", z, z_dim)
    rows = z_arr.shape[0]
    if c_dim > 0:
        if c is None:
            raise VjganError(f"the model is conditional (c_dim={c_dim}); pass class vectors c of shape ({rows}, {c_dim})")
        c_arr = check_batch("c", c, c_dim, rows)
    elif c is not None and np.asarray(c).size != 0:
        raise VjganError("the model is unconditional (c_dim=0); pass c=None")
    else:
        c_arr = np.zeros((rows, 0), dtype=np.float32)
    return z_arr, c_arr, check_psi(psi)


def check_psi(psi: float) -> float:
    try:
        psi_f = float(psi)
    except (TypeError, ValueError):
        raise VjganError(f"psi must be a finite number, got {psi!r}") from None
    if not np.isfinite(psi_f):
        raise VjganError(f"psi must be a finite number, got {psi!r}")
    return psi_f


class GeneratorRunner:
    """Renders one frame per call: `runner(z, c, psi) -> uint8 array (H, W, 3)`.

    Inputs are copied into preallocated tensors (static buffers, so the graph can be captured as a
    CUDA graph later); noise is 'const', so the same inputs always give the same frame.
    `threads` sets torch's intra-op thread count for the whole process (None leaves it alone).
    """

    def __init__(self, G: Generator, device: str | torch.device = "cpu", threads: int | None = None) -> None:
        if threads is not None:
            if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
                raise VjganError(f"threads must be a positive integer, got {threads!r}")
            torch.set_num_threads(threads)
        if G.img_channels not in (1, 3):
            raise VjganError(f"the model has {G.img_channels} image channels; vjgan renders RGB (3) or grey (1)")
        self.device = resolve_device(device)
        self.G = G.to(self.device).eval().requires_grad_(False)
        self.z_dim: int = G.z_dim
        self.c_dim: int = G.c_dim
        self.resolution: int = G.img_resolution
        self.num_ws: int = G.num_ws
        with torch.inference_mode():
            self._z = torch.zeros([1, self.z_dim], device=self.device)
            self._c = torch.zeros([1, self.c_dim], device=self.device)
            self._psi = torch.ones([], device=self.device)

    def _check(self, name: str, value: np.ndarray | None, dim: int) -> np.ndarray:
        return check_vector(name, value, dim)

    def __call__(self, z: np.ndarray, c: np.ndarray | None = None, psi: float = 1.0) -> np.ndarray:
        """Render the frame for latent z, class vector c (None when c_dim == 0), truncation psi."""
        z_arr = self._check("z", z, self.z_dim)
        if self.c_dim > 0:
            if c is None:
                raise VjganError(f"the model is conditional (c_dim={self.c_dim}); pass a class vector c")
            c_arr = self._check("c", c, self.c_dim)
        elif c is not None and np.asarray(c).size != 0:
            raise VjganError("the model is unconditional (c_dim=0); pass c=None")
        psi_f = float(psi)
        if not np.isfinite(psi_f):
            raise VjganError(f"psi must be a finite number, got {psi!r}")
        with torch.inference_mode():
            self._z.copy_(torch.from_numpy(z_arr).view(1, -1))
            if self.c_dim > 0:
                self._c.copy_(torch.from_numpy(c_arr).view(1, -1))
            self._psi.fill_(psi_f)
            return self._to_uint8(self._render())

    def render_batch(self, z: np.ndarray, c: np.ndarray | None = None, psi: float = 1.0) -> np.ndarray:
        """Render B frames at once: z (B, z_dim), c (B, c_dim) or None, one psi -> uint8 (B, H, W, 3).

        Row k gives the frame `self(z[k], c[k], psi)` gives (the same network, batched). Unlike
        `__call__` this allocates its tensors per call and leaves the static buffers alone.
        """
        z_arr, c_arr, psi_f = check_batch_inputs(z, c, psi, self.z_dim, self.c_dim)
        G = self.G
        with torch.inference_mode():
            z_t = torch.from_numpy(z_arr).to(self.device)
            c_t = torch.from_numpy(c_arr).to(self.device) if self.c_dim > 0 else None
            ws = G.mapping(z_t, c_t)
            ws = G.mapping.w_avg.lerp(ws, torch.full([], psi_f, device=self.device))
            return self._to_uint8_batch(G.synthesis(ws, noise_mode="const"))

    def _render(self) -> torch.Tensor:
        """The static-buffer graph: (z, c, psi) buffers -> float image [1, C, H, W]."""
        G = self.G
        ws = G.mapping(self._z, self._c if self.c_dim > 0 else None)
        ws = G.mapping.w_avg.lerp(ws, self._psi)  # psi=1 returns ws exactly
        return G.synthesis(ws, noise_mode="const")

    @staticmethod
    def _to_uint8_batch(img: torch.Tensor) -> np.ndarray:
        """[-1, 1] float images [B, C, H, W] -> uint8 (B, H, W, 3), the same rounding as `_to_uint8`."""
        x = img.add(1.0).mul_(127.5).clamp_(0.0, 255.0).round_().to(torch.uint8)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()

    @staticmethod
    def _to_uint8(img: torch.Tensor) -> np.ndarray:
        """[-1, 1] float image [1, C, H, W] -> uint8 (H, W, 3), C-contiguous, a fresh array."""
        x = img[0].add(1.0).mul_(127.5).clamp_(0.0, 255.0).round_().to(torch.uint8)
        if x.shape[0] == 1:
            x = x.expand(3, -1, -1)
        return x.permute(1, 2, 0).contiguous().cpu().numpy()


def load_runner(path: str | Path | None, device: str | torch.device = "cpu", threads: int | None = None
                ) -> GeneratorRunner:
    """Load a model file, a style name (see vjgan.gan.styles) or None (the shipped default) into a runner."""
    from vjgan.gan.modelfile import load_generator
    from vjgan.gan.styles import resolve_model

    model_path = resolve_model(path)
    dev = resolve_device(device)
    return GeneratorRunner(load_generator(model_path, device=dev), device=dev, threads=threads)
