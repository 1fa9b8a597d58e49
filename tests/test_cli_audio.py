"""The audio-facing commands end to end: analyze, stems on a multichannel file, bad stems."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from test_cli import assert_clean_failure, probe, vjgan


def _click_track(path, bpm=120.0, dur=6.0, rate=48000, channels=1):
    t = np.arange(int(rate * dur)) / rate
    clicks = np.zeros_like(t)
    beat_s = 60.0 / bpm
    for start in np.arange(0.25, dur - 0.1, beat_s):
        n = (t >= start) & (t < start + 0.03)
        clicks[n] = 0.8 * np.sin(2 * np.pi * 1000 * (t[n] - start)) * np.exp(-(t[n] - start) * 150)
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) * 0.1
    if channels == 1:
        data = clicks + chord
    else:  # drums on channel 1, the chord on channel 2
        data = np.stack([clicks, chord] + [np.zeros_like(t)] * (channels - 2), axis=1)
    sf.write(path, data.astype(np.float32), rate)
    return path, np.arange(0.25, dur - 0.1, beat_s)


def test_analyze_writes_columnar_json_and_a_plot(tmp_path):
    song, truth = _click_track(tmp_path / "clicks.wav")
    out, png = tmp_path / "a.json", tmp_path / "a.png"
    run = vjgan("analyze", str(song), "--json", str(out), "--plot", str(png))
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert report["sample_rate"] == 48000 and report["hop"] == 128
    onsets = np.array(report["onsets"])
    onsets = onsets[onsets > 0.1]  # the chord's own start at 0 s is an onset too
    assert len(onsets) == len(truth)
    assert np.abs(onsets - truth).max() < 0.01  # delay-compensated onset times
    assert all(d > o for d, o in zip(report["onsets_detected_at"], report["onsets"]))
    assert abs(report["bpm"] - 120.0) < 2.0
    frames = report["frames"]
    n = len(frames["t"])
    assert n == int(6.0 * 48000) // 128
    for key in ("rms", "onset_strength", "low", "mid", "high", "chroma"):
        assert len(frames[key]) == n, key
    assert len(frames["chroma"][0]) == 12
    assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_with_stems_from_a_multichannel_file(tmp_path):
    song, _ = _click_track(tmp_path / "stems.wav", dur=2.0, channels=4)
    out = tmp_path / "stems.mp4"
    run = vjgan("render", str(song), "-o", str(out), "--fps", "10", "--size", "64",
                "--stem", "pulse=1", "--stem", "class=2", "--no-progress")
    assert run.returncode == 0, run.stderr
    info = probe(out)
    assert info["audio_channels"] == 2 and len(info["frames"]) == 20


def test_bad_stem_names_the_flag_and_the_channels(tmp_path):
    song, _ = _click_track(tmp_path / "s.wav", dur=1.0, channels=2)
    run = vjgan("render", str(song), "-o", str(tmp_path / "x.mp4"), "--stem", "pulse=5")
    assert_clean_failure(run, "pulse=5", "2 channels")
    run = vjgan("render", str(song), "-o", str(tmp_path / "x.mp4"), "--stem", "wobble=1")
    assert_clean_failure(run, "wobble", "pulse")
    assert not list(tmp_path.glob("*.mp4"))


def test_analyze_bad_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    run = vjgan("analyze", str(bad), "--json", str(tmp_path / "o.json"))
    assert_clean_failure(run, "bad.wav")
    assert not (tmp_path / "o.json").exists()


def test_onset_method_is_selectable_and_changes_the_analysis(tmp_path):
    song, truth = _click_track(tmp_path / "m.wav")
    results = {}
    for method in ("hfc", "energy"):
        out = tmp_path / f"{method}.json"
        run = vjgan("analyze", str(song), "--json", str(out), "--onset-method", method)
        assert run.returncode == 0, run.stderr
        results[method] = json.loads(out.read_text())
    assert results["hfc"]["onsets"] != results["energy"]["onsets"]
    run = vjgan("analyze", str(song), "--json", str(tmp_path / "x.json"), "--onset-method", "magic")
    assert_clean_failure(run, "--onset-method")
