"""Audio sources (file, synthetic, live), ring buffer, devices and monitor on this machine."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vjgan.audio.devices import NO_INPUT, NO_OUTPUT, PORTAUDIO_MISSING, describe_devices
from vjgan.audio.linein import RingBuffer
from vjgan.audio.sources import AudioSource, FileSource, SyntheticSource, frames_before
from vjgan.errors import VjganError

SR = 48000
REPO = Path(__file__).resolve().parents[1]


def _stereo_ramp(n: int) -> np.ndarray:
    left = np.linspace(-0.5, 0.5, n, dtype=np.float32)
    return np.stack([left, -left], axis=1)


@pytest.fixture()
def wav_path(tmp_path: Path) -> Path:
    path = tmp_path / "ramp.wav"
    sf.write(path, _stereo_ramp(SR), SR, subtype="FLOAT")
    return path


def test_frames_before_is_exact_on_frame_times() -> None:
    assert frames_before(0.0, SR) == 0 and frames_before(-1.0, SR) == 0
    assert frames_before(1 / SR, SR) == 1 and frames_before(0.5 / SR, SR) == 1
    assert frames_before(float("inf"), SR) >= 2**62
    assert all(frames_before(k / 30, SR) == k * 1600 for k in range(1000))
    assert all(frames_before(k * 128 / SR, SR) == k * 128 for k in range(5000))


def test_file_source_pacing_and_shape(wav_path: Path) -> None:
    with FileSource(wav_path) as src:
        assert isinstance(src, AudioSource)
        assert (src.sample_rate, src.channels, src.duration_s, src.finished) == (SR, 2, 1.0, False)
        assert src.read_until(0.0).shape == (0, 2)
        first = src.read_until(0.01)
        assert first.shape == (480, 2) and first.dtype == np.float32
        assert src.read_until(0.01).shape == (0, 2)  # nothing new before 10 ms
        assert src.read_until(0.005).shape == (0, 2)  # going back returns nothing
        middle = src.read_until(0.0105)
        assert middle.shape == (24, 2)  # samples 480..503 are < 10.5 ms
        rest = src.read_until(float("inf"))  # clamps at the end
        assert rest.shape == (SR - 504, 2) and src.finished
        assert src.read_until(6.0).shape == (0, 2)
    np.testing.assert_array_equal(np.concatenate([first, middle, rest]), _stereo_ramp(SR))


def test_file_source_video_frame_pacing_returns_every_sample_once(wav_path: Path) -> None:
    with FileSource(wav_path) as src:
        chunks = [src.read_until(k / 60) for k in range(1, 62)]
    assert [c.shape[0] for c in chunks[:60]] == [800] * 60 and src.finished
    np.testing.assert_array_equal(np.concatenate(chunks), _stereo_ramp(SR))


@pytest.mark.parametrize("fmt", ["FLAC", "OGG", "MP3"])
def test_file_source_reads_other_formats(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"tone.{fmt.lower()}"
    t = np.arange(44100) / 44100
    sf.write(path, np.stack([np.sin(2 * np.pi * 440 * t)] * 2, axis=1) * 0.3, 44100, format=fmt)
    with FileSource(path) as src:
        data = src.read_until(2.0)
    assert src.sample_rate == 44100 and data.shape[1] == 2 and abs(data.shape[0] - 44100) < 2000


def test_file_source_mono_is_2d(tmp_path: Path) -> None:
    path = tmp_path / "mono.wav"
    sf.write(path, np.zeros(1000, np.float32) + 0.1, SR)
    with FileSource(path) as src:
        assert src.channels == 1 and src.read_until(1.0).shape == (1000, 1)


def _error(path: Path) -> str:
    with pytest.raises(VjganError) as info:
        FileSource(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_file_source_errors_name_the_file(tmp_path: Path) -> None:
    assert _error(tmp_path / "missing.wav") == f"audio file not found: {tmp_path / 'missing.wav'} — check the path"
    assert "is a directory" in _error(tmp_path)
    for name, reason in (("garbage.wav", "Format not recognised"), ("garbage.mp3", "not a recognised audio format")):
        garbage = tmp_path / name
        garbage.write_bytes(b"this is not audio at all " * 40)
        assert _error(garbage) == f"cannot read audio file {garbage}: {reason} — use WAV, FLAC, OGG or MP3"
    zero_bytes = tmp_path / "zero.wav"
    zero_bytes.write_bytes(b"")
    assert "empty" in _error(zero_bytes)
    zero_frames = tmp_path / "noframes.wav"
    sf.write(zero_frames, np.zeros((0, 2), np.float32), SR)
    assert "0 frames" in _error(zero_frames)


def test_synthetic_source() -> None:
    src = SyntheticSource(np.arange(1000, dtype=np.float32), 1000)
    assert (src.channels, src.duration_s) == (1, 1.0)
    assert src.read_until(0.1)[:, 0].tolist() == list(range(100))
    assert src.read_until(0.1).shape == (0, 1)
    assert src.read_until(float("inf")).shape == (900, 1) and src.finished
    stereo = SyntheticSource(np.zeros((10, 2)), 10)
    with stereo:
        assert stereo.read_until(1.0).shape == (10, 2) and stereo.finished


def test_ring_buffer_wraps_and_counts_drops() -> None:
    ring = RingBuffer(8, 2)
    frames = np.arange(24, dtype=np.float32).reshape(12, 2)
    ring.write(frames[:5])
    np.testing.assert_array_equal(ring.read_new(), frames[:5])
    ring.write(frames[5:10])  # wraps around the end
    np.testing.assert_array_equal(ring.read_new(), frames[5:10])
    ring.write(frames)  # 12 > capacity: the oldest 4 are gone
    ring.write(frames[:2])
    got = ring.read_new()
    np.testing.assert_array_equal(got, np.concatenate([frames[6:], frames[:2]]))
    assert ring.dropped_frames == 6
    ring.write(frames[:3])
    out = np.zeros((2, 2), np.float32)
    assert ring.read_into(out) == 2 and ring.read_into(out) == 1 and ring.read_into(out) == 0
    assert ring.free_frames == 8


def _sounddevice_status() -> str:
    try:
        import sounddevice as sd
    except OSError:
        return "no-portaudio"
    inputs = [d for d in sd.query_devices() if d["max_input_channels"] > 0]
    return "has-inputs" if inputs else "no-devices"


def test_line_in_without_device_or_portaudio_gives_clear_error() -> None:
    from vjgan.audio.sources import LineInSource

    status = _sounddevice_status()
    if status == "has-inputs":
        pytest.skip("this machine has an audio input")
    expected = PORTAUDIO_MISSING if status == "no-portaudio" else NO_INPUT
    for device in (None, "usb", 3):
        with pytest.raises(VjganError) as info:
            LineInSource(device)
        assert str(info.value) == expected
    assert "--audio-file" in describe_devices()


def test_line_in_without_portaudio_library_real_import() -> None:
    """PortAudio missing: the real sounddevice import fails (its library lookup finds nothing)."""
    code = textwrap.dedent("""
        import ctypes.util
        ctypes.util.find_library = lambda name: None  # as on a machine without libportaudio2
        from vjgan.audio.sources import LineInSource
        from vjgan.audio.playback import Monitor
        from vjgan.audio.devices import describe_devices
        from vjgan.errors import VjganError
        try:
            LineInSource()
        except VjganError as exc:
            print(exc)
        monitor, reason = Monitor.try_start("x.wav")
        assert monitor is None
        print(reason)
        print(describe_devices().splitlines()[0])
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines == [PORTAUDIO_MISSING, PORTAUDIO_MISSING, PORTAUDIO_MISSING]


def test_monitor_without_output_goes_on_silent() -> None:
    from vjgan.audio.playback import Monitor

    if _sounddevice_status() == "has-inputs":
        pytest.skip("this machine has audio devices")
    monitor, reason = Monitor.try_start(np.zeros(100), sample_rate=SR)
    assert monitor is None and reason == NO_OUTPUT


# Real capture through a JACK dummy server lives in tests/test_capture.py.


def test_sources_module_has_no_sounddevice_import_at_load() -> None:
    code = "import sys, vjgan.audio.sources, vjgan.audio.analysis; print('sounddevice' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"
