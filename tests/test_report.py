"""The analyze report: same analyser as live, columnar JSON, atomic writes, the plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vjgan.audio.analysis import AnalysisConfig, Analyzer
from vjgan.audio.report import analyze_file, build_report, plot_report, write_json
from vjgan.errors import VjganError

SR = 48000
BEATS_S = np.arange(0.5, 8.0, 0.5)  # 120 BPM


def music(duration_s: float = 8.0) -> np.ndarray:
    """Stereo: kick-like hits on the beats over a held A minor chord."""
    rng = np.random.default_rng(2)
    n = int(duration_s * SR)
    t = np.arange(n) / SR
    chord = sum(np.sin(2 * np.pi * 440.0 * 2.0 ** ((m - 69) / 12) * t) for m in (57, 60, 64)) * 0.05
    hits = np.zeros(n)
    ht = np.arange(int(0.2 * SR)) / SR
    for beat_s in BEATS_S:
        i = int(round(beat_s * SR))
        hit = (0.5 * rng.standard_normal(ht.size) + np.sin(2 * np.pi * 80.0 * ht)) * np.exp(-ht / 0.04)
        hits[i : i + ht.size] += 0.4 * hit[: n - i]
    mono = chord + hits
    return np.stack([mono, 0.8 * mono], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "song.wav"
    sf.write(path, music(), SR, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def report(wav: Path) -> dict:
    return analyze_file(wav)


def test_report_keys_and_lengths(report: dict, wav: Path) -> None:
    assert {"sample_rate", "hop", "onsets", "onsets_detected_at", "bpm", "beats", "frames"} <= report.keys()
    assert report["sample_rate"] == SR and report["hop"] == 128 and report["channels"] == 2
    assert report["file"] == "song.wav" and report["duration_s"] == 8.0
    frames = report["frames"]
    n = sf.info(str(wav)).frames // 128
    for name in ("t", "rms", "level", "onset_strength", "low", "mid", "high", "percussive", "harmonic",
                 "chroma"):
        assert len(frames[name]) == n, name
    assert all(len(row) == 12 for row in frames["chroma"])
    assert frames["t"][:2] == [round(128 / SR, 4), round(256 / SR, 4)]
    assert len(report["onsets"]) == len(report["onsets_detected_at"])
    assert all(a <= b for a, b in zip(report["onsets"], report["onsets_detected_at"]))


def test_report_finds_the_music(report: dict) -> None:
    onsets = np.array(report["onsets"])
    expected_s = np.concatenate([[0.0], BEATS_S])  # the chord starts at 0
    assert onsets.size == expected_s.size
    assert np.max(np.abs(onsets - expected_s)) < 0.01
    assert report["bpm"] == pytest.approx(120.0, abs=2.0)
    beats = np.array(report["beats"])
    grid_s = np.arange(0.5, 8.01, 0.5)  # the flywheel may place the beat due at the very end
    assert beats.size >= 6 and np.max(np.abs(beats[:, None] - grid_s[None, :]).min(axis=1)) < 0.03
    top = np.argsort(np.mean(report["frames"]["chroma"], axis=0))[-3:]
    assert set(top.tolist()) == {9, 0, 4}  # A, C, E


def test_report_is_the_live_analyser_over_the_file(report: dict, wav: Path) -> None:
    samples, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    blocks = Analyzer(rate).process(samples)  # one call: chunking does not matter to the analyser
    assert build_report(blocks, rate, AnalysisConfig())["frames"] == report["frames"]


def test_write_json_is_compact_atomic_and_round_trips(report: dict, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    write_json(report, out)
    assert json.loads(out.read_text()) == report
    text = out.read_text()
    assert ", " not in text and "\n" not in text
    assert max(len(v.split(".")[1]) for v in text.replace("]", ",").replace("[", ",").split(",")
               if v.replace(".", "").replace("-", "").isdigit() and "." in v) <= 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temp file left behind
    write_json({"x": 1}, out)  # replaces
    assert json.loads(out.read_text()) == {"x": 1}


def test_write_json_into_a_missing_folder_names_the_path(tmp_path: Path) -> None:
    out = tmp_path / "nope" / "report.json"
    with pytest.raises(VjganError, match="nope") as info:
        write_json({"x": 1}, out)
    assert str(out) in str(info.value) and "\n" not in str(info.value)


def test_analyze_file_errors_are_vjgan_errors(tmp_path: Path) -> None:
    with pytest.raises(VjganError, match="not found"):
        analyze_file(tmp_path / "missing.wav")


def test_plot_is_written(report: dict, wav: Path, tmp_path: Path) -> None:
    out = tmp_path / "plot.png"
    plot_report(report, wav, out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    samples, _ = sf.read(str(wav), dtype="float32", always_2d=True)
    out2 = tmp_path / "plot2.png"
    plot_report(report, samples, out2)  # from samples in memory, too
    assert out2.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.png", "plot2.png"]
    with pytest.raises(VjganError, match="missing"):
        plot_report(report, samples, tmp_path / "missing" / "plot.png")
