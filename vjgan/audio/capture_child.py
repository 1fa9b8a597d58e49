"""The capture child process: opens the input device by name and copies its audio into shared memory.

The parent (`vjgan.audio.supervisor`) starts `main` in a fresh interpreter (`python -c`, never a
fork), so the child begins with no PortAudio/JACK state and imports nothing of the parent's (not
even its `__main__`, which multiprocessing's "spawn" would re-run). It owns one PortAudio input
stream whose callback only copies into the shared ring and bumps counters; the parent watches those
counters and kills this process by PID (SIGKILL) when they stall, because after a device vanishes
PortAudio's own stop/abort can hang forever.

Shared memory (one anonymous file created by the parent, inherited as a file descriptor):
  ctl   int64[N_CTL]  counters and flags, indices below (WRITTEN is the ring's frame count), then
                      the arrival stamps: STAMP_SLOTS rows of (WRITTEN after the block, monotonic ns
                      when its samples landed here), row STAMPS % STAMP_SLOTS written next
  data  float32 ring  (capacity_frames, channels)
Messages to the parent are JSON lines on an inherited pipe: ["opened", info] | ["error", text] |
["retry", text].
The counters rely on aligned 64-bit stores being atomic, and on the frame count being stored after
the frames it covers: x86-64 keeps stores in order; on a weakly ordered CPU (arm64) a reader could in
theory copy a few samples a moment before they land (stale audio for one block, never a crash).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import mmap
import os
import signal
import sys
import time
from types import ModuleType
from typing import Any, Callable

import numpy as np

# ctl indices; 0..3 are the RingBuffer counters (see vjgan.audio.linein)
WRITTEN = 0  # frames ever written (continuous across child restarts)
OVERFLOWS = 1  # PortAudio input-overflow flags (xruns: samples lost before they reached us)
STATUS_FLAGS = 2  # callbacks with any other status flag set
CALLBACK_ERRORS = 3  # exceptions caught inside the callback
N_COUNTERS = 4
CALLBACKS = 4  # callbacks run (heartbeat)
STATE = 5  # the child's state, below
ATTEMPTS = 6  # open attempts so far (progress while the device is away)
STOP = 7  # set by the parent: close the stream and exit
INJECT_ERRORS = 8  # test hook: the next N callbacks raise (and must be counted, not fatal)
STAMPS = 9  # arrival stamps written (blocks copied into the ring)
STAMP_BASE = 16  # the stamp rows start here
STAMP_SLOTS = 2048  # rows kept: 5.5 s of 128-frame blocks at 48 kHz
N_CTL = STAMP_BASE + 2 * STAMP_SLOTS

# child states (ctl[STATE])
SPAWNED, OPENING, RUNNING, STREAM_STOPPED, FAILED = range(5)

JACK_CLIENT_NAME = "vjgan-in"  # how the capture stream appears in a JACK patchbay
POLL_S = 0.02  # how often the child checks its stream, the stop flag and its parent
MAX_MESSAGE_BYTES = 4000  # below PIPE_BUF: one write, never interleaved
DEBUG_ENV = "VJGAN_AUDIO_DEBUG"  # set to 1 to keep the child's stderr (libjack/PortAudio chatter)

_client_name_buffer: ctypes.Array[ctypes.c_char] | None = None  # PortAudio keeps the pointer


def stamp_rows(ctl: np.ndarray) -> np.ndarray:
    """The arrival stamp rows inside the control block: (STAMP_SLOTS, 2) int64 view."""
    return ctl[STAMP_BASE : STAMP_BASE + 2 * STAMP_SLOTS].reshape(STAMP_SLOTS, 2)


def make_callback(ring: Any, ctl: np.ndarray) -> Callable[[np.ndarray, int, Any, Any], None]:
    """The real-time callback: count, copy into the ring, stamp the block's arrival (frame count and
    monotonic clock, comparable across processes), never raise (an exception stops capture)."""
    stamps = stamp_rows(ctl)
    clock_ns = time.monotonic_ns

    def callback(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        try:
            ctl[CALLBACKS] += 1
            if status:
                if status.input_overflow:
                    ctl[OVERFLOWS] += 1
                else:
                    ctl[STATUS_FLAGS] += 1
            if ctl[INJECT_ERRORS] > 0:
                ctl[INJECT_ERRORS] -= 1
                raise RuntimeError("injected callback error")
            ring.write(indata)
            row = stamps[ctl[STAMPS] % STAMP_SLOTS]
            row[0] = ctl[WRITTEN]
            row[1] = clock_ns()
            ctl[STAMPS] += 1
        except Exception:  # noqa: BLE001 - counted and reported by stats(); capture goes on
            ctl[CALLBACK_ERRORS] += 1

    return callback


def _set_jack_client_name(name: str) -> None:
    """Name our JACK client (before PortAudio initialises); a no-op where PortAudio has no JACK."""
    global _client_name_buffer
    libname = ctypes.util.find_library("portaudio")
    if libname is None:
        return
    try:
        lib = ctypes.CDLL(libname)  # the same library sounddevice opens (dlopen shares it)
        _client_name_buffer = ctypes.create_string_buffer(name.encode())
        lib.PaJack_SetClientName(_client_name_buffer)
    except (OSError, AttributeError):
        pass


def _quiet_stderr() -> None:
    """libjack prints several lines per failed connect; the parent reports what matters."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass


