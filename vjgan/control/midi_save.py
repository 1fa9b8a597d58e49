"""Writing MIDI maps: TOML text for a map (tomli-w), saved atomically (MIDI learn keeps what it learned).

Bindings the show could not use when the map was loaded are written back after the others, each under
a comment saying why, so saving a learned map never drops a line the user wrote for another show.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from vjgan.control.midi_map import Binding, Control, MidiMap, SpecSource, parse_map
from vjgan.files import atomic_write_text

_OPTIONS = (("mode", "mode"), ("curve", "curve"), ("min", "lo"), ("max", "hi"), ("step", "step"),
            ("button", "button"), ("feedback", "feedback"), ("led_on", "led_on"), ("led_off", "led_off"),
            ("optional", "optional"))


def dump_map(m: MidiMap) -> str:
    """TOML text for a map (the format `load_map` reads; defaults are left out)."""
    controller: dict[str, Any] = {"name": m.name}
    if m.channel is not None:
        controller["channel"] = m.channel + 1
    controller.update(feedback=m.feedback, pickup=m.pickup, pickup_tolerance=m.pickup_tolerance)
    # one [[bind]] block per binding, as the shipped maps are written (tomli-w would inline short
    # tables into one `bind = [...]` array, which no comment can go between); binding tables are
    # flat, so each block's lines are tomli-w's dump of the table
    parts = ["# vjgan MIDI map (see docs/midi.md)\n\n", tomli_w.dumps({"controller": controller})]
    parts += ["\n[[bind]]\n" + tomli_w.dumps(_binding_table(b, m.channel)) for b in m.bindings]
    parts += [f"\n# not used by the show it was saved from: {why}\n[[bind]]\n" + tomli_w.dumps(table)
              for why, table in m.inactive]
    return "".join(parts)


def _binding_table(b: Binding, map_channel: int | None) -> dict[str, Any]:
    table: dict[str, Any] = {b.control.kind: b.control.number}
    if b.control.channel != map_channel:
        table["channel"] = b.control.channel + 1 if b.control.channel is not None else "any"
    if b.scene is not None:
        table["scene"] = b.scene
    else:
        table["param"] = b.param
    defaults = Binding(Control("cc", 0), "")
    for key, attr in _OPTIONS:
        value = getattr(b, attr)
        if value is not None and value != getattr(defaults, attr):
            table[key] = value
    return table


def save_map(m: MidiMap, path: Path, registry: SpecSource) -> Path:
    """Write atomically, the way presets are saved (vjgan.files: temp file,
    fsync, NAME.toml.bak kept, rename, fsync of the folder). The text is read back and checked
    before it replaces anything, so a map that could not be loaded again is never written."""
    text = dump_map(m)
    parse_map(tomllib.loads(text), path, registry, text)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, text, what="the MIDI map", backup=True)

