"""Getting the generator's frame onto the GPU and into the chain's output shape.

The frame (uint8 (H, W, 3|4), numpy row 0 = top) is written straight into a texture with
`texture.write(bytes)`: on Mesa llvmpipe that beat a pixel-buffer-object upload at every size
measured (bench/effects_bench.py), and an RGBA frame uploads ~10x faster than RGB, but padding RGB
to RGBA in numpy costs more than it saves, so frames go up as they come.

The internal `_fill` pass then draws it at the chain's size, flipped to GL orientation, in one of
three fit modes for an output whose aspect differs from the frame's:

- `fill` (default): scale until the output is covered, centre-crop the rest;
- `fit`: scale until the whole frame fits, black bars (letterbox / pillarbox);
- `mirror`: like `fit`, with the bars filled by mirroring the picture outwards.
"""

from __future__ import annotations

import moderngl
import numpy as np

from vjgan.errors import VjganError
from vjgan.gfx.passes import SAMPLER_UNITS, Pass

FIT_MODES = ("fill", "fit", "mirror")


def check_fit(fit: object) -> str:
    if fit not in FIT_MODES:
        raise VjganError(f"fit mode {fit!r} is not known — use one of: {', '.join(FIT_MODES)}")
    return str(fit)


def fit_transform(frame_size: tuple[int, int], out_size: tuple[int, int],
                  fit: str) -> tuple[float, tuple[float, float], tuple[float, float]]:
    """(scale, uv_scale, uv_offset): frame pixels per output pixel, and the mapping from output uv
    (0..1, row 0 = top) to frame uv."""
    fw, fh = frame_size
    ow, oh = out_size
    pick = max if fit == "fill" else min
    scale = pick(ow / fw, oh / fh)
    uv_scale = (ow / (fw * scale), oh / (fh * scale))
    return scale, uv_scale, ((1 - uv_scale[0]) / 2, (1 - uv_scale[1]) / 2)


class FrameInput:
    """The frame texture (recreated when the frame's size or channels change) and the fill pass."""

    def __init__(self, ctx: moderngl.Context, out_size: tuple[int, int], fit: str,
                 fill: Pass) -> None:
        self.ctx = ctx
        self.out_size = out_size
        self.fit = check_fit(fit)
        self.fill = fill
        self.fill.set("u_fit_mode", FIT_MODES.index(self.fit))
        self.texture: moderngl.Texture | None = None
        self._mips = False

    def _configure(self, fw: int, fh: int, comps: int) -> moderngl.Texture:
        if self.texture is not None:
            self.texture.release()
        tex = self.texture = self.ctx.texture((fw, fh), comps, alignment=1)
        tex.repeat_x = tex.repeat_y = False
        scale, uv_scale, uv_offset = fit_transform((fw, fh), self.out_size, self.fit)
        self._mips = scale < 0.5  # minifying more than 2x: average with mipmaps
        if (fw, fh) == self.out_size:
            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        elif self._mips:
            tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
        else:
            tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.fill.set("u_uv_scale", uv_scale)
        self.fill.set("u_uv_offset", uv_offset)
        return tex

    def upload(self, frame: np.ndarray) -> moderngl.Texture:
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4):
            raise ValueError(f"frame must be uint8 (H, W, 3|4), got {frame.dtype} {frame.shape}")
        fh, fw, comps = frame.shape
        tex = self.texture
        if tex is None or tex.size != (fw, fh) or tex.components != comps:
            tex = self._configure(fw, fh, comps)
        tex.write(np.ascontiguousarray(frame), alignment=1)
        if self._mips:
            tex.build_mipmaps()
        return tex

    def draw(self, frame: np.ndarray, fbo: moderngl.Framebuffer) -> None:
        """Upload `frame` and draw it into `fbo` (the chain's source texture)."""
        self.upload(frame).use(location=SAMPLER_UNITS["u_frame_tex"])
        fbo.use()
        self.fill.draw()

    def release(self) -> None:
        if self.texture is not None:
            self.texture.release()
            self.texture = None
