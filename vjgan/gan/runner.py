"""Per-frame generator inference: numpy latent in, uint8 RGB frame out."""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vjgan.errors import VjganError
from vjgan.gan.stylegan2 import Generator, SynthesisLayer, ToRGB


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


DTYPES = ("auto", "fp32", "fp16", "bf16")
_LOW_PRECISION = {"fp16": torch.float16, "bf16": torch.bfloat16}
WARMUP_ITERS = 3  # eager passes before capture (PyTorch's recipe) or before the first show frame on CPU
# Memory format the runner wants for conv inputs while it renders (None: leave the module's own).
_MEMORY_FORMAT: contextvars.ContextVar[torch.memory_format | None] = contextvars.ContextVar(
    "vjgan_memory_format", default=None)
_FORMAT_HOOKED: weakref.WeakSet[torch.nn.Module] = weakref.WeakSet()
_MODULE_HINT = ("a generator module needs int attributes z_dim, c_dim, img_resolution, img_channels "
                "and forward(z, c) -> [N, C, H, W] in [-1, 1]")


def bf16_supported(dev: torch.device) -> bool:
    """True when `dev` runs bfloat16 natively (oneDNN bf16 kernels on CPU, bf16 tensor math on CUDA)."""
    if dev.type == "cuda":
        with torch.cuda.device(dev):
            return torch.cuda.is_bf16_supported(including_emulation=False)
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without the probe: assume it runs
        return True


def resolve_dtype(dtype: str, dev: torch.device) -> str:
    """The precision ('fp32', 'fp16' or 'bf16') a runner on `dev` uses for `dtype`, or a VjganError.

    'auto' is fp16 on CUDA: the model's own top `num_fp16_res` blocks in fp16 with conv clamp, the rest
    fp32 (NVlabs style). On CPU it is fp32: on an AVX512-BF16 CPU bf16 made StyleGAN2 slower (0.84x at
    256 px, 0.71x at 512 px; bench/results/2026-11-21-cpu-generator.json) and only a DCGAN-style module
    faster (1.5x). A timed probe at start-up would make the picture (bf16 moves it by up to 3-12
    levels) depend on timing noise, so bf16 stays an explicit choice: dtype='bf16'.
    """
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise VjganError(f"dtype {dtype!r} is unknown; use one of {', '.join(repr(d) for d in DTYPES)}")
    if dtype == "auto":
        return "fp16" if dev.type == "cuda" else "fp32"
    if dtype == "fp16" and dev.type != "cuda":
        raise VjganError("dtype 'fp16' runs on CUDA only; on CPU use dtype='fp32' or 'bf16'")
    if dtype == "bf16" and not bf16_supported(dev):
        raise VjganError(f"dtype 'bf16': device '{dev}' has no native bfloat16; use dtype='auto'")
    return dtype


