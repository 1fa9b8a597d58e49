"""A private JACK dummy server for the latency bench: real-time paced audio with no sound card.

    with DummyJack(rate_hz=48000, period_frames=128) as jack:
        with jack.environment():        # capture children and players find this server
            ...
            jack.connect("vjgan-clicks:out_0", "vjgan-in:in_0")

Needs Debian's jackd2 (`jackd`, `jack_lsp`, `jack_connect`, `jack_disconnect`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Iterator

from vjgan.errors import VjganError

TOOLS = ("jackd", "jack_lsp", "jack_connect", "jack_disconnect")


def jack_available() -> bool:
    return all(shutil.which(tool) for tool in TOOLS)


class DummyJack:
    def __init__(self, rate_hz: int = 48000, period_frames: int = 128, name: str | None = None) -> None:
        self.name = name or f"vjgan-bench-{os.getpid()}"
        self.rate_hz = int(rate_hz)
        self.period_frames = int(period_frames)
        self.env = {"JACK_DEFAULT_SERVER": self.name, "JACK_NO_AUDIO_RESERVATION": "1",
                    "JACK_NO_START_SERVER": "1"}
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def launch(self) -> None:
        """Start jackd without waiting for it to answer."""
        if self._log is not None:
            self._log.close()
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(["jackd", "-n", self.name, "--no-realtime", "-d", "dummy", "-r",
                                      str(self.rate_hz), "-p", str(self.period_frames)],
                                     env=dict(os.environ, **self.env), stdout=self._log, stderr=subprocess.STDOUT)

    def start(self, timeout_s: float = 10.0) -> None:
        if not jack_available():
            raise VjganError("the latency bench needs a JACK server: install jackd2 (Debian: apt-get install "
                             "jackd2), or measure a real interface with --latency-device and a loopback cable")
        self.launch()
        assert self.proc is not None and self._log is not None
        deadline = time.monotonic() + timeout_s
        while self.run("jack_lsp").returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._log.seek(0)
                said = self._log.read().decode(errors="replace").strip().splitlines()[-3:]
                self.stop()
                raise VjganError(f"jackd dummy server '{self.name}' did not start: {' / '.join(said)}")
            time.sleep(0.02)

    def run(self, *args: str, timeout_s: float = 10.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), env=dict(os.environ, **self.env), capture_output=True, text=True,
                              timeout=timeout_s)

    def ports(self) -> list[str]:
        return self.run("jack_lsp").stdout.split()

    def connections(self, port: str) -> list[str]:
        """Ports connected to `port`."""
        lines = self.run("jack_lsp", "-c", port).stdout.splitlines()
        return [line.strip() for line in lines[1:] if line.startswith((" ", "\t"))]

    def connect(self, source: str, destination: str, timeout_s: float = 10.0) -> None:
        """jack_connect, retried until both ports exist."""
        deadline = time.monotonic() + timeout_s
        while self.run("jack_connect", source, destination).returncode != 0:
            if time.monotonic() > deadline:
                raise VjganError(f"cannot connect JACK ports {source} -> {destination}; ports: {self.ports()}")
            time.sleep(0.02)

    def disconnect(self, source: str, destination: str) -> None:
        self.run("jack_disconnect", source, destination)

    @contextmanager
    def environment(self) -> Iterator[None]:
        """This process's environment points at this server (children inherit it), then is restored."""
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "DummyJack":
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
