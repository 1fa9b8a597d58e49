"""The effect chain: generator frame -> fill/crop -> effect passes (ping-pong FBOs) -> texture.

Orientation: every chain texture is in GL convention (v_uv.y = 1 is the top of the picture). The
numpy frame (row 0 = top) is uploaded as-is and flipped by the internal `_fill` pass; `read()`
flips back, so `read()` has the same orientation as the input frame.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import moderngl
import numpy as np

from vjgan.errors import VjganError
from vjgan.gfx import resources
from vjgan.gfx.uniforms import FrameUniforms

# Texture unit of each sampler name; samplers of different types must not share a unit.
SAMPLER_UNITS = {"u_source": 0, "u_input": 1, "u_prev_output": 2, "u_input_stats": 3,
                 "u_frame_tex": 4, "u_color": 5, "u_partial": 6}
_SCALAR_FIELDS = tuple(f.name for f in dataclasses.fields(FrameUniforms) if f.name != "chroma")
_REDUCE_BLOCK = 8


@dataclass(frozen=True)
class EffectSpec:
    """One pass: `shaders/<name>.frag`, its strength, and the FrameUniforms field it reacts to."""

    name: str
    strength: float = 0.5
    amp: str = "level"


class Pass:
    """A compiled fragment program plus a fullscreen-triangle VAO; sets only uniforms it has."""

    def __init__(self, ctx: moderngl.Context, src: resources.ShaderSource,
                 vert: resources.ShaderSource) -> None:
        self.source = src
        self.name = src.path.stem
        try:
            self.program = ctx.program(vertex_shader=vert.code, fragment_shader=src.code)
        except moderngl.Error as e:
            text = str(e)
            if "vertex_shader" in text and "fragment_shader" not in text:
                raise resources.compile_error(vert, text) from None
            raise resources.compile_error(src, text) from None
        self.vao = ctx.vertex_array(self.program, [])
        self.members = {name: self.program[name] for name in self.program
                        if isinstance(self.program[name], moderngl.Uniform)}
        for name, unit in SAMPLER_UNITS.items():
            if name in self.members:
                self.members[name].value = unit

    def has(self, name: str) -> bool:
        return name in self.members

    def set(self, name: str, value: float | int | Sequence[float]) -> None:
        """Set uniform `name` if the program has it (drivers drop unused ones); never raises."""
        u = self.members.get(name)
        if u is None:
            return
        try:
            if isinstance(value, (tuple, list)) and len(value) != u.dimension:
                n = u.array_length * u.dimension  # a float array (GL may report it shortened)
                vals = (list(value) + [0.0] * n)[:n]
                u.write(np.asarray(vals, dtype=np.float32).tobytes())
            else:
                u.value = value
        except Exception as e:  # noqa: BLE001 - moderngl raises several types here
            raise VjganError(f"{self.source.path}: cannot set uniform {name} ({e}) — declare it "
                             "as in shaders/_contract.glsl") from e

    def set_frame_uniforms(self, u: FrameUniforms, resolution: tuple[int, int]) -> None:
        for field in _SCALAR_FIELDS:
            self.set(f"u_{field}", getattr(u, field))
        self.set("u_chroma", tuple(u.chroma))
        self.set("u_resolution", (float(resolution[0]), float(resolution[1])))

    def draw(self) -> None:
        self.vao.render(moderngl.TRIANGLES, vertices=3)

    def release(self) -> None:
        self.vao.release()
        self.program.release()


class EffectChain:
    """Runs `effects` in order on each frame at output `size` (width, height)."""

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], effects: Sequence[EffectSpec],
                 shader_dir: Path | None = None) -> None:
        self.ctx = ctx
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] < 1 or self.size[1] < 1:
            raise VjganError(f"effect chain size {size[0]}x{size[1]} is empty — use a positive "
                             "size")
        self.specs = list(effects)
        search = resources.shader_search_path(shader_dir)
        for spec in self.specs:
            if spec.amp not in _SCALAR_FIELDS:
                raise VjganError(f"effect {spec.name!r}: amp {spec.amp!r} is not a FrameUniforms "
                                 f"field — use one of: {', '.join(_SCALAR_FIELDS)}")
        paths = [resources.effect_path(s.name, shader_dir) for s in self.specs]
        vert = resources.load_shader(self._internal(resources.VERTEX_FILE, search), search)

        def build(path: Path) -> Pass:
            return Pass(ctx, resources.load_shader(path, search), vert)

        built: list[Pass] = []
        try:
            for path in [*paths, self._internal("_fill.frag", search),
                         self._internal("_reduce.frag", search)]:
                built.append(build(path))
        except BaseException:
            for p in built:
                p.release()
            raise
        *self.passes, self._fill, self._reduce = built
        self._strengths = [float(s.strength) for s in self.specs]

        self._src_tex, self._src_fbo = self._target(self.size)
        # Ping-pong targets, plus a third holding last frame's output if any pass reads
        # u_prev_output (the three rotate: no copies).
        self._needs_prev = any(p.has("u_prev_output") for p in self.passes)
        n_targets = 0 if not self.passes else 3 if self._needs_prev else min(2, len(self.passes))
        self._pool = [self._target(self.size) for _ in range(n_targets)]
        self._black = ctx.texture((1, 1), 4, bytes([0, 0, 0, 255]))
        self._prev: int | None = None
        needs_stats = any(p.has("u_input_stats") for p in self.passes)
        self._stats = self._stats_targets() if needs_stats else []
        self._frame_tex: moderngl.Texture | None = None
        self._output = self._src_tex
        self._output_fbo = self._src_fbo

    @staticmethod
    def _internal(filename: str, search: list[Path]) -> Path:
        path = resources.find_shader(filename, search)
        if path is None:
            raise VjganError(f"internal shader {filename} missing from {search[-1]} — restore the "
                             "repository's shaders/ folder")
        return path

    def _target(self, size: tuple[int, int]) -> tuple[moderngl.Texture, moderngl.Framebuffer]:
        tex = self.ctx.texture(size, 4)
        tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        tex.repeat_x = tex.repeat_y = False
        return tex, self.ctx.framebuffer(color_attachments=[tex])

    def _stats_targets(self) -> list[tuple[moderngl.Texture, moderngl.Framebuffer]]:
        out = []
        w, h = self.size
        while True:
            w, h = -(-w // _REDUCE_BLOCK), -(-h // _REDUCE_BLOCK)
            tex = self.ctx.texture((w, h), 2, dtype="u4")
            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
            out.append((tex, self.ctx.framebuffer(color_attachments=[tex])))
            if w == 1 and h == 1:
                return out

    # -- per frame -------------------------------------------------------------------------

    def _upload(self, frame: np.ndarray) -> moderngl.Texture:
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4):
            raise ValueError(f"frame must be uint8 (H, W, 3|4), got {frame.dtype} {frame.shape}")
        fh, fw, comps = frame.shape
        tex = self._frame_tex
        if tex is None or tex.size != (fw, fh) or tex.components != comps:
            if tex is not None:
                tex.release()
            tex = self._frame_tex = self.ctx.texture((fw, fh), comps, alignment=1)
            tex.repeat_x = tex.repeat_y = False
            # Fill + centre crop: show the frame's central region with the output's aspect.
            scale = max(self.size[0] / fw, self.size[1] / fh)
            self._frame_mips = scale < 0.5  # minifying more than 2x: average with mipmaps
            if (fw, fh) == self.size:
                tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
            elif self._frame_mips:
                tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
            else:
                tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            uv_scale = (self.size[0] / (fw * scale), self.size[1] / (fh * scale))
            self._fill.set("u_uv_scale", uv_scale)
            self._fill.set("u_uv_offset", ((1 - uv_scale[0]) / 2, (1 - uv_scale[1]) / 2))
        tex.write(np.ascontiguousarray(frame), alignment=1)
        if self._frame_mips:
            tex.build_mipmaps()
        return tex

    def _compute_stats(self, tex: moderngl.Texture) -> None:
        src_size, first = self.size, True
        tex.use(location=SAMPLER_UNITS["u_color"])
        r = self._reduce
        r.set("u_block", (_REDUCE_BLOCK, _REDUCE_BLOCK))
        for stats_tex, fbo in self._stats:
            fbo.use()
            r.set("u_first", first)
            r.set("u_src_size", src_size)
            r.draw()
            stats_tex.use(location=SAMPLER_UNITS["u_partial"])
            src_size, first = stats_tex.size, False
        # leaves the 1x1 result bound on the u_partial unit; rebind it on the u_input_stats unit
        self._stats[-1][0].use(location=SAMPLER_UNITS["u_input_stats"])

    def render(self, frame: np.ndarray, u: FrameUniforms) -> moderngl.Texture:
        """Run the chain on `frame` (uint8 (H, W, 3), row 0 = top); returns the output texture."""
        self.ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        frame_tex = self._upload(frame)
        frame_tex.use(location=SAMPLER_UNITS["u_frame_tex"])
        self._src_fbo.use()
        self._fill.draw()

        self._src_tex.use(location=SAMPLER_UNITS["u_source"])
        prev_tex = self._pool[self._prev][0] if self._prev is not None else self._black
        prev_tex.use(location=SAMPLER_UNITS["u_prev_output"])
        free = [i for i in range(len(self._pool)) if i != self._prev][:2]
        cur_tex, cur_fbo, cur_idx = self._src_tex, self._src_fbo, None
        for k, (p, spec) in enumerate(zip(self.passes, self.specs)):
            if p.has("u_input_stats"):
                self._compute_stats(cur_tex)
            idx = free[k % 2]
            out_tex, out_fbo = self._pool[idx]
            cur_tex.use(location=SAMPLER_UNITS["u_input"])
            out_fbo.use()
            p.set_frame_uniforms(u, self.size)
            p.set("u_strength", self._strengths[k])
            p.set("u_amp", float(getattr(u, spec.amp)))
            p.draw()
            cur_tex, cur_fbo, cur_idx = out_tex, out_fbo, idx
        if self._needs_prev:
            self._prev = cur_idx
        self._output, self._output_fbo = cur_tex, cur_fbo
        return cur_tex

    @property
    def output(self) -> moderngl.Texture:
        """The last rendered output (the source copy before the first render)."""
        return self._output

    def read(self) -> np.ndarray:
        """The last output as uint8 (h, w, 3), row 0 = top (same orientation as the input frame)."""
        w, h = self.size
        data = self._output_fbo.read(components=3, alignment=1)
        return np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)[::-1].copy()

    def set_strength(self, name: str, value: float) -> None:
        """Set the strength of every pass running effect `name`."""
        hits = [i for i, s in enumerate(self.specs) if s.name == name]
        if not hits:
            names = ", ".join(s.name for s in self.specs) or "(none)"
            raise VjganError(f"effect {name!r} is not in the chain — chain effects: {names}")
        for i in hits:
            self._strengths[i] = float(value)

    def strengths(self) -> dict[str, float]:
        return {s.name: self._strengths[i] for i, s in enumerate(self.specs)}

    def release(self) -> None:
        for p in [*self.passes, self._fill, self._reduce]:
            p.release()
        objs = [self._src_tex, self._src_fbo, self._black, *[o for t in self._pool for o in t],
                *[o for t in self._stats for o in t]]
        if self._frame_tex is not None:
            objs.append(self._frame_tex)
        for o in objs:
            o.release()


def available_effects(shader_dir: Path | None = None) -> list[str]:
    return resources.available_effects(shader_dir)
