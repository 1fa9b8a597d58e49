"""The chain's last stage: freeze, blackout fade and the photosensitivity limiter (GPU half).

Every frame the effect passes produce a *candidate*. This stage shows
mix(shown, candidate * gain, alpha) (shaders/_limit.frag, linear light) into one of two "shown"
textures that alternate, so the frame on screen is always at hand to mix from:

- `gain` is the blackout level, moving towards 0 (blackout on) or 1 at 1 / fade_s per second of
  stream time;
- `alpha` comes from `FlashLimiter.decide` (vjgan/gfx/safety.py), fed with the mean relative
  luminance of the candidate and of the shown frame, reduced on the GPU (shaders/_luma.frag) and
  read back as one R32F texel. The shown frame is only measured when it was a mix: a frame shown
  unchanged is a copy of a candidate whose luminance is already known;
- while frozen the candidate is a copy of the output taken when the freeze began.

When nothing is held back or dimmed (alpha = 1, gain = 1) the candidate is copied
(`copy_framebuffer`, ~free) instead of drawn through the mix, so the picture is bit-exact and the
costly linear-light mix only runs while limiting. With the limiter off, no blackout and no freeze
the candidate is returned as it is.
"""

from __future__ import annotations

from typing import Callable

import moderngl
import numpy as np

from vjgan.gfx.passes import SAMPLER_UNITS, Pass, Reduction
from vjgan.gfx.safety import FlashLimiter, LimiterConfig

Target = tuple[moderngl.Texture, moderngl.Framebuffer]


def srgb_to_linear_table() -> list[float]:
    """WCAG 2.x linearisation of each 8-bit sRGB level."""
    c = np.arange(256) / 255.0
    return np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).tolist()


def make_target(ctx: moderngl.Context, size: tuple[int, int]) -> Target:
    tex = ctx.texture(size, 4)
    tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
    tex.repeat_x = tex.repeat_y = False
    return tex, ctx.framebuffer(color_attachments=[tex])


class OutputStage:
    def __init__(self, ctx: moderngl.Context, size: tuple[int, int],
                 build: Callable[[str], Pass], limit: bool | LimiterConfig,
                 blackout_fade_s: float, black: moderngl.Texture) -> None:
        self.ctx = ctx
        self.size = size
        self.black = black
        self.blackout_fade_s = max(0.0, float(blackout_fade_s))
        config = limit if isinstance(limit, LimiterConfig) else LimiterConfig()
        self.limiter = FlashLimiter(config)
        self.limit_enabled = bool(limit) if not isinstance(limit, LimiterConfig) else True
        built: list[Pass] = []
        try:
            built.append(build("_limit.frag"))
            built.append(build("_luma.frag"))
        except BaseException:
            for p in built:
                p.release()
            raise
        self._limit, self._luma = built
        self._shown: list[Target] = []
        self._luma_sum: Reduction | None = None  # built on the first measurement
        self._cur: int | None = None  # index of the shown texture on screen, None: none yet
        self._shown_luma: float | None = None  # its mean relative luminance, if known
        self._held: Target | None = None
        self.frozen = False
        self.blackout = False
        self.gain = 1.0
        self.last_alpha = 1.0
        self._last_t_s: float | None = None

    # -- controls ----------------------------------------------------------------------------

    def set_limit(self, on: bool) -> None:
        if on and not self.limit_enabled:
            self.limiter.reset()
            self._shown_luma = None
        self.limit_enabled = bool(on)

    def set_freeze(self, on: bool, current: moderngl.Framebuffer) -> None:
        """Freeze on `current` (the output on screen now), or resume."""
        if on and not self.frozen:
            if self._held is None:
                self._held = make_target(self.ctx, self.size)
            self.ctx.copy_framebuffer(self._held[1], current)
        self.frozen = bool(on)

    # -- per frame ---------------------------------------------------------------------------

    def _update_gain(self, t_s: float) -> None:
        dt_s = 0.0 if self._last_t_s is None else max(0.0, t_s - self._last_t_s)
        self._last_t_s = t_s
        target = 0.0 if self.blackout else 1.0
        if self.blackout_fade_s <= 0.0:
            self.gain = target
        elif self.gain < target:
            self.gain = min(target, self.gain + dt_s / self.blackout_fade_s)
        else:
            self.gain = max(target, self.gain - dt_s / self.blackout_fade_s)

    def finish(self, candidate: Target | None, t_s: float) -> Target:
        """The frame to show at stream time `t_s` for this candidate (None while frozen)."""
        self._update_gain(t_s)
        held = self._held if self.frozen else None
        src = held if held is not None else candidate
        if src is None:
            raise ValueError("OutputStage.finish needs a candidate unless frozen")
        if not self.limit_enabled and self.gain >= 1.0 and held is None:
            self._cur, self._shown_luma = None, None
            self.last_alpha = 1.0
            return src
        if not self._shown:
            self._shown = [make_target(self.ctx, self.size) for _ in range(2)]
        prev = self._shown[self._cur] if self._cur is not None else None
        alpha, cand_luma = 1.0, None
        if self.limit_enabled:
            if prev is None:
                self.limiter.decide(t_s, None, 0.0)
            else:
                cand_luma = self.measure(src[0])
                shown_luma = self._shown_luma
                if shown_luma is None:
                    shown_luma = self.measure(prev[0])
                alpha = self.limiter.decide(t_s, shown_luma, cand_luma * self.gain)
        self.last_alpha = alpha
        nxt = 0 if self._cur is None else 1 - self._cur
        if alpha >= 1.0 and self.gain >= 1.0:
            self.ctx.copy_framebuffer(self._shown[nxt][1], src[1])
            self._shown_luma = cand_luma  # shown as is: its luminance is known (if measured)
        else:
            src[0].use(location=SAMPLER_UNITS["u_candidate"])
            (prev[0] if prev is not None else self.black).use(location=SAMPLER_UNITS["u_shown"])
            self._shown[nxt][1].use()
            self._limit.set("u_alpha", float(alpha))
            self._limit.set("u_gain", float(self.gain))
            self._limit.draw()
            self._shown_luma = None  # a mix, rounded to 8 bits: measure it next frame
        self._cur = nxt
        return self._shown[nxt]

    def measure(self, texture: moderngl.Texture) -> float:
        """Mean relative luminance (0..1) of an RGBA8 texture at the chain size, on the GPU."""
        if self._luma_sum is None:
            self._luma.set("u_srgb_to_linear", srgb_to_linear_table())
            self._luma_sum = Reduction(self.ctx, self.size, self._luma, 1, "f4", "u_luma_partial")
        _, result = self._luma_sum.run(texture)
        raw = result.read(components=1, dtype="f4")
        return float(np.frombuffer(raw, dtype=np.float32)[0]) / (self.size[0] * self.size[1])

    def release(self) -> None:
        for p in (self._limit, self._luma):
            p.release()
        if self._luma_sum is not None:
            self._luma_sum.release()
            self._luma_sum = None
        targets = [*self._shown, *([self._held] if self._held else [])]
        for tex, fbo in targets:
            fbo.release()
            tex.release()
        self._shown, self._held = [], None
