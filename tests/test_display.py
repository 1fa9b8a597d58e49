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
from vjgan.gfx.display import NO_DISPLAY, open_output  # noqa: E402
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
        try:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE))
            assert out.poll() is False
            assert out.poll() is False  # stays quit
        finally:
            out.close()
    finally:
        other.release()


@pytest.mark.parametrize("event", ["quit", "q"])
def test_window_poll_quit(monkeypatch, event):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    out = open_output((32, 32), headless=False)
    try:
        assert out.poll()
        e = (pygame.event.Event(pygame.QUIT) if event == "quit"
             else pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q))
        pygame.event.post(e)
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


def test_bad_display_index(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "offscreen")
    with pytest.raises(VjganError, match="--display 7"):
        open_output((32, 32), headless=False, display=7)


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
        script.write_text(DRAW_AND_CHECK + "\ndraw_and_check().close()\nprint('WINDOW-OK')\n")
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
