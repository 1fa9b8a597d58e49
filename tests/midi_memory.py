"""In-memory MIDI for tests: mido ports without a MIDI system, devices that can be unplugged,
and a hook stepped frame by frame without watcher threads."""

from __future__ import annotations

import textwrap
from pathlib import Path

import mido

from vjgan.control.hooks import ShowState
from vjgan.control.midi import MidiHook
from vjgan.control.midi_map import load_map
from vjgan.control.registry import build_registry


class MemoryPort(mido.ports.BaseIOPort):
    """One side of an in-memory controller: vjgan's input (the callback gets what the device
    sends) or its output (what vjgan sends lands in `sent`)."""

    def _open(self, callback=None, **kwargs):
        self.callback = callback
        self.sent: list[mido.Message] = []

    def _send(self, msg):
        self.sent.append(msg)


class MemoryBackend:
    """A MIDI system with devices that can be plugged and unplugged."""

    def __init__(self, *names: str) -> None:
        self.present = list(names)
        self.inputs: dict[str, MemoryPort] = {}
        self.outputs: dict[str, MemoryPort] = {}
        self.down = False

    def input_names(self):
        if self.down:
            raise OSError("MidiInJack::initialize: JACK server not running?")
        return list(self.present)

    def output_names(self):
        return list(self.present)

    def open_input(self, name, callback):
        self.inputs[name] = MemoryPort(name, callback=callback)
        return self.inputs[name]

    def open_output(self, name):
        self.outputs[name] = MemoryPort(name)
        return self.outputs[name]

    def send(self, name, msg):
        """The device sends; nothing arrives from an unplugged one (as with real backends)."""
        port = self.inputs.get(name)
        if name in self.present and port is not None and not port.closed:
            port.callback(msg)

    def received(self, name) -> list[mido.Message]:
        port = self.outputs.get(name)
        return [] if port is None else port.sent


def cc(control, value, channel=0):
    return mido.Message("control_change", channel=channel, control=control, value=value)


def note(n, velocity=100, on=True, channel=0):
    return mido.Message("note_on" if on else "note_off", channel=channel, note=n, velocity=velocity)


class MusicEngine:
    """Stands in for the Engine: records the music input a hook installs."""

    def __init__(self) -> None:
        self.music_input = None

    def set_music_input(self, fn) -> None:
        self.music_input = fn


class Show:
    """A hook on in-memory ports, stepped by hand (no watcher threads)."""

    def __init__(self, tmp_path: Path, binds: str = "", controller: str = "", **hook_kw) -> None:
        self.registry = build_registry(effects=[("contrast", 0.5), ("flash", 0.3)], scenes=["calm", "drop"])
        self.fired: list[tuple[str, str]] = []
        self.registry.subscribe(
            lambda n, v, s: self.fired.append((n, s)) if n.startswith(("action.", "scene.")) else None)
        path = tmp_path / "map.toml"
        path.write_text(f'[controller]\nname = "nanoKONTROL2"\nchannel = 1\n{controller}\n'
                        + textwrap.dedent(binds))
        self.map = load_map(str(path), self.registry)
        self.backend = MemoryBackend("nanoKONTROL2 MIDI 1")
        self.hook = MidiHook(self.registry, self.map, self.backend, start=False, **hook_kw)
        self.log: list[str] = []
        self.state = ShowState(engine=MusicEngine(), chain=None, log=self.log.append)
        self.t_s = 0.0
        self.poll()

    def poll(self):
        for link in self.hook.links.values():
            link.poll_once()

    def send(self, *msgs):
        for m in msgs:
            self.backend.send("nanoKONTROL2 MIDI 1", m)
        self.frame()

    def frame(self):
        self.t_s += 1 / 60
        self.hook.before_frame(self.t_s, self.state)

    def sent(self):
        return self.backend.received("nanoKONTROL2 MIDI 1")
