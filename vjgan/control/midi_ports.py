"""MIDI ports found by name and kept open across unplugging (mido with python-rtmidi).

MIDI backends never report an unplug: the port just goes silent, even after the controller is
plugged back in (NOTES §3). A `PortLink` therefore polls the port names every second on its own
thread, closes the port when its name disappears and reopens it by name when it is back. A missing
controller never stops a show: the link says so once and keeps looking.

mido's input callback runs on the backend's thread and only copies into an `Inbox`: a bounded
queue the show drains once per frame. SysEx is dropped (and counted) at the door, clock ticks keep
only their arrival times in a bounded buffer, and when either buffer is full the oldest entries are
dropped and counted, so a flood costs a counter, not memory or frame time.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from typing import Any, Callable, Protocol

from vjgan.errors import VjganError

POLL_S = 1.0  # how often port names are checked while the MIDI system answers
NO_SYSTEM_POLL_S = 5.0  # ... and while it does not (each failed try prints a line from libjack/ALSA)
OUTPUT_SETTLE_S = 0.05  # a new output connection is used only after this (on the watcher thread)
API_NAMES = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE", "winmm": "WINDOWS_MM"}
_IGNORED = frozenset({"active_sensing", "reset", "tune_request", "quarter_frame"})


class Inbox:
    """Bounded hand-off from the MIDI thread (`put`, mido's callback) to the frame (`take`).

    When a buffer is full the oldest entry makes room and is counted as dropped: under a flood
    the latest knob positions survive, which is what the performer sees."""

    def __init__(self, max_messages: int = 1024, max_ticks: int = 512,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.max_messages = max_messages
        self.max_ticks = max_ticks
        self._now = now
        self._lock = threading.Lock()
        self._messages: collections.deque[tuple[float, Any]] = collections.deque(maxlen=max_messages)
        self._ticks: collections.deque[float] = collections.deque(maxlen=max_ticks)
        self.counts: collections.Counter[str] = collections.Counter()

    def put(self, msg: Any) -> None:
        t = self._now()
        kind = msg.type
        with self._lock:
            self.counts["received"] += 1
            if kind == "clock":
                if len(self._ticks) == self.max_ticks:
                    self.counts["clock dropped"] += 1
                self._ticks.append(t)
            elif kind == "sysex":
                self.counts["sysex dropped"] += 1
            elif kind in _IGNORED:
                self.counts["ignored"] += 1
            else:
                if len(self._messages) == self.max_messages:
                    self.counts["dropped"] += 1
                self._messages.append((t, msg))

    def take(self) -> tuple[list[tuple[float, Any]], list[float]]:
        """Everything since the last call: (arrival time, message) pairs and clock tick times."""
        with self._lock:
            messages, ticks = list(self._messages), list(self._ticks)
            self._messages.clear()
            self._ticks.clear()
        return messages, ticks

    def dropped(self) -> int:
        return sum(n for key, n in self.counts.items() if "dropped" in key)


class Backend(Protocol):
    """The four things a link needs from a MIDI system (tests use in-memory ports)."""

    def input_names(self) -> list[str]: ...

    def output_names(self) -> list[str]: ...

    def open_input(self, name: str, callback: Callable[[Any], None]) -> Any: ...

    def open_output(self, name: str) -> Any: ...


class MidoBackend:
    """mido over python-rtmidi. `api` is "auto" (ALSA, then JACK, on Linux; the platform's own
    elsewhere; $MIDO_BACKEND wins when set), "alsa", "jack", or a mido backend string
    ("mido.backends.rtmidi/UNIX_JACK"). With "auto" the first system that lists its ports is used
    until it stops answering."""

    def __init__(self, api: str = "auto") -> None:
        import os

        import mido

        if api == "auto":
            env = os.environ.get("MIDO_BACKEND")
            names = [env] if env else (["mido.backends.rtmidi/LINUX_ALSA", "mido.backends.rtmidi/UNIX_JACK"]
                                       if sys.platform.startswith("linux") else ["mido.backends.rtmidi"])
        elif api in API_NAMES:
            names = [f"mido.backends.rtmidi/{API_NAMES[api]}"]
        else:
            names = [api]
        self._backends = []
        for name in names:
            try:
                backend = mido.Backend(name, load=True)
            except ImportError as exc:
                raise VjganError(f"MIDI backend {name}: {exc} — install python-rtmidi "
                                 "(pip install python-rtmidi) or pick another --midi-backend") from None
            compiled = getattr(backend.module, "get_api_names", lambda: [backend.api])()
            if backend.api and backend.api not in compiled:
                if api == "auto":
                    continue  # this build lacks it: try the next system
                raise VjganError(f"--midi-backend {api!r}: python-rtmidi here has no {backend.api} "
                                 f"(it has {', '.join(compiled) or 'none'}) — use one of those")
            self._backends.append(backend)
        if not self._backends:
            raise VjganError("python-rtmidi here has neither ALSA nor JACK MIDI — reinstall it "
                             "(pip install --force-reinstall python-rtmidi)")
        self._current = self._backends[0]
        self._listers: dict[tuple[str | None, str], Any] = {}

    @property
    def name(self) -> str:
        return self._current.name

    def input_names(self) -> list[str]:
        errors = []
        for backend in [self._current] + [b for b in self._backends if b is not self._current]:
            try:
                names = self._list(backend, "in")
            except Exception as exc:  # noqa: BLE001 - rtmidi raises its own SystemError types
                errors.append(f"{backend.api or backend.name}: {str(exc).splitlines()[0]}")
                continue
            self._current = backend
            return names
        raise OSError("; ".join(errors))

    def output_names(self) -> list[str]:
        return self._list(self._current, "out")

    def _list(self, backend: Any, direction: str) -> list[str]:
        """Port names. mido's own listing opens and closes a client per call, and under JACK each
        of those reshuffles the graph and loses a message or two of a running stream (measured:
        ~1.8 per listing). With rtmidi a lister client is kept and asked again instead; it is made
        anew when it fails or sees no ports at all (nothing is running then to be disturbed)."""
        if backend.name != "mido.backends.rtmidi":
            return list(backend.get_input_names() if direction == "in" else backend.get_output_names())
        import rtmidi

        key = (backend.api, direction)
        lister = self._listers.get(key)
        names: list[str] = []
        if lister is not None:
            try:
                names = lister.get_ports()
            except Exception:  # noqa: BLE001
                names = []
        if not names:
            if lister is not None:
                lister.delete()
            cls = rtmidi.MidiIn if direction == "in" else rtmidi.MidiOut
            api = getattr(rtmidi, f"API_{backend.api}") if backend.api else rtmidi.API_UNSPECIFIED
            self._listers[key] = lister = cls(rtapi=api, name="vjgan-midi-lister")
            names = lister.get_ports()
        return list(names)

    def open_input(self, name: str, callback: Callable[[Any], None]) -> Any:
        port = self._current.open_input(name, callback=callback)
        rt = getattr(port, "_rt", None)
        if rt is not None and hasattr(rt, "ignore_types"):
            # mido turns SysEx and clock reception back on; SysEx is never used here, so the
            # backend drops it before it costs a parse (the Inbox bounds it anyway).
            rt.ignore_types(sysex=True, timing=False, active_sense=True)
        return port

    def open_output(self, name: str) -> Any:
        return self._current.open_output(name)

    def close(self) -> None:
        """Let go of the lister clients (a JACK server waits for its clients when it stops)."""
        listers, self._listers = self._listers, {}
        for lister in listers.values():
            lister.delete()


def match_port(names: list[str], wanted: str) -> str | None:
    """The port whose name is `wanted`, else the first (sorted) containing it, case-insensitive."""
    if wanted in names:
        return wanted
    low = wanted.lower()
    found = sorted(n for n in names if low in n.lower() and not n.startswith("RtMidi"))
    return found[0] if found else None


class PortLink:
    """One MIDI device found by name: an input feeding `inbox` and, with `want_output`, an
    output for feedback. `generation` counts (re)connections, so the show knows when to refresh
    LEDs and take over softly."""

    def __init__(self, backend: Backend, name: str, inbox: Inbox, want_output: bool = False,
                 poll_s: float = POLL_S) -> None:
        self.backend = backend
        self.name = name
        self.inbox = inbox
        self.want_output = want_output
        self.poll_s = poll_s
        self.generation = 0
        self.state = "starting"  # starting | waiting | connected | lost | no-midi
        self.port_name: str | None = None
        self.output_name: str | None = None
        self._in: Any = None
        self._out: Any = None
        self._lock = threading.Lock()  # guards _out against close while sending
        self._events: collections.deque[str] = collections.deque(maxlen=50)
        self._last_error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the watcher thread ------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"vjgan-midi-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            interval = self.poll_once()
            if self._stop.wait(interval):
                return

    def poll_once(self) -> float:
        """Check the port names once; returns the seconds until the next check."""
        try:
            inputs = self.backend.input_names()
        except Exception as exc:  # noqa: BLE001 - any backend failure: the show goes on
            self._close_ports()
            self._set_state("no-midi", f"MIDI: no MIDI system answers ({str(exc).splitlines()[0][:120]})"
                                       f" — still looking for {self.name!r} every {NO_SYSTEM_POLL_S:g} s")
            return NO_SYSTEM_POLL_S
        if self._in is not None:
            if self.port_name in inputs:
                if self.want_output and self._out is None:
                    self._open_output()
                return self.poll_s
            self._close_ports()
            self._set_state("lost", f"MIDI: {self.port_name!r} is gone — the show goes on; "
                                    "it reconnects when the controller is back")
        match = match_port(inputs, self.name)
        if match is None:
            if self.state not in ("waiting", "lost"):
                have = ", ".join(inputs[:6]) or "none"
                self._set_state("waiting", f"MIDI: no input port matches {self.name!r} (ports: {have})"
                                           f" — the show goes on, looking every {self.poll_s:g} s")
            return self.poll_s
        try:
            port = self.backend.open_input(match, self.inbox.put)
        except Exception as exc:  # noqa: BLE001
            message = f"MIDI: cannot open {match!r}: {str(exc).splitlines()[0][:120]} — retrying"
            if message != self._last_error:
                self._say(message)
                self._last_error = message
            return self.poll_s
        self._in, self.port_name = port, match
        if self.want_output:
            self._open_output()
        self.generation += 1
        self._last_error = ""
        out = f", feedback to {self.output_name!r}" if self.output_name else ""
        self._set_state("connected", f"MIDI: connected to {match!r}{out}")
        return self.poll_s

    def _open_output(self) -> None:
        try:
            match = match_port(self.backend.output_names(), self.name)
            port = self.backend.open_output(match) if match is not None else None
        except Exception:  # noqa: BLE001 - no feedback, the input still works
            match, port = None, None
        if port is not None:
            time.sleep(OUTPUT_SETTLE_S)  # JACK connects on a later cycle: earlier sends are lost
        with self._lock:
            self._out, self.output_name = port, match if port is not None else None

    def _close_ports(self) -> None:
        with self._lock:
            out, self._out, self.output_name = self._out, None, None
        port, self._in = self._in, None
        for p in (port, out):
            if p is not None:
                try:
                    p.close()
                except Exception:  # noqa: BLE001 - a vanished device may fail to close
                    pass

    def _set_state(self, state: str, message: str) -> None:
        if state != self.state:
            self._say(message)
        self.state = state

    def _say(self, message: str) -> None:
        self._events.append(message)

    # -- the frame side ----------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.state == "connected"

    @property
    def has_output(self) -> bool:
        return self._out is not None

    def events(self) -> list[str]:
        """Status lines since the last call (connected, lost, waiting...)."""
        out = []
        while self._events:
            out.append(self._events.popleft())
        return out

    def send(self, msg: Any) -> bool:
        with self._lock:
            if self._out is None:
                return False
            try:
                self._out.send(msg)
            except Exception:  # noqa: BLE001 - a device pulled mid-send: the poll notices
                return False
        return True

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self._close_ports()
