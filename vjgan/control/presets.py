"""Presets: TOML files holding reaction parameters and the effect chain.

A bad preset is refused with one line naming the file and the field; nothing half-applied.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vjgan.errors import VjganError
from vjgan.gfx.effects import EffectSpec
from vjgan.gfx.resources import available_effects
from vjgan.gfx.uniforms import FrameUniforms
from vjgan.react.params import ParamError, ReactParams
from vjgan.resources import presets_dir

DEFAULT_PRESET = "default"
_EFFECT_KEYS = {"strength", "amp"}
_AMP_SOURCES = tuple(f.name for f in fields(FrameUniforms) if f.type in ("float", float))


@dataclass(frozen=True)
class Preset:
    name: str
    react: ReactParams = field(default_factory=ReactParams)
    effects: tuple[EffectSpec, ...] = ()


def resolve_preset(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise VjganError(f"preset file not found: {path} — check the path")
        return path
    candidate = presets_dir() / f"{name_or_path}.toml"
    if not candidate.is_file():
        known = sorted(p.stem for p in presets_dir().glob("*.toml"))
        raise VjganError(f"unknown preset {name_or_path!r} — choose one of {', '.join(known)} "
                         "or give a path to a .toml file")
    return candidate


def load_preset(name_or_path: str = DEFAULT_PRESET) -> Preset:
    path = resolve_preset(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise VjganError(f"preset {path}: {exc} — fix the TOML syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VjganError(f"cannot read preset {path}: {exc}") from None
    return parse_preset(data, path)


def parse_preset(data: dict[str, Any], path: Path) -> Preset:
    unknown = set(data) - {"react", "effects"}
    if unknown:
        raise VjganError(f"preset {path}: unknown section [{sorted(unknown)[0]}] — "
                         "use [react] and [effects]")
    react = _parse_react(data.get("react", {}), path)
    effects = _parse_effects(data.get("effects", {}), path)
    return Preset(name=path.stem, react=react, effects=effects)


def _number(value: Any, where: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise VjganError(f"preset {path}: {where} must be a number, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise VjganError(f"preset {path}: {where} must be finite, got {value!r}")
    return float(value)


def _parse_react(section: Any, path: Path) -> ReactParams:
    if not isinstance(section, dict):
        raise VjganError(f"preset {path}: [react] must be a table")
    try:
        return ReactParams.from_values(section)
    except ParamError as exc:
        raise VjganError(f"preset {path}: react.{exc}") from None


def _parse_effects(section: Any, path: Path) -> tuple[EffectSpec, ...]:
    if not isinstance(section, dict):
        raise VjganError(f"preset {path}: [effects] must be a table")
    chain = section.get("chain", [])
    if not isinstance(chain, list) or not all(isinstance(n, str) for n in chain):
        raise VjganError(f"preset {path}: effects.chain must be a list of effect names")
    tables = {k: v for k, v in section.items() if k != "chain"}
    for name in tables:
        if name not in chain:
            raise VjganError(f"preset {path}: [effects.{name}] is not in effects.chain — add it or remove the table")
    known_effects = available_effects()
    settings = []
    for name in chain:
        if name not in known_effects:
            raise VjganError(f"preset {path}: effects.chain names unknown effect {name!r} — "
                             f"available: {', '.join(known_effects)}")
        table = tables.get(name, {})
        if not isinstance(table, dict):
            raise VjganError(f"preset {path}: effects.{name} must be a table")
        extra = set(table) - _EFFECT_KEYS
        if extra:
            raise VjganError(f"preset {path}: unknown field effects.{name}.{sorted(extra)[0]} — "
                             "effects take strength and amp")
        strength = _number(table.get("strength", 0.5), f"effects.{name}.strength", path)
        amp = table.get("amp", "level")
        if amp not in _AMP_SOURCES:
            raise VjganError(f"preset {path}: effects.{name}.amp = {amp!r} — choose one of "
                             f"{', '.join(_AMP_SOURCES)}")
        settings.append(EffectSpec(name=name, strength=strength, amp=amp))
    return tuple(settings)