def _resolve_flag(name: str, value: Any, auto: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value == "auto":
        return auto
    raise VjganError(f"{name} must be 'auto', True or False, got {value!r}")


def _check_module(G: Any) -> None:
    if not isinstance(G, torch.nn.Module):
        raise VjganError(f"{type(G).__name__} is not a torch.nn.Module; {_MODULE_HINT}")
    for attr in ("z_dim", "c_dim", "img_resolution", "img_channels"):
        value = getattr(G, attr, None)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise VjganError(f"{type(G).__name__}.{attr} is {value!r}; {_MODULE_HINT}")
    if G.img_channels not in (1, 3):
        raise VjganError(f"the model has {G.img_channels} image channels; vjgan renders RGB (3) or grey (1)")


def _has_own_fp16(synthesis: Any) -> bool:
    """NVlabs convention (our StyleGAN2 and StyleGAN3): synthesis(..., force_fp32) with fp16 layers on CUDA."""
    try:
        return "force_fp32" in inspect.signature(synthesis.forward).parameters
    except (AttributeError, TypeError, ValueError):
        return False


def _format_hook(_module: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Forward pre-hook: put a conv layer's 4-D input in the memory format the rendering runner wants."""
    fmt = _MEMORY_FORMAT.get()
    if fmt is None or not args or not isinstance(args[0], torch.Tensor) or args[0].ndim != 4:
        return None
    return (args[0].contiguous(memory_format=fmt), *args[1:])


def _install_format_hooks(G: torch.nn.Module) -> None:
    """Hook every conv-carrying layer once; the hooks do nothing unless a runner is rendering."""
    for m in G.modules():
        conv = isinstance(m, (SynthesisLayer, ToRGB, torch.nn.Conv2d, torch.nn.ConvTranspose2d))
        if conv and m not in _FORMAT_HOOKED:
            m.register_forward_pre_hook(_format_hook)
            _FORMAT_HOOKED.add(m)


def write_uint8(img: torch.Tensor, out: torch.Tensor) -> None:
    """[-1, 1] images [N, C, H, W] (C = 1 or 3) -> uint8 into out [N, H, W, 3], round half to even."""
    x = img.float().add(1.0).mul_(127.5).clamp_(0.0, 255.0).round_().to(torch.uint8)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    out.copy_(x.permute(0, 2, 3, 1))


class GeneratorRunner:
    """Renders one frame per call: `runner(z, c, psi) -> uint8 array (H, W, 3)`, ready at construction.

    G is our StyleGAN2 `Generator` or any module with int `z_dim`, `c_dim`, `img_resolution`,
    `img_channels` and `forward(z, c) -> [N, C, H, W]` in about [-1, 1] (e.g. vjgan.gan.dcgan). Truncation
    psi applies only when G has `mapping.w_avg` and `synthesis` (ws = w_avg.lerp(mapping(z, c), psi));
    otherwise psi is ignored. The module must be deterministic (noise 'const', no host randomness).

    - dtype: 'auto' | 'fp32' | 'fp16' | 'bf16' (see `resolve_dtype`). When synthesis takes
      `force_fp32` (our StyleGAN2/3, NVlabs style), fp16 is the model's own fp16 layers, fp32 forces
      them off, and bf16 is autocast over synthesis; mapping and psi always run fp32. Other modules
      get autocast over the whole forward. The chosen precision is `self.dtype`.
    - channels_last: conv inputs in NHWC. 'auto': True on CPU (measured faster in
      bench/generator_bench.py), False on CUDA (NVlabs' default). Applied through forward pre-hooks
      on our StyleGAN2 layers and torch Conv2d/ConvTranspose2d, active only while this runner
      renders; modules that set their own layout inside forward (StyleGAN3) keep it.
    - cuda_graph: 'auto' = on for CUDA. Mapping, psi lerp, synthesis and the uint8 conversion are
      captured once here, after WARMUP_ITERS eager passes on a side stream, into static input/output
      tensors; a call only fills the pinned input buffer and replays. `capture_ms`, `warmup_ms` and
      `captures` record it. Graphs imply warm-up; `warmup=False` skips it only for eager runners.
    - reuse_output: False returns a fresh array per call. True returns a view of one buffer that the
      next call overwrites (use it only when the frame is consumed, e.g. uploaded, before that call).
    - threads sets torch's intra-op thread count for the whole process (None leaves it alone).

    `render_batch` always runs eagerly (no graph), with the same precision and memory format.
    Not thread-safe: one caller at a time. A captured graph holds G's tensors by address: update
    weights in place (load_state_dict), never move or replace them, while the runner is in use.
    """

    def __init__(self, G: Generator | torch.nn.Module, device: str | torch.device = "cpu",
                 threads: int | None = None, dtype: str = "auto", channels_last: bool | str = "auto",
                 cuda_graph: bool | str = "auto", warmup: bool = True, reuse_output: bool = False) -> None:
        if threads is not None:
            if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
                raise VjganError(f"threads must be a positive integer, got {threads!r}")
            torch.set_num_threads(threads)
        _check_module(G)
        self.device = resolve_device(device)
        cuda = self.device.type == "cuda"
        self.dtype: str = resolve_dtype(dtype, self.device)
        self.channels_last: bool = _resolve_flag("channels_last", channels_last, not cuda)
        if cuda_graph is True and not cuda:
            raise VjganError("cuda_graph=True: CUDA graphs need a CUDA device; use cuda_graph='auto'")
        self.cuda_graph: bool = _resolve_flag("cuda_graph", cuda_graph, cuda)
        self.reuse_output = bool(reuse_output)
        self.G = G.to(self.device).eval().requires_grad_(False)
        self.z_dim: int = G.z_dim
        self.c_dim: int = G.c_dim
        self.resolution: int = G.img_resolution
        self.num_ws: int | None = getattr(G, "num_ws", None)
        mapping = getattr(G, "mapping", None)
        self._split = isinstance(getattr(mapping, "w_avg", None), torch.Tensor) and callable(
            getattr(G, "synthesis", None))
        self._native = self._split and _has_own_fp16(G.synthesis)
        self._format = torch.channels_last if self.channels_last else torch.contiguous_format
        self._image_shape = (G.img_channels, G.img_resolution, G.img_resolution)
        _install_format_hooks(self.G)
        self.warmup_ms: float = 0.0
        self.capture_ms: float | None = None
        self.captures = 0
        self._graph: Any = None
        size = self.z_dim + self.c_dim + 1
        with torch.inference_mode():
            # One input tensor [z | c | psi]: the static buffers a captured graph reads.
            self._in = torch.zeros([size], device=self.device)
            self._in[-1] = 1.0
            self._z = self._in[: self.z_dim].view(1, self.z_dim)
            self._c = self._in[self.z_dim : self.z_dim + self.c_dim].view(1, self.c_dim)
            self._psi = self._in[-1]
            frame = [1, self.resolution, self.resolution, 3]
            self._out = torch.empty(frame, dtype=torch.uint8, device=self.device)
            if cuda:  # pinned host staging: one async copy in, one out, then an event sync
                self._in_host = torch.zeros([size], pin_memory=True)
                self._out_host = torch.empty(self._out.shape, dtype=torch.uint8, pin_memory=True)
                self._done = torch.cuda.Event()
            else:
                self._in_host, self._out_host = self._in, self._out
        self._in_np = self._in_host.numpy()
        self._out_np = self._out_host.numpy()[0]
        if self.cuda_graph:
            self._capture()
        elif warmup:
            t0 = time.perf_counter()
            with torch.inference_mode():
                for _ in range(WARMUP_ITERS):
                    self._step(self._out)
            if cuda:
                torch.cuda.synchronize(self.device)
            self.warmup_ms = (time.perf_counter() - t0) * 1e3

    def _precision(self) -> contextlib.AbstractContextManager[Any]:
        """Autocast for bf16, and for fp16 on modules without their own fp16 blocks; else nothing."""
        if self.dtype == "fp32" or (self.dtype == "fp16" and self._native):
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=_LOW_PRECISION[self.dtype], cache_enabled=False)

    def _forward(self, z: torch.Tensor, c: torch.Tensor | None, psi: torch.Tensor) -> torch.Tensor:
        """Float images [N, C, H, W] for z, c and a 0-dim psi tensor (graph-safe: no host sync)."""
        G = self.G
        token = _MEMORY_FORMAT.set(self._format)
        try:
            if self._split:
                ws = G.mapping.w_avg.lerp(G.mapping(z, c), psi)  # psi=1 returns ws exactly
                kwargs = {"force_fp32": self.dtype != "fp16"} if self._native else {}
                with self._precision():
                    img = G.synthesis(ws, noise_mode="const", **kwargs)
            else:
                with self._precision():
                    img = G(z, c)
        finally:
            _MEMORY_FORMAT.reset(token)
        if not isinstance(img, torch.Tensor) or img.ndim != 4 or tuple(img.shape[1:]) != self._image_shape:
            got = list(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
            want = ", ".join(map(str, self._image_shape))
            raise VjganError(f"{type(G).__name__} returned {got}; its forward must return [N, {want}]")
        return img

    def _step(self, out: torch.Tensor) -> None:
        """The captured work: static [z | c | psi] -> uint8 frame in out [1, H, W, 3]."""
        write_uint8(self._forward(self._z, self._c if self.c_dim > 0 else None, self._psi), out)

    def _capture(self) -> None:
        """Warm up on a side stream, then capture `_step` into a CUDA graph (torch.cuda.graphs recipe)."""
        with torch.cuda.device(self.device), torch.inference_mode():
            t0 = time.perf_counter()
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(WARMUP_ITERS):
                    self._step(self._out)
            torch.cuda.current_stream().wait_stream(side)
            torch.cuda.synchronize()
            t1 = time.perf_counter()
            graph = torch.cuda.CUDAGraph()
            try:
                with torch.cuda.graph(graph):
                    self._step(self._out)
            except RuntimeError as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise VjganError(f"CUDA graph capture of {type(self.G).__name__} failed ({first}); "
                                 "use cuda_graph=False") from exc
            torch.cuda.synchronize()
        self.warmup_ms = (t1 - t0) * 1e3
        self.capture_ms = (time.perf_counter() - t1) * 1e3
        self._graph = graph
        self.captures += 1

    def __call__(self, z: np.ndarray, c: np.ndarray | None = None, psi: float = 1.0) -> np.ndarray:
        """The frame for latent z, class vector c (None when c_dim == 0), truncation psi: uint8 (H, W, 3).

        A fresh array, or with reuse_output=True a view of a buffer that the next call overwrites.
        """
        z_arr, c_arr, psi_f = check_inputs(z, c, psi, self.z_dim, self.c_dim)
        self._in_np[: self.z_dim] = z_arr
        self._in_np[self.z_dim : self.z_dim + self.c_dim] = c_arr
        self._in_np[-1] = psi_f
        if self.device.type == "cpu":
            with torch.inference_mode():
                if self.reuse_output:
                    self._step(self._out)
                    return self._out_np
                out = np.empty(self._out_np.shape, dtype=np.uint8)
                self._step(torch.from_numpy(out)[None])
                return out
        with torch.cuda.device(self.device), torch.inference_mode():
            self._in.copy_(self._in_host, non_blocking=True)
            if self._graph is not None:
                self._graph.replay()
            else:
                self._step(self._out)
            self._out_host.copy_(self._out, non_blocking=True)
            self._done.record()
            self._done.synchronize()  # also guarantees the input copy finished before the next call
        return self._out_np if self.reuse_output else self._out_np.copy()

    def render_batch(self, z: np.ndarray, c: np.ndarray | None = None, psi: float = 1.0) -> np.ndarray:
        """Render B frames at once: z (B, z_dim), c (B, c_dim) or None, one psi -> uint8 (B, H, W, 3).

        Row k gives the frame `self(z[k], c[k], psi)` gives (the same network, batched, eager, with
        this runner's precision and memory format). Allocates per call; the static buffers stay as
        they are.
        """
        z_arr, c_arr, psi_f = check_batch_inputs(z, c, psi, self.z_dim, self.c_dim)
        with torch.inference_mode():
            z_t = torch.from_numpy(z_arr).to(self.device)
            c_t = torch.from_numpy(c_arr).to(self.device) if self.c_dim > 0 else None
            img = self._forward(z_t, c_t, torch.full([], psi_f, device=self.device))
            out = torch.empty([z_arr.shape[0], self.resolution, self.resolution, 3], dtype=torch.uint8,
                              device=self.device)
            write_uint8(img, out)
            return out.cpu().numpy()


def load_runner(path: str | Path | None, device: str | torch.device = "cpu", threads: int | None = None
                ) -> GeneratorRunner:
    """Load a model file, a style name (see vjgan.gan.styles) or None (the shipped default) into a runner.

    vjgan .safetensors load in this process; other formats (.pkl/.pt) are converted in a child
    process first (`vjgan.gan.loader.load_isolated`).
    """
    from vjgan.gan.loader import load_isolated
    from vjgan.gan.styles import resolve_model

    model_path = resolve_model(path)
    dev = resolve_device(device)
    return GeneratorRunner(load_isolated(model_path, device=dev), device=dev, threads=threads)
