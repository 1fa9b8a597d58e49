"""The effect chain: frame -> fit (fill/fit/mirror) -> effect passes (ping-pong FBOs) -> freeze,
blackout and photosensitivity limiter -> output texture.

Orientation: every chain texture is in GL convention (v_uv.y = 1 is the top of the picture). The
numpy frame (row 0 = top) is uploaded as-is and flipped by the internal `_fill` pass; `read()`
flips back, so `read()` has the same orientation as the input frame.

Live use: `set_blackout`, `set_freeze`, `set_limit` and `set_strength` may be called between any
two frames; `poll_reload(t_s)` once per frame picks up edited shader files (a broken edit keeps the
last good program and sets `last_error`). Nothing here reads a clock: times come from
`FrameUniforms.time_s` and the `t_s` given to `poll_reload`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import moderngl
import numpy as np

from vjgan.errors import VjganError
from vjgan.gfx import resources
from vjgan.gfx.finish import OutputStage, Target, make_target
from vjgan.gfx.passes import BLACK_UNITS, SAMPLER_UNITS, SCALAR_FIELDS, Pass, Reduction
from vjgan.gfx.reload import FileWatcher
from vjgan.gfx.safety import LimiterConfig
from vjgan.gfx.uniforms import FrameUniforms
from vjgan.gfx.upload import FrameInput, check_fit

__all__ = ["EffectChain", "EffectSpec", "Pass", "SAMPLER_UNITS", "available_effects"]

BLACKOUT_FADE_S = 0.3


@dataclass(frozen=True)
class EffectSpec:
    """One pass: `shaders/<name>.frag`, its strength, and the FrameUniforms field it reacts to."""

    name: str
    strength: float = 0.5
    amp: str = "level"


class EffectChain:
    """Runs `effects` in order on each frame at output `size` (width, height).

    `fit` says how a frame of another aspect fills the output: "fill" (crop), "fit" (black bars)
    or "mirror". `limit` is the photosensitivity limiter: True (default settings), False (off) or
    a `LimiterConfig`. A blackout fades over `blackout_fade_s` seconds of stream time.
    """

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], effects: Sequence[EffectSpec],
                 shader_dir: Path | None = None, *, fit: str = "fill",
                 limit: bool | LimiterConfig = True,
                 blackout_fade_s: float = BLACKOUT_FADE_S) -> None:
        self.ctx = ctx
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] < 1 or self.size[1] < 1:
            raise VjganError(f"effect chain size {size[0]}x{size[1]} is empty — use a positive "
                             "size")
        self.fit = check_fit(fit)
        self.specs = list(effects)
        for spec in self.specs:
            if spec.amp not in SCALAR_FIELDS:
                raise VjganError(f"effect {spec.name!r}: amp {spec.amp!r} is not a FrameUniforms "
                                 f"field — use one of: {', '.join(SCALAR_FIELDS)}")
        self._search = resources.shader_search_path(shader_dir)
        paths = [resources.effect_path(s.name, shader_dir) for s in self.specs]
        self._vert = resources.load_shader(self._internal(resources.VERTEX_FILE), self._search)

        built: list[Pass] = []
        try:
            for path in [*paths, self._internal("_fill.frag"), self._internal("_reduce.frag")]:
                built.append(self._build(path))
            *self.passes, fill, self._reduce = built
            self._blacks = _black_textures(ctx)
            self._black = self._blacks["float"]
            self._stage = OutputStage(ctx, self.size, lambda f: self._build(self._internal(f)),
                                      limit, blackout_fade_s, self._black)
        except BaseException:
            for p in built:
                p.release()
            for tex in getattr(self, "_blacks", {}).values():
                tex.release()
            raise
        self._strengths = [float(s.strength) for s in self.specs]
        self._input = FrameInput(ctx, self.size, self.fit, fill)
        self._src_tex, self._src_fbo = make_target(ctx, self.size)
        self._pool: list[Target] = []
        self._stats: Reduction | None = None  # the u_input_stats sums, built when a pass reads them
        self._prev: int | None = None
        self._output: Target = (self._src_tex, self._src_fbo)
        self.warnings: list[str] = []
        self._errors: dict[Path, str] = {}
        self._watcher = FileWatcher()
        for p in self.passes:
            self._watch(p)
        self._layout()

    # -- building ----------------------------------------------------------------------------

    @staticmethod
    def _internal(filename: str) -> Path:
        """Internal shaders always come from the built-in folder: a user folder cannot replace
        the fill, statistics or limiter passes."""
        path = resources.builtin_shader_dir() / filename
        if not path.is_file():
            raise VjganError(f"internal shader {filename} missing from {path.parent} — restore "
                             "the repository's shaders/ folder")
        return path

    def _build(self, path: Path) -> Pass:
        return Pass(self.ctx, resources.load_shader(path, self._search), self._vert)

    def _watch(self, p: Pass) -> None:
        self._watcher.watch(p.source.path)
        if p.source.header_path is not None:
            self._watcher.watch(p.source.header_path)
        warning = p.missing_sampler_warning()
        if warning is not None:
            self._warn(warning)

    def _layout(self) -> None:
        """(Re)allocate what the current passes need: ping-pong targets, plus a third holding last
        frame's output if any pass reads u_prev_output (the three rotate: no copies), and the
        u_input_stats reduction if any pass reads it."""
        needs_prev = any(p.has("u_prev_output") for p in self.passes)
        n = 0 if not self.passes else 3 if needs_prev else min(2, len(self.passes))
        if n != len(self._pool):
            self._release_targets(self._pool)
            self._pool = [make_target(self.ctx, self.size) for _ in range(n)]
            self._prev = None
        self._needs_prev = needs_prev
        if any(p.has("u_input_stats") for p in self.passes) and self._stats is None:
            self._stats = Reduction(self.ctx, self.size, self._reduce, 2, "u4", "u_partial")

    # -- per frame ---------------------------------------------------------------------------

    def _compute_stats(self, tex: moderngl.Texture) -> None:
        assert self._stats is not None
        result, _ = self._stats.run(tex)
        result.use(location=SAMPLER_UNITS["u_input_stats"])  # the 1x1 sums, where effects read them

    def _run_effects(self, frame: np.ndarray, u: FrameUniforms) -> Target:
        self._input.draw(frame, self._src_fbo)
        for kind, unit in BLACK_UNITS.items():
            self._blacks[kind].use(location=unit)
        self._src_tex.use(location=SAMPLER_UNITS["u_source"])
        prev_tex = self._pool[self._prev][0] if self._prev is not None else self._black
        prev_tex.use(location=SAMPLER_UNITS["u_prev_output"])
        free = [i for i in range(len(self._pool)) if i != self._prev][:2]
        cur: Target = (self._src_tex, self._src_fbo)
        cur_idx = None
        for k, (p, spec) in enumerate(zip(self.passes, self.specs)):
            if p.has("u_input_stats"):
                self._compute_stats(cur[0])
            idx = free[k % 2]
            cur[0].use(location=SAMPLER_UNITS["u_input"])
            self._pool[idx][1].use()
            problems = p.set_frame_uniforms(u, self.size)
            problems.append(p.try_set("u_strength", self._strengths[k]))
            problems.append(p.try_set("u_amp", float(getattr(u, spec.amp))))
            for problem in problems:
                if problem:
                    self._warn(problem)
            p.draw()
            cur, cur_idx = self._pool[idx], idx
        if self._needs_prev:
            self._prev = cur_idx
        return cur

    def render(self, frame: np.ndarray, u: FrameUniforms) -> moderngl.Texture:
        """Run the chain on `frame` (uint8 (H, W, 3|4), row 0 = top); returns the output texture.
        While frozen the frame is ignored and the frozen picture is shown."""
        self.ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST | moderngl.CULL_FACE)
        candidate = None if self._stage.frozen else self._run_effects(frame, u)
        self._output = self._stage.finish(candidate, float(u.time_s))
        return self._output[0]

    @property
    def output(self) -> moderngl.Texture:
        """The last rendered output (the source copy before the first render)."""
        return self._output[0]

    def read(self) -> np.ndarray:
        """The last output as uint8 (h, w, 3), row 0 = top (same orientation as the input frame)."""
        w, h = self.size
        data = self._output[1].read(components=3, alignment=1)
        return np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)[::-1].copy()

    # -- live controls -----------------------------------------------------------------------

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

    def set_blackout(self, on: bool) -> None:
        """Fade to black (over blackout_fade_s, and through the limiter) or back."""
        self._stage.blackout = bool(on)

    @property
    def blackout(self) -> bool:
        return self._stage.blackout

    def set_freeze(self, on: bool) -> None:
        """Keep showing the current output (renders are ignored) until unfrozen."""
        self._stage.set_freeze(on, self._output[1])

    @property
    def frozen(self) -> bool:
        return self._stage.frozen

    def set_limit(self, on: bool) -> None:
        """Switch the photosensitivity limiter on or off (it is on by default)."""
        self._stage.set_limit(on)

    @property
    def limit_enabled(self) -> bool:
        return self._stage.limit_enabled

    @property
    def limiter(self):  # noqa: ANN201 - FlashLimiter, for the HUD and tests
        return self._stage.limiter

    @property
    def last_alpha(self) -> float:
        """How far the last frame moved towards its candidate (1 = not limited)."""
        return self._stage.last_alpha

    # -- hot reload --------------------------------------------------------------------------

    @property
    def last_error(self) -> str | None:
        """The newest unresolved shader problem as one line `path:line: message`, else None."""
        return next(reversed(self._errors.values()), None)

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            del self.warnings[:-20]

    def _report(self, path: Path, message: str) -> None:
        self._errors.pop(path, None)
        self._errors[path] = message

    def poll_reload(self, t_s: float) -> list[str]:
        """Recompile effect shaders whose files changed (stat at most every 0.25 s of `t_s`).
        Returns the names of the effects swapped in. A file that fails to compile, or was
        deleted, keeps its last good program and sets `last_error`."""
        changed: set[Path] = set()
        for change in self._watcher.poll(t_s):
            if change.missing:
                self._report(change.path, f"{change.path}: shader file is missing — keeping the "
                                          "last good program; restore the file")
            else:
                changed.add(change.path)
        targets = [i for i, p in enumerate(self.passes)
                   if p.source.path in changed or p.source.header_path in changed]
        swapped = []
        for i in targets:
            path = self.passes[i].source.path
            try:
                new = self._build(path)
            except VjganError as e:
                self._report(path, str(e))
                continue
            self.passes[i].release()
            self.passes[i] = new
            self._errors.pop(path, None)
            if new.source.header_path is not None:
                self._errors.pop(new.source.header_path, None)
            self._watch(new)
            swapped.append(self.specs[i].name)
        if swapped:
            self._layout()
        return swapped

    # -- teardown ----------------------------------------------------------------------------

    @staticmethod
    def _release_targets(targets: list[Target]) -> None:
        for tex, fbo in targets:
            fbo.release()
            tex.release()

    def release(self) -> None:
        for p in [*self.passes, self._input.fill, self._reduce]:
            p.release()
        self._stage.release()
        self._input.release()
        self._release_targets([(self._src_tex, self._src_fbo), *self._pool])
        if self._stats is not None:
            self._stats.release()
        for tex in self._blacks.values():
            tex.release()


def _black_textures(ctx: moderngl.Context) -> dict[str, moderngl.Texture]:
    """1x1 black textures for samplers the chain does not provide, one per sampler kind."""
    out = {"float": ctx.texture((1, 1), 4, bytes([0, 0, 0, 255]))}
    for kind, dtype in (("int", "i4"), ("uint", "u4")):
        out[kind] = ctx.texture((1, 1), 4, bytes(16), dtype=dtype)
    for tex in out.values():
        tex.filter = (moderngl.NEAREST, moderngl.NEAREST)  # integer textures need NEAREST
    return out


def available_effects(shader_dir: Path | None = None) -> list[str]:
    return resources.available_effects(shader_dir)
