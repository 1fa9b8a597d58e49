"""The MIDI hook of a live show: controller bindings, MIDI learn, feedback, clock and notes.

    hook = build_midi_hook(registry, port="nanoKONTROL2", map_file="nanokontrol2", tempo=tempo)
    hooks.append(hook)             # the live loop calls hook.before_frame(t_s, state) every frame
    hook.arm("fx.flash.strength")  # from a key, OSC or the HUD: the next control moved is bound
    hook.save()                    # learned bindings to a map file (atomically)

Ports are found by name and reopened after an unplug on a watcher thread (midi_ports); received
messages wait in a bounded inbox and are applied here once per frame, so nothing MIDI does can
block or flood a frame. A missing controller is one line on the HUD; the show goes on.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping

from vjgan.audio.features import AudioFeatures
from vjgan.control.hooks import ShowState
from vjgan.control.midi_clock import ClockFollower
from vjgan.control.midi_control import MidiController
from vjgan.control.midi_map import MidiMap, load_map
from vjgan.control.midi_save import save_map
from vjgan.control.midi_notes import NoteInput
from vjgan.control.midi_ports import POLL_S, Backend, Inbox, MidoBackend, PortLink
from vjgan.errors import VjganError
from vjgan.resources import presets_dir

_TRANSPORT = ("start", "stop", "continue")
REFRESH_AGAIN_S = 0.5  # after a (re)connect the LED state is sent twice, this far apart


class MidiHook:
    name = "midi"

    def __init__(self, registry: Any, midi_map: MidiMap, backend: Backend, *,
                 notes_port: str | None = None, notes_channel: int | None = None,
                 clock_port: str | None = None, tempo: Any = None, save_path: Path | None = None,
                 poll_s: float = POLL_S, clock_smoothing_s: float = 0.5, start: bool = True,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.registry = registry
        self.backend = backend
        self.controller = MidiController(registry, midi_map)
        self.tempo = tempo
        self._now = now  # the arrival-time clock of MIDI messages (tests pass a fake one)
        self.save_path = save_path
        self.clock = ClockFollower(smoothing_s=clock_smoothing_s)
        self.notes = NoteInput(notes_channel) if notes_port else None
        self.links: dict[str, PortLink] = {}
        self.roles: dict[str, str] = {}
        for role, name in (("controller", midi_map.name), ("notes", notes_port),
                           ("clock", clock_port or notes_port or midi_map.name)):
            if not name:
                continue
            self.roles[role] = name
            if name not in self.links:
                self.links[name] = PortLink(backend, name, Inbox(now=now), poll_s=poll_s)
            if role == "controller":
                self.links[name].want_output = midi_map.feedback
        self._generations = {name: 0 for name in self.links}
        self._had_output = {name: False for name in self.links}
        self._events: list[str] = []  # lines from the save thread
        self._events_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._last_error = ""
        self._music_installed = False
        self.last_touched: str | None = None  # the parameter last changed by anything but MIDI
        self._unsubscribe = registry.subscribe(self._touched)
        self._refresh_at: float | None = None
        if start:
            for link in self.links.values():
                link.start()

    # -- the live loop -------------------------------------------------------------------------
    def before_frame(self, t_s: float, state: ShowState) -> None:
        try:
            self._frame(t_s, state)
        except Exception as exc:  # noqa: BLE001 - MIDI never stops a show
            message = f"MIDI: {type(exc).__name__}: {exc}"
            if message != self._last_error:
                state.report(message)
                self._last_error = message

    def _touched(self, name: str, value: Any, source: str) -> None:
        if source != "midi" and not source.startswith(("preset", "scene")):
            self.last_touched = name

    def osc_commands(self) -> dict[str, Callable[[list[Any], ShowState], None]]:
        """OSC addresses for MIDI learn: `/vjgan/midi/learn NAME` arms NAME (no argument: the
        parameter last changed from OSC or the keys), `/vjgan/midi/save` writes the map."""
        def learn(args: list[Any], state: ShowState) -> None:
            self._arm(str(args[0]) if args else None, state)

        def save(args: list[Any], state: ShowState) -> None:
            self.save()

        return {"/vjgan/midi/learn": learn, "/vjgan/midi/save": save}

    def _arm(self, name: str | None, state: ShowState) -> None:
        target = name or self.last_touched
        if target is None:
            state.report("MIDI learn: change a parameter first (a TouchOSC fader, an OSC message), "
                         "then press l and move a control")
            return
        state.log(f"vjgan: MIDI learn armed for {self.arm(target)} — move a control")

    def _frame(self, t_s: float, state: ShowState) -> None:
        state.actions.setdefault("midi_learn", lambda: self._arm(None, state))
        if self.notes is not None and not self._music_installed:
            state.engine.set_music_input(self.note_features)  # notes play the show from now on
            self._music_installed = True
        with self._events_lock:
            events, self._events = self._events, []
        for line in events:
            state.log(f"vjgan: {line}")
        for name, link in self.links.items():
            for line in link.events():
                if link.connected:
                    state.log(f"vjgan: {line}")
                else:
                    state.report(line)  # the HUD's error line: the performer should know
            reconnected = link.generation != self._generations[name]
            self._generations[name] = link.generation
            is_controller = self.roles.get("controller") == name
            if reconnected:
                if is_controller:
                    self.controller.release_all()  # knobs pick up again, LEDs are sent again
                if self.notes is not None and self.roles.get("notes") == name:
                    self.notes.panic()  # note-offs sent while unplugged were lost
            messages, ticks = link.inbox.take()
            msgs = [m for _, m in messages]
            if is_controller:
                learned, msgs = self.controller.process(msgs)
                for result in learned:
                    if result.binding is None:
                        state.report(result.message)
                        continue
                    state.log(f"vjgan: {result.message}")
                    if self.save_path is not None:
                        self.save()
            if self.notes is not None and self.roles.get("notes") == name:
                self.notes.feed(msgs)
            if self.roles.get("clock") == name:
                for m in msgs:
                    if m.type in _TRANSPORT:
                        self.clock.transport(m.type)
                self.clock.feed(ticks)
            if is_controller:
                if link.has_output and not self._had_output[name]:
                    # a new output: send every LED now and once more a little later, as a
                    # JACK / ALSA connection can take effect a few cycles after it is made
                    self.controller.resend_all()
                    self._refresh_at = self._now() + REFRESH_AGAIN_S
                elif self._refresh_at is not None and self._now() >= self._refresh_at:
                    self.controller.resend_all()
                    self._refresh_at = None
                self._had_output[name] = link.has_output
                out = self.controller.feedback() if link.has_output else []
                for m in out:
                    link.send(m)
        self.clock.expire(self._now())
        if self.tempo is not None and self.clock.bpm is not None:
            self.tempo.update("midi", self.clock.bpm, t_s)

    def note_features(self, t_s: float, dt_s: float) -> AudioFeatures | None:
        """This frame's note input as an analysis record (None without --midi-notes)."""
        return None if self.notes is None else self.notes.step(t_s, dt_s)

    # -- for keys, OSC and the HUD ---------------------------------------------------------------
    def arm(self, name: str) -> str:
        """MIDI learn: the next control moved is bound to `name`. VjganError for unknown names."""
        return self.controller.arm(name)

    def disarm(self) -> None:
        self.controller.disarm()

    def save(self, path: Path | None = None) -> Path:
        """Write the current map (learned bindings included) atomically, on a background thread
        (never on the render thread); the outcome shows as a log line. Returns the path."""
        target = Path(path) if path is not None else self.default_save_path()
        midi_map = self.controller.map
        threading.Thread(target=self._save_in_background, args=(midi_map, target),
                         name="vjgan-midi-save", daemon=True).start()
        return target

    def save_now(self, path: Path | None = None) -> Path:
        target = Path(path) if path is not None else self.default_save_path()
        with self._save_lock:
            return save_map(self.controller.map, target, self.registry)

    def _save_in_background(self, midi_map: MidiMap, target: Path) -> None:
        try:
            with self._save_lock:
                save_map(midi_map, target, self.registry)
            line = f"MIDI: map saved to {target}"
        except (OSError, VjganError) as exc:
            line = f"MIDI: cannot save the map to {target}: {exc}"
        with self._events_lock:
            self._events.append(line)

    def default_save_path(self) -> Path:
        """--midi-save, else the --midi-map file itself when it is the user's own, else
        $XDG_CONFIG_HOME/vjgan/midi/<map>.toml."""
        if self.save_path is not None:
            return self.save_path
        path = self.controller.map.path
        if path is not None and presets_dir().resolve() not in Path(path).resolve().parents:
            return Path(path)
        config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        return config / "vjgan" / "midi" / f"{path.stem if path is not None else 'learned'}.toml"

    # -- HUD -----------------------------------------------------------------------------------
    def status(self) -> Mapping[str, str]:
        c = self.controller
        parts = []
        name = self.roles.get("controller")
        if name:
            link = self.links[name]
            where = {"connected": name, "lost": f"{name} unplugged", "no-midi": "no MIDI system"}
            parts.append(where.get(link.state, f"waiting for {name}"))
            parts.append(f"{len(c.map.bindings)} bindings")
        if c.learning:
            parts.append(f"learn: armed {c.learning}")
        if c.waiting_to_pick_up:
            parts.append(f"{c.waiting_to_pick_up} to pick up")
        if self.clock.bpm is not None:
            parts.append(f"clock {self.clock.bpm:.1f} BPM")
        if self.notes is not None:
            parts.append(f"notes: {self.notes.sounding} held")
        dropped = sum(link.inbox.dropped() for link in self.links.values())
        if dropped:
            parts.append(f"dropped {dropped}")
        return {"MIDI": " · ".join(parts)}

    def counts(self) -> dict[str, int]:
        """Inbox counters of every link, summed (received, dropped, sysex dropped, ...)."""
        total: dict[str, int] = {}
        for link in self.links.values():
            for key, n in link.inbox.counts.items():
                total[key] = total.get(key, 0) + n
        return total

    def close(self) -> None:
        for link in self.links.values():
            link.close()
        self._unsubscribe()
        self.controller.close()
        close = getattr(self.backend, "close", None)
        if callable(close):
            close()


