"""The operator HUD: frame timing, stage costs, audio meters, hook status and errors, drawn over
the picture in the window only (never into the effect chain, so never into a recording).

    times = FrameTimes()                       # every frame: times.add(t_s)
    hud = HudOverlay(out.ctx, visible=True)
    if hud.due(t_s):                           # at most every HUD_REFRESH_S of t_s
        hud.update(hud_lines(stats), t_s, out.size)
    out.show(texture); hud.draw(out.size); out.flip()

`hud_lines` is pure (stats record -> text lines). Text is rendered with pygame.font into an RGBA
surface, uploaded once per refresh, and drawn every frame as one alpha-blended quad.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import moderngl
import numpy as np

from vjgan.gfx import resources
from vjgan.gfx.passes import SAMPLER_UNITS, Pass

HUD_REFRESH_S = 0.25  # the text is re-rendered at most this often (stream seconds)
FRAME_WINDOW_S = 2.0  # frame-time statistics cover this much of the latest stream time
MAX_LINE_CHARS = 96
METER_CELLS = 10
ERROR_PREFIX = "! "  # lines drawn in the error colour
MONO_FONTS = "dejavusansmono,liberationmono,notosansmono,ubuntumono,menlo,consolas,monospace"
_TEXT_RGB = (235, 235, 235)
_ERROR_RGB = (255, 110, 90)
_PANEL_RGBA = (0, 0, 0, 170)


@dataclass(frozen=True)
class HudStats:
    """Everything the HUD shows, as of one frame. None: not known / not available in this show."""

    fps: float = 0.0
    frame_ms_p50: float = 0.0
    frame_ms_p99: float = 0.0
    generator_ms: float | None = None
    effects_ms: float | None = None
    level: float = 0.0
    low: float = 0.0
    mid: float = 0.0
    high: float = 0.0
    bpm: float = 0.0
    blackout: bool | None = None
    frozen: bool | None = None
    limiter: bool | None = None  # the photosensitivity limiter
    record: str | None = None  # e.g. "REC 120 frames, 3 dropped"
    status: tuple[tuple[str, str], ...] = ()  # (label, text) from the hooks, in order
    shader_error: str | None = None  # the effect chain's last (reload) error
    error: str | None = None  # the latest line of ShowState.errors
    keys: str = ""


def meter(value: float, cells: int = METER_CELLS) -> str:
    """A 0..1 value as a fixed-width bar: 0.5 -> '#####.....'."""
    v = 0.0 if not math.isfinite(value) else min(1.0, max(0.0, value))
    filled = round(v * cells)
    return "#" * filled + "." * (cells - filled)


def _ms(value: float | None) -> str:
    return "--" if value is None else f"{value:.1f}"


def _flat(text: str) -> str:
    """One line: newlines and runs of blanks in messages from elsewhere become single spaces."""
    return " ".join(str(text).split())


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS - 3] + "..."


def hud_lines(s: HudStats) -> list[str]:
    """The HUD's text for one stats record, top to bottom. Error lines start with ERROR_PREFIX."""
    lines = [
        f"{s.fps:.1f} fps   frame p50 {s.frame_ms_p50:.1f} ms  p99 {s.frame_ms_p99:.1f} ms",
        f"generator {_ms(s.generator_ms)} ms   effects {_ms(s.effects_ms)} ms",
        f"level {meter(s.level)}  bpm {s.bpm:.0f}" if s.bpm > 0 else f"level {meter(s.level)}  bpm --",
        f"low {meter(s.low)}  mid {meter(s.mid)}  high {meter(s.high)}",
    ]
    show = []
    if s.blackout is not None:
        show.append("BLACKOUT" if s.blackout else "blackout off")
    if s.frozen is not None:
        show.append("FROZEN" if s.frozen else "live")
    if s.limiter is not None:
        show.append("limiter on" if s.limiter else "LIMITER OFF")
    if s.record is not None:
        show.append(s.record)
    if show:
        lines.append("   ".join(show))
    lines.extend(f"{_flat(label)}: {_flat(text)}" for label, text in s.status)
    if s.shader_error:
        lines.append(f"{ERROR_PREFIX}shader: {_flat(s.shader_error)}")
    if s.error:
        lines.append(f"{ERROR_PREFIX}{_flat(s.error)}")
    if s.keys:
        lines.append(s.keys)
    return [_clip(line) for line in lines]


class FrameTimes:
    """Frame intervals over the last `window_s` of stream time (not a count of frames)."""

    def __init__(self, window_s: float = FRAME_WINDOW_S) -> None:
        self.window_s = window_s
        self._t: deque[float] = deque()

    def add(self, t_s: float) -> None:
        self._t.append(t_s)
        while len(self._t) > 2 and self._t[1] <= t_s - self.window_s:
            self._t.popleft()  # keep one stamp at or before the window start: its interval counts

    def fps(self) -> float:
        if len(self._t) < 2 or self._t[-1] <= self._t[0]:
            return 0.0
        return (len(self._t) - 1) / (self._t[-1] - self._t[0])

    def percentiles_ms(self) -> tuple[float, float]:
        """(p50, p99) of the frame intervals in the window, in ms; (0, 0) before two frames."""
        if len(self._t) < 2:
            return 0.0, 0.0
        dt_ms = np.diff(np.fromiter(self._t, dtype=np.float64)) * 1e3
        p50, p99 = np.percentile(dt_ms, (50, 99))
        return float(p50), float(p99)


