"""Where frames go: a pygame OpenGL window (letterboxed), or nowhere (headless EGL).

    out = open_output((1280, 720), headless=False, fullscreen=True, display=1)
    chain = EffectChain(out.ctx, (512, 512), specs)
    while out.poll() and "quit" not in out.actions:
        out.show(chain.render(frame, uniforms))  # letterboxed into the window
        ...                                      # overlays (the operator HUD) go on top here
        out.flip()                               # out.present(tex) is show + flip
    out.close()

`poll()` pumps the window's events — call it every frame: SDL drops events, even QUIT, once its
queue fills — and turns key presses into action names (`KEY_ACTIONS`); the caller runs them.

Window mode needs a display: X11/Wayland, or SDL_VIDEODRIVER=offscreen (SDL renders the window
into an EGL pbuffer; used by the tests), or Xvfb with SDL_VIDEODRIVER=x11.
"""

from __future__ import annotations

import ctypes
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import moderngl

from vjgan.errors import VjganError
from vjgan.gfx import resources
from vjgan.gfx.context import attach_window_context, create_headless_context
from vjgan.gfx.passes import SAMPLER_UNITS, Pass

NO_DISPLAY = ("no display found — pass --headless to render offscreen (EGL), or run on a desktop "
              "/ under Xvfb")
# pygame key name -> show action (vjgan.control.hooks.ACTIONS). Shown on the HUD as KEY_HELP.
KEY_ACTIONS = {"escape": "quit", "q": "quit", "f11": "fullscreen", "f": "fullscreen",
               "h": "hud", "b": "blackout", "space": "freeze", "l": "midi_learn"}
KEY_HELP = "Esc/q quit · F11/f fullscreen · h HUD · b blackout · space freeze · l MIDI learn"


@dataclass(frozen=True)
class DisplayInfo:
    """One monitor or projector SDL can open a window on."""

    index: int
    name: str
    width: int
    height: int

    def describe(self) -> str:
        return f"{self.index}: {self.name} ({self.width}x{self.height})"


class Output:
    """Base output: `.ctx` to build the EffectChain on, `show`/`flip`/`present`, `poll`, `close`."""

    headless: bool = True

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int]) -> None:
        self.ctx = ctx
        self.size = size  # window (drawable) size; the chain's size is independent
        self.events: list[Any] = []  # pygame events of the last poll() (window mode)
        self.actions: list[str] = []  # action names of the keys pressed since the last poll()
        self._quit = False
        self._closed = False

    @property
    def fullscreen(self) -> bool:
        return False

    def set_fullscreen(self, on: bool) -> None:
        """Switch a window between fullscreen and windowed; nothing to do headless."""

    def show(self, texture: moderngl.Texture) -> None:
        raise NotImplementedError

    def flip(self) -> None:
        """Put what `show` (and any overlay) drew on screen."""

    def present(self, texture: moderngl.Texture) -> None:
        self.show(texture)
        self.flip()

    def request_quit(self) -> None:
        """Make the next `poll()` return False."""
        self._quit = True

    @property
    def quit_requested(self) -> bool:
        return self._quit

    def poll(self) -> bool:
        return not self._quit

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Output:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HeadlessOutput(Output):
    """Nothing to show; `show` just waits for the GPU so frame timing is honest."""

    headless = True

    def show(self, texture: moderngl.Texture) -> None:
        self.ctx.finish()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.ctx.release()


class WindowOutput(Output):
    """A pygame OPENGL window; `show` draws a texture letterboxed, `flip` swaps (vsync if any)."""

    headless = False

    def __init__(self, ctx: moderngl.Context, size: tuple[int, int], vsync: bool,
                 windowed_size: tuple[int, int] | None = None) -> None:
        super().__init__(ctx, size)
        self.vsync = vsync
        self._windowed_size = windowed_size or size  # restored when fullscreen is left
        self._sdl_window: Any = None  # pygame._sdl2 Window, created on the first toggle
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

    def show(self, texture: moderngl.Texture) -> None:
        self.ctx.screen.use()
        self.ctx.scissor = None
        self.ctx.disable(moderngl.BLEND)
        self.ctx.viewport = (0, 0, *self.size)
        self.ctx.clear(0.0, 0.0, 0.0, 1.0)
        self.ctx.viewport = self.letterbox(texture.size)
        texture.use(location=SAMPLER_UNITS["u_input"])
        self._blit.draw()

    def flip(self) -> None:
        import pygame

        pygame.display.flip()

    def poll(self) -> bool:
        import pygame

        self.events = pygame.event.get()
        self.actions = []
        for e in self.events:
            if e.type == pygame.QUIT:
                self._quit = True
            elif e.type == pygame.KEYDOWN:
                action = KEY_ACTIONS.get(pygame.key.name(e.key))
                if action is not None:
                    self.actions.append(action)
            elif e.type == pygame.WINDOWSIZECHANGED:  # the size now, not a stale event's
                w, h = pygame.display.get_window_size()
                self.size = (int(w), int(h))
        return not self._quit

    @property
    def fullscreen(self) -> bool:
        import pygame

        return bool(pygame.display.is_fullscreen())

    def set_fullscreen(self, on: bool) -> None:
        """Fullscreen (the desktop resolution of the window's display) or back to the window.

        SDL switches the existing window, so the GL context and everything on it survive.
        """
        import pygame
        from pygame._sdl2.video import Window

        if on == self.fullscreen:
            return
        # pygame stores this object's address in the SDL window and never clears it: freeing the
        # object leaves a dangling pointer that a later event.get() reads (a segfault). Keep one
        # for as long as the window lives; close() drops it after the window is gone.
        if self._sdl_window is None:
            self._sdl_window = Window.from_display_module()
        window = self._sdl_window
        try:
            if on:
                self._windowed_size = pygame.display.get_window_size()
                window.set_fullscreen(desktop=True)
            else:
                window.set_windowed()
                window.size = self._windowed_size
        except pygame.error as e:
            raise VjganError(f"cannot switch {'to' if on else 'out of'} fullscreen: {e} — the "
                             "show goes on as it was; restart with or without --fullscreen") from e
        pygame.mouse.set_visible(not on)
        w, h = pygame.display.get_window_size()
        self.size = (int(w), int(h))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        import pygame

        self._blit.release()
        self.ctx.release()
        pygame.display.quit()
        self._sdl_window = None  # only now: the SDL window that pointed at it is destroyed


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


