"""Runs the capture child process and keeps it alive: spawn, watch the heartbeat, kill by PID, respawn.

States (`status`): "starting" until the first samples arrive, "ok" while samples flow, "lost" from
the moment the child dies, reports its stream stopped, or its frame count stalls for `stall_s`
(`first_audio_s` for a stream just opened), until a respawned child delivers samples again. A lost child is killed with SIGKILL by PID (a stream
on a vanished device can hang in PortAudio's stop/abort) and a new child is spawned at once (then at
most every `respawn_s`); the new child retries opening the device *by name* every
`retry_interval_s`, so it catches the device within that interval of its return.
"""

from __future__ import annotations

import json
import mmap
import os
import select
import signal
import site
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from vjgan.audio import capture_child as child
from vjgan.errors import VjganError

CHILD_CODE = "from vjgan.audio.capture_child import main; main()"
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # where `vjgan` is importable from


def _shared_file(size: int) -> tuple[int, mmap.mmap]:
    """An anonymous shared file (no name to leak) and its mapping; children inherit the descriptor."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("vjgan-capture")
    else:
        fd, path = tempfile.mkstemp(prefix="vjgan-capture-")
        os.unlink(path)
    os.ftruncate(fd, size)
    return fd, mmap.mmap(fd, size)


def _child_env() -> dict[str, str]:
    """The parent's environment; a source checkout's root goes on PYTHONPATH so the child imports
    the same vjgan (an installed one is found anyway, and site-packages never goes first)."""
    env = dict(os.environ)
    site_dirs = {str(Path(p).resolve()) for p in site.getsitepackages() + [site.getusersitepackages()]}
    if PACKAGE_ROOT not in site_dirs:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
    env.setdefault("JACK_NO_START_SERVER", "1")
    return env


Status = str  # "starting" | "ok" | "lost"


class CaptureSupervisor:
    """Owns the shared memory (control block + ring data) and the capture child process (POSIX)."""

    def __init__(self, device: str | int | None, sample_rate: int, channels: int, block: int,
                 capacity_frames: int, *, latency: str | float = "low", stall_s: float = 0.5,
                 first_audio_s: float = 2.0, respawn_s: float = 0.3, retry_interval_s: float = 0.1,
                 hang_s: float = 3.0, open_timeout_s: float = 20.0, poll_s: float = 0.02) -> None:
        capacity_frames, channels = int(capacity_frames), int(channels)
        self._shared_fd, self._shared = _shared_file(child.shared_size(capacity_frames, channels))
        self.ctl, self.data = child.shared_views(self._shared, capacity_frames, channels)
        self.config: dict[str, Any] = {
            "device": device, "sample_rate": int(sample_rate), "channels": int(channels), "block": int(block),
            "latency": latency, "capacity_frames": capacity_frames, "retry": False,
            "retry_interval_s": retry_interval_s, "client_name": child.JACK_CLIENT_NAME, "parent_pid": os.getpid(),
            "shared_fd": self._shared_fd,
        }
        self.stall_s, self.first_audio_s = stall_s, max(first_audio_s, stall_s)
        self.respawn_s, self.hang_s = respawn_s, hang_s
        self.open_timeout_s, self.poll_s = open_timeout_s, poll_s
        self.info: dict[str, Any] = {}
        self.status: Status = "starting"
        self.last_error: str | None = None  # why audio was last lost, or why reopening fails now
        self.restarts = 0  # children spawned after the first
        self.losses = 0
        self.lost_since: float | None = None  # monotonic time the current loss began (last samples seen)
        self._lost_total_s = 0.0
        self.last_outage_s: float | None = None  # length of the last loss once audio came back
        self._proc: subprocess.Popen[bytes] | None = None
        self._messages_fd: int | None = None
        self._pending = b""
        self._spawned_at = 0.0
        self._next_spawn_at = 0.0
        self._running_since: float | None = None
        self._last_written = 0
        self._last_progress = time.monotonic()
        self._last_attempts = 0
        self._last_attempt_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # start-up --------------------------------------------------------------------------------------
    def open(self) -> dict[str, Any]:
        """Spawn the first child and wait for it to open the device; VjganError if it cannot."""
        self._spawn(retry=False)
        deadline = time.monotonic() + self.open_timeout_s
        while True:
            exited = self._proc is not None and self._proc.poll() is not None
            message = self._recv(timeout_s=0.0 if exited else 0.05)  # an exited child's last words first
            if message is not None:
                kind, payload = message
                if kind == "opened":
                    break
                if kind == "error":
                    self._kill_child()
                    raise VjganError(str(payload))
            elif exited and self._proc is not None:
                code = self._proc.returncode
                self._kill_child()
                raise VjganError(f"audio capture for '{self._device_label()}' stopped before opening the input "
                                 f"(exit code {code}) — set VJGAN_AUDIO_DEBUG=1 to see why, or use --audio-file FILE")
            elif time.monotonic() > deadline:
                self._kill_child()
                raise VjganError(f"audio input '{self._device_label()}' did not open within "
                                 f"{self.open_timeout_s:.0f} s — check the device (`vjgan devices`) "
                                 "or use --audio-file FILE")
        self.info = dict(payload)
        self.config.update(device=self.info["name"], retry=True)  # from now on: reopen by name, keep trying
        self._thread = threading.Thread(target=self._supervise, name="vjgan-capture-supervisor", daemon=True)
        self._thread.start()
        return self.info

    def _device_label(self) -> str:
        return "default input" if self.config["device"] is None else str(self.config["device"])

    # child process -----------------------------------------------------------------------------------
    def _spawn(self, retry: bool) -> None:
        """Start a fresh interpreter (never a fork: no PortAudio/JACK state is inherited)."""
        read_fd, write_fd = os.pipe()
        self.ctl[child.STATE] = child.SPAWNED
        self.ctl[child.STOP] = 0
        config = dict(self.config, retry=retry, message_fd=write_fd)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", CHILD_CODE, json.dumps(config)], env=_child_env(),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, pass_fds=(self._shared_fd, write_fd),
                start_new_session=True)  # its own process group: the terminal's Ctrl-C is ours to handle
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # the child holds the only write end now
        os.set_blocking(read_fd, False)
        self._messages_fd, self._pending = read_fd, b""
        now = time.monotonic()
        self._spawned_at = self._last_attempt_at = now
        self._last_attempts = int(self.ctl[child.ATTEMPTS])
        self._running_since = None

    def _kill_child(self) -> None:
        """SIGKILL by PID (a stream on a vanished device may never stop) and reap it."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
                pass
        if self._messages_fd is not None:
            os.close(self._messages_fd)
            self._messages_fd = None

    @property
    def child_pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    def _recv(self, timeout_s: float = 0.0) -> tuple[str, Any] | None:
        """The next message from the child, if one is there (waits up to timeout_s)."""
        if b"\n" not in self._pending and self._messages_fd is not None:
            if timeout_s > 0:
                select.select([self._messages_fd], [], [], timeout_s)
            try:
                self._pending += os.read(self._messages_fd, 65536)
            except (BlockingIOError, OSError):
                pass
        if b"\n" not in self._pending:
            return None
        line, self._pending = self._pending.split(b"\n", 1)
        try:
            kind, payload = json.loads(line)
        except (ValueError, TypeError):
            return None
        return str(kind), payload

    # supervision -------------------------------------------------------------------------------------
    def _supervise(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self._check(time.monotonic())
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive any surprise
                self.last_error = f"capture supervisor: {type(exc).__name__}: {exc}"

    def _check(self, now: float) -> None:
        while (message := self._recv()) is not None:
            kind, payload = message
            if kind == "opened":
                self.info = dict(payload)
            elif kind in ("retry", "error"):
                self.last_error = str(payload)
        written = int(self.ctl[child.WRITTEN])
        if written != self._last_written:
            self._last_written, self._last_progress = written, now
        if self._proc is None:
            if now >= self._next_spawn_at:
                self.restarts += 1
                self._next_spawn_at = now + self.respawn_s  # should spawning itself fail
                self._spawn(retry=True)
            return
        state = int(self.ctl[child.STATE])
        problem = None
        if self._proc.poll() is not None:
            problem = f"capture process exited (code {self._proc.returncode})"
        elif state == child.STREAM_STOPPED:
            problem = f"audio input '{self.config['device']}' stopped (device gone or its server quit)"
        elif state == child.RUNNING:
            if self._running_since is None:
                self._running_since = now
            flowing = self._last_progress >= self._running_since
            # a device that just came back (a JACK server starting up) may take a moment to run
            limit_s = self.stall_s if flowing else self.first_audio_s
            if now - max(self._last_progress, self._running_since) > limit_s:
                problem = f"no audio from '{self.config['device']}' for {limit_s:.1f} s"
            elif flowing and self.status != "ok":
                self._back(now)
        else:  # spawned or opening: it must keep making attempts
            attempts = int(self.ctl[child.ATTEMPTS])
            if attempts != self._last_attempts:
                self._last_attempts, self._last_attempt_at = attempts, now
            elif now - self._last_attempt_at > self.hang_s:
                problem = f"reopening '{self.config['device']}' hung for {self.hang_s:.0f} s"
        if problem is not None:
            self._lose(problem, now)

    def _lose(self, reason: str, now: float) -> None:
        self.last_error = reason  # before status: whoever sees "lost" can read why
        if self.status != "lost":
            self.losses += 1
            self.lost_since = min(self._last_progress, now)
            self.status = "lost"
        self._kill_child()
        self._next_spawn_at = max(now, self._spawned_at + self.respawn_s)

    def _back(self, now: float) -> None:
        if self.status == "lost" and self.lost_since is not None:
            self.last_outage_s = now - self.lost_since
            self._lost_total_s += self.last_outage_s
        self.lost_since = None
        self.status = "ok"

    @property
    def lost_s(self) -> float:
        """Seconds without audio since start, including the current loss."""
        since = self.lost_since  # read once: the supervisor thread may clear it meanwhile
        current = time.monotonic() - since if since is not None else 0.0
        return self._lost_total_s + current

    # test hooks --------------------------------------------------------------------------------------
    def inject_callback_errors(self, n: int) -> None:
        """Make the child's next n callbacks raise (they must be counted and capture must go on)."""
        self.ctl[child.INJECT_ERRORS] = int(n)

    # shutdown ----------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self.ctl[child.STOP] = 1  # let a healthy child close its stream (JACK sees a clean exit)
            try:
                proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        self._kill_child()
        os.close(self._shared_fd)  # the mapping stays valid for views still held by the reader
