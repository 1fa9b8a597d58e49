"""The live loop in a real window (SDL offscreen driver) on simulated time: keys become actions,
hooks steer the show and cannot stop it, the HUD is shown in the window but never recorded, and a
recording whose encoder falls behind drops frames instead of stalling the show."""

from __future__ import annotations

import gc
import threading
import time

import av
import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("moderngl")
pygame = pytest.importorskip("pygame")

from vjgan import live  # noqa: E402
from vjgan.clock import FrameClock  # noqa: E402
from vjgan.control.presets import load_preset  # noqa: E402
from vjgan.errors import VjganError  # noqa: E402
from vjgan.gan.callable import CallableGenerator  # noqa: E402
from vjgan.gfx.recorder import Recorder  # noqa: E402
from vjgan.live import LiveOptions, run_live  # noqa: E402
from vjgan.pipeline import ShowOptions  # noqa: E402

FPS = 20
SIZE = 128


def _style(noise_batch, class_batch):
    """A cheap stand-in for a GAN: a gradient whose colour follows the noise vector."""
    y, x = np.mgrid[0:64, 0:64] / 63.0
    out = []
    for z in noise_batch:
        c = 0.5 + 0.5 * np.tanh(z[:3])
        out.append(np.stack([x * c[0], y * c[1], (1 - x) * c[2]], axis=-1))
    return out


@pytest.fixture
def song(tmp_path):
    rate = 48000
    t = np.arange(int(rate * 3.0)) / rate
    beat = (np.sin(2 * np.pi * 2 * t) > 0.9).astype(np.float32)  # two hits a second
    tone = 0.3 * np.sin(2 * np.pi * 110 * t) * (0.3 + beat)
    path = tmp_path / "song.wav"
    sf.write(path, np.stack([tone, tone], axis=1).astype(np.float32), rate)
    return path


@pytest.fixture(autouse=True)
def cheap_generator(monkeypatch):
    gen = CallableGenerator(_style, z_dim=8)
    monkeypatch.setattr(live, "load_show_parts",
                        lambda show, preset=None: (preset if preset is not None else load_preset("default"), gen))


def _opts(song, **kw):
    return LiveOptions(show=ShowOptions(size=SIZE, fps=FPS), audio_file=song, monitor=False, **kw)


def _screen(result):
    """The window's pixels (default framebuffer), row 0 = top."""
    ctx = result.output.ctx
    w, h = SIZE, SIZE  # the window has the show's size
    raw = ctx.screen.read(viewport=(0, 0, w, h), components=3, alignment=1)
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3)[::-1].copy()


def _press(key):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))


class Hook:
    """A test hook: runs `script[frame]` (a callable taking the state) and records what it saw."""

    def __init__(self, name="test", script=None, fail=None):
        self.name = name
        self.script = script or {}
        self.fail = fail
        self.frames = 0
        self.closed = 0
        self.state = None

    def before_frame(self, t_s, state):
        self.state = state
        step = self.script.get(self.frames)
        self.frames += 1
        if step is not None:
            step(state)
        if self.fail is not None:
            raise self.fail

    def status(self):
        return {self.name: f"{self.frames} frames"}

    def close(self):
        self.closed += 1


def test_window_shows_the_chain_output_and_keys_drive_the_show(song):
    hook = Hook(script={1: lambda s: _press(pygame.K_q)})
    seen = []
    summary = run_live(_opts(song), clock=FrameClock(FPS), hooks=[hook],
                       on_frame=lambda r: seen.append((_screen(r), hook.state.chain.read())))
    # The q pressed during frame 1 is read at the start of frame 2, which then never runs.
    assert summary.frames == 2 and hook.closed == 1
    for window, chain_output in seen:
        assert window.shape == chain_output.shape == (SIZE, SIZE, 3)
        assert np.array_equal(window, chain_output)  # window == chain output (1:1, no bars)
    assert seen[0][1].std() > 10  # a real picture, not a blank one


def test_fullscreen_key_toggles_the_running_window(song):
    sizes = []
    hook = Hook(script={1: lambda s: _press(pygame.K_F11), 4: lambda s: _press(pygame.K_f)})
    seen = []

    def frame(result):
        sizes.append(pygame.display.get_window_size())
        seen.append((_screen(result), hook.state.chain.read()))

    run_live(_opts(song, duration_s=0.4), clock=FrameClock(FPS), hooks=[hook], on_frame=frame)
    assert not pygame.display.get_init()  # the window is closed when the show ends
    assert sizes[:2] == [(SIZE, SIZE)] * 2 and sizes[5:] == [(SIZE, SIZE)] * 3
    assert all(size[0] > SIZE for size in sizes[2:5])  # fullscreen from frame 2 to 4
    for window, chain_output in seen[5:]:  # the same GL context draws on after the toggles
        assert np.array_equal(window, chain_output)


