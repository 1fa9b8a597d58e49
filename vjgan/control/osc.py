"""The OSC hook: applies what the receiver collected, once per frame, and sends feedback.

Feedback: every change of a parameter, from any source (MIDI, a preset, a scene, another OSC
device), is sent at most once per frame to every registered client, so TouchOSC faders follow.
The client whose message caused a change does not get it echoed back (its fader is already there,
and an echo arriving late would make the fader jump back under the finger).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Mapping

from vjgan.control.hooks import ShowState
from vjgan.control.osc_server import OscConfig, OscServer
from vjgan.control.registry import ControlError, Registry
from vjgan.errors import VjganError


# counter keys that mean "this datagram or message was not applied"
REFUSALS = ("not_allowed", "too_large", "too_deep", "too_many", "malformed", "unknown_address",
            "type", "nonfinite", "local_only", "dropped_by_kernel", "internal_error",
            "list_rate_limited", "socket_error")


class OscHook:
    name = "osc"

    def __init__(self, registry: Registry, config: OscConfig | None = None,
                 commands: Mapping[str, Callable[[list[Any], ShowState], None]] | None = None) -> None:
        self.registry = registry
        self.commands = dict(commands or {})
        self.server = OscServer(registry, config, self.commands)
        self._lock = threading.Lock()
        self._changed: dict[str, str] = {}  # name -> source of its latest change
        self._unsubscribe = registry.subscribe(self._on_change)
        self.frames = 0

    def add_commands(self, commands: Mapping[str, Callable[[list[Any], ShowState], None]]) -> None:
        """More command addresses (e.g. MIDI learn's), before the show starts."""
        self.commands.update(commands)
        self.server.commands.update(commands)

    def _on_change(self, name: str, value: Any, source: str) -> None:
        if name.startswith(("action.", "scene.")):
            return
        with self._lock:
            self._changed[name] = source

    def before_frame(self, t_s: float, state: ShowState) -> None:
        got = self.server.take()
        for name, (value, source) in got.values.items():
            try:
                self.registry.set(name, value, source)
            except ControlError:  # the parameter went away (a preset reload): drop it
                self.server.counters["unknown_address"] += 1
        for name, source in got.fired:
            if name in self.registry:
                self.registry.set(name, 1, source)
        for address, args, _source in got.commands:
            try:
                self.commands[address](args, state)
            except VjganError as exc:
                state.report(f"OSC {address}: {exc}")
        for client in got.sync:  # a client (re)connected: bring every control up to date
            for spec in self.registry.specs():
                if spec.kind not in ("trigger", "list"):
                    self.server.send_value(spec.name, client)
        self._send_feedback()
        self.frames += 1

    def _send_feedback(self) -> None:
        with self._lock:
            changed, self._changed = self._changed, {}
        if not changed:
            return
        targets = self.server.feedback_targets()
        if not targets:
            return
        for name, source in changed.items():
            if name not in self.registry:
                continue
            origin = self.server.feedback_of(source)
            for client in targets:
                if client != origin:  # no echo to the device that moved it
                    self.server.send_value(name, client)

    def status(self) -> Mapping[str, str]:
        c = self.server.counters
        host, port = self.server.address
        refused = sum(c[k] for k in REFUSALS)
        text = (f"{host}:{port} · {len(self.server.feedback_targets())} clients · "
                f"{c['accepted']} in")
        if refused:
            text += f" · {refused} refused"
        return {"OSC": text}

    def counters(self) -> dict[str, int]:
        return dict(self.server.counters)

    def close(self) -> None:
        self._unsubscribe()
        self.server.close()
