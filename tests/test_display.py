"""Outputs: headless EGL, a real pygame OpenGL window (SDL offscreen driver, and under Xvfb)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from vjgan.errors import VjganError
from vjgan.gfx.uniforms import FrameUniforms

pytest.importorskip("moderngl")
pygame = pytest.importorskip("pygame")
from vjgan.gfx.display import NO_DISPLAY, list_displays, open_output  # noqa: E402
from vjgan.gfx.effects import EffectChain, EffectSpec  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# Shared with the Xvfb subprocess: draw a 32x32 top-red/bottom-blue frame into a 96x64 window
# (letterboxed to 64x64 at x=16..80) and check the window's pixels.
DRAW_AND_CHECK = textwrap.dedent("""
    import numpy as np
    from vjgan.gfx.display import open_output
    from vjgan.gfx.effects import EffectChain, EffectSpec
    from vjgan.gfx.uniforms import FrameUniforms

    def draw_and_check():
        out = open_output((96, 64), headless=False, title="vjgan test")
        try:
            assert not out.headless and out.size == (96, 64), out.size
            chain = EffectChain(out.ctx, (32, 32), [EffectSpec("flash", 0.0)])
            img = np.zeros((32, 32, 3), np.uint8)
            img[:16] = (255, 0, 0)
            img[16:] = (0, 0, 255)
            out.present(chain.render(img, FrameUniforms()))
            assert out.poll()
            raw = out.ctx.screen.read(viewport=(0, 0, 96, 64), components=3, alignment=1)
            px = np.frombuffer(raw, np.uint8).reshape(64, 96, 3)[::-1]  # row 0 = top
            assert (px[:, :14] == 0).all() and (px[:, 82:] == 0).all(), "letterbox bars"
            assert (px[2:28, 18:78] == (255, 0, 0)).all(), "top half red"
            assert (px[36:62, 18:78] == (0, 0, 255)).all(), "bottom half blue"
            chain.render(img[::-1].copy(), FrameUniforms())  # presenting left no state behind
            assert np.array_equal(chain.read(), img[::-1])
            chain.release()
            return out
        except BaseException:
            out.close()
            raise
""")
exec(DRAW_AND_CHECK)  # defines draw_and_check() here too

# Under Xvfb (320x240): the display is listed, and the window survives fullscreen and back.
X11_FULLSCREEN = textwrap.dedent("""
    from vjgan.gfx.display import list_displays
    displays, reason = list_displays()
    assert reason is None and [(d.width, d.height) for d in displays] == [(320, 240)], displays
    out = draw_and_check()
    out.set_fullscreen(True)
    assert out.fullscreen and out.size == (320, 240), out.size
    chain = EffectChain(out.ctx, (32, 32), [EffectSpec("flash", 0.0)])
    img = np.zeros((32, 32, 3), np.uint8)
    img[:] = (0, 200, 0)
    for _ in range(3):
        assert out.poll()
        out.present(chain.render(img, FrameUniforms()))
    out.set_fullscreen(False)
    assert out.poll() and not out.fullscreen and out.size == (96, 64), out.size
    out.show(chain.render(img, FrameUniforms()))  # read before the swap: X11 is double-buffered
    raw = out.ctx.screen.read(viewport=(0, 0, 96, 64), components=3, alignment=1)
    px = np.frombuffer(raw, np.uint8).reshape(64, 96, 3)
    assert (px[4:60, 20:76] == (0, 200, 0)).all() and (px[:, :14] == 0).all()
    out.flip()
    chain.release()
    out.close()
