"""MIDI controller maps: which knob, fader, button or pad drives which registry parameter.

A map is a TOML file (tomllib). Shipped maps live in presets/midi/ and are named without the
extension (`--midi-map nanokontrol2`):

    [controller]
    name = "nanoKONTROL2"     # matched against MIDI port names (case-insensitive substring)
    channel = 1               # default channel of the bindings (1-16; leave out for any)
    feedback = true           # send values / LED states back to the controller
    pickup = true             # soft takeover: a knob does nothing until it meets the value
    pickup_tolerance = 0.03   # how near (fraction of the travel) counts as meeting it

    [[bind]]
    cc = 16                   # or: note = 36
    param = "react.pulse.react"
    mode = "absolute"         # relative-twos | relative-signed | relative-offset (encoders)
    curve = "exp"             # linear | exp | log
    min = 0.0                 # sub-range in parameter units (min > max inverts)
    max = 2.0

Buttons and pads drive triggers (`action.flash`, `action.blackout`, `scene.drop`, or `scene = 2`:
the show's second scene) and on/off parameters (`button = "toggle"` or `"momentary"`). A bad
file is refused with one line: `file:line: bind[3].curve = 'expo' — choose one of linear, exp, log`.
Writing maps (MIDI learn) lives in midi_save.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, Sequence

from vjgan.control.midi_values import CURVES, MODES
from vjgan.errors import VjganError
from vjgan.resources import presets_dir

BUTTONS = ("momentary", "toggle")
_CONTROLLER_KEYS = {"name", "channel", "feedback", "pickup", "pickup_tolerance"}
_BIND_KEYS = {"cc", "note", "channel", "param", "scene", "mode", "curve", "min", "max", "step",
              "button", "feedback", "led_on", "led_off", "optional"}


class SpecSource(Protocol):
    """The part of the registry a map is checked against."""

    def spec(self, name: str) -> Any: ...

    def names(self) -> list[str]: ...


@dataclass(frozen=True)
class Control:
    """A physical control: a CC number or a note, on one channel (0-15, mido's numbering) or any."""

    kind: str  # "cc" | "note"
    number: int  # 0..127
    channel: int | None = None

    def label(self) -> str:
        ch = "any channel" if self.channel is None else f"ch{self.channel + 1}"
        return f"{ch} {self.kind} {self.number}"

    def hears(self, msg: Any) -> bool:
        if self.channel is not None and msg.channel != self.channel:
            return False
        if self.kind == "cc":
            return msg.type == "control_change" and msg.control == self.number
        return msg.type in ("note_on", "note_off") and msg.note == self.number


@dataclass(frozen=True)
class Binding:
    control: Control
    param: str
    mode: str = "absolute"
    curve: str = "linear"
    lo: float | None = None  # sub-range; None: the parameter's own min / max
    hi: float | None = None
    step: float = 1.0 / 128  # relative encoders: fraction of the sub-range per detent
    button: str = "momentary"  # on/off parameters driven by a button
    feedback: bool = True
    led_on: int = 127
    led_off: int = 0
    optional: bool = False
    scene: int | None = None  # written as `scene = N` (the show's Nth scene) rather than by name
    line: int | None = field(default=None, compare=False)  # where it was read (for messages)

    @property
    def relative(self) -> bool:
        return self.mode != "absolute"


@dataclass(frozen=True)
class MidiMap:
    name: str = ""  # port name substring; "" = none chosen yet
    channel: int | None = None
    feedback: bool = True
    pickup: bool = True
    pickup_tolerance: float = 0.03
    bindings: tuple[Binding, ...] = ()
    path: Path | None = None
    # optional bindings this show cannot use: (why, the [[bind]] table as read), kept for saving
    inactive: tuple[tuple[str, dict[str, Any]], ...] = field(default=(), compare=False)

    @property
    def skipped(self) -> tuple[str, ...]:
        return tuple(why for why, _ in self.inactive)

    def with_binding(self, binding: Binding) -> "MidiMap":
        """This map with `binding` added; it replaces a binding of the same control or to the
        same parameter (so learning a parameter again moves it to the new control)."""
        kept = tuple(b for b in self.bindings
                     if b.control != binding.control and b.param != binding.param)
        return replace(self, bindings=kept + (binding,))


def resolve_map(name_or_path: str) -> Path:
    """A shipped map name (presets/midi/NAME.toml) or a path to a .toml file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise VjganError(f"MIDI map not found: {path} — check the path")
        return path
    candidate = presets_dir() / "midi" / f"{name_or_path}.toml"
    if not candidate.is_file():
        known = ", ".join(shipped_maps()) or "none"
        raise VjganError(f"unknown MIDI map {name_or_path!r} — choose one of {known} "
                         "or give a path to a .toml file")
    return candidate


def shipped_maps() -> list[str]:
    return sorted(p.stem for p in (presets_dir() / "midi").glob("*.toml"))


def load_map(name_or_path: str, registry: SpecSource) -> MidiMap:
    path = resolve_map(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise VjganError(f"MIDI map {path}: {exc} — fix the TOML syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VjganError(f"cannot read MIDI map {path}: {exc}") from None
    return parse_map(data, path, registry, text)


def parse_map(data: dict[str, Any], path: Path, registry: SpecSource, text: str = "") -> MidiMap:
    lines = _Lines(path, text)
    unknown = set(data) - {"controller", "bind"}
    if unknown:
        key = sorted(unknown)[0]
        raise VjganError(f"{lines.at(key)}unknown section {key!r} — a MIDI map has [controller] "
                         "and [[bind]] tables")
    ctl = data.get("controller", {})
    if not isinstance(ctl, dict):
        raise VjganError(f"{lines.at('controller')}[controller] must be a table")
    _no_extra(ctl, _CONTROLLER_KEYS, "controller", lines.at("controller"))
    name = _typed(ctl, "name", str, "", "controller", lines)
    channel = _channel(ctl.get("channel"), "controller.channel", lines.at("channel"))
    tolerance = _number(ctl, "pickup_tolerance", 0.03, "controller", lines)
    if not 0.0 <= tolerance <= 0.5:
        raise VjganError(f"{lines.at('pickup_tolerance')}controller.pickup_tolerance = {tolerance} "
                         "— use a fraction of the travel between 0 and 0.5")
    binds = data.get("bind", [])
    if not isinstance(binds, list):
        raise VjganError(f"{lines.at('bind')}bind must be an array of tables: write [[bind]]")
    bindings: list[Binding] = []
    inactive: list[tuple[str, dict[str, Any]]] = []
    for i, table in enumerate(binds):
        b = _parse_binding(table, i, channel, registry, lines)
        if isinstance(b, str):
            inactive.append((b, dict(table)))
            continue
        bindings.append(b)
    taken: dict[Control, int] = {}
    for i, b in enumerate(bindings):
        if b.control in taken:
            raise VjganError(f"{lines.bind(i, 'cc') or lines.bind(i, 'note')}{b.control.label()} is "
                             f"bound twice (bind[{taken[b.control]}] and bind[{i}]) — remove one")
        taken[b.control] = i
    return MidiMap(name=name, channel=channel,
                   feedback=_typed(ctl, "feedback", bool, True, "controller", lines),
                   pickup=_typed(ctl, "pickup", bool, True, "controller", lines),
                   pickup_tolerance=tolerance, bindings=tuple(bindings), path=path,
                   inactive=tuple(inactive))


def _parse_binding(t: Any, i: int, default_channel: int | None, registry: SpecSource,
                   lines: "_Lines") -> Binding | str:
    """The binding, or (for an optional one this show cannot use) why it is left out."""
    where = f"bind[{i}]"
    at = lines.bind_header(i)
    if not isinstance(t, dict):
        raise VjganError(f"{at}{where} must be a table")
    _no_extra(t, _BIND_KEYS, where, at, lambda k: lines.bind(i, k))
    if ("cc" in t) == ("note" in t):
        raise VjganError(f"{at}{where} needs exactly one of cc = N or note = N")
    kind = "cc" if "cc" in t else "note"
    number = t[kind]
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 127:
        raise VjganError(f"{lines.bind(i, kind)}{where}.{kind} = {number!r} — use 0..127")
    channel = (_channel(t["channel"], f"{where}.channel", lines.bind(i, "channel"))
               if "channel" in t else default_channel)
    optional = _typed(t, "optional", bool, False, where, lines, i)
    param = _target(t, i, registry, lines)
    if param is None:
        if optional:
            return f"bind[{i}] scene {t['scene']} (the show has fewer scenes)"
        raise VjganError(f"{lines.bind(i, 'scene')}{where}.scene = {t['scene']!r} — this show has "
                         "fewer scenes; add scenes to the preset or mark the binding optional = true")
    try:
        spec = registry.spec(param)
    except VjganError as exc:
        if optional:
            return f"bind[{i}] {param} (not in this show)"
        raise VjganError(f"{lines.bind(i, 'param')}{where}.param: {exc}") from None
    mode = _choice(t, "mode", MODES, "absolute", where, lines, i)
    curve = _choice(t, "curve", CURVES, "linear", where, lines, i)
    button = _choice(t, "button", BUTTONS, "momentary", where, lines, i)
    if spec.kind == "list":
        raise VjganError(f"{lines.bind(i, 'param')}{where}.param = {param!r} is a list — "
                         "a control cannot drive it")
    if kind == "note" and spec.kind not in ("trigger", "bool"):
        raise VjganError(f"{lines.bind(i, 'param')}{where}: a note drives triggers and on/off "
                         f"parameters, and {param} is a {spec.kind} — bind it to a cc")
    if mode != "absolute" and (kind == "note" or spec.kind in ("trigger", "bool")):
        raise VjganError(f"{lines.bind(i, 'mode')}{where}.mode = {mode!r} — relative modes are "
                         "for encoders driving a number or choice")
    lo = _opt_number(t, "min", where, lines, i)
    hi = _opt_number(t, "max", where, lines, i)
    unbounded = spec.min is None or spec.max is None
    if spec.kind in ("float", "int") and unbounded and (lo is None or hi is None):
        raise VjganError(f"{lines.bind(i, 'param')}{where}: {param} has no fixed range — give min and max")
    for key, value in (("min", lo), ("max", hi)):
        if value is not None and spec.min is not None and spec.max is not None and \
                not spec.min <= value <= spec.max:
            raise VjganError(f"{lines.bind(i, key)}{where}.{key} = {value:g} is outside {param}'s "
                             f"range {spec.min:g}..{spec.max:g}")
    step = _number(t, "step", 1.0 / 128, where, lines, i)
    if not 0.0 < step <= 1.0:
        raise VjganError(f"{lines.bind(i, 'step')}{where}.step = {step} — use a fraction of the "
                         "range per detent, above 0 and at most 1")
    leds = []
    for key, default in (("led_on", 127), ("led_off", 0)):
        value = t.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 127:
            raise VjganError(f"{lines.bind(i, key)}{where}.{key} = {value!r} — use 0..127")
        leds.append(value)
    return Binding(control=Control(kind, number, channel), param=param, mode=mode, curve=curve,
                   lo=lo, hi=hi, step=step, button=button,
                   feedback=_typed(t, "feedback", bool, True, where, lines, i),
                   led_on=leds[0], led_off=leds[1], optional=optional,
                   scene=t.get("scene"), line=lines.bind_line(i))


def _target(t: dict[str, Any], i: int, registry: SpecSource, lines: "_Lines") -> str | None:
    where = f"bind[{i}]"
    if ("param" in t) == ("scene" in t):
        raise VjganError(f"{lines.bind_header(i)}{where} needs exactly one of param = \"NAME\" "
                         "or scene = N")
    if "param" in t:
        if not isinstance(t["param"], str):
            raise VjganError(f"{lines.bind(i, 'param')}{where}.param must be a parameter name in quotes")
        return t["param"]
    n = t["scene"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise VjganError(f"{lines.bind(i, 'scene')}{where}.scene = {n!r} — use the scene's "
                         "number (1 = the preset's first scene) or param = \"scene.NAME\"")
    scenes = [name for name in registry.names() if name.startswith("scene.")]
    return scenes[n - 1] if n <= len(scenes) else None


# -- checking helpers ----------------------------------------------------------------------------

class _Lines:
    """Finds the line of a key for messages (tomllib gives positions for syntax errors only)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.rows = text.splitlines()
        self.headers = [n for n, row in enumerate(self.rows, 1)
                        if row.replace(" ", "").startswith("[[bind]]")]

    def _find(self, key: str, start: int = 0, stop: int | None = None) -> int | None:
        for n in range(start, len(self.rows) if stop is None else stop):
            row = self.rows[n].strip()
            if row.startswith(f"[{key}]") or row.split("=")[0].strip() == key:
                return n + 1
        return None

    def _prefix(self, line: int | None) -> str:
        return f"{self.path}:{line}: " if line else f"{self.path}: "

    def at(self, key: str) -> str:
        stop = self.headers[0] - 1 if self.headers else None
        return self._prefix(self._find(key, 0, stop))

    def bind_line(self, i: int) -> int | None:
        return self.headers[i] if i < len(self.headers) else None

    def bind_header(self, i: int) -> str:
        return self._prefix(self.bind_line(i))

    def bind(self, i: int, key: str) -> str:
        start = self.bind_line(i)
        if start is None:
            return self._prefix(None)
        stop = self.headers[i + 1] - 1 if i + 1 < len(self.headers) else None
        return self._prefix(self._find(key, start, stop) or start)


def _no_extra(table: dict[str, Any], allowed: set[str], where: str, at: str,
              line_of: Any = None) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        close = difflib.get_close_matches(extra[0], sorted(allowed), n=1)
        hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(allowed))}"
        prefix = line_of(extra[0]) if line_of else at
        raise VjganError(f"{prefix}unknown field {where}.{extra[0]} — {hint}")