def _reinitialise(sd: ModuleType) -> None:
    """A fresh PortAudio session: the device list is a snapshot taken at initialisation."""
    if getattr(sd, "_initialized", 0) > 0:
        sd._terminate()
    sd._initialize()


def open_stream(sd: ModuleType, config: dict[str, Any],
                callback: Callable[..., None]) -> tuple[Any, dict[str, Any]]:
    """Resolve and check the device (VjganError on a problem), open and start the input stream."""
    from vjgan.audio.devices import check_input

    info = check_input(sd, config["device"], config["sample_rate"], config["channels"])
    stream = sd.InputStream(device=int(info["index"]), samplerate=config["sample_rate"],
                            channels=config["channels"], dtype="float32", blocksize=config["block"],
                            latency=config["latency"], callback=callback)
    try:
        stream.start()
    except BaseException:
        stream.close(ignore_errors=True)
        raise
    return stream, info


def _parent_gone(parent_pid: int) -> bool:
    return os.getppid() != parent_pid


def _send(fd: int, kind: str, payload: Any) -> None:
    """One JSON line to the parent (short enough to be written atomically; dropped if the pipe is full)."""
    if isinstance(payload, str) and len(payload) > MAX_MESSAGE_BYTES // 4:
        payload = payload[: MAX_MESSAGE_BYTES // 4 - 1] + "…"
    try:
        os.write(fd, json.dumps([kind, payload]).encode() + b"\n")
    except OSError:
        pass


def shared_views(buffer: Any, capacity_frames: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """The control block and the ring data inside one shared buffer (shared by parent and child)."""
    ctl = np.frombuffer(buffer, dtype=np.int64, count=N_CTL)
    data = np.frombuffer(buffer, dtype=np.float32, count=capacity_frames * channels, offset=N_CTL * 8)
    return ctl, data.reshape(capacity_frames, channels)


def shared_size(capacity_frames: int, channels: int) -> int:
    return N_CTL * 8 + capacity_frames * channels * 4


def main(argv: list[str] | None = None) -> None:
    """Child entry point: `python -c "from vjgan.audio.capture_child import main; main()" CONFIG_JSON`.

    config: device (name, index or null), sample_rate, channels, block, latency, capacity_frames,
    shared_fd (the shared memory, inherited), message_fd (write end of the pipe to the parent),
    retry (keep trying until the device is back, else report the first error and exit),
    retry_interval_s, client_name, parent_pid."""
    config = json.loads((argv if argv is not None else sys.argv)[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # never start a JACK server behind the user
    if not os.environ.get(DEBUG_ENV):
        _quiet_stderr()
    from vjgan.audio.devices import import_sounddevice
    from vjgan.audio.linein import RingBuffer
    from vjgan.errors import VjganError

    channels, capacity = int(config["channels"]), int(config["capacity_frames"])
    shared = mmap.mmap(int(config["shared_fd"]), shared_size(capacity, channels))
    ctl, data = shared_views(shared, capacity, channels)
    out = int(config["message_fd"])
    os.set_blocking(out, False)
    callback = make_callback(RingBuffer(capacity, channels, data=data, counters=ctl), ctl)
    _set_jack_client_name(str(config.get("client_name", JACK_CLIENT_NAME)))
    ctl[STATE] = OPENING
    stream, last_message, fresh = None, None, True
    while stream is None:
        if ctl[STOP] or _parent_gone(int(config["parent_pid"])):
            os._exit(0)
        ctl[ATTEMPTS] += 1
        try:
            sd = import_sounddevice()  # initialises PortAudio on first import
            if not fresh:
                _reinitialise(sd)
            fresh = False
            stream, info = open_stream(sd, config, callback)
        except VjganError as exc:
            message = str(exc)
        except Exception as exc:  # noqa: BLE001 - any open failure is reported, never a traceback
            message = f"cannot open audio input '{config['device']}': {type(exc).__name__}: {exc}"
        if stream is None:
            if not config["retry"]:
                ctl[STATE] = FAILED
                _send(out, "error", message)
                os._exit(0)
            if message != last_message:
                _send(out, "retry", message)
                last_message = message
            time.sleep(float(config["retry_interval_s"]))
    ctl[STATE] = RUNNING
    _send(out, "opened", {k: info[k] for k in ("name", "index", "max_input_channels", "default_samplerate")})
    _watch(stream, ctl, int(config["parent_pid"]))


def _watch(stream: Any, ctl: np.ndarray, parent_pid: int) -> None:
    """Until told to stop: report a stream that stopped by itself (device gone) and wait to be killed."""
    while True:
        time.sleep(POLL_S)
        if ctl[STOP]:
            try:
                stream.close(ignore_errors=True)  # a healthy device closes at once; else we get SIGKILLed
            finally:
                os._exit(0)
        if _parent_gone(parent_pid):
            os._exit(0)  # no cleanup: PortAudio may hang on a vanished device
        if ctl[STATE] == RUNNING and not stream.active:
            ctl[STATE] = STREAM_STOPPED
