"""Monitoring: play the show's audio to an output device while the visuals run.

A feeder thread reads the source into a ring buffer ahead of time; the PortAudio callback only
copies from the ring (silence on underrun, counted). Construction opens the device and pre-fills
the ring, so `start()` begins playback at once — call it at the moment the visuals start.
"""

from __future__ import annotations

import logging
import os
import threading
from types import TracebackType
from typing import Any

import numpy as np

from vjgan.audio.devices import NO_OUTPUT, import_sounddevice, resolve_device
from vjgan.audio.linein import RingBuffer
from vjgan.audio.sources import AudioSource, FileSource, SyntheticSource
from vjgan.errors import VjganError

log = logging.getLogger(__name__)

MonitorInput = AudioSource | str | os.PathLike | np.ndarray


def _as_source(source: MonitorInput, sample_rate: int | None) -> AudioSource:
    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise ValueError("sample_rate is required to play an in-memory signal")
        return SyntheticSource(source, sample_rate)
    if isinstance(source, (str, os.PathLike)):
        return FileSource(source)
    return source


def _to_channels(data: np.ndarray, channels: int) -> np.ndarray:
    if data.shape[1] == channels:
        return data
    if data.shape[1] == 1:
        return np.repeat(data, channels, axis=1)
    if channels == 1:
        return data.mean(axis=1, keepdims=True, dtype=np.float32)
    out = np.zeros((data.shape[0], channels), dtype=np.float32)
    n = min(channels, data.shape[1])
    out[:, :n] = data[:, :n]
    return out


class Monitor:
    """Plays a source (file path, AudioSource, or ndarray + sample_rate) to an output device."""

    def __init__(self, source: MonitorInput, device: str | int | None = None, sample_rate: int | None = None,
                 buffer_s: float = 1.0, block: int = 512) -> None:
        sd = import_sounddevice()
        info = resolve_device(sd, device, "output")
        self._owns_source = not hasattr(source, "read_until")  # we opened it, so we close it
        self.source = _as_source(source, sample_rate)
        self.device_name: str = info["name"]
        self.sample_rate = int(self.source.sample_rate)
        self.channels = max(1, min(2, int(info["max_output_channels"])))
        self.ring = RingBuffer(max(int(buffer_s * self.sample_rate), 4 * block), self.channels)
        self._fed_frames = 0
        self.played_frames = 0  # frames handed to PortAudio (the callback's count)
        self.underruns = 0
        self.callback_errors = 0
        self._stop = threading.Event()
        self._feeder: threading.Thread | None = None
        self._closed = False
        try:
            self._stream = sd.OutputStream(device=int(info["index"]), samplerate=self.sample_rate,
                                           channels=self.channels, dtype="float32", blocksize=block,
                                           latency="low", callback=self._callback)
        except sd.PortAudioError as exc:
            if self._owns_source:
                self.source.close()
            if "querying device -1" in str(exc):
                raise VjganError(NO_OUTPUT) from exc
            raise VjganError(f"cannot open audio output '{self.device_name}' at {self.sample_rate} Hz: {exc} "
                             "— pick another device (`vjgan devices`)") from exc
        self._feed()  # pre-fill so playback starts with audio, not an underrun

    @classmethod
    def try_start(cls, source: MonitorInput, device: str | int | None = None,
                  sample_rate: int | None = None) -> "tuple[Monitor | None, str | None]":
        """(started Monitor, None), or (None, one-line reason) when there is no PortAudio, no output
        device or the device refuses the stream: the show then goes on silent."""
        try:
            monitor = cls(source, device=device, sample_rate=sample_rate)
        except VjganError as exc:
            return None, str(exc)
        try:
            monitor.start()
        except Exception as exc:  # noqa: BLE001 - e.g. PortAudioError from a device that went away
            monitor.close()
            return None, f"cannot start audio output '{monitor.device_name}': {exc}"
        return monitor, None

    @property
    def position_s(self) -> float:
        """Stream time of the next sample PortAudio will be given (not counting device latency)."""
        return self.played_frames / self.sample_rate

    @property
    def latency_s(self) -> float:
        return float(self._stream.latency)

    @property
    def finished(self) -> bool:
        return self.source.finished and self.ring.available_frames == 0

    def _feed(self) -> None:
        """Top the ring up from the source (runs in the feeder thread, never in the callback)."""
        free = self.ring.free_frames
        if free <= 0 or self.source.finished:
            return
        data = self.source.read_until((self._fed_frames + free) / self.sample_rate)
        if data.shape[0]:
            self.ring.write(_to_channels(np.asarray(data, dtype=np.float32), self.channels))
            self._fed_frames += data.shape[0]

    def _feed_loop(self) -> None:
        period_s = min(0.02, self.ring.capacity_frames / self.sample_rate / 4)
        while not self._stop.wait(period_s):
            try:
                self._feed()
            except Exception as exc:  # noqa: BLE001 - a failing source ends monitoring, not the show
                log.warning("audio monitor stopped feeding: %s", exc)
                return

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        try:
            n = self.ring.read_into(outdata)
            if n < frames:
                outdata[n:] = 0.0
                if not self.source.finished:
                    self.underruns += 1
            self.played_frames += n
        except Exception:  # noqa: BLE001 - never let an exception stop the stream
            self.callback_errors += 1
            outdata.fill(0.0)

    def start(self) -> None:
        if self._feeder is None and not self._closed:
            self._feeder = threading.Thread(target=self._feed_loop, name="vjgan-monitor-feed", daemon=True)
            self._feeder.start()
            self._stream.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        try:
            self._stream.stop()
        finally:
            self._stream.close()
            if self._feeder is not None:
                self._feeder.join(timeout=1.0)
            if self._owns_source:
                self.source.close()

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
