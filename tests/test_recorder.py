"""Recorder: H.264 + AAC via PyAV, decoded back and checked; abort and path errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from vjgan.errors import VjganError

av = pytest.importorskip("av")
from vjgan.gfx.recorder import Recorder  # noqa: E402

W, H = 128, 96


def frames(n: int) -> list[np.ndarray]:
    y, x = np.mgrid[0:H, 0:W]
    return [np.stack([(x * 2 + i * 8) % 256, y * 2 % 256, np.full_like(x, i * 10 % 256)], -1)
            .astype(np.uint8) for i in range(n)]


def tone(n: int, rate: int, channels: int) -> np.ndarray:
    t = np.arange(n) / rate
    mono = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return mono if channels == 1 else np.stack([mono, -mono], 1)


def probe(path) -> dict:
    with av.open(str(path)) as c:
        v, a = c.streams.video[0], (c.streams.audio[0] if c.streams.audio else None)
        info = {"vcodec": v.codec_context.name, "duration": c.duration / 1e6,
                "acodec": a.codec_context.name if a else None, "rate": a.rate if a else None,
                "channels": a.channels if a else None, "size": (v.width, v.height)}
        info["times"] = [f.time for f in c.decode(video=0)]
    if a is not None:
        with av.open(str(path)) as c:
            chunks = [f.to_ndarray() for f in c.decode(audio=0)]
        info["audio"] = np.concatenate(chunks, axis=1)  # (channels, n) planar float
    return info


@pytest.mark.parametrize("rate,in_channels", [(48000, 2), (44100, 1)])
def test_records_h264_and_aac(tmp_path, rate, in_channels):
    path = tmp_path / "out.mp4"
    fps, n = 24.0, 24
    audio = tone(rate, rate, in_channels)  # 1 s
    with Recorder(path, (W, H), fps, audio_rate=rate) as rec:
        for i, f in enumerate(frames(n)):
            rec.write_video(f, i / fps)
            rec.write_audio(audio[i * rate // n:(i + 1) * rate // n])
    info = probe(path)
    assert info["vcodec"] == "h264" and info["acodec"] == "aac" and info["size"] == (W, H)
    assert len(info["times"]) == n
    assert np.allclose(info["times"], np.arange(n) / fps, atol=1e-3)
    assert info["rate"] == rate and info["channels"] == 2
    assert abs(info["duration"] - 1.0) < 0.05
    dec = info["audio"]
    assert abs(dec.shape[1] - rate) <= 2048  # encoder priming/padding
    if in_channels == 1:  # mono duplicated to both channels
        assert np.allclose(dec[0], dec[1], atol=1e-3)
    assert 0.15 < np.sqrt((dec[0, 4096:-4096] ** 2).mean()) < 0.25  # the 0.3-amplitude tone
    assert os.listdir(tmp_path) == ["out.mp4"]  # temp file moved, nothing left over


def test_multichannel_input_records_first_two_as_stereo(tmp_path):
    path = tmp_path / "six.mp4"
    mono = tone(48000, 48000, 1)
    six = np.zeros((48000, 6), np.float32)
    six[:, 0], six[:, 1], six[:, 2] = mono, -mono, 0.9
    with Recorder(path, (W, H), 24.0, audio_rate=48000, audio_channels=6) as rec:
        for i, f in enumerate(frames(24)):
            rec.write_video(f, i / 24)
            rec.write_audio(six[i * 2000:(i + 1) * 2000])
    info = probe(path)
    assert info["channels"] == 2
    dec = info["audio"][:, 4096:-4096]
    assert np.corrcoef(dec[0], dec[1])[0, 1] < -0.99  # left = tone, right = inverted tone


def test_variable_rate_timestamps_keep_wall_clock(tmp_path):
    path = tmp_path / "live.mp4"
    times = [0.0, 0.04, 0.05, 0.2, 0.21, 0.5]
    with Recorder(path, (W, H), 30.0) as rec:
        for t, f in zip(times, frames(len(times))):
            rec.write_video(f, t)
    info = probe(path)
    assert np.allclose(info["times"], times, atol=1e-3)
    assert info["acodec"] is None


def test_frame_content_survives_encoding(tmp_path):
    path = tmp_path / "c.mp4"
    f = frames(1)[0]
    with Recorder(path, (W, H), 30.0) as rec:
        rec.write_video(f, 0.0)
    with av.open(str(path)) as c:
        got = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert np.abs(got.astype(int) - f).mean() < 6  # crf 18 + yuv420p


def test_abort_leaves_no_file(tmp_path):
    path = tmp_path / "gone.mp4"
    rec = Recorder(path, (W, H), 30.0, audio_rate=48000)
    for i, f in enumerate(frames(5)):
        rec.write_video(f, i / 30)
    rec.abort()
    rec.abort()  # idempotent
    assert os.listdir(tmp_path) == []


def test_exception_in_with_block_aborts_and_keeps_old_file(tmp_path):
    path = tmp_path / "keep.mp4"
    path.write_bytes(b"previous recording")
    with pytest.raises(KeyError):
        with Recorder(path, (W, H), 30.0) as rec:
            rec.write_video(frames(1)[0], 0.0)
            raise KeyError("boom")
    assert path.read_bytes() == b"previous recording"
    assert os.listdir(tmp_path) == ["keep.mp4"]


def test_encoder_thread_error_is_reraised(tmp_path):
    path = tmp_path / "err.mp4"
    rec = Recorder(path, (W, H), 30.0)

    class FullDisk:  # stands in for the container: muxing fails like a full disk would
        def __init__(self, real):
            self.real = real

        def mux(self, packets):
            raise OSError("disk full")

        def close(self):
            self.real.close()

    rec._container = FullDisk(rec._container)  # type: ignore[assignment]
    rec.write_video(frames(1)[0], 0.0)
    with pytest.raises(VjganError, match="disk full"):
        for i in range(100):
            rec.write_video(frames(1)[0], (i + 1) / 30)
        rec.close()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("case", ["missing_dir", "is_dir", "parent_is_file"])
def test_bad_output_path_names_path(tmp_path, case):
    if case == "missing_dir":
        path = tmp_path / "nope" / "OUT.mp4"
    elif case == "is_dir":
        path = tmp_path
    else:
        (tmp_path / "file").write_text("x")
        path = tmp_path / "file" / "OUT.mp4"
    with pytest.raises(VjganError) as e:
        Recorder(path, (W, H), 30.0)
    msg = str(e.value)
    assert msg.startswith(f"cannot write {path}: ")
    assert msg.endswith("choose a writable path with -o")


def test_unwritable_dir(tmp_path, monkeypatch):
    d = tmp_path / "ro"
    d.mkdir(mode=0o500)
    if os.access(d, os.W_OK):  # root writes anywhere: simulate the permission check failing
        real = os.access
        monkeypatch.setattr(os, "access",
                            lambda p, m, **kw: str(p) != str(d) and real(p, m, **kw))
    with pytest.raises(VjganError, match=f"cannot write {d / 'OUT.mp4'}: .*not writable.* -o"):
        Recorder(d / "OUT.mp4", (W, H), 30.0)


def test_odd_size_and_bad_audio_rate(tmp_path):
    with pytest.raises(VjganError, match="even"):
        Recorder(tmp_path / "o.mp4", (127, 96), 30.0)
    with pytest.raises(VjganError, match="12345 Hz"):
        Recorder(tmp_path / "o.mp4", (W, H), 30.0, audio_rate=12345)
    assert os.listdir(tmp_path) == []