def build_midi_hook(registry: Any, *, port: str | None = None, map_file: str | None = None,
                    backend: str | Backend = "auto", notes_port: str | None = None,
                    notes_channel: int | None = None, clock_port: str | None = None,
                    tempo: Any = None, save_path: Path | None = None,
                    feedback: bool | None = None) -> MidiHook | None:
    """The MIDI hook for `vjgan live` flags, or None when no MIDI flag was given.

    port: --midi (port name substring; overrides the map's [controller] name); map_file: --midi-map
    (a shipped map name or a .toml path); notes_port / notes_channel (1-16): --midi-notes /
    --midi-notes-channel; clock_port: --midi-clock (default: the notes port, else the controller);
    save_path: --midi-save; feedback False: --no-midi-feedback. VjganError for a bad map or a
    missing MIDI library; a missing device is not an error (the hook keeps looking)."""
    if not (port or map_file or notes_port or clock_port):
        return None
    midi_map = load_map(map_file, registry) if map_file else MidiMap()
    if port:
        midi_map = replace(midi_map, name=port)
    if feedback is not None:
        midi_map = replace(midi_map, feedback=feedback)
    if map_file and not midi_map.name:
        raise VjganError(f"MIDI map {midi_map.path}: [controller] name is empty — "
                         "set it or pass --midi NAME")
    if notes_channel is not None and not 1 <= notes_channel <= 16:
        raise VjganError(f"--midi-notes-channel {notes_channel} — use a MIDI channel 1..16")
    chosen = MidoBackend(backend) if isinstance(backend, str) else backend
    return MidiHook(registry, midi_map, chosen, notes_port=notes_port,
                    notes_channel=None if notes_channel is None else notes_channel - 1,
                    clock_port=clock_port, tempo=tempo, save_path=save_path)

