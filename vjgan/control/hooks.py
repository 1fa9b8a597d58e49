"""The contract between the live loop and the things that steer a show (OSC, MIDI, keys, HUD).

The loop owns the engine and the effect chain. Once per frame, before the engine steps, it calls
`before_frame` on every hook; a hook applies what arrived since the last frame (latest value wins)
and never blocks. Receive threads only copy into the hook's own queue. `status()` feeds the
operator HUD: short label -> short text (e.g. {"OSC": "127.0.0.1:9000 · 3 clients"}).

Actions are the named one-shot commands every input can reach (keyboard, OSC, MIDI): the loop
fills `ShowState.actions` and a hook calls `state.act("blackout")`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

# Panic and transport actions every input may trigger. Toggles flip; "…_on"/"…_off" forms set.
ACTIONS = ("blackout", "freeze", "hud", "fullscreen", "quit", "tap", "flash", "safe_scene")


@dataclass
class ShowState:
    """What a hook may touch during `before_frame`: the running engine and chain, a logger, and the
    action table. `errors` is the HUD's error line: hooks append one-line messages."""

    engine: Any
    chain: Any
    log: Callable[[str], None]
    actions: dict[str, Callable[[], None]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def act(self, name: str) -> bool:
        """Run action `name`; False (and an error line) if this show has no such action."""
        fn = self.actions.get(name)
        if fn is None:
            self.report(f"unknown action {name!r} — one of: {', '.join(sorted(self.actions))}")
            return False
        fn()
        return True

    def report(self, message: str) -> None:
        """A one-line problem the performer should see (HUD) and the log should keep."""
        self.errors.append(message)
        del self.errors[:-20]
        self.log(f"vjgan: {message}")


class LiveHook(Protocol):
    name: str

    def before_frame(self, t_s: float, state: ShowState) -> None: ...

    def status(self) -> Mapping[str, str]: ...

    def close(self) -> None: ...
