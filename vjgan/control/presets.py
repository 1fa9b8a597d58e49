"""Presets: TOML files holding reaction parameters, the effect chain and scenes.

    [react]                 every ReactParams field under its Lucid Sonic Dreams name
    [effects]               chain = ["contrast", "flash"], then [effects.NAME] strength / amp
    [scenes.NAME]           a scene: registry names ("react.pulse.react" = 1.2 or dotted bare keys),
                            anchor, fade_beats or fade_s, start = "now" | "beat" | "bar"

Everything is checked against the parameter registry (names, types, ranges). A bad preset is refused
with one line `preset FILE:LINE: field — problem — fix`; nothing is half-applied.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vjgan.control.preset_io import find_line
from vjgan.files import atomic_write_text
from vjgan.control.registry import FIELD_TO_NAME, Registry, build_registry
from vjgan.control.scenes import START_MODES, Scene, check_scene
from vjgan.errors import VjganError
from vjgan.gfx.effects import EffectSpec
from vjgan.gfx.resources import available_effects
from vjgan.gfx.uniforms import FrameUniforms
from vjgan.react.params import ParamError, ReactParams
from vjgan.resources import presets_dir

DEFAULT_PRESET = "default"
SECTIONS = ("react", "effects", "scenes")
_EFFECT_KEYS = ("strength", "amp")
_SCENE_KEYS = ("anchor", "fade_beats", "fade_s", "start")
_AMP_SOURCES = tuple(f.name for f in fields(FrameUniforms) if f.type in ("float", float))


@dataclass(frozen=True)
class Preset:
    name: str
    react: ReactParams = field(default_factory=ReactParams)
    effects: tuple[EffectSpec, ...] = ()
    scenes: tuple[Scene, ...] = ()

    def values(self) -> dict[str, Any]:
        """This preset as registry values (react.*, gen.psi, fx.*.strength). Listed shuffle times
        are left out: the registry holds a period, and the listed times stay with the preset."""
        out: dict[str, Any] = {}
        for f, name in FIELD_TO_NAME.items():
            value = getattr(self.react, f)
            if f == "class_shuffle_seconds":
                if isinstance(value, tuple):
                    continue
                value = 0.0 if value is None else float(value)
            out[name] = value
        for e in self.effects:
            out[f"fx.{e.name}.strength"] = e.strength
        return out

    def registry(self) -> Registry:
        """The show's parameter registry, holding this preset's values."""
        reg = build_registry([(e.name, e.strength) for e in self.effects], [s.name for s in self.scenes])
        reg.set_many(self.values(), "preset")
        return reg


class _FieldError(Exception):
    def __init__(self, keys: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.keys = keys


def resolve_preset(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise VjganError(f"preset file not found: {path} — check the path")
        return path
    candidate = presets_dir() / f"{name_or_path}.toml"
    if not candidate.is_file():
        known = sorted(p.stem for p in presets_dir().glob("*.toml"))
        raise VjganError(f"unknown preset {str(name_or_path)!r} — choose one of {', '.join(known)} "
                         "or give a path to a .toml file")
    return candidate


def load_preset(name_or_path: str | Path = DEFAULT_PRESET) -> Preset:
    path = resolve_preset(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VjganError(f"cannot read preset {path}: {exc}") from None
    return parse_preset_text(text, path)


def parse_preset_text(text: str, path: Path) -> Preset:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = getattr(exc, "lineno", None) or (int(found.group(1)) if found else None)
        where = f"{path}:{line}" if line else str(path)
        raise VjganError(f"preset {where}: {exc} — fix the TOML syntax") from None
    try:
        return _parse(data, path)
    except _FieldError as exc:
        line = find_line(text, exc.keys)
        where = f"{path}:{line}" if line else str(path)
        raise VjganError(f"preset {where}: {exc}") from None


def parse_preset(data: dict[str, Any], path: Path) -> Preset:
    """Build a preset from parsed TOML (no line numbers; `load_preset` adds them)."""
    try:
        return _parse(data, path)
    except _FieldError as exc:
        raise VjganError(f"preset {path}: {exc}") from None


def _parse(data: dict[str, Any], path: Path) -> Preset:
    for key in data:
        if key not in SECTIONS:
            close = difflib.get_close_matches(key, SECTIONS, n=1)
            hint = f"did you mean [{close[0]}]?" if close else "use [react], [effects] and [scenes.NAME]"
            raise _FieldError((key,), f"unknown section [{key}] — {hint}")
    react = _parse_react(data.get("react", {}))
    effects = _parse_effects(data.get("effects", {}))
    preset = Preset(name=path.stem, react=react, effects=effects)
    scenes = _parse_scenes(data.get("scenes", {}), preset)
    return Preset(name=path.stem, react=react, effects=effects, scenes=scenes)


def _number(value: Any, keys: tuple[str, ...]) -> float:
    where = ".".join(keys)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _FieldError(keys, f"{where} must be a number, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise _FieldError(keys, f"{where} must be finite, got {value!r}")
    return float(value)


def _parse_react(section: Any) -> ReactParams:
    if not isinstance(section, dict):
        raise _FieldError(("react",), "[react] must be a table")
    try:
        react = ReactParams.from_values(section)
    except ParamError as exc:
        raise _FieldError(("react", exc.field), f"react.{exc}") from None
    registry = build_registry()
    for key in section:  # ranges come from the registry (the fader ranges)
        spec = registry.spec(FIELD_TO_NAME[key])
        value = getattr(react, key)
        if spec.kind == "float" and isinstance(value, float) and not spec.min <= value <= spec.max:
            raise _FieldError(("react", key), f"react.{key} = {value:g} is outside {spec.min:g}..{spec.max:g}"
                                              f"{' ' + spec.unit if spec.unit else ''} — use a value in range")
    return react


def _parse_effects(section: Any) -> tuple[EffectSpec, ...]:
    if not isinstance(section, dict):
        raise _FieldError(("effects",), "[effects] must be a table")
    chain = section.get("chain", [])
    if not isinstance(chain, list) or not all(isinstance(n, str) for n in chain):
        raise _FieldError(("effects", "chain"), "effects.chain must be a list of effect names")
    tables = {k: v for k, v in section.items() if k != "chain"}
    for name in tables:
        if name not in chain:
            raise _FieldError(("effects", name), f"[effects.{name}] is not in effects.chain — add it "
                                                 "or remove the table")
    known_effects = available_effects()
    settings = []
    for name in chain:
        if name not in known_effects:
            close = difflib.get_close_matches(name, known_effects, n=1)
            hint = f"did you mean {close[0]}?" if close else f"available: {', '.join(known_effects)}"
            raise _FieldError(("effects", "chain"), f"effects.chain names unknown effect {name!r} — {hint}")
        table = tables.get(name, {})
        if not isinstance(table, dict):
            raise _FieldError(("effects", name), f"effects.{name} must be a table")
        for extra in table:
            if extra not in _EFFECT_KEYS:
                close = difflib.get_close_matches(extra, _EFFECT_KEYS, n=1)
                hint = f"did you mean {close[0]}?" if close else "effects take strength and amp"
                raise _FieldError(("effects", name, extra), f"unknown field effects.{name}.{extra} — {hint}")
        strength = _number(table.get("strength", 0.5), ("effects", name, "strength"))
        spec = build_registry([(name, 0.5)]).spec(f"fx.{name}.strength")
        if not spec.min <= strength <= spec.max:
            raise _FieldError(("effects", name, "strength"), f"effects.{name}.strength = {strength:g} is "
                                                             f"outside {spec.min:g}..{spec.max:g}")
        amp = table.get("amp", "level")
        if amp not in _AMP_SOURCES:
            raise _FieldError(("effects", name, "amp"), f"effects.{name}.amp = {amp!r} — choose one of "
                                                        f"{', '.join(_AMP_SOURCES)}")
        settings.append(EffectSpec(name=name, strength=strength, amp=amp))
    return tuple(settings)


def _flatten(table: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for k, v in table.items():
        parts = prefix + tuple(k.split("."))
        if isinstance(v, dict):
            out.update(_flatten(v, parts))
        else:
            out[parts] = v
    return out


def _parse_scenes(section: Any, preset: Preset) -> tuple[Scene, ...]:
    if not isinstance(section, dict):
        raise _FieldError(("scenes",), "[scenes] must hold tables: [scenes.NAME]")
    registry = preset.registry()
    names = registry.names()
    scenes = []
    for scene_name, table in section.items():
        base = ("scenes", scene_name)
        if not isinstance(table, dict):
            raise _FieldError(base, f"scenes.{scene_name} must be a table")
        opts: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for parts, value in _flatten(table).items():
            keys = base + parts
            key = ".".join(parts)
            if key in _SCENE_KEYS:
                opts[key] = value if key == "start" else _number(value, keys)
                continue
            name = FIELD_TO_NAME.get(key, key)  # LSD names work here too
            if name not in registry or registry.spec(name).kind == "trigger":
                close = difflib.get_close_matches(name, names + list(_SCENE_KEYS), n=1)
                hint = f"did you mean {close[0]}?" if close else "`vjgan params` lists the names"
                raise _FieldError(keys, f"scenes.{scene_name}: unknown parameter {key!r} — {hint}")
            values[name] = value
        if opts.get("start", "beat") not in START_MODES:
            raise _FieldError(base + ("start",), f"scenes.{scene_name}.start = {opts['start']!r} — use one "
                                                 f"of {', '.join(START_MODES)}")
        scene = Scene(scene_name, values, opts.get("anchor"), opts.get("fade_beats"), opts.get("fade_s"),
                      opts.get("start", "beat"))
        try:
            scenes.append(_strict_scene(scene, registry))
        except VjganError as exc:
            key = getattr(exc, "key", None)
            raise _FieldError(base + tuple((key or "").split(".")), f"scenes.{scene_name}: {exc}") from None
    return tuple(scenes)


def _strict_scene(scene: Scene, registry: Registry) -> Scene:
    """Like check_scene, but out-of-range numbers are errors in a file (not clamped)."""
    for name, value in scene.values.items():
        spec = registry.spec(name)
        try:
            applied = registry.coerce(name, value)
        except VjganError as exc:
            exc.key = name  # type: ignore[attr-defined]
            raise
        if spec.kind == "float" and applied != float(value):
            err = VjganError(f"{name} = {value!r} is outside {spec.min:g}..{spec.max:g} — use a value in range")
            err.key = name  # type: ignore[attr-defined]
            raise err
    return check_scene(scene, registry)


# -- saving ------------------------------------------------------------------------------------
def preset_to_toml(preset: Preset) -> str:
    import tomli_w

    react = {}
    for f in ReactParams.field_names():
        value = getattr(preset.react, f)
        if value is not None:
            react[f] = list(value) if isinstance(value, tuple) else value
    effects: dict[str, Any] = {"chain": [e.name for e in preset.effects]}
    for e in preset.effects:
        effects[e.name] = {"strength": e.strength, "amp": e.amp}
    doc: dict[str, Any] = {"react": react, "effects": effects}
    scenes: dict[str, Any] = {}
    for s in preset.scenes:
        table: dict[str, Any] = {"start": s.start}
        for key in ("anchor", "fade_beats", "fade_s"):
            if getattr(s, key) is not None:
                table[key] = getattr(s, key)
        for name, value in s.values.items():
            table[name] = list(value) if isinstance(value, tuple) else ([] if value is None else value)
        scenes[s.name] = table
    if scenes:
        doc["scenes"] = scenes
    return f"# vjgan preset {preset.name!r}, saved by vjgan\n\n" + tomli_w.dumps(doc)


def save_preset(preset: Preset, path: str | Path) -> Path:
    """Write `preset` to `path` atomically (temp + fsync + rename; the old file kept as .bak)."""
    return atomic_write_text(path, preset_to_toml(preset), what="the preset", backup=True)