def _prefix_for(lines: _Lines, key: str, i: int | None) -> str:
    return lines.at(key) if i is None else lines.bind(i, key)


def _typed(t: dict[str, Any], key: str, typ: type, default: Any, where: str, lines: _Lines,
           i: int | None = None) -> Any:
    value = t.get(key, default)
    if not isinstance(value, typ):
        word = {bool: "true or false", str: "a string in quotes"}[typ]
        raise VjganError(f"{_prefix_for(lines, key, i)}{where}.{key} = {value!r} — use {word}")
    return value


def _number(t: dict[str, Any], key: str, default: float, where: str, lines: _Lines,
            i: int | None = None) -> float:
    value = _opt_number(t, key, where, lines, i)
    return default if value is None else value


def _opt_number(t: dict[str, Any], key: str, where: str, lines: _Lines,
                i: int | None = None) -> float | None:
    if key not in t:
        return None
    value = t[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
            or value in (float("inf"), float("-inf")):
        raise VjganError(f"{_prefix_for(lines, key, i)}{where}.{key} = {value!r} — use a finite number")
    return float(value)


def _choice(t: dict[str, Any], key: str, options: Sequence[str], default: str, where: str,
            lines: _Lines, i: int) -> str:
    value = t.get(key, default)
    if value not in options:
        raise VjganError(f"{lines.bind(i, key)}{where}.{key} = {value!r} — choose one of "
                         f"{', '.join(options)}")
    return value


def _channel(value: Any, where: str, at: str) -> int | None:
    if value is None or value == "any":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 16:
        raise VjganError(f"{at}{where} = {value!r} — use a MIDI channel 1..16 or \"any\"")
    return value - 1
