"""A JACK dummy server for tests: real-time paced audio with no sound card (see NOTES §2).

Usage:
    with JackServer() as jack:            # starts `jackd -d dummy`, waits until it answers
        monkeypatch.setenv(...)           # or pass jack.env to subprocesses
        jack.connect("a:out_0", "b:in_0")
        jack.kill()                       # SIGKILL: the interface was pulled
        jack.start()                      # same server name: the interface is back

Clients find the server through JACK_DEFAULT_SERVER (in `env`). Start the server before a process
initialises PortAudio (import sounddevice), and call `sd._terminate()` before killing it in any
process that still holds PortAudio.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import time

from vjgan.benchmark.jack import DummyJack, jack_available
from vjgan.files import process_alive

_counter = itertools.count()
jackd_available = jack_available  # the name the tests use


def reclaim_stale_servers(registry: str = "/dev/shm/jack-shm-registry") -> list[str]:
    """Free the registry slots of test servers whose test process died: a jackd that did not exit
    cleanly keeps its slot (JACK has 8) until a server of the same name starts and stops. The names
    are read from JACK's shared registry ("jack-UID:NAME:"). Returns the names reclaimed."""
    try:
        with open(registry, "rb") as f:
            text = f.read(16384).decode("latin-1")
    except OSError:
        return []
    reclaimed = []
    for name in dict.fromkeys(re.findall(rf"jack-{os.getuid()}:(vjgan-test-[0-9]+-[0-9]+):", text)):
        if process_alive(int(name.split("-")[2])):
            continue  # its test process is still running: maybe another session's live server
        server = JackServer(name)
        try:
            server._start(True, 5.0)
        except (RuntimeError, TimeoutError):
            continue
        finally:
            server.stop()
        reclaimed.append(name)
    return reclaimed


class JackServer(DummyJack):
    """The bench's JACK dummy server (vjgan.benchmark.jack) plus what tests need: a kill that
    pulls the "interface", a restart under the same name, helper clients, and reclaiming JACK's
    registry slots that killed servers leave behind."""

    def __init__(self, name: str | None = None, rate_hz: int = 48000, period_frames: int = 256) -> None:
        super().__init__(rate_hz, period_frames, name or f"vjgan-test-{os.getpid()}-{next(_counter)}")
        self.env = dict(os.environ, **self.env)  # the whole environment: tests pass it to children
        self._clients: list[subprocess.Popen[bytes]] = []
        self._killed = False  # a SIGKILLed jackd keeps its slot in JACK's registry (8 servers at most)

    def start(self, wait: bool = True, timeout_s: float = 10.0) -> float:  # type: ignore[override]
        """Launch jackd; with wait, return the seconds until it answered."""
        try:
            return self._start(wait, timeout_s)
        except RuntimeError as exc:
            if "Too many servers" not in str(exc) or not reclaim_stale_servers():
                raise
            return self._start(wait, timeout_s)

    def _start(self, wait: bool, timeout_s: float) -> float:
        t0 = time.monotonic()
        self.launch()
        if wait:
            self.wait_ready(timeout_s)
        return time.monotonic() - t0

    def is_ready(self) -> bool:
        return self.run("jack_lsp").returncode == 0

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.is_ready():
            if self.proc is not None and self.proc.poll() is not None:
                self._log.seek(0)
                banner = ("jackdmp", "Copyright", "This is free", "under certain")
                said = [line for line in self._log.read().decode(errors="replace").splitlines()
                        if not line.startswith(banner)]
                raise RuntimeError(f"jackd {self.name} exited with code {self.proc.returncode}: {said[-6:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"jackd {self.name} did not answer within {timeout_s} s")
            time.sleep(0.02)

    def client(self, *args: str) -> subprocess.Popen[bytes]:
        """Start a JACK tool that runs until stopped (e.g. jack_metro); stopped with the server."""
        proc = subprocess.Popen(list(args), env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._clients.append(proc)
        return proc

    def _stop_clients(self) -> None:
        for proc in self._clients:
            if proc.poll() is None:
                proc.terminate()  # lets a JACK client remove its semaphore
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._clients.clear()

    def kill(self) -> None:
        """SIGKILL the server, as when the interface is pulled out (its clients are stopped too)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self._killed = True
        self._stop_clients()

    def stop(self) -> None:
        """Stop cleanly. A server that was killed and not restarted is started and stopped once more,
        which frees its registry slot (else, after 8 such, jackd says "Too many servers")."""
        self._stop_clients()
        if self.proc is None and self._killed:
            try:
                self.start(timeout_s=5.0)
            except (RuntimeError, TimeoutError):
                pass
        self._killed = False
        super().stop()
