"""One fullscreen shader pass: a compiled fragment program plus a fullscreen-triangle VAO.

Samplers are bound to fixed texture units by name (`SAMPLER_UNITS`). A sampler the chain does not
provide (a "missing texture", e.g. `uniform sampler2D u_noise;` in a user shader) is pointed at a
unit holding a black texture of its kind and listed in `Pass.missing_samplers`, so the effect
reads black instead of whatever texture happens to sit on unit 0.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import moderngl
import numpy as np

from vjgan.errors import VjganError
from vjgan.gfx import resources
from vjgan.gfx.uniforms import FrameUniforms

# Texture unit of each sampler name; samplers of different types must not share a unit.
SAMPLER_UNITS = {"u_source": 0, "u_input": 1, "u_prev_output": 2, "u_input_stats": 3,
                 "u_frame_tex": 4, "u_color": 5, "u_partial": 6, "u_candidate": 7, "u_shown": 8,
                 "u_luma_partial": 9}
# Units holding a 1x1 black texture for unknown samplers: float, int and unsigned 2D samplers.
# Other sampler kinds (3D, cube, ...) get units nothing is bound to (GL reads those as black).
BLACK_UNITS = {"float": 10, "int": 11, "uint": 12}
_OTHER_UNITS = (13, 14, 15)

_GL_SAMPLER_2D, _GL_INT_SAMPLER_2D, _GL_UINT_SAMPLER_2D = 0x8B5E, 0x8DCA, 0x8DD2
_SAMPLER_TYPE_RANGES = ((0x8B5D, 0x8B64), (0x8DC0, 0x8DC5), (0x8DC9, 0x8DD8), (0x900C, 0x900F),
                        (0x9108, 0x910D))
SCALAR_FIELDS = tuple(f.name for f in dataclasses.fields(FrameUniforms) if f.name != "chroma")


def is_sampler(gl_type: int) -> bool:
    return any(lo <= gl_type <= hi for lo, hi in _SAMPLER_TYPE_RANGES)


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
        self.missing_samplers: list[str] = []
        others: dict[int, int] = {}
        for name, u in self.members.items():
            if name in SAMPLER_UNITS:
                u.value = SAMPLER_UNITS[name]
            elif is_sampler(u.gl_type):
                self.missing_samplers.append(name)
                u.value = self._black_unit(u.gl_type, others)

    @staticmethod
    def _black_unit(gl_type: int, others: dict[int, int]) -> int:
        if gl_type == _GL_SAMPLER_2D:
            return BLACK_UNITS["float"]
        if gl_type == _GL_INT_SAMPLER_2D:
            return BLACK_UNITS["int"]
        if gl_type == _GL_UINT_SAMPLER_2D:
            return BLACK_UNITS["uint"]
        if gl_type not in others:
            others[gl_type] = _OTHER_UNITS[min(len(others), len(_OTHER_UNITS) - 1)]
        return others[gl_type]

    def missing_sampler_warning(self) -> str | None:
        """One line naming samplers this program reads that the chain does not provide."""
        if not self.missing_samplers:
            return None
        names = ", ".join(self.missing_samplers)
        return (f"{self.source.path}: sampler {names} is not provided by the chain and reads "
                "black — the chain provides u_source, u_input and u_prev_output")

    def has(self, name: str) -> bool:
        return name in self.members

    def set(self, name: str, value: float | int | Sequence[float]) -> None:
        """Set uniform `name` if the program has it (drivers drop unused ones); never raises for
        an absent uniform."""
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

    def try_set(self, name: str, value: float | int | Sequence[float]) -> str | None:
        """Like `set`, but a uniform declared with the wrong type gives a message, not an error."""
        try:
            self.set(name, value)
        except VjganError as e:
            return str(e)
        return None

    def set_frame_uniforms(self, u: FrameUniforms, resolution: tuple[int, int]) -> list[str]:
        """Set every contract uniform the program has; returns problems (wrongly typed uniforms)."""
        problems = []
        for field in SCALAR_FIELDS:
            problems.append(self.try_set(f"u_{field}", getattr(u, field)))
        problems.append(self.try_set("u_chroma", tuple(u.chroma)))
        problems.append(self.try_set("u_resolution", (float(resolution[0]), float(resolution[1]))))
        return [p for p in problems if p]

    def draw(self) -> None:
        self.vao.render(moderngl.TRIANGLES, vertices=3)

    def release(self) -> None:
        self.vao.release()
        self.program.release()


class Reduction:
    """A pyramid of render targets that sums a texture down to one texel, `block` x `block` texels
    per step: `program` reads the source on the u_color unit in its first step (`u_first`) and the
    previous step on the `partial` unit after. Used for the contrast effect's luma statistics and the
    limiter's mean luminance."""

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], program: Pass, components: int,
                 dtype: str, partial: str, block: int = 8) -> None:
        self.size, self.program, self.partial = size, program, partial
        self.stages: list[tuple[moderngl.Texture, moderngl.Framebuffer]] = []
        w, h = size
        while True:
            w, h = -(-w // block), -(-h // block)
            tex = ctx.texture((w, h), components, dtype=dtype)
            tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
            self.stages.append((tex, ctx.framebuffer(color_attachments=[tex])))
            if w == 1 and h == 1:
                break
        program.set("u_block", (block, block))

    def run(self, texture: moderngl.Texture) -> tuple[moderngl.Texture, moderngl.Framebuffer]:
        """Reduce `texture`; returns the 1x1 result (left bound on the `partial` unit)."""
        texture.use(location=SAMPLER_UNITS["u_color"])
        src_size, first = self.size, True
        for tex, fbo in self.stages:
            fbo.use()
            self.program.set("u_first", first)
            self.program.set("u_src_size", src_size)
            self.program.draw()
            tex.use(location=SAMPLER_UNITS[self.partial])
            src_size, first = tex.size, False
        return self.stages[-1]

    def release(self) -> None:
        for tex, fbo in self.stages:
            fbo.release()
            tex.release()
        self.stages = []