def _fallback_driver() -> str | None:
    """The invisible driver SDL fell back to on its own (e.g. $DISPLAY unreachable), if it did."""
    import pygame

    driver = pygame.display.get_driver()
    if driver in ("offscreen", "dummy") and os.environ.get("SDL_VIDEODRIVER", "") != driver:
        return driver
    return None


def _fallback_message(driver: str) -> str:
    return (f"{NO_DISPLAY} (SDL could not open DISPLAY={os.environ.get('DISPLAY', '')!r} and fell "
            f"back to '{driver}')")


def _loaded_sdl() -> ctypes.CDLL | None:
    """The SDL2 library pygame loaded into this process (Linux), to ask what pygame does not say."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            paths = {line.split(maxsplit=5)[-1].strip() for line in f if "libSDL2-2" in line}
    except OSError:
        return None
    for path in sorted(paths):
        if os.path.basename(path).startswith("libSDL2-2") and os.path.isfile(path):
            try:
                return ctypes.CDLL(path)  # already loaded: the same library instance
            except OSError:
                continue
    return None


def _display_names(count: int) -> list[str | None]:
    """Monitor names from SDL_GetDisplayName where the platform allows; None where unknown."""
    lib = _loaded_sdl()
    if lib is None:
        return [None] * count
    try:
        get_name = lib.SDL_GetDisplayName
    except AttributeError:
        return [None] * count
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.c_int]
    names: list[str | None] = []
    for i in range(count):
        raw = get_name(i)
        names.append(raw.decode("utf-8", errors="replace").strip() or None if raw else None)
    return names


def _current_displays() -> list[DisplayInfo]:
    """The displays of an initialised pygame.display."""
    import pygame

    sizes = pygame.display.get_desktop_sizes()
    names = _display_names(len(sizes))
    return [DisplayInfo(i, name or f"display {i}", int(w), int(h))
            for i, ((w, h), name) in enumerate(zip(sizes, names))]


def list_displays() -> tuple[list[DisplayInfo], str | None]:
    """The displays a window can open on, and None; or no displays and the reason (headless).

    Never raises: a machine without a display, or without pygame, gets an empty list.
    """
    if not _display_available():
        return [], NO_DISPLAY
    try:
        import pygame
    except ImportError as e:
        return [], f"pygame is not installed ({e}) — pip install pygame"
    was_init = pygame.display.get_init()
    try:
        if not was_init:
            pygame.display.init()
        driver = _fallback_driver()
        if driver is not None:
            return [], _fallback_message(driver)
        return _current_displays(), None
    except pygame.error as e:
        return [], f"{NO_DISPLAY} (SDL: {e})"
    finally:
        if not was_init:
            pygame.display.quit()


def _check_display_index(display: int) -> None:
    displays = _current_displays()
    if not 0 <= display < len(displays):
        found = "; ".join(d.describe() for d in displays) or "none"
        last = len(displays) - 1
        fix = f"pass --display 0..{last}" if last > 0 else "pass --display 0 (or leave it out)"
        raise VjganError(f"--display {display}: no such display — found {found} — {fix}")


def _open_window(size: tuple[int, int], fullscreen: bool, display: int, title: str) -> WindowOutput:
    import pygame

    try:
        pygame.display.init()
    except pygame.error as e:
        raise VjganError(f"{NO_DISPLAY} (SDL: {e})") from e
    try:
        driver = _fallback_driver()
        if driver is not None:  # SDL silently falls back to an invisible driver
            raise VjganError(_fallback_message(driver))
        _check_display_index(display)
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
    return WindowOutput(ctx, (int(drawable[0]), int(drawable[1])), vsync, windowed_size=size)


def open_output(size: tuple[int, int], headless: bool, fullscreen: bool = False, display: int = 0,
                title: str = "vjgan") -> Output:
    """Open the output. `size` is the window size (ignored when fullscreen or headless)."""
    if headless:
        return HeadlessOutput(create_headless_context(), (int(size[0]), int(size[1])))
    if not _display_available():
        raise VjganError(NO_DISPLAY)
    return _open_window((int(size[0]), int(size[1])), fullscreen, display, title)
