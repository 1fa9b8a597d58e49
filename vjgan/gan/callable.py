"""Any Python function as a generator: Lucid Sonic Dreams / Deep Music Visualizer style functions.

Such a function is called as `func(noise_batch=..., class_batch=...)` and returns one picture per
row. `CallableGenerator` wraps it in the runner protocol the engine uses (`z_dim`, `c_dim`,
`resolution`, `__call__`, `render_batch`), so a custom look plugs in where a model file would.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from vjgan.errors import VjganError
from vjgan.gan.runner import check_batch_inputs, check_inputs

SIGNATURE_HINT = ("style function must take parameters noise_batch and class_batch, "
                  "e.g. def style(noise_batch, class_batch): ...")
_FLOAT_TOLERANCE = 1e-6


def _int_arg(name: str, value: Any, minimum: int, meaning: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise VjganError(f"{name} must be an integer >= {minimum} ({meaning}), got {value!r}")
    return int(value)


def _check_signature(func: Callable[..., Any]) -> None:
    if not callable(func):
        raise VjganError(f"style function {func!r} is not callable; {SIGNATURE_HINT}")
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return  # a builtin without a signature: nothing to check, a bad call is reported when it fails
    by_keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for needed in ("noise_batch", "class_batch"):
        p = params.get(needed)
        if not (p is not None and p.kind in by_keyword) and not takes_kwargs:
            raise VjganError(SIGNATURE_HINT)
    for p in params.values():
        if (p.name not in ("noise_batch", "class_batch") and p.default is inspect.Parameter.empty
                and p.kind in (*by_keyword, inspect.Parameter.POSITIONAL_ONLY)):
            raise VjganError(f"style function {_name(func)} has required parameter '{p.name}' that vjgan "
                             "does not pass; give it a default or remove it")


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__name__", None) or type(func).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class CallableGenerator:
    """A style function behind the GeneratorRunner protocol.

    `func(noise_batch=<float32 (B, z_dim)>, class_batch=<float32 (B, c_dim)>)` must return B
    images: a list or tuple of PIL images or of arrays (H, W), (H, W, 1), (H, W, 3) or (H, W, 4),
    or one array (B, H, W, 3). Arrays are uint8 (0..255); other integer arrays must hold 0..255;
    float arrays must hold values in [0, 1] and are scaled by 255 and rounded. Grey is repeated
    to RGB; alpha (PIL RGBA/LA, or a 4th channel) is dropped, not composited. class_batch is
    (B, 0) when the function is unconditional (c_dim=0).

    z_dim is Lucid Sonic Dreams' `input_shape`, c_dim its `num_possible_classes`. psi is
    accepted for the protocol but ignored: truncation is the function's own business.
    `resolution` is the output height, None until the first frame; every frame of a run must
    have the size of the first.
    """

    def __init__(self, func: Callable[..., Any], z_dim: int, c_dim: int = 0) -> None:
        _check_signature(func)
        self.func = func
        self.name = _name(func)
        self.z_dim: int = _int_arg("z_dim", z_dim, 1, "the length of one noise vector")
        self.c_dim: int = _int_arg("c_dim", c_dim, 0, "the number of classes; 0 for none")
        self.resolution: int | None = None
        self.frame_shape: tuple[int, int] | None = None  # (height, width) once known

    def __call__(self, z: np.ndarray, c: np.ndarray | None = None, psi: float = 1.0) -> np.ndarray:
        """One frame, uint8 (H, W, 3), for noise vector z and class vector c (None when c_dim == 0)."""
        z_arr, c_arr, psi_f = check_inputs(z, c, psi, self.z_dim, self.c_dim)
        return self.render_batch(z_arr[None], c_arr[None], psi_f)[0]

    def render_batch(self, z: np.ndarray, c: np.ndarray | None = None, psi: float = 1.0) -> np.ndarray:
        """B frames, uint8 (B, H, W, 3), for z (B, z_dim) and c (B, c_dim) or None; psi is ignored."""
        z_arr, c_arr, _ = check_batch_inputs(z, c, psi, self.z_dim, self.c_dim)
        rows = z_arr.shape[0]
        try:
            out = self.func(noise_batch=z_arr.copy(), class_batch=c_arr.copy())
        except Exception as exc:
            raise VjganError(f"style function {self.name} raised {_first_line(exc)}; fix the function") from exc
        frames = self._to_frames(out, rows)
        shape = frames.shape[1:3]
        if self.frame_shape is None:
            self.frame_shape = (int(shape[0]), int(shape[1]))
            self.resolution = self.frame_shape[0]
        elif shape != self.frame_shape:
            raise VjganError(f"style function {self.name} returned {shape[0]}x{shape[1]} (HxW) images after "
                             f"{self.frame_shape[0]}x{self.frame_shape[1]} ones; return one size every call")
        return frames

    def _to_frames(self, out: Any, rows: int) -> np.ndarray:
        if isinstance(out, np.ndarray):
            if out.ndim != 4:
                raise VjganError(f"style function {self.name} returned one array of shape {out.shape}; return a "
                                 f"list of {rows} images or one array ({rows}, H, W, 3)")
            images: list[Any] = list(out)
        elif isinstance(out, (list, tuple)):
            images = list(out)
        else:
            raise VjganError(f"style function {self.name} returned a {type(out).__name__}; return a list of "
                             f"{rows} images (PIL or uint8 arrays) or one array ({rows}, H, W, 3)")
        if len(images) != rows:
            raise VjganError(f"style function {self.name} returned {len(images)} images for {rows} noise "
                             f"vectors; return one image per row of noise_batch")
        frames = [self._to_rgb(img, k) for k, img in enumerate(images)]
        sizes = {f.shape[:2] for f in frames}
        if len(sizes) > 1:
            listed = ", ".join(f"{h}x{w}" for h, w in sorted(sizes))
            raise VjganError(f"style function {self.name} returned images of different sizes ({listed}, HxW) "
                             "in one batch; return one size")
        return np.stack(frames)

    def _to_rgb(self, img: Any, k: int) -> np.ndarray:
        """Image k of the output as uint8 (H, W, 3)."""
        where = f"style function {self.name} image {k}"
        if _is_pil(img):
            return np.array(img.convert("RGB"), dtype=np.uint8)
        if not isinstance(img, np.ndarray):
            if not hasattr(img, "__array__"):
                raise VjganError(f"{where} is a {type(img).__name__}; return PIL images or numpy arrays")
            img = np.asarray(img)
        arr = _as_uint8(img, where)
        if arr.ndim == 3 and arr.shape[2] in (1, 3, 4):
            arr = arr[:, :, :3] if arr.shape[2] != 1 else arr[:, :, 0]
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise VjganError(f"{where} has shape {img.shape}; images must be (H, W), (H, W, 3) or (H, W, 4)")
        return np.ascontiguousarray(arr)


def _is_pil(img: Any) -> bool:
    from PIL import Image

    return isinstance(img, Image.Image)


def _as_uint8(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        if arr.dtype != np.bool_ and arr.size and (arr.min() < 0 or arr.max() > 255):
            raise VjganError(f"{where} has {arr.dtype} values {arr.min()}..{arr.max()}; integer images must hold 0..255")
        return arr.astype(np.uint8) * (255 if arr.dtype == np.bool_ else 1)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise VjganError(f"{where} contains NaN or infinity; return finite pixel values")
        lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
        if lo < -_FLOAT_TOLERANCE or hi > 1.0 + _FLOAT_TOLERANCE:
            raise VjganError(f"{where} has float values {lo:.3g}..{hi:.3g}; float images must be in [0, 1] "
                             "(or return uint8 0..255)")
        return np.rint(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise VjganError(f"{where} has dtype {arr.dtype}; return uint8 (0..255) or float (0..1) pixels")
