"""Demo track: deterministic, cached, the right format, and on a 120 BPM grid for the analyser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vjgan.audio.analysis import Analyzer
from vjgan.audio.chroma import PITCH_CLASS_NAMES
from vjgan.audio.demo_track import (
    BAR_S,
    BEAT_S,
    DEMO_TRACK_NAME,
    default_cache_dir,
    demo_beat_times_s,
    ensure_demo_track,
    synthesize_demo_track,
)
from vjgan.audio.sources import FileSource


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_demo_track(tmp_path_factory.mktemp("cache"))


def test_synthesis_is_deterministic() -> None:
    a = synthesize_demo_track(duration_s=3.0)
    b = synthesize_demo_track(duration_s=3.0)
    assert a.dtype == np.float32 and a.shape == (3 * 48000, 2)
    assert np.array_equal(a, b)


def test_cached_file_format_and_bytes(demo_path: Path, tmp_path: Path) -> None:
    assert demo_path.name == DEMO_TRACK_NAME
    info = sf.info(demo_path)
    assert (info.samplerate, info.channels, info.subtype) == (48000, 2, "PCM_16")
    assert info.duration == pytest.approx(20.0, abs=0.5)
    data, _ = sf.read(demo_path, dtype="float32")
    assert 20 * np.log10(np.max(np.abs(data))) == pytest.approx(-1.0, abs=0.1)
    assert np.sqrt(np.mean(data**2)) > 0.1  # not a near-silent file
    assert not np.array_equal(data[:, 0], data[:, 1])  # real stereo
    second = ensure_demo_track(tmp_path)  # a fresh cache writes the very same bytes
    assert second.read_bytes() == demo_path.read_bytes()
    assert not list(tmp_path.glob("*.tmp"))  # the temp file was renamed away


def test_reuses_valid_cache_and_repairs_broken_one(tmp_path: Path) -> None:
    path = ensure_demo_track(tmp_path)
    before = path.stat()
    assert ensure_demo_track(tmp_path) == path
    after = path.stat()  # a rewrite would rename a new file (a new inode) into place
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # a truncated (interrupted) copy is replaced
    assert ensure_demo_track(tmp_path).read_bytes() == good


def test_default_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "vjgan"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "vjgan"


def test_analyser_finds_onsets_on_the_120_bpm_grid(demo_path: Path) -> None:
    analyzer = Analyzer(48000)
    records = []
    with FileSource(demo_path) as src:  # paced like a 60 fps offline render
        k = 0
        while not src.finished:
            k += 1
            records += analyzer.process(src.read_until(k / 60))
    onsets_s = np.array([r.onset_t_s for r in records if r.onset])
    beats_s = demo_beat_times_s()
    assert len(beats_s) == 40
    nearest_beat_s = np.array([np.min(np.abs(onsets_s - b)) for b in beats_s])
    assert np.all(nearest_beat_s < 0.02), nearest_beat_s  # every beat (kick) is found
    eighths_s = np.arange(0.0, 20.0, BEAT_S / 2)
    off_grid = np.array([np.min(np.abs(eighths_s - t)) for t in onsets_s]) > 0.02
    assert off_grid.mean() < 0.1, onsets_s[off_grid]  # (almost) nothing off the eighth-note grid
    intervals_s = np.diff(onsets_s)
    assert np.median(intervals_s) == pytest.approx(BEAT_S / 2, abs=0.01)  # 120 BPM in eighths

    # the harmony follows Am - F - C - G: each bar's chord root is among its strongest pitch classes
    block_s = records[0].duration_s
    for bar, root in enumerate(("A", "F", "C", "G")):
        bar_records = records[int((bar + 4) * BAR_S / block_s + 50) : int((bar + 5) * BAR_S / block_s - 50)]
        mean = np.mean([r.chroma for r in bar_records], axis=0)
        top = {PITCH_CLASS_NAMES[i] for i in np.argsort(mean)[::-1][:3]}
        assert root in top, (bar, dict(zip(PITCH_CLASS_NAMES, np.round(mean, 2))))
