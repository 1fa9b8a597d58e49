"""Reaction parameters: every Lucid Sonic Dreams parameter, with LSD's names and defaults, per second.

LSD's per-frame constants (tuned at its 43 fps) are rewritten per second, so the same value means the
same at 24, 60 or 144 fps. The parameters beyond LSD (psi, pulse_decay_s, class_latent_react,
class_dominance_seconds, sync) are marked as such. Contrast and flash *strength* live with the effect
chain (`[effects.contrast] strength` in a preset); which part of their audio they follow lives here.

Values are checked when the object is built: a wrong one raises `ParamError` naming the field and
the accepted values, so a preset, an OSC message or a Python caller learns exactly what to fix.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, fields
from typing import Any

from vjgan.errors import VjganError

SYNC_MODES = ("off", "beat", "bar")
CLASS_SLOTS = 12  # one slot per pitch class


class ParamError(VjganError, ValueError):
    """A reaction parameter has a value it cannot take; `field` names it (a one-line message)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field


@dataclass(frozen=True)
class ReactParams:
    """Parameters of the latent reactor (see docs/lsd.md for each one's meaning and LSD mapping)."""

    speed_fpm: float = 12.0  # base keyframes per minute (0 = a still base)
    pulse_react: float = 0.5  # pulse gain: a hit adds this much to every z dimension
    pulse_percussive: bool = True  # pulse follows the hits (percussive part) of its audio
    pulse_harmonic: bool = False  # pulse follows the sustained (harmonic) part; both/neither: all of it
    pulse_decay_s: float = 0.081  # beyond LSD: pulse time constant (LSD's 0.75 per 43-fps frame)
    motion_react: float = 0.5  # motion speed: z units per second at full level is 20 x this
    motion_percussive: bool = False  # motion follows the hits of its audio
    motion_harmonic: bool = True  # motion follows the sustained part (LSD's default)
    motion_randomness: float = 0.5  # fraction of speed taken from half the dimensions, redrawn every 4 s
    truncation: float = 1.0  # LSD truncation: scales base keyframes and motion bounds (z space)
    psi: float = 1.0  # beyond LSD: StyleGAN w-space truncation (1 = off)
    classes: tuple[int, ...] | None = None  # model class ids for the 12 slots (None: 12 random ones)
    dominant_classes_first: bool = False  # classes[0] goes to the most dominant pitch, and so on
    class_pitch_react: float = 0.5  # how fast pitch classes pull the class vector
    class_smooth_seconds: float = 1.0  # one-pole smoothing of the class vector
    class_complexity: float = 1.0  # max of the class vector
    class_shuffle_seconds: float | tuple[float, ...] | None = None  # period, or times (s); None/0: off
    class_shuffle_strength: float = 0.5  # a shuffle rotates the pitch -> class map by round(this x 12)
    contrast_percussive: bool = True  # contrast follows the hits of its audio (else its level)
    flash_percussive: bool = True  # flash follows the hits of its audio (else its level)
    class_latent_react: float = 0.6  # beyond LSD: unconditional models, pitch steers 12 directions
    class_dominance_seconds: float = 30.0  # beyond LSD: memory of the running dominance ranking
    sync: str = "off"  # beyond LSD: "beat"/"bar": shuffles and motion redraws wait for the next one

    def __post_init__(self) -> None:
        for f in fields(self):
            _CHECKS[f.name](self, f.name, getattr(self, f.name))

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_values(cls, values: dict[str, Any], base: "ReactParams | None" = None) -> "ReactParams":
        """Build from loosely typed values (TOML, OSC, keyword arguments): lists become tuples,
        ints become floats where a float is expected, 0 or None turns shuffles off. Raises
        ParamError for an unknown name or a bad value."""
        known = cls.field_names()
        out: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(known)}"
                raise ParamError(name, f"is not a reaction parameter — {hint}")
            out[name] = _coerce(name, value)
        base = base or cls()
        return cls(**{**{n: getattr(base, n) for n in known}, **out})

    def shuffle_times(self) -> tuple[float, ...] | None:
        """Listed shuffle times, or None when shuffles are periodic or off."""
        s = self.class_shuffle_seconds
        return s if isinstance(s, tuple) else None

    def shuffle_period_s(self) -> float | None:
        s = self.class_shuffle_seconds
        return float(s) if isinstance(s, (int, float)) and s > 0 else None


def _coerce(name: str, value: Any) -> Any:
    if name == "classes" and isinstance(value, list):
        return tuple(value)
    if name == "class_shuffle_seconds":
        if isinstance(value, list):
            return tuple(value)
        if value == 0 and not isinstance(value, bool):
            return None
    if name in _FLOATS and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _number(obj: ReactParams, name: str, value: Any, low: float | None = None,
            high: float | None = None, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(name, f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ParamError(name, f"must be finite, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ParamError(name, f"must be {'>' if low_open else '>='} {low:g}, got {value!r}")
    if high is not None and value > high:
        raise ParamError(name, f"must be <= {high:g}, got {value!r}")


def _at_least_0(obj: ReactParams, name: str, value: Any) -> None:
    _number(obj, name, value, 0.0)


def _above_0(obj: ReactParams, name: str, value: Any) -> None:
    _number(obj, name, value, 0.0, low_open=True)


def _unit(obj: ReactParams, name: str, value: Any) -> None:
    _number(obj, name, value, 0.0, 1.0)


def _psi(obj: ReactParams, name: str, value: Any) -> None:
    _number(obj, name, value, -1.0, 2.0)


def _flag(obj: ReactParams, name: str, value: Any) -> None:
    if not isinstance(value, bool):  # LSD turned False into True; here a flag is exactly a bool
        raise ParamError(name, f"must be true or false, got {value!r}")


def _classes(obj: ReactParams, name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, tuple) or not value:
        raise ParamError(name, f"must be a non-empty list of class ids, got {value!r}")
    for k in value:
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ParamError(name, f"must hold class ids (whole numbers >= 0), got {k!r}")


def _shuffle(obj: ReactParams, name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, tuple):
        for t in value:
            _number(obj, name, t, 0.0)
        return
    _number(obj, name, value, 0.0)


def _sync(obj: ReactParams, name: str, value: Any) -> None:
    if value not in SYNC_MODES:
        raise ParamError(name, f"must be one of {', '.join(SYNC_MODES)}, got {value!r}")


_CHECKS = {
    "speed_fpm": _at_least_0, "pulse_react": _at_least_0, "pulse_percussive": _flag,
    "pulse_harmonic": _flag, "pulse_decay_s": _above_0, "motion_react": _at_least_0,
    "motion_percussive": _flag, "motion_harmonic": _flag, "motion_randomness": _unit,
    "truncation": _above_0, "psi": _psi, "classes": _classes, "dominant_classes_first": _flag,
    "class_pitch_react": _at_least_0, "class_smooth_seconds": _at_least_0,
    "class_complexity": _at_least_0, "class_shuffle_seconds": _shuffle,
    "class_shuffle_strength": _unit, "contrast_percussive": _flag, "flash_percussive": _flag,
    "class_latent_react": _at_least_0, "class_dominance_seconds": _above_0, "sync": _sync,
}
_FLOATS = {name for name, check in _CHECKS.items() if check in (_at_least_0, _above_0, _unit, _psi)}
