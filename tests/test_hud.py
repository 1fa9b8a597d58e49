"""The operator HUD: what it says for a stats record (pure), frame timing over stream seconds, and
the GL panel drawn over a picture (cached, translucent, only where it is placed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("moderngl")
pygame = pytest.importorskip("pygame")

from vjgan.gfx.context import create_headless_context  # noqa: E402
from vjgan.gfx.display import KEY_HELP  # noqa: E402
from vjgan.gfx.hud import (ERROR_PREFIX, MAX_LINE_CHARS, FrameTimes, HudOverlay,  # noqa: E402
                           HudStats, hud_lines, meter)


def test_meter_is_a_fixed_width_bar():
    assert meter(0.0) == ".........."
    assert meter(0.5) == "#####....."
    assert meter(0.26) == "###......."
    assert meter(1.7) == "##########"
    assert meter(-1.0) == meter(math.nan) == ".........."
    assert len({len(meter(v / 7)) for v in range(8)}) == 1


def test_hud_lines_for_a_running_show():
    stats = HudStats(fps=59.94, frame_ms_p50=16.68, frame_ms_p99=33.4, generator_ms=7.25,
                     effects_ms=1.04, level=0.5, low=1.0, mid=0.2, high=0.0, bpm=128.4,
                     blackout=True, frozen=False, record="REC 120 frames, 3 dropped",
                     status=(("OSC", "127.0.0.1:9000 · 2 clients"), ("MIDI", "nanoKONTROL2")),
                     keys=KEY_HELP)
    assert hud_lines(stats) == [
        "59.9 fps   frame p50 16.7 ms  p99 33.4 ms",
        "generator 7.2 ms   effects 1.0 ms",
        "level #####.....  bpm 128",
        "low ##########  mid ##........  high ..........",
        "BLACKOUT   live   REC 120 frames, 3 dropped",
        "OSC: 127.0.0.1:9000 · 2 clients",
        "MIDI: nanoKONTROL2",
        KEY_HELP,
    ]


def test_hud_lines_before_anything_is_known():
    lines = hud_lines(HudStats())
    assert lines == ["0.0 fps   frame p50 0.0 ms  p99 0.0 ms", "generator -- ms   effects -- ms",
                     "level ..........  bpm --", "low ..........  mid ..........  high .........."]


def test_hud_lines_errors_are_flagged_flattened_and_clipped():
    long = "x" * 300
    lines = hud_lines(HudStats(frozen=True, blackout=False, limiter=False,
                               shader_error="shaders/wobble.frag:3: error: 'u_foo' undeclared\n"
                                            "    (the last good shader stays live)",
                               error=f"hook osc failed ({long})",
                               status=(("MIDI", "port\nlost"),)))
    assert "blackout off   FROZEN   LIMITER OFF" in lines
    assert "MIDI: port lost" in lines
    errors = [line for line in lines if line.startswith(ERROR_PREFIX)]
    assert errors[0] == (f"{ERROR_PREFIX}shader: shaders/wobble.frag:3: error: 'u_foo' undeclared "
                         "(the last good shader stays live)")
    assert errors[1].startswith(f"{ERROR_PREFIX}hook osc failed (xxx") and errors[1].endswith("...")
    assert all(len(line) <= MAX_LINE_CHARS for line in lines)
    assert all("\n" not in line for line in lines)


def test_frame_times_cover_the_last_two_seconds_of_stream_time():
    times = FrameTimes(window_s=2.0)
    t = 0.0
    for _ in range(300):  # 3 s of 10 ms frames ...
        times.add(t)
        t += 0.010
    for _ in range(50):  # ... then 2.5 s of 50 ms frames: only these are in the window
        times.add(t)
        t += 0.050
    p50, p99 = times.percentiles_ms()
    assert p50 == pytest.approx(50.0) and p99 == pytest.approx(50.0)
    assert times.fps() == pytest.approx(20.0)


def test_frame_times_window_is_seconds_not_frames():
    fast, slow = FrameTimes(2.0), FrameTimes(2.0)
    for i in range(1000):
        fast.add(i / 200)  # 200 fps for 5 s
    for i in range(50):
        slow.add(i / 10)  # 10 fps for 5 s
    assert fast.fps() == pytest.approx(200.0) and slow.fps() == pytest.approx(10.0)
    for t in (5.3, 5.6, 5.9):  # three 300 ms hitches: p99 sees them, p50 does not
        fast.add(t)
    p50, p99 = fast.percentiles_ms()
    assert p50 == pytest.approx(5.0) and p99 > 100.0
    assert FrameTimes().percentiles_ms() == (0.0, 0.0) and FrameTimes().fps() == 0.0


@pytest.fixture
def gl():
    ctx = create_headless_context()
    tex = ctx.texture((320, 180), 4)
    fbo = ctx.framebuffer(color_attachments=[tex])
    yield ctx, fbo
    fbo.release()
    tex.release()
    ctx.release()


def _draw(ctx, fbo, hud, size=(320, 180)):
    fbo.use()
    ctx.viewport = (0, 0, *size)
    ctx.clear(1.0, 1.0, 1.0, 1.0)  # a white picture under the HUD
    hud.draw(size)
    raw = fbo.read(components=3, alignment=1)
    return np.frombuffer(raw, np.uint8).reshape(size[1], size[0], 3)[::-1]  # row 0 = top


@pytest.mark.parametrize("font_path", ["mono", None])  # None: pygame's bundled font, no system fonts
def test_overlay_draws_a_translucent_text_panel_top_left(gl, font_path):
    ctx, fbo = gl
    hud = HudOverlay(ctx, visible=True, font_path=font_path)
    try:
        lines = hud_lines(HudStats(fps=60.0, error="something broke", keys=KEY_HELP))
        hud.update(lines, 0.0, (320, 180))
        x, top, w, h = hud.rect((320, 180))
        assert (x, top) == (4, 4) and 0 < h < 180 and w > 100
        px = _draw(ctx, fbo, hud).astype(int)
        panel = px[top:top + h, x:x + w]
        assert (px[top + h + 2:] == 255).all() and (px[:, :x] == 255).all()  # untouched outside
        # Translucent dark panel: the white picture shows through, darkened, not replaced.
        background = np.median(panel.reshape(-1, 3), axis=0)
        assert (40 < background).all() and (background < 140).all()
        bright = (panel.min(axis=2) > 200).mean()
        assert 0.02 < bright < 0.5  # light text on it
        reddish = ((panel[..., 0] > 200) & (panel[..., 1] < 160)).sum()
        assert reddish > 20  # the error line is drawn in the error colour
    finally:
        hud.release()


def test_overlay_caches_text_and_refreshes_at_most_four_times_a_second(gl):
    ctx, fbo = gl
    hud = HudOverlay(ctx, visible=False)
    try:
        assert not hud.due(0.0)  # hidden: nothing to do, nothing drawn
        assert (_draw(ctx, fbo, hud) == 255).all()
        hud.toggle()
        assert hud.visible and hud.due(0.0)
        hud.update(["a"], 0.0, (320, 180))
        assert hud.renders == 1 and not hud.due(0.2) and hud.due(0.25)
        hud.update(["a"], 0.25, (320, 180))
        assert hud.renders == 1  # same text: the cached texture stays
        hud.update(["a", "b"], 0.5, (320, 180))
        assert hud.renders == 2
        hud.update(["a", "b"], 0.75, (320, 720))  # a taller window: bigger text
        assert hud.renders == 3 and hud.rect((320, 720))[3] > hud.rect((320, 180))[3] - 1
        hud.toggle()
        assert (_draw(ctx, fbo, hud) == 255).all()
        hud.toggle()
        assert hud.due(0.8)  # shown again: fresh numbers right away
    finally:
        hud.release()