def font_height_px(window_h: int) -> int:
    """HUD line height for a window: ~1/45 of its height, 12..28 px."""
    return int(min(28, max(12, round(window_h / 45))))


class HudOverlay:
    """Draws text lines as a translucent panel in the window's top-left corner (GL, cached)."""

    def __init__(self, ctx: moderngl.Context, visible: bool = False,
                 refresh_s: float = HUD_REFRESH_S, font_path: str | None = "mono") -> None:
        import pygame

        pygame.font.init()
        if font_path == "mono":  # a system monospace font if any, else pygame's bundled font
            font_path = pygame.font.match_font(MONO_FONTS)
        self.ctx = ctx
        self.visible = visible
        self.refresh_s = refresh_s
        self._font_path = font_path
        self._font: Any = None
        self._font_for = 0
        search = resources.shader_search_path(None)
        builtin = resources.builtin_shader_dir()
        vert = resources.load_shader(builtin / resources.VERTEX_FILE, search)
        self._pass = Pass(ctx, resources.load_shader(builtin / "_hud.frag", search), vert)
        self._tex: moderngl.Texture | None = None
        self._lines: list[str] | None = None
        self._next_s = -math.inf
        self.renders = 0  # how many times the text was rendered and uploaded

    def toggle(self) -> None:
        self.set_visible(not self.visible)

    def set_visible(self, on: bool) -> None:
        if on and not self.visible:
            self._next_s = -math.inf  # fresh numbers as soon as it appears
        self.visible = on

    def due(self, t_s: float) -> bool:
        """True when visible and the text is older than `refresh_s`."""
        return self.visible and t_s >= self._next_s

    def update(self, lines: list[str], t_s: float, window_size: tuple[int, int]) -> None:
        """Render `lines` for a window of `window_size` (skipped when nothing changed)."""
        self._next_s = t_s + self.refresh_s
        line_px = font_height_px(window_size[1])
        if lines == self._lines and line_px == self._font_for and self._tex is not None:
            return
        font = self._font_at(line_px)
        self._upload(self._render(font, lines))
        self._lines = list(lines)
        self.renders += 1

    def _font_at(self, line_px: int) -> Any:
        import pygame

        if self._font is None or self._font_for != line_px:
            size = line_px
            font = pygame.font.Font(self._font_path, size)
            while font.get_linesize() < line_px and size < 4 * line_px:  # point size -> line px
                size += 1
                font = pygame.font.Font(self._font_path, size)
            self._font, self._font_for = font, line_px
        return self._font

    @staticmethod
    def _render(font: Any, lines: list[str]) -> Any:
        import pygame

        pad = max(4, font.get_linesize() // 3)
        texts = [font.render(line.removeprefix(ERROR_PREFIX), True,
                             _ERROR_RGB if line.startswith(ERROR_PREFIX) else _TEXT_RGB)
                 for line in lines]
        width = max((t.get_width() for t in texts), default=0) + 2 * pad
        height = font.get_linesize() * len(texts) + 2 * pad
        panel = pygame.Surface((max(1, width), max(1, height)), pygame.SRCALPHA)
        panel.fill(_PANEL_RGBA)
        for k, text in enumerate(texts):
            panel.blit(text, (pad, pad + k * font.get_linesize()))
        return panel

    def _upload(self, panel: Any) -> None:
        import pygame

        size = panel.get_size()
        data = pygame.image.tobytes(panel, "RGBA", True)  # flipped: GL rows run bottom-up
        if self._tex is None or self._tex.size != size:
            if self._tex is not None:
                self._tex.release()
            self._tex = self.ctx.texture(size, 4)
            self._tex.filter = (moderngl.NEAREST, moderngl.NEAREST)
        self._tex.write(data)

    def rect(self, window_size: tuple[int, int]) -> tuple[int, int, int, int] | None:
        """Where the panel goes: (x, y from the top, w, h) in window pixels; None before any text."""
        if self._tex is None:
            return None
        margin = max(4, window_size[1] // 90)
        return margin, margin, *self._tex.size

    def draw(self, window_size: tuple[int, int]) -> None:
        """Blend the panel over whatever the current framebuffer holds (the window's)."""
        placed = self.rect(window_size)
        if not self.visible or placed is None or self._tex is None:
            return
        x, top, w, h = placed
        self.ctx.viewport = (x, window_size[1] - top - h, w, h)
        self.ctx.enable(moderngl.BLEND)
        # Colour: straight alpha over the picture; the window's own alpha stays opaque.
        self.ctx.blend_func = (moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA,
                               moderngl.ZERO, moderngl.ONE)
        self._tex.use(location=SAMPLER_UNITS["u_input"])
        self._pass.draw()
        self.ctx.disable(moderngl.BLEND)
        self.ctx.blend_func = moderngl.DEFAULT_BLENDING

    def release(self) -> None:
        self._pass.release()
        if self._tex is not None:
            self._tex.release()
            self._tex = None