def test_actions_are_extendable_and_reachable_from_hooks(song):
    fired = []

    def register(state):
        state.actions["tap"] = lambda: fired.append("tap")

    controller = Hook("ctl", script={3: lambda s: s.act("tap"), 5: lambda s: s.act("quit")})
    summary = run_live(_opts(song), clock=FrameClock(FPS),
                       hooks=[Hook("reg", script={0: register}), controller], log=lambda m: None)
    assert fired == ["tap"]
    state = controller.state
    for name in ("blackout", "freeze", "hud", "fullscreen", "quit"):
        assert name in state.actions, name
        if name != "quit":
            assert f"{name}_on" in state.actions and f"{name}_off" in state.actions
    assert summary.frames == 6  # quit during frame 5 ends the show before frame 6
    assert not state.act("no_such_action") and "unknown action 'no_such_action'" in state.errors[-1]


def test_a_failing_hook_is_reported_once_and_the_show_goes_on(song):
    logged = []
    bad = Hook("osc", fail=ValueError("bad packet\nfrom 10.0.0.2"))
    good = Hook("midi")
    summary = run_live(_opts(song, duration_s=0.5), clock=FrameClock(FPS), hooks=[bad, good],
                       log=logged.append)
    assert summary.frames == 10 and good.frames == 10 and bad.frames == 10
    failures = [m for m in logged if "hook osc failed" in m]
    assert len(failures) == 1 and "\n" not in failures[0]
    assert "ValueError: bad packet from 10.0.0.2" in failures[0]
    assert bad.state.errors == [failures[0].removeprefix("vjgan: ")]
    assert bad.closed == good.closed == 1


def test_hooks_are_closed_when_the_show_cannot_start(song, monkeypatch):
    class BadClose(Hook):
        def close(self):
            super().close()
            raise RuntimeError("port busy")

    logged = []
    hooks = [BadClose("first"), Hook("second")]
    with pytest.raises(VjganError, match="--display 9: no such display"):
        run_live(_opts(song, display=9), clock=FrameClock(FPS), hooks=hooks, log=logged.append)
    assert [h.closed for h in hooks] == [1, 1]  # the second is closed though the first failed
    assert any("closing hook first failed" in m and "port busy" in m for m in logged)


def test_gc_is_frozen_during_the_show_only(song):
    counts = []
    before = gc.get_freeze_count()
    run_live(_opts(song, duration_s=0.2), clock=FrameClock(FPS),
             hooks=[Hook(script={1: lambda s: counts.append(gc.get_freeze_count())})])
    assert counts[0] > before and gc.get_freeze_count() == before


def _decode(path):
    with av.open(str(path)) as c:
        return {round(float(f.time), 3): f.to_ndarray(format="rgb24") for f in c.decode(video=0)}


def test_hud_key_shows_it_in_the_window_never_in_the_recording(song, tmp_path):
    out = tmp_path / "take.mp4"
    hook = Hook(script={2: lambda s: _press(pygame.K_h), 12: lambda s: _press(pygame.K_h)})
    frames = []
    summary = run_live(_opts(song, duration_s=1.0, record=out), clock=FrameClock(FPS),
                       hooks=[hook],
                       on_frame=lambda r: frames.append((r.t_s, _screen(r),
                                                         hook.state.chain.read())))
    assert summary.record == out and len(frames) == 20
    recorded = _decode(out)
    assert len(recorded) == 20 - summary.frames_dropped >= 10
    hud_px = []
    for i, (t_s, window, chain_output) in enumerate(frames):
        differs = np.abs(window.astype(int) - chain_output).max(axis=2) > 40
        hud_px.append(differs[:40, :].mean())  # the HUD panel sits at the top left
        if round(t_s, 3) in recorded:  # the recording is the chain output: no HUD in it
            err = np.abs(recorded[round(t_s, 3)].astype(int) - chain_output).mean()
            assert err < 8, (i, err)
    # h pressed during frame 2 is read in frame 3: HUD from frame 3 to 12, off again from 13.
    assert all(p == 0 for p in hud_px[:3]) and all(p == 0 for p in hud_px[13:])
    assert all(p > 0.05 for p in hud_px[3:13]), hud_px


