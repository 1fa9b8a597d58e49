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
