"""Record the output to H.264 + AAC (PyAV) on a background thread.

    with Recorder("out.mp4", (1280, 720), fps=30, audio_rate=48000) as rec:
        rec.write_audio(samples)            # float32 (n, ch) or (n,), -1..1
        rec.write_video(chain.read(), t_s)  # t_s: seconds since the first audio sample
    # closed on success; aborted (no file left) if an exception escapes the block

The file is written to a hidden temporary next to `path` and moved onto `path` by `close()`, so a
crash or `abort()` never leaves a partial mp4. Video pts come from `t_s` on a 1/90000 time base:
offline, t_s = i / fps gives exactly one frame per call; live, wall-clock timing is kept (VFR).
Audio pts count samples from 0, so t_s = 0 is the first audio sample.

Encoding runs on a background thread; the caller only copies frames into a queue. At most
`queue_size` video frames wait there. When the encoder falls behind, offline rendering
(`drop_when_behind=False`) waits for it, so every frame is encoded; a live show
(`drop_when_behind=True`) never waits: the frame is dropped and counted in `frames_dropped`, the
previous frame simply stays on screen longer in the file (pts come from t_s, so the recording
keeps time with its audio). Audio is never dropped.
"""

from __future__ import annotations

import os
import queue
import threading
import uuid
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Callable

import numpy as np

from vjgan.errors import VjganError

VIDEO_TIME_BASE = Fraction(1, 90000)
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000,
             7350)
_STOP = object()


