"""Live audio input: a PortAudio input stream whose callback only copies into a ring buffer.

The ring buffer keeps its samples and counters in plain numpy arrays, so a later version can place
both in shared memory and run the capture callback in a supervised child process unchanged.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import numpy as np

from vjgan.audio.devices import NO_INPUT, import_sounddevice, resolve_device
from vjgan.errors import VjganError

# indices into RingBuffer.counters (int64)
WRITTEN = 0  # frames ever written
OVERFLOWS = 1  # PortAudio reported input overflow (samples lost before they reached us)
STATUS_FLAGS = 2  # callbacks with any other status flag set
CALLBACK_ERRORS = 3  # exceptions caught inside the callback
N_COUNTERS = 4


class RingBuffer:
    """Single-producer single-consumer float32 frame ring without locks.

    The producer (audio callback) copies frames in and then bumps counters[WRITTEN]; the consumer
    copies out everything between its own read position and that count. If the consumer falls more
    than a ring behind, the oldest frames are dropped and counted in `dropped_frames`.
    """

    def __init__(self, capacity_frames: int, channels: int, data: np.ndarray | None = None,
                 counters: np.ndarray | None = None) -> None:
        if capacity_frames <= 0 or channels <= 0:
            raise ValueError("capacity_frames and channels must be positive")
        self.capacity_frames = capacity_frames
        self.channels = channels
        self.data = data if data is not None else np.zeros((capacity_frames, channels), dtype=np.float32)
        self.counters = counters if counters is not None else np.zeros(N_COUNTERS, dtype=np.int64)
        self._read_pos = 0
        self.dropped_frames = 0

    # producer side -------------------------------------------------------------------------------
    def write(self, frames: np.ndarray) -> None:
        """Copy (n, channels) frames in (no allocation beyond slice views)."""
        n = frames.shape[0]
        cap = self.capacity_frames
        written = int(self.counters[WRITTEN])
        if n > cap:  # only the newest ring-full can be kept
            written += n - cap
            frames = frames[n - cap :]
            n = cap
        start = written % cap
        first = min(n, cap - start)
        self.data[start : start + first] = frames[:first]
        if n > first:
            self.data[: n - first] = frames[first:]
        self.counters[WRITTEN] = written + n

    # consumer side -------------------------------------------------------------------------------
    @property
    def available_frames(self) -> int:
        return min(int(self.counters[WRITTEN]) - self._read_pos, self.capacity_frames)

    def _copy_out(self, start_frame: int, out: np.ndarray) -> None:
        cap = self.capacity_frames
        n = out.shape[0]
        start = start_frame % cap
        first = min(n, cap - start)
        out[:first] = self.data[start : start + first]
        if n > first:
            out[first:] = self.data[: n - first]

    def read_new(self) -> np.ndarray:
        """Every frame written since the last read, as a new (n, channels) array."""
        written = int(self.counters[WRITTEN])
        start = self._read_pos
        if written - start > self.capacity_frames:
            self.dropped_frames += written - start - self.capacity_frames
            start = written - self.capacity_frames
        out = np.empty((written - start, self.channels), dtype=np.float32)
        self._copy_out(start, out)
        # the producer may have overwritten the oldest frames while we copied: drop those
        overrun = int(self.counters[WRITTEN]) - self.capacity_frames - start
        if overrun > 0:
            self.dropped_frames += overrun
            out = out[overrun:]
        self._read_pos = written
        return out

    def read_into(self, out: np.ndarray) -> int:
        """Copy up to len(out) frames into out (oldest first); returns how many (no allocation)."""
        written = int(self.counters[WRITTEN])
        if written - self._read_pos > self.capacity_frames:
            self.dropped_frames += written - self._read_pos - self.capacity_frames
            self._read_pos = written - self.capacity_frames
        n = min(out.shape[0], written - self._read_pos)
        if n > 0:
            self._copy_out(self._read_pos, out[:n])
            self._read_pos += n
        return n

    @property
    def free_frames(self) -> int:
        """Frames the producer may write before overwriting unread ones."""
        return self.capacity_frames - (int(self.counters[WRITTEN]) - self._read_pos)


class LineInSource:
    """Live input from a sound card; `read_until` returns whatever arrived since the last call.

    The stream is opened (and the device checked) on construction, and starts on `start()` or on
    the first `read_until`. Stream time 0 is the first captured sample; t_s is ignored because
    live input is paced by the sound card's clock.
    """

    duration_s: float | None = None  # live: unknown
    finished = False  # live input never runs out

    def __init__(self, device: str | int | None = None, sample_rate: int = 48000, channels: int = 2,
                 block: int = 128, buffer_s: float = 2.0) -> None:
        sd = import_sounddevice()
        info = resolve_device(sd, device, "input")
        self.device_name: str = info["name"]
        self.device_index: int = int(info["index"])
        self.sample_rate = int(sample_rate)
        self.channels = max(1, min(int(channels), int(info["max_input_channels"])))
        self.block = int(block)
        self.ring = RingBuffer(max(int(buffer_s * self.sample_rate), 4 * self.block), self.channels)
        self._counters = self.ring.counters
        self._started = False
        self._closed = False
        try:
            sd.check_input_settings(device=self.device_index, channels=self.channels, dtype="float32",
                                    samplerate=self.sample_rate)
            self._stream = sd.InputStream(device=self.device_index, samplerate=self.sample_rate,
                                          channels=self.channels, dtype="float32", blocksize=self.block,
                                          latency="low", callback=self._callback)
        except (sd.PortAudioError, ValueError) as exc:  # check_input_settings may raise either
            raise self._open_error(exc, float(info["default_samplerate"])) from exc

    def _open_error(self, exc: Exception, default_rate_hz: float) -> VjganError:
        if "querying device -1" in str(exc):
            return VjganError(NO_INPUT)
        hint = "pick another device (`vjgan devices`) or use --audio-file FILE"
        if "sample rate" in str(exc).lower():
            hint = f"this device runs at {default_rate_hz:.0f} Hz: capture at that rate or pick another device"
        return VjganError(f"cannot open audio input '{self.device_name}' ({self.channels} ch, "
                          f"{self.sample_rate} Hz): {exc} — {hint}")

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        # Real-time thread: copy and count only. Never raise (an exception would stop capture).
        try:
            if status:
                if status.input_overflow:
                    self._counters[OVERFLOWS] += 1
                else:
                    self._counters[STATUS_FLAGS] += 1
            self.ring.write(indata)
        except Exception:  # noqa: BLE001 - counted, reported by stats(); capture goes on
            self._counters[CALLBACK_ERRORS] += 1

    def start(self) -> None:
        if not self._started and not self._closed:
            self._stream.start()
            self._started = True

    def read_until(self, t_s: float) -> np.ndarray:
        """All samples captured since the previous call (t_s is ignored for live input)."""
        if self._closed:
            return np.zeros((0, self.channels), dtype=np.float32)
        self.start()
        return self.ring.read_new()

    def stats(self) -> dict[str, int]:
        """Capture health: frames captured, overflows, other status flags, callback errors, dropped."""
        c = self._counters
        return {"frames": int(c[WRITTEN]), "overflows": int(c[OVERFLOWS]), "status_flags": int(c[STATUS_FLAGS]),
                "callback_errors": int(c[CALLBACK_ERRORS]), "dropped_frames": self.ring.dropped_frames}

    @property
    def active(self) -> bool:
        return bool(self._started and not self._closed and self._stream.active)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._stream.stop()
        finally:
            self._stream.close()

    def __enter__(self) -> "LineInSource":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
