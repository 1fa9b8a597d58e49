"""What steers a running show: the hooks (OSC, MIDI, ...) and the action table keys reach.

`HookRunner` calls every hook once per frame and keeps the show running when one fails: the failure
is reported once (one line, HUD + log), the hook keeps being called (a device may come back), and
a different failure is reported again. `install_actions` fills `ShowState.actions` with the
built-in actions; hooks may add their own (e.g. "tap") on their first `before_frame`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from vjgan.control.hooks import LiveHook, ShowState


def hook_name(hook: Any) -> str:
    return str(getattr(hook, "name", None) or type(hook).__name__)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class HookRunner:
    """Runs `before_frame`, `status` and `close` of each hook, each failure contained."""

    def __init__(self, hooks: Iterable[LiveHook]) -> None:
        self.hooks: list[LiveHook] = list(hooks)
        self._reported: dict[int, str] = {}  # hook index -> the failure last reported

    def before_frame(self, t_s: float, state: ShowState) -> None:
        for i, hook in enumerate(self.hooks):
            try:
                hook.before_frame(t_s, state)
            except Exception as e:  # noqa: BLE001 - a hook must never stop the show
                message = one_line(e)
                if self._reported.get(i) != message:
                    self._reported[i] = message
                    state.report(f"hook {hook_name(hook)} failed at {t_s:.1f} s ({message}) — "
                                 "the show goes on; fix its input or restart it")

    def statuses(self) -> list[tuple[str, str]]:
        """Every hook's status lines, in hook order; a failing status() becomes a line too."""
        lines: list[tuple[str, str]] = []
        for hook in self.hooks:
            try:
                lines.extend((str(k), str(v)) for k, v in hook.status().items())
            except Exception as e:  # noqa: BLE001
                lines.append((hook_name(hook), f"status failed ({one_line(e)})"))
        return lines

    def close(self, log: Callable[[str], None]) -> None:
        """Close every hook, even when some fail; failures are logged."""
        for hook in self.hooks:
            try:
                hook.close()
            except Exception as e:  # noqa: BLE001
                log(f"vjgan: closing hook {hook_name(hook)} failed ({one_line(e)})")


def _guarded(state: ShowState, name: str, fn: Callable[[], None]) -> Callable[[], None]:
    """An action that reports its failure instead of raising into a key press or a hook."""

    def run() -> None:
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - a bad action never stops the show
            state.report(f"action {name} failed ({one_line(e)})")

    return run


def _add_switch(state: ShowState, name: str, get: Callable[[], bool],
                set_: Callable[[bool], None]) -> None:
    """`name` toggles, `name_on` / `name_off` set (the forms ACTIONS promises)."""
    state.actions[name] = _guarded(state, name, lambda: set_(not get()))
    state.actions[f"{name}_on"] = _guarded(state, f"{name}_on", lambda: set_(True))
    state.actions[f"{name}_off"] = _guarded(state, f"{name}_off", lambda: set_(False))


def install_actions(state: ShowState, output: Any, chain: Any, hud: Any | None) -> None:
    """blackout, freeze (the effect chain), hud, fullscreen (the window), quit."""
    _add_switch(state, "blackout", lambda: bool(chain.blackout), chain.set_blackout)
    _add_switch(state, "freeze", lambda: bool(chain.frozen), chain.set_freeze)
    if hud is not None:
        _add_switch(state, "hud", lambda: bool(hud.visible), hud.set_visible)
    else:  # headless: there is no HUD to show; the action exists so every input may send it
        _add_switch(state, "hud", lambda: False, lambda on: None)
    _add_switch(state, "fullscreen", lambda: bool(output.fullscreen), output.set_fullscreen)
    state.actions["quit"] = output.request_quit


def run_actions(state: ShowState, names: Sequence[str]) -> None:
    for name in names:
        state.act(name)
