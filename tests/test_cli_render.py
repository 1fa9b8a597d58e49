"""`vjgan render` with LSD's offline extras: stem files, a song window, non-square output, batches,
and a reaction trace."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from test_cli import assert_clean_failure, probe, song, vjgan  # noqa: F401 (song is a fixture)


@pytest.fixture(scope="module")
def drums(tmp_path_factory):
    """A kick every 0.25 s: twice as many hits as the song has."""
    rate = 44100
    t = np.arange(int(rate * 2.5)) / rate
    out = np.zeros_like(t)
    for start in np.arange(0, 2.5, 0.25):
        n = (t >= start) & (t < start + 0.1)
        out[n] = 0.9 * np.sin(2 * np.pi * 70 * (t[n] - start)) * np.exp(-(t[n] - start) * 35)
    path = tmp_path_factory.mktemp("stems") / "drums.wav"
    sf.write(path, out.astype(np.float32), rate)
    return path


def _pulse_peaks(trace):
    pulse = np.array(trace["pulse"])
    rising = (pulse[1:-1] > pulse[:-2]) & (pulse[1:-1] >= pulse[2:]) & (pulse[1:-1] > 0.1)
    return int(rising.sum())


def test_stem_file_drives_the_pulse_and_the_window_is_rendered(song, drums, tmp_path):
    out, trace = tmp_path / "stem.mp4", tmp_path / "stem.json"
    run = vjgan("render", str(song), "-o", str(out), "--size", "64", "--fps", "40", "--no-progress",
                "--stem", f"pulse={drums}", "--start", "0.5", "--duration", "1.5",
                "--trace", str(trace))
    assert run.returncode == 0, run.stderr
    info = probe(out)
    assert len(info["frames"]) == 60 and info["audio_s"] == pytest.approx(1.5, abs=0.05)
    with_stem = json.loads(trace.read_text())
    plain_trace = tmp_path / "plain.json"
    assert vjgan("render", str(song), "-o", str(tmp_path / "plain.mp4"), "--size", "64", "--fps", "40",
                 "--no-progress", "--start", "0.5", "--duration", "1.5",
                 "--trace", str(plain_trace)).returncode == 0
    plain = json.loads(plain_trace.read_text())
    assert _pulse_peaks(with_stem) >= 5  # a kick every 0.25 s in 1.5 s
    assert _pulse_peaks(with_stem) > _pulse_peaks(plain) + 1  # the song kicks every 0.5 s


def test_non_square_size_batches_and_a_trace_plot(song, tmp_path):
    out, plot = tmp_path / "wide.mp4", tmp_path / "reaction.png"
    run = vjgan("render", str(song), "-o", str(out), "--size", "96x54", "--fps", "12",
                "--batch", "4", "--no-progress", "--trace", str(plot))
    assert run.returncode == 0, run.stderr
    assert probe(out)["size"] == (96, 54)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "real time" in run.stdout


@pytest.mark.parametrize("args, needles", [
    (["--trace", "reaction.gif"], ["--trace", ".png"]),
    (["--stem", "pulse=nowhere/drums.wav"], ["nowhere/drums.wav"]),
    (["--start", "99"], ["start", "past the end"]),
    (["--size", "100x7"], ["--size", "7"]),
])
def test_bad_render_extras_fail_before_anything_is_written(song, tmp_path, args, needles):
    out = tmp_path / "x.mp4"
    run = vjgan("render", str(song), "-o", str(out), "--no-progress", *args)
    assert_clean_failure(run, *needles)
    assert not out.exists()


def test_live_refuses_a_stem_file_and_says_where_it_works(song, drums):
    run = vjgan("live", "--audio-file", str(song), "--headless", "--duration", "0.5",
                "--stem", f"pulse={drums}")
    assert_clean_failure(run, "vjgan render")