def test_hud_flag_starts_with_the_hud_and_it_shows_hook_status(song):
    hook = Hook("osc")
    frames = []
    run_live(_opts(song, duration_s=0.3, hud=True), clock=FrameClock(FPS), hooks=[hook],
             on_frame=lambda r: frames.append((_screen(r), hook.state.chain.read())))
    window, chain_output = frames[0]
    assert (np.abs(window.astype(int) - chain_output).max(axis=2) > 40)[:40].mean() > 0.05


def test_blackout_and_freeze_keys(song):
    script = {1: lambda s: _press(pygame.K_b), 30: lambda s: _press(pygame.K_b),
              40: lambda s: _press(pygame.K_SPACE)}
    windows = []
    run_live(_opts(song, duration_s=3.0), clock=FrameClock(FPS), hooks=[Hook(script=script)],
             on_frame=lambda r: windows.append(_screen(r)))
    assert len(windows) >= 55
    assert windows[1].max() > 50  # the picture before the blackout
    assert windows[29].max() <= 2  # black within 1.4 s of the key (any fade included)
    assert windows[38].max() > 50  # back after the second press
    # frozen from frame 41: the picture stops moving although the music drives the generator
    assert all(np.array_equal(windows[41], w) for w in windows[42:])
    assert not all(np.array_equal(windows[30], w) for w in windows[31:41])


# -- the recorder never stalls a live show ------------------------------------------------------

def _frame(i, w=64, h=48):
    return np.full((h, w, 3), (i * 9) % 256, np.uint8)


def _gated(rec):
    """Hold the recorder's encoder thread until the returned event is set (a stuck encoder)."""
    gate = threading.Event()
    real = rec._encode

    def slow(*item):
        gate.wait()
        real(*item)

    rec._encode = slow
    return gate


def test_live_recorder_drops_frames_when_the_encoder_is_behind(tmp_path):
    path = tmp_path / "drop.mp4"
    rec = Recorder(path, (64, 48), 20.0, audio_rate=48000, queue_size=3, drop_when_behind=True)
    gate = _gated(rec)
    timer = threading.Timer(30.0, gate.set)  # only unsticks a recorder that wrongly waits
    timer.start()
    try:
        reads = []
        accepted = []
        for i in range(12):
            t_s = i / 20
            ok = rec.offer_video(lambda: reads.append(i) or _frame(i), t_s)
            rec.write_audio(np.zeros((2400, 2), np.float32))  # audio is never dropped
            if ok:
                accepted.append(t_s)
        assert not gate.is_set()  # every call returned while the encoder was stuck
        # 3 frames in flight (one at the stuck encoder, two queued); the rest dropped unread.
        assert len(accepted) == 3 and rec.frames_dropped == 9 and reads == [0, 1, 2]
        gate.set()
        time.sleep(0.2)
        assert rec.write_video(_frame(12), 0.6)  # room again once the encoder caught up
        accepted.append(0.6)
        rec.close()
    finally:
        timer.cancel()
        gate.set()
    decoded = _decode(path)
    assert sorted(decoded) == pytest.approx(accepted, abs=1e-3)  # kept frames keep their times
    with av.open(str(path)) as c:
        assert c.streams.audio[0].duration * c.streams.audio[0].time_base >= 0.6 - 0.05


def test_offline_recorder_waits_for_a_slow_encoder_and_keeps_every_frame(tmp_path):
    path = tmp_path / "all.mp4"
    rec = Recorder(path, (64, 48), 20.0, queue_size=2)
    gate = _gated(rec)
    threading.Timer(0.3, gate.set).start()
    for i in range(8):
        assert rec.write_video(_frame(i), i / 20)
    rec.close()
    assert rec.frames_dropped == 0 and len(_decode(path)) == 8


def test_a_failing_recording_never_stops_the_show(song, tmp_path, monkeypatch):
    real = Recorder._encode

    def disk_fills_up(self, kind, data, pts):
        if kind == "v" and self.frames_written >= 3:
            raise OSError("No space left on device")
        real(self, kind, data, pts)

    monkeypatch.setattr(Recorder, "_encode", disk_fills_up)
    out = tmp_path / "full.mp4"
    logged = []
    summary = run_live(_opts(song, duration_s=1.0, record=out), clock=FrameClock(FPS),
                       log=logged.append)
    assert summary.frames == 20 and summary.record is None
    failures = [m for m in logged if "No space left on device" in m]
    assert len(failures) == 1 and "the show goes on" in failures[0]
    assert list(tmp_path.glob("*.mp4")) == []  # nothing partial left behind
