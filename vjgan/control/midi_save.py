"""Writing MIDI maps: TOML text for a map, saved atomically (MIDI learn keeps what it learned).

tomllib reads TOML but does not write it; a map is flat tables of strings, numbers and booleans,
written here and read back with tomllib before it replaces anything.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from vjgan.control.midi_map import Binding, Control, MidiMap, SpecSource, parse_map
from vjgan.files import atomic_write_text


def dump_map(m: MidiMap) -> str:
    """TOML text for a map (the format `load_map` reads; defaults are left out)."""
    out = ["# vjgan MIDI map (see docs/midi.md)", "", "[controller]"]
    out.append(f"name = {_toml(m.name)}")
    if m.channel is not None:
        out.append(f"channel = {m.channel + 1}")
    out += [f"feedback = {_toml(m.feedback)}", f"pickup = {_toml(m.pickup)}",
            f"pickup_tolerance = {_toml(m.pickup_tolerance)}"]
    defaults = Binding(Control("cc", 0), "")
    for b in m.bindings:
        out += ["", "[[bind]]", f"{b.control.kind} = {b.control.number}"]
        if b.control.channel != m.channel:
            out.append(f"channel = {b.control.channel + 1}" if b.control.channel is not None
                       else 'channel = "any"')
        out.append(f"scene = {b.scene}" if b.scene is not None else f"param = {_toml(b.param)}")
        for key, attr in (("mode", "mode"), ("curve", "curve"), ("min", "lo"), ("max", "hi"),
                          ("step", "step"), ("button", "button"), ("feedback", "feedback"),
                          ("led_on", "led_on"), ("led_off", "led_off"), ("optional", "optional")):
            value = getattr(b, attr)
            if value is not None and value != getattr(defaults, attr):
                out.append(f"{key} = {_toml(value)}")
    for why, table in m.inactive:
        out += ["", f"# not used by the show it was saved from: {why}", "[[bind]]"]
        out += [f"{key} = {_toml(value)}" for key, value in table.items()]
    return "\n".join(out) + "\n"


def save_map(m: MidiMap, path: Path, registry: SpecSource) -> Path:
    """Write atomically, the way presets are saved (vjgan.files: temp file,
    fsync, NAME.toml.bak kept, rename, fsync of the folder). The text is read back and checked
    before it replaces anything, so a map that could not be loaded again is never written."""
    text = dump_map(m)
    parse_map(tomllib.loads(text), path, registry, text)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, text, what="the MIDI map", backup=True)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a JSON string with \uXXXX escapes is a TOML basic string