def _cannot_write(path: Path, reason: str) -> VjganError:
    return VjganError(f"cannot write {path}: {reason} — choose a writable path with -o")


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Validate that `path` can be created; returns it as a Path."""
    p = Path(path).expanduser()
    parent = p.parent if str(p.parent) else Path(".")
    reason = None
    if p.is_dir():
        reason = "it is a directory"
    elif not parent.exists():
        reason = f"directory {parent} does not exist"
    elif not parent.is_dir():
        reason = f"{parent} is not a directory"
    elif not os.access(parent, os.W_OK | os.X_OK):
        reason = f"directory {parent} is not writable"
    elif p.exists() and not os.access(p, os.W_OK):
        reason = "the existing file is not writable"
    if reason is not None:
        raise _cannot_write(p, reason)
    return p


class Recorder:
    """H.264 (libx264, yuv420p, veryfast, crf 18) + optional AAC, encoded off the render thread.

    `audio_rate=None` records video only. `audio_channels` is the encoded stream's layout: 1 = mono,
    2 or more = stereo. Whatever `write_audio` gets is adapted to it (mono duplicated, stereo
    averaged to mono, channels beyond the first two dropped).
    """

    def __init__(self, path: str | os.PathLike[str], size: tuple[int, int], fps: float,
                 audio_rate: int | None = None, audio_channels: int = 2, crf: int = 18,
                 preset: str = "veryfast", queue_size: int = 8,
                 drop_when_behind: bool = False) -> None:
        import av

        self.path = check_output_path(path)
        w, h = int(size[0]), int(size[1])
        if w <= 0 or h <= 0 or w % 2 or h % 2:
            raise VjganError(f"cannot record {w}x{h} to {self.path}: H.264 (yuv420p) needs an "
                             "even, positive width and height — choose an even output size")
        if fps <= 0:
            raise VjganError(f"cannot record {self.path} at {fps} fps — use a positive frame rate")
        if audio_rate is not None and int(audio_rate) not in AAC_RATES:
            raise VjganError(f"cannot record {self.path}: AAC does not support {audio_rate} Hz "
                             f"audio — resample to 48000 or 44100 Hz")
        if audio_channels < 1:
            raise VjganError(f"cannot record {self.path}: {audio_channels} audio channels — use 1 "
                             "(mono) or 2 (stereo)")
        self.size = (w, h)
        self.fps = float(fps)
        self.audio_rate = int(audio_rate) if audio_rate is not None else None
        self.audio_channels = 1 if audio_channels == 1 else 2  # more than 2: stereo (first two)
        suffix = self.path.suffix or ".mp4"
        fmt = "mp4" if suffix.lower() in (".mp4", ".m4v") else None
        self._tmp = self.path.with_name(f".{self.path.stem}.{uuid.uuid4().hex[:8]}.part{suffix}")
        try:
            self._container = av.open(str(self._tmp), "w", format=fmt)
        except (OSError, av.FFmpegError, ValueError) as e:
            self._unlink_tmp()
            raise _cannot_write(self.path, str(e)) from e
        try:
            rate = Fraction(self.fps).limit_denominator(1001)
            vs = self._container.add_stream("libx264", rate=rate)
            vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
            vs.time_base = VIDEO_TIME_BASE
            vs.codec_context.time_base = VIDEO_TIME_BASE
            vs.options = {"preset": preset, "crf": str(crf)}
            self._video = vs
            self._audio = None
            if self.audio_rate is not None:
                layout = "stereo" if self.audio_channels == 2 else "mono"
                a = self._container.add_stream("aac", rate=self.audio_rate, layout=layout)
                a.time_base = Fraction(1, self.audio_rate)
                self._audio = a
        except Exception as e:
            self._container.close()
            self._unlink_tmp()
            raise VjganError(f"cannot record {self.path}: encoder setup failed ({e}) — check that "
                             "PyAV has libx264 and aac") from e
        self._frame_duration = max(1, round(1 / (self.fps * VIDEO_TIME_BASE)))
        self._last_pts = -1
        self._audio_pts = 0
        self.frames_written = 0
        self.frames_dropped = 0  # video frames not recorded because the encoder was behind
        self.drop_when_behind = drop_when_behind
        self._video_slots = threading.Semaphore(max(1, queue_size))  # video frames in flight
        self._queue: queue.Queue[Any] = queue.Queue()
        self._error: BaseException | None = None
        self._state = "open"  # open -> closed | aborted
        self._thread = threading.Thread(target=self._run, name="vjgan-recorder", daemon=True)
        self._thread.start()

    # -- producer side (render thread) -------------------------------------------------------

    def write_video(self, frame: np.ndarray, t_s: float) -> bool:
        """Queue an RGB frame (uint8 (H, W, 3), row 0 = top) shown from `t_s` seconds.

        False when the frame was dropped because the encoder is behind (drop_when_behind only).
        """
        self._check_open()
        self._check_frame(frame)
        if not self._take_video_slot():
            return False
        self._put_video(np.array(frame, copy=True, order="C"), t_s)
        return True

    def offer_video(self, read: Callable[[], np.ndarray], t_s: float) -> bool:
        """Like `write_video`, but calls `read()` for the frame only if it will be recorded: a
        show that is dropping frames does not pay for reading them back. `read` must return a
        fresh array (it is queued without a copy)."""
        self._check_open()
        if not self._take_video_slot():
            return False
        try:
            frame = read()
            self._check_frame(frame)
        except BaseException:
            self._video_slots.release()
            raise
        self._put_video(np.ascontiguousarray(frame), t_s)
        return True

    def _check_frame(self, frame: np.ndarray) -> None:
        if frame.shape != (self.size[1], self.size[0], 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 {(self.size[1], self.size[0], 3)}, got "
                             f"{frame.dtype} {frame.shape}")

    def _take_video_slot(self) -> bool:
        if self.drop_when_behind:
            if self._video_slots.acquire(blocking=False):
                return True
            self.frames_dropped += 1
            return False
        while not self._video_slots.acquire(timeout=0.1):  # wait for the encoder; wake on errors
            if self._error is not None or not self._thread.is_alive():
                self._fail()
        return True

    def _put_video(self, frame: np.ndarray, t_s: float) -> None:
        pts = round(t_s / VIDEO_TIME_BASE)
        pts = max(pts, self._last_pts + 1)  # strictly increasing even for jittery clocks
        self._last_pts = pts
        self._queue.put(("v", frame, pts))

    def write_audio(self, samples: np.ndarray) -> None:
        """Queue float32 samples, (n,) or (n, ch); mono is duplicated to stereo, stereo averaged
        to mono if the stream is mono, channels beyond 2 are dropped."""
        self._check_open()
        if self._audio is None:
            raise ValueError("this Recorder was created without audio (audio_rate=None)")
        a = np.asarray(samples, dtype=np.float32)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(f"audio samples must be (n,) or (n, channels), got {a.shape}")
        if a.shape[0] == 0:
            return
        a = a[:, :2]
        if self.audio_channels == 2 and a.shape[1] == 1:
            a = np.repeat(a, 2, axis=1)
        elif self.audio_channels == 1 and a.shape[1] == 2:
            a = a.mean(axis=1, keepdims=True)
        planar = np.ascontiguousarray(a.T)  # (ch, n) for fltp
        self._queue.put(("a", planar, self._audio_pts))  # small: never waits, never dropped
        self._audio_pts += planar.shape[1]

    def _check_open(self) -> None:
        if self._error is not None:
            self._fail()
        if self._state != "open":
            raise RuntimeError(f"Recorder for {self.path} is already {self._state}")

    def _fail(self) -> None:
        err = self._error
        self.abort()
        raise VjganError(f"recording {self.path} failed: {err} — check free disk space and the "
                         "output path") from err

    # -- encoder thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                self._encode(*item)
            except BaseException as e:  # noqa: BLE001 - re-raised on the producer side
                self._error = e
            finally:
                if item[0] == "v":
                    self._video_slots.release()

    def _encode(self, kind: str, data: np.ndarray, pts: int) -> None:
        import av

        if self._error is not None:
            return  # drain so producers never block on a dead encoder
        if kind == "v":
            vf = av.VideoFrame.from_ndarray(data, format="rgb24")
            vf.pts, vf.time_base = pts, VIDEO_TIME_BASE
            vf.duration = self._frame_duration
            packets = self._video.encode(vf)
            self.frames_written += 1
        else:
            layout = "stereo" if data.shape[0] == 2 else "mono"
            af = av.AudioFrame.from_ndarray(data, format="fltp", layout=layout)
            af.sample_rate = self.audio_rate
            af.pts, af.time_base = pts, Fraction(1, self.audio_rate)
            assert self._audio is not None
            packets = self._audio.encode(af)
        self._container.mux(packets)

    def _finish(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    # -- end -------------------------------------------------------------------------------

    def close(self) -> None:
        """Flush the encoders, finish the file and move it onto `path`."""
        if self._state == "closed":
            return
        if self._state == "aborted":
            raise RuntimeError(f"Recorder for {self.path} was aborted")
        self._finish()
        if self._error is not None:
            self._fail()
        try:
            self._container.mux(self._video.encode(None))
            if self._audio is not None:
                self._container.mux(self._audio.encode(None))
            self._container.close()
            os.replace(self._tmp, self.path)
        except Exception as e:
            self._error = e
            self._fail()
        self._state = "closed"

    def abort(self) -> None:
        """Stop and delete the temporary file; `path` is left untouched."""
        if self._state != "open":
            return
        self._state = "aborted"
        self._error = self._error or RuntimeError("aborted")  # makes the thread drop what is queued
        self._finish()
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - the file is being discarded anyway
            pass
        self._unlink_tmp()

    def _unlink_tmp(self) -> None:
        try:
            self._tmp.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()
