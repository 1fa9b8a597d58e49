"""Live audio input that survives the stage: capture runs in a supervised child process.

`LineInSource` is what the engine reads every frame. The sound card is opened in a child process
(`vjgan.audio.capture_child`, a fresh interpreter, never a fork) whose PortAudio callback only copies
into a lock-free ring buffer in shared memory. A supervisor thread (`vjgan.audio.supervisor`) kills
that child by PID when its heartbeat stalls or it dies, and respawns one that reopens the device by
name until it is back. `read_until` never blocks and never raises once the show runs: while audio
is lost it returns silence (paced by the wall clock) and `status` says "lost".
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import numpy as np

from vjgan.audio.capture_child import (CALLBACK_ERRORS, N_COUNTERS, OVERFLOWS, STAMP_SLOTS, STAMPS, STATUS_FLAGS,
                                       WRITTEN, stamp_rows)
from vjgan.audio.devices import PORTAUDIO_MISSING, import_sounddevice, portaudio_available
from vjgan.audio.supervisor import CaptureSupervisor
from vjgan.errors import VjganError

__all__ = ["CALLBACK_ERRORS", "LineInSource", "N_COUNTERS", "OVERFLOWS", "RingBuffer", "STATUS_FLAGS", "WRITTEN"]


class RingBuffer:
    """Single-producer single-consumer float32 frame ring without locks (may live in shared memory).

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

    The device is opened (and checked: name, channels, sample rate) on construction, which raises a
    one-line VjganError when it cannot be used. Capture starts at once in the child; stream time 0 is
    the first sample after `start()` (or the first `read_until`). t_s is ignored because live input
    is paced by the sound card's clock.
    """

    duration_s: float | None = None  # live: unknown
    finished = False  # live input never runs out

    def __init__(self, device: str | int | None = None, sample_rate: int = 48000, channels: int = 2,
                 block: int = 128, buffer_s: float = 2.0, *, stall_s: float = 0.5,
                 silence_when_lost: bool = True) -> None:
        if not portaudio_available():  # checked here without initialising PortAudio in this process
            import_sounddevice()  # raises the precise message: no sounddevice package, or no PortAudio
            raise VjganError(PORTAUDIO_MISSING)
        if int(sample_rate) <= 0 or int(block) <= 0 or buffer_s <= 0:
            raise VjganError(f"line-in needs a positive sample rate, block and buffer (got {sample_rate} Hz, "
                             f"block {block}, buffer {buffer_s} s)")
        if int(channels) < 1:
            raise VjganError(f"cannot capture {channels} channels — ask for at least 1 (--channels)")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.block = int(block)
        self.silence_when_lost = silence_when_lost
        capacity = max(int(buffer_s * self.sample_rate), 4 * self.block)
        self._sup = CaptureSupervisor(device, self.sample_rate, self.channels, self.block, capacity, stall_s=stall_s)
        self.ring = RingBuffer(capacity, self.channels, data=self._sup.data, counters=self._sup.ctl)
        try:
            info = self._sup.open()  # raises VjganError: no input, unknown name, channels, rate
        except BaseException:
            self._sup.close()
            raise
        self.device_name: str = str(info["name"])
        self.device_index: int = int(info["index"])  # at opening; reopening goes by name
        self.device_channels: int = int(info["max_input_channels"])
        self.channel_names: tuple[str, ...] = tuple(f"in{i + 1}" for i in range(self.channels))
        self._started = False
        self._closed = False
        self._silence_cursor: float | None = None  # wall time up to which silence was returned
        self._silence_frames = 0
        self._stamps = stamp_rows(self._sup.ctl)
        self._origin_frames = 0  # the ring's frame count at stream time 0
        self._stamps_read = 0

    @property
    def status(self) -> str:
        """One of "starting" (no sample yet), "ok" (samples flowing), "lost" (reconnecting)."""
        return self._sup.status

    @property
    def last_error(self) -> str | None:
        """Why audio was last lost (or why reopening fails right now), for the show's log."""
        return self._sup.last_error

    @property
    def child_pid(self) -> int | None:
        """PID of the capture process now running (None between a kill and the respawn)."""
        return self._sup.child_pid

    def start(self) -> None:
        """Stream time 0 is now: drop what was captured before."""
        if not self._started and not self._closed:
            self._stamps_read = int(self._sup.ctl[STAMPS])
            self.ring.read_new()
            self.ring.dropped_frames = 0
            self._origin_frames = int(self.ring.counters[WRITTEN]) - self.ring.available_frames
            self._started = True

    def read_until(self, t_s: float) -> np.ndarray:
        """All samples captured since the previous call (t_s is ignored for live input); while the
        input is lost, silence for the time that passed. Never blocks, never raises once open."""
        if self._closed:
            return np.zeros((0, self.channels), dtype=np.float32)
        self.start()
        try:
            data = self.ring.read_new()
        except Exception:  # noqa: BLE001 - a show must go on; the supervisor reports the input's state
            data = np.zeros((0, self.channels), dtype=np.float32)
        lost_since = self._sup.lost_since if self._sup.status == "lost" else None
        if lost_since is None or not self.silence_when_lost:
            self._silence_cursor = None
            return data
        now = time.monotonic()
        cursor = lost_since if self._silence_cursor is None else max(self._silence_cursor, lost_since)
        n = min(int((now - cursor) * self.sample_rate), self.ring.capacity_frames)
        if n <= 0:
            return data
        self._silence_cursor = cursor + n / self.sample_rate if n < self.ring.capacity_frames else now
        self._silence_frames += n
        return np.concatenate([data, np.zeros((n, self.channels), dtype=np.float32)])

    def block_arrivals(self) -> np.ndarray:
        """When each capture block landed, for latency measurement: (n, 2) int64 rows of (stream frames
        up to the block's end, `time.monotonic_ns()` when its samples were in the ring) for the blocks
        since the last call (the newest STAMP_SLOTS at most). Frame counts follow `read_until`'s samples
        while no frames were dropped and no silence stood in for lost input (see `stats()`)."""
        self.start()
        ctl = self._sup.ctl
        count = int(ctl[STAMPS])
        first = max(self._stamps_read, count - STAMP_SLOTS)
        rows = self._stamps[np.arange(first, count) % STAMP_SLOTS].copy()
        overrun = int(ctl[STAMPS]) - STAMP_SLOTS - first  # rows rewritten while we copied
        if overrun > 0:
            rows = rows[overrun:]
        self._stamps_read = count
        rows[:, 0] -= self._origin_frames
        return rows

    def stats(self) -> dict[str, Any]:
        """Capture health: frames captured, overflows (xruns), other status flags, callback errors,
        frames dropped because the reader fell a buffer behind, capture restarts, losses, seconds
        without audio (lost_s), silence returned while lost, and the last outage's length."""
        c, sup = self.ring.counters, self._sup
        return {"frames": int(c[WRITTEN]), "overflows": int(c[OVERFLOWS]), "status_flags": int(c[STATUS_FLAGS]),
                "callback_errors": int(c[CALLBACK_ERRORS]), "dropped_frames": self.ring.dropped_frames,
                "restarts": sup.restarts, "losses": sup.losses, "lost_s": round(sup.lost_s, 3),
                "silence_frames": self._silence_frames, "last_outage_s": sup.last_outage_s}

    @property
    def active(self) -> bool:
        return self._sup.status == "ok" and not self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._sup.close()

    def __enter__(self) -> "LineInSource":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()