""")


def test_headless_output_renders_and_presents():
    out = open_output((64, 64), headless=True)
    try:
        assert out.headless and out.poll()
        chain = EffectChain(out.ctx, (32, 16), [EffectSpec("contrast", 0.5, "contrast_amp")])
        img = np.full((16, 32, 3), 128, np.uint8)
        out.present(chain.render(img, FrameUniforms(contrast_amp=1.0)))
        assert np.array_equal(chain.read(), img)  # flat image: contrast keeps it
        chain.release()
    finally:
        out.close()


def test_window_offscreen_driver_draws_letterboxed(monkeypatch):
    import moderngl

    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    # Another moderngl context existing first is what breaks plain moderngl.create_context().
    other = moderngl.create_standalone_context(backend="egl")
    try:
        out = draw_and_check()  # noqa: F821 - defined by exec above
        out.close()
    finally:
        other.release()


def _press(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="",
                                         scancode=0))


def test_window_keys_become_actions(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    out = open_output((32, 32), headless=False)
    try:
        assert out.poll() and out.actions == []
        for key in (pygame.K_ESCAPE, pygame.K_q, pygame.K_F11, pygame.K_f, pygame.K_h, pygame.K_b,
                    pygame.K_SPACE, pygame.K_x):
            _press(key)
        assert out.poll()  # keys do not quit by themselves: the show runs the actions
        assert out.actions == ["quit", "quit", "fullscreen", "fullscreen", "hud", "blackout",
                               "freeze"]
        assert out.poll() and out.actions == []  # each press is seen once
    finally:
        out.close()


@pytest.mark.parametrize("how", ["window closed", "request_quit"])
def test_window_poll_quit(monkeypatch, how):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    out = open_output((32, 32), headless=False)
    try:
        assert out.poll() and not out.quit_requested
        if how == "window closed":
            pygame.event.post(pygame.event.Event(pygame.QUIT))
        else:
            out.request_quit()
        assert not out.poll()
        assert not out.poll()  # stays quit
    finally:
        out.close()


def _screen(out, w, h):
    raw = out.ctx.screen.read(viewport=(0, 0, w, h), components=3, alignment=1)
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3)[::-1]  # row 0 = top


def test_fullscreen_toggle_keeps_the_window_drawing(monkeypatch):
    """SDL switches the same window, so the GL context and the chain on it survive."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    out = open_output((96, 64), headless=False)
    try:
        desktop = pygame.display.get_desktop_sizes()[0]
        chain = EffectChain(out.ctx, (32, 32), [EffectSpec("flash", 0.0)])
        img = np.zeros((32, 32, 3), np.uint8)
        img[:, :] = (0, 200, 0)
        out.present(chain.render(img, FrameUniforms()))
        assert (_screen(out, 96, 64)[4:60, 20:76] == (0, 200, 0)).all()

        out.set_fullscreen(True)
        assert out.fullscreen and out.size == desktop
        x, y, w, h = out.letterbox((32, 32))
        assert (w, h) == (desktop[1], desktop[1])  # re-letterboxed for the new size
        out.present(chain.render(img, FrameUniforms()))
        assert out.poll()
        # SDL's offscreen driver keeps its 96x64 pbuffer, which now lies inside the left bar.
        assert x >= 96 and (_screen(out, 96, 64) == 0).all()

        out.set_fullscreen(False)
        assert out.poll()  # the resize events SDL sent agree
        assert not out.fullscreen and out.size == (96, 64)
        img[:, :] = (200, 0, 200)
        out.present(chain.render(img, FrameUniforms()))
        assert (_screen(out, 96, 64)[4:60, 20:76] == (200, 0, 200)).all()
        assert np.array_equal(chain.read(), img)
        chain.release()
    finally:
        out.close()


def test_headless_output_ignores_window_requests():
    out = open_output((32, 32), headless=True)
    try:
        out.set_fullscreen(True)
        assert not out.fullscreen and out.poll() and out.actions == []
        out.request_quit()
        assert not out.poll()
    finally:
        out.close()


def test_window_letterbox_math(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    out = open_output((200, 100), headless=False)
    try:
        assert out.letterbox((100, 100)) == (50, 0, 100, 100)
        assert out.letterbox((400, 100)) == (0, 25, 200, 50)
    finally:
        out.close()


def test_no_display_raises_clear_error(monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("DISPLAY detection is Linux-only")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(VjganError, match="--headless") as e:
        open_output((64, 64), headless=False)
    assert str(e.value) == NO_DISPLAY


def test_unreachable_display_is_not_silently_offscreen(monkeypatch, tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("X11 only")
    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":12345")  # no X server there
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # and no Wayland socket either
    with pytest.raises(VjganError) as e:
        open_output((32, 32), headless=False)
    assert str(e.value).startswith(NO_DISPLAY)


def test_bad_display_index_lists_the_real_displays(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    displays, reason = list_displays()
    assert reason is None and len(displays) >= 1
    with pytest.raises(VjganError) as e:
        open_output((32, 32), headless=False, display=7)
    message = str(e.value)
    assert "\n" not in message and message.startswith("--display 7: no such display")
    for d in displays:  # index, name and resolution of each, then the fix
        assert f"{d.index}: {d.name} ({d.width}x{d.height})" in message
    assert message.endswith(f"--display 0..{len(displays) - 1}" if len(displays) > 1
                            else "--display 0 (or leave it out)")
    assert not pygame.display.get_init()  # nothing left open


def test_list_displays_offscreen(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    displays, reason = list_displays()
    assert reason is None
    assert [(d.width, d.height) for d in displays] == [(1024, 768)]  # SDL offscreen's display
    assert displays[0].index == 0 and displays[0].name
    assert not pygame.display.get_init()
    out = open_output((32, 32), headless=False)  # listing while a window is open keeps it open
    try:
        assert list_displays()[0] == displays and pygame.display.get_init()
    finally:
        out.close()


def test_list_displays_headless_gives_a_reason_not_a_crash(monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("DISPLAY detection is Linux-only")
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(var, raising=False)
    assert list_displays() == ([], NO_DISPLAY)


def test_window_under_xvfb(tmp_path):
    """A real X11 window (GLX via SDL's x11 driver) on Xvfb, in a fresh process."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb not installed (Debian: apt-get install xvfb)")
    rfd, wfd = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(wfd), "-screen", "0", "320x240x24",
                             "-nolisten", "tcp", "-noreset"], pass_fds=(wfd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(wfd)
    try:
        with os.fdopen(rfd) as f:
            num = f.readline().strip()
        assert num, "Xvfb did not report a display number"
        script = tmp_path / "xwin.py"
        script.write_text(DRAW_AND_CHECK + X11_FULLSCREEN + "\nprint('WINDOW-OK')\n")
        pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "DISPLAY": f":{num}", "SDL_VIDEODRIVER": "x11",
               "SDL_AUDIODRIVER": "dummy", "PYTHONPATH": pythonpath}
        t0 = time.monotonic()
        res = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 0 and "WINDOW-OK" in res.stdout, (res.stdout, res.stderr)
        assert time.monotonic() - t0 < 60
    finally:
        proc.terminate()
        proc.wait(timeout=10)
