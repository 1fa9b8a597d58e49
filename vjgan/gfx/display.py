"""Where frames go: a pygame OpenGL window (letterboxed), or nowhere (headless EGL).

    out = open_output((1280, 720), headless=False, fullscreen=True, display=1)
    chain = EffectChain(out.ctx, (512, 512), specs)
    while out.poll():
        out.present(chain.render(frame, uniforms))
    out.close()

Window mode needs a display: X11/Wayland, or SDL_VIDEODRIVER=offscreen (SDL renders the window
into an EGL pbuffer; used by the tests), or Xvfb with SDL_VIDEODRIVER=x11.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import moderngl

from vjgan.errors import VjganError
from vjgan.gfx import resources
from vjgan.gfx.context import attach_window_context, create_headless_context
from vjgan.gfx.effects import SAMPLER_UNITS, Pass

NO_DISPLAY = ("no display found — pass --headless to render offscreen (EGL), or run on a desktop "
              "/ under Xvfb")
QUIT_KEYS = ("escape", "q")


class Output:
    """Base output: `.ctx` to build the EffectChain on, `present`, `poll`, `close`."""

    headless: bool = True

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int]) -> None:
        self.ctx = ctx
        self.size = size  # window (drawable) size; the chain's size is independent
        self.events: list[Any] = []  # pygame events of the last poll() (window mode)
        self._closed = False

    def present(self, texture: moderngl.Texture) -> None:
        raise NotImplementedError

    def poll(self) -> bool:
        return True

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HeadlessOutput(Output):
    """Nothing to show; `present` just waits for the GPU so frame timing is honest."""

    headless = True

    def present(self, texture: moderngl.Texture) -> None:
        self.ctx.finish()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.ctx.release()


class WindowOutput(Output):
    """A pygame OPENGL window; `present` draws a texture letterboxed and flips (vsync if any)."""

    headless = False

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], vsync: bool) -> None:
        super().__init__(ctx, size)
        self.vsync = vsync
        self._quit = False
        search = resources.shader_search_path(None)
        vert = resources.load_shader(resources.builtin_shader_dir() / resources.VERTEX_FILE, search)
        frag = resources.load_shader(resources.builtin_shader_dir() / "_present.frag", search)
        self._blit = Pass(ctx, frag, vert)

    def letterbox(self, tex_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """Viewport (x, y, w, h) fitting `tex_size` into the window, centred, aspect kept."""
        ww, wh = self.size
        tw, th = tex_size
        scale = min(ww / tw, wh / th)
        w, h = max(1, round(tw * scale)), max(1, round(th * scale))
        return (ww - w) // 2, (wh - h) // 2, w, h

    def present(self, texture: moderngl.Texture) -> None:
        import pygame

        screen = self.ctx.screen
        screen.use()
        self.ctx.scissor = None
        self.ctx.viewport = (0, 0, *self.size)
        self.ctx.clear(0.0, 0.0, 0.0, 1.0)
        self.ctx.viewport = self.letterbox(texture.size)
        texture.use(location=SAMPLER_UNITS["u_input"])
        self._blit.draw()
        pygame.display.flip()

    def poll(self) -> bool:
        import pygame

        self.events = pygame.event.get()
        for e in self.events:
            if e.type == pygame.QUIT:
                self._quit = True
            elif e.type == pygame.KEYDOWN and pygame.key.name(e.key) in QUIT_KEYS:
                self._quit = True
        return not self._quit

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        import pygame

        self._blit.release()
        self.ctx.release()
        pygame.display.quit()


def desktop_display_present() -> bool:
    """A desktop session a person can see (X11 or Wayland) is named in the environment."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _display_available() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    driver = os.environ.get("SDL_VIDEODRIVER", "").lower()
    if driver and driver not in ("x11", "wayland"):
        return True  # offscreen, kmsdrm, ...: an explicit choice, let SDL try
    return desktop_display_present()


def _open_window(size: tuple[int, int], fullscreen: bool, display: int, title: str) -> WindowOutput:
    import pygame

    try:
        pygame.display.init()
    except pygame.error as e:
        raise VjganError(f"{NO_DISPLAY} (SDL: {e})") from e
    try:
        driver = pygame.display.get_driver()
        if driver in ("offscreen", "dummy") and os.environ.get("SDL_VIDEODRIVER", "") != driver:
            # SDL silently falls back to an invisible driver when e.g. $DISPLAY is unreachable
            raise VjganError(f"{NO_DISPLAY} (SDL could not open DISPLAY="
                             f"{os.environ.get('DISPLAY', '')!r} and fell back to '{driver}')")
        n = pygame.display.get_num_displays()
        if not 0 <= display < n:
            raise VjganError(f"--display {display}: only {n} display(s) found — use 0..{n - 1}")
        pygame.display.gl_set_attribute(pygame.GL_CONTEXT_MAJOR_VERSION, 3)
        pygame.display.gl_set_attribute(pygame.GL_CONTEXT_MINOR_VERSION, 3)
        pygame.display.gl_set_attribute(pygame.GL_CONTEXT_PROFILE_MASK,
                                        pygame.GL_CONTEXT_PROFILE_CORE)
        if sys.platform == "darwin":
            pygame.display.gl_set_attribute(pygame.GL_CONTEXT_FORWARD_COMPATIBLE_FLAG, True)
        pygame.display.gl_set_attribute(pygame.GL_DOUBLEBUFFER, 1)
        flags = pygame.OPENGL | pygame.DOUBLEBUF | (pygame.FULLSCREEN if fullscreen else 0)
        mode = (0, 0) if fullscreen else size  # fullscreen: the display's desktop resolution
        with warnings.catch_warnings(record=True) as caught:  # "vsync not available" warning
            warnings.simplefilter("always")
            try:
                pygame.display.set_mode(mode, flags, display=display, vsync=1)
                vsync = not caught
            except pygame.error:  # vsync refused outright: open without it
                pygame.display.set_mode(mode, flags, display=display)
                vsync = False
        pygame.display.set_caption(title)
        if fullscreen:
            pygame.mouse.set_visible(False)
        ctx = attach_window_context()
    except VjganError:
        pygame.display.quit()
        raise
    except pygame.error as e:
        pygame.display.quit()
        raise VjganError(f"{NO_DISPLAY} (SDL: {e})") from e
    drawable = tuple(ctx.screen.viewport[2:]) or pygame.display.get_window_size()
    return WindowOutput(ctx, (int(drawable[0]), int(drawable[1])), vsync)


def open_output(size: tuple[int, int], headless: bool, fullscreen: bool = False, display: int = 0,
                title: str = "vjgan") -> Output:
    """Open the output. `size` is the window size (ignored when fullscreen or headless)."""
    if headless:
        return HeadlessOutput(create_headless_context(), (int(size[0]), int(size[1])))
    if not _display_available():
        raise VjganError(NO_DISPLAY)
    return _open_window((int(size[0]), int(size[1])), fullscreen, display, title)
