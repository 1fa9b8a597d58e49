"""Live and offline share one Engine.step: same input and seed, same latent trajectory."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from vjgan.clock import FrameClock
from vjgan.live import LiveOptions, run_live
from vjgan.pipeline import ShowOptions
from vjgan.render import render_file


def _song(path, rate=48000, dur=2.0):
    t = np.arange(int(rate * dur)) / rate
    tone = 0.2 * np.sin(2 * np.pi * 220 * t) * (1 + np.sign(np.sin(2 * np.pi * 2 * t))) / 2
    sf.write(path, np.stack([tone, tone * 0.5], axis=1).astype(np.float32), rate)
    return path


def test_live_from_file_on_a_simulated_clock_matches_render(tmp_path):
    song = _song(tmp_path / "song.wav")
    show = ShowOptions(size=64, seed=5, fps=20)
    rendered, lived = [], []
    render_file(song, tmp_path / "r.mp4", show, progress=False,
                on_frame=lambda r: rendered.append((r.t_s, r.latents.z.copy(), r.latents.pulse)))
    run_live(LiveOptions(show=show, audio_file=song, headless=True), clock=FrameClock(show.fps),
             on_frame=lambda r: lived.append((r.t_s, r.latents.z.copy(), r.latents.pulse)))
    assert len(rendered) == 40
    assert len(lived) >= 39  # live stops when the file runs out
    for (t_a, z_a, p_a), (t_b, z_b, p_b) in zip(rendered, lived):
        assert t_a == t_b and p_a == p_b
        np.testing.assert_array_equal(z_a, z_b)
    pulses = [p for _, _, p in rendered]
    assert max(pulses) > 0.05  # the audio did drive the reaction


class _Flat:
    """A grey generator: any brightening in the output comes from the flash path."""

    z_dim, c_dim, resolution = 8, 0, 16

    def __call__(self, z, c, psi=1.0):
        return np.full((16, 16, 3), 100, np.uint8)


class _Uniforms:
    def __init__(self):
        self.seen = []

    def render(self, frame, u):
        self.seen.append(u.flash_amp)
        return frame


def test_a_manual_flash_lights_the_next_frame_and_decays_in_seconds():
    from vjgan.audio.sources import SyntheticSource
    from vjgan.engine import Engine

    effects = _Uniforms()
    engine = Engine(SyntheticSource(np.zeros(48000 * 2), 48000), _Flat(), effects)
    for i in range(3):
        engine.step(i / 30)
    engine.flash(amount=1.0, decay_s=0.1)
    for i in range(3, 30):
        engine.step(i / 30)
    amps = effects.seen
    assert amps[:3] == [0.0, 0.0, 0.0]  # silence: no flash before the performer's
    assert amps[3] == 1.0  # the very next frame
    # decays by e per decay_s of stream time: 0.1 s later (3 frames at 30 fps) it is 1/e
    assert abs(amps[6] - np.exp(-1.0)) < 1e-6
    assert amps[-1] < 0.01


def test_a_music_input_plays_pulse_and_classes_in_silence():
    """MIDI notes stand in for the audio of pulse/class/flash: a hit lifts the pulse although the
    line-in is silent, and the held pitch wins the class ranking."""
    from vjgan.audio.features import AudioFeatures
    from vjgan.audio.sources import SyntheticSource
    from vjgan.engine import Engine

    class Conditional(_Flat):
        c_dim = 12

    chroma_d = tuple(1.0 if i == 2 else 0.0 for i in range(12))

    def notes(t_s, dt_s):
        hit = abs(t_s - 1.0) < 1e-9
        return AudioFeatures(t_s=t_s, duration_s=dt_s, level=0.8, onset=hit,
                             percussive=1.0 if hit else 0.0, harmonic=0.8, chroma=chroma_d)

    def run(music):
        engine = Engine(SyntheticSource(np.zeros(48000 * 3), 48000), Conditional(), _Uniforms())
        if music:
            engine.set_music_input(notes)
        return [engine.step(i / 30) for i in range(60)]

    silent, played = run(False), run(True)
    assert max(r.latents.pulse for r in silent) == 0.0
    assert played[30].latents.pulse > 0.1 and played[29].latents.pulse == 0.0
    assert not np.allclose(played[-1].latents.c, silent[-1].latents.c)
