"""Audio sources: one protocol for files, in-memory signals and live input.

`read_until(t_s)` returns every sample not returned yet whose stream time is < t_s (0 is the first
sample). The caller's clock paces the source: an offline render passes frame times, a real-time
rehearsal passes wall-clock seconds since start, and live input ignores t_s and returns what the
sound card delivered.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Protocol, runtime_checkable

import numpy as np
import soundfile as sf

from vjgan.audio.linein import LineInSource
from vjgan.errors import VjganError

__all__ = ["AudioSource", "FileSource", "LineInSource", "SyntheticSource", "frames_before"]

SUPPORTED = "use WAV, FLAC, OGG or MP3"


@runtime_checkable
class AudioSource(Protocol):
    sample_rate: int
    channels: int
    duration_s: float | None  # None for live input
    finished: bool  # True once every sample has been returned

    def read_until(self, t_s: float) -> np.ndarray:
        """float32 (n, channels): the samples not yet returned whose time is < t_s."""
        ...

    def close(self) -> None: ...


def frames_before(t_s: float, sample_rate: int) -> int:
    """How many samples have a time < t_s (sample i is at i / sample_rate).

    A tiny tolerance absorbs float error, so t_s = k / sample_rate gives exactly k.
    """
    if math.isnan(t_s):
        raise ValueError("t_s is NaN")
    if t_s <= 0.0:
        return 0
    if math.isinf(t_s):  # read_until(float("inf")): everything that is left
        return sys.maxsize
    return max(0, math.ceil(t_s * sample_rate - 1e-6))


class _SourceBase:
    sample_rate: int
    channels: int
    finished: bool

    def close(self) -> None:  # pragma: no cover - overridden where there is something to close
        pass

    def _empty(self) -> np.ndarray:
        return np.zeros((0, self.channels), dtype=np.float32)

    def __enter__(self) -> "_SourceBase":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class FileSource(_SourceBase):
    """An audio file (WAV, FLAC, OGG, MP3 through libsndfile), streamed from disk as it is read.

    `start_s` and `duration_s` pick a window of the song (Lucid Sonic Dreams' start/duration):
    stream time 0 is the first sample at or after start_s, and reading stops after duration_s
    (None: the rest of the file; a window past the end is clipped at the end). `frames` and
    `duration_s` describe the window; `start_s` becomes the exact time of its first sample.
    """

    def __init__(self, path: str | os.PathLike[str], start_s: float = 0.0,
                 duration_s: float | None = None) -> None:
        self.path = Path(path)
        start_s, duration_s = self._check_window(start_s, duration_s)
        if not self.path.exists():
            raise VjganError(f"audio file not found: {self.path} — check the path")
        if self.path.is_dir():
            raise VjganError(f"audio file {self.path} is a directory — pass an audio file ({SUPPORTED})")
        if self.path.stat().st_size == 0:
            raise VjganError(f"audio file {self.path} is empty (0 bytes) — {SUPPORTED}")
        try:
            self._file = sf.SoundFile(str(self.path))
        except (sf.SoundFileError, RuntimeError, OSError) as exc:
            reason = _reason(exc)
            if "does not exist" in reason:  # libsndfile's words when its mp3 decoder gives up
                reason = "not a recognised audio format"
            raise VjganError(f"cannot read audio file {self.path}: {reason} — {SUPPORTED}") from exc
        self.sample_rate = int(self._file.samplerate)
        self.channels = int(self._file.channels)
        file_frames = int(self._file.frames)
        if file_frames <= 0:
            self._file.close()
            raise VjganError(f"audio file {self.path} has no samples (0 frames) — {SUPPORTED}")
        try:
            self.start_frame = self._seek(start_s, file_frames)
        except BaseException:
            self._file.close()
            raise
        self.start_s = self.start_frame / self.sample_rate
        self.frames = file_frames - self.start_frame  # samples in the window
        if duration_s is not None and math.isfinite(duration_s):
            self.frames = min(self.frames, max(1, frames_before(duration_s, self.sample_rate)))
        self.duration_s: float | None = self.frames / self.sample_rate
        self.position = 0  # samples returned so far (window-relative)
        self.finished = False
        self._closed = False

    def _check_window(self, start_s: float, duration_s: float | None) -> tuple[float, float | None]:
        try:
            start = float(start_s)
            duration = None if duration_s is None else float(duration_s)
        except (TypeError, ValueError):
            raise VjganError(f"{self.path}: start and duration must be numbers of seconds, got "
                             f"start {start_s!r}, duration {duration_s!r}") from None
        if not math.isfinite(start) or start < 0.0:
            raise VjganError(f"start {start} s for {self.path} must be 0 or more seconds into the song")
        if duration is not None and (math.isnan(duration) or duration <= 0.0):
            raise VjganError(f"duration {duration} s for {self.path} must be a positive number of seconds "
                             "(or none for the rest of the song)")
        return start, duration

    def _seek(self, start_s: float, file_frames: int) -> int:
        """Seek to the first sample at or after start_s; returns its index."""
        start_frame = frames_before(start_s, self.sample_rate)
        if start_frame >= file_frames:
            length_s = file_frames / self.sample_rate
            raise VjganError(f"start {start_s:.1f} s is past the end of {self.path.name} ({_seconds(length_s)} s) "
                             f"— choose a start below {_seconds(length_s, floor=True)}")
        if start_frame > 0:
            try:
                self._file.seek(start_frame)
            except (sf.SoundFileError, RuntimeError, ValueError) as exc:
                raise VjganError(f"cannot seek to {start_s:.2f} s in audio file {self.path}: {_reason(exc)} "
                                 "— re-encode it as WAV or FLAC") from exc
        return start_frame

    @property
    def position_s(self) -> float:
        return self.position / self.sample_rate

    def read_until(self, t_s: float) -> np.ndarray:
        if self.finished or self._closed:
            return self._empty()
        n = min(frames_before(t_s, self.sample_rate), self.frames) - self.position
        if n <= 0:
            return self._empty()
        try:
            data = self._file.read(n, dtype="float32", always_2d=True)
        except (sf.SoundFileError, RuntimeError) as exc:
            file_s = (self.start_frame + self.position) / self.sample_rate
            raise VjganError(f"cannot read audio file {self.path} at {file_s:.2f} s: "
                             f"{_reason(exc)} — re-encode it as WAV or FLAC") from exc
        self.position += data.shape[0]
        if data.shape[0] < n or self.position >= self.frames:  # end (a short read ends it early)
            self.finished = True
        return data

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._file.close()


class SyntheticSource(_SourceBase):
    """The source protocol over an in-memory signal (n,) or (n, channels) — for tests and benches."""

    def __init__(self, signal: np.ndarray, sample_rate: int) -> None:
        array = np.asarray(signal, dtype=np.float32)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] == 0:
            raise ValueError(f"signal must be (n,) or (n, channels), got shape {np.shape(signal)}")
        self._signal = array
        self.sample_rate = int(sample_rate)
        self.channels = int(array.shape[1])
        self.frames = int(array.shape[0])
        self.duration_s: float | None = self.frames / self.sample_rate
        self.position = 0
        self.finished = self.frames == 0

    @property
    def position_s(self) -> float:
        return self.position / self.sample_rate

    def read_until(self, t_s: float) -> np.ndarray:
        end = min(frames_before(t_s, self.sample_rate), self.frames)
        if end <= self.position:
            return self._empty()
        data = self._signal[self.position : end].copy()
        self.position = end
        self.finished = end >= self.frames
        return data


def _seconds(value_s: float, floor: bool = False) -> str:
    """A length for a message: 0.1 s steps, finer for short files; `floor` never rounds up."""
    places = 1 if value_s >= 1.0 else 3
    if floor:
        value_s = math.floor(value_s * 10**places) / 10**places
    return f"{value_s:.{places}f}"


def _reason(exc: BaseException) -> str:
    """libsndfile's own words ('Format not recognised.') without the 'Error opening ...' prefix."""
    reason = getattr(exc, "error_string", None) or str(exc)
    return str(reason).strip().rstrip(".") or type(exc).__name__
