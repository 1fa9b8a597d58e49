"""FileSource(start_s=, duration_s=): render a window of a song (Lucid Sonic Dreams' start/duration)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vjgan.audio.sources import FileSource
from vjgan.errors import VjganError

SR = 8000
SECONDS = 10
N = SR * SECONDS
SCALE = 2**23  # a 24-bit sample k reads back as exactly k / 2**23 in float32


@pytest.fixture(scope="module", params=["wav", "flac"])
def indexed(request, tmp_path_factory) -> Path:
    """10 s stereo at 8 kHz, 24-bit: sample i holds i on the left and -i on the right."""
    index = np.arange(N, dtype=np.int64)
    data = (np.stack([index, -index], axis=1) << 8).astype(np.int32)  # int32 -> the top 24 bits
    path = tmp_path_factory.mktemp("window") / f"idx.{request.param}"
    sf.write(path, data, SR, subtype="PCM_24")
    return path


def indices(block: np.ndarray) -> np.ndarray:
    """The sample numbers a block carries (and a check that both channels agree)."""
    left = np.rint(block[:, 0].astype(np.float64) * SCALE).astype(np.int64)
    assert np.array_equal(left, -np.rint(block[:, 1].astype(np.float64) * SCALE).astype(np.int64))
    return left


def test_a_window_starts_at_its_sample_and_stops_after_its_duration(indexed):
    with FileSource(indexed, start_s=0.5, duration_s=1.0) as src:
        assert (src.frames, src.duration_s, src.start_s) == (SR, 1.0, 0.5)
        first = src.read_until(1 / SR)  # stream time 0 is the sample at 0.5 s
        assert indices(first).tolist() == [4000]
        quarter = src.read_until(0.25)
        assert indices(quarter).tolist() == list(range(4001, 6000))
        rest = src.read_until(float("inf"))
        assert indices(rest).tolist() == list(range(6000, 12000)) and src.finished
        assert src.read_until(float("inf")).shape == (0, 2)


def test_without_a_duration_the_window_runs_to_the_end(indexed):
    with FileSource(indexed, start_s=7.25) as src:
        assert src.frames == N - 58000 and src.duration_s == pytest.approx(2.75)
        got = indices(src.read_until(float("inf")))
        assert got[0] == 58000 and got[-1] == N - 1 and len(got) == N - 58000


def test_a_duration_past_the_end_is_clipped_at_the_end(indexed):
    with FileSource(indexed, start_s=9.5, duration_s=5.0) as src:
        assert src.frames == 4000 and src.duration_s == 0.5
        got = indices(src.read_until(100.0))
        assert got.tolist() == list(range(76000, N)) and src.finished


def test_a_start_between_samples_begins_at_the_next_sample(indexed):
    with FileSource(indexed, start_s=0.5 + 0.3 / SR, duration_s=2 / SR) as src:
        assert src.start_s == 4001 / SR
        assert indices(src.read_until(float("inf"))).tolist() == [4001, 4002]


def test_the_defaults_read_the_whole_file(indexed):
    with FileSource(indexed) as src:
        assert (src.frames, src.start_s, src.duration_s) == (N, 0.0, float(SECONDS))
        got = indices(src.read_until(float("inf")))
        assert got[0] == 0 and got[-1] == N - 1 and len(got) == N


@pytest.mark.parametrize("start_s, duration_s, message", [
    (95.0, None, r"start 95\.0 s is past the end of idx\.\w+ \(10\.0 s\) — choose a start below 10\.0"),
    (10.0, 1.0, r"start 10\.0 s is past the end of idx\.\w+"),
    (-1.0, None, r"start -1\.0 s for .*idx\.\w+ must be 0 or more seconds"),
    (float("nan"), None, r"start nan s for .*idx\.\w+ must be 0 or more"),
    (0.0, 0.0, r"duration 0\.0 s for .*idx\.\w+ must be a positive number of seconds"),
    (0.0, -2.0, r"duration -2\.0 s for .*idx\.\w+ must be a positive"),
    ("soon", None, r"idx\.\w+: start and duration must be numbers of seconds"),
])
def test_bad_windows_are_one_line_errors_naming_the_file(indexed, start_s, duration_s, message):
    with pytest.raises(VjganError, match=message) as err:
        FileSource(indexed, start_s=start_s, duration_s=duration_s)
    assert "\n" not in str(err.value)


def test_the_end_of_a_short_file_is_shown_to_the_millisecond(tmp_path):
    path = tmp_path / "blip.wav"
    sf.write(path, np.zeros(400, np.float32), SR)  # 0.05 s
    with pytest.raises(VjganError, match=r"past the end of blip\.wav \(0\.050 s\) — choose a start below 0\.050"):
        FileSource(path, start_s=0.2)
