"""The parameter registry: one table of everything a performer can change, and the current targets.

Every input (OSC, MIDI, presets, scenes, the HUD) goes through `Registry.set`, which checks the type,
refuses NaN/inf, clamps to the range and tells every subscriber, so feedback (TouchOSC faders, MIDI
LEDs) follows whichever source moved a value. The registry holds *targets*; the live control hook
smooths them per parameter (`smoothing_s`) and applies them to the engine once per frame.

Names are dotted: `react.pulse.react` (ReactParams.pulse_react), `gen.psi`, `fx.flash.strength`,
`action.blackout` and `scene.<name>` (triggers: `set(name, 1, source)` fires).
"""

from __future__ import annotations

import difflib
import math
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from vjgan.control.hooks import ACTIONS
from vjgan.errors import VjganError
from vjgan.react.params import SYNC_MODES, ReactParams

KINDS = ("float", "int", "bool", "choice", "trigger", "list")
Subscriber = Callable[[str, Any, str], None]


class ControlError(VjganError, ValueError):
    """A value a parameter cannot take, or an unknown name; `reason` is a short counter key
    ("unknown", "type", "nonfinite", "range")."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ParamSpec:
    name: str  # dotted: "react.pulse.react", "fx.flash.strength", "gen.psi"
    kind: str  # "float" | "int" | "bool" | "choice" | "trigger" | "list" (list: not bindable)
    default: Any
    min: float | None = None
    max: float | None = None
    unit: str = ""  # "s", "hz", "fpm", "" ...
    smoothing_s: float = 0.0  # per-parameter one-pole time constant (0 = immediate)
    doc: str = ""
    choices: tuple[str, ...] = ()

    @property
    def bindable(self) -> bool:
        """A fader, knob or button can drive it (everything except lists)."""
        return self.kind != "list"


# ReactParams field -> (registry name, kind, min, max, unit, smoothing_s, doc). Ranges are the
# performance ranges a fader spans; presets are checked against them too.
_REACT_TABLE: dict[str, tuple[str, str, float | None, float | None, str, float, str]] = {
    "speed_fpm": ("react.speed_fpm", "float", 0.0, 120.0, "fpm", 0.5,
                  "base keyframes per minute (0 = a still base)"),
    "pulse_react": ("react.pulse.react", "float", 0.0, 4.0, "", 0.1,
                    "pulse gain: a hit adds this much to every z dimension"),
    "pulse_percussive": ("react.pulse.percussive", "bool", None, None, "", 0.0,
                         "pulse follows the hits (percussive part) of its audio"),
    "pulse_harmonic": ("react.pulse.harmonic", "bool", None, None, "", 0.0,
                       "pulse follows the sustained part (both or neither: all of it)"),
    "pulse_decay_s": ("react.pulse.decay_s", "float", 0.01, 2.0, "s", 0.1,
                      "pulse time constant (LSD: 0.081)"),
    "motion_react": ("react.motion.react", "float", 0.0, 4.0, "", 0.2,
                     "motion speed: 20 x this z units per second at full level"),
    "motion_percussive": ("react.motion.percussive", "bool", None, None, "", 0.0,
                          "motion follows the hits of its audio"),
    "motion_harmonic": ("react.motion.harmonic", "bool", None, None, "", 0.0,
                        "motion follows the sustained part (LSD's default)"),
    "motion_randomness": ("react.motion.randomness", "float", 0.0, 1.0, "", 0.2,
                          "speed taken from half the dimensions, redrawn every 4 s"),
    "truncation": ("react.truncation", "float", 0.05, 2.0, "", 0.3,
                   "LSD truncation: scales base keyframes and motion bounds"),
    "psi": ("gen.psi", "float", -1.0, 2.0, "", 0.2,
            "StyleGAN w-space truncation (1 = off)"),
    "classes": ("react.classes", "list", None, None, "", 0.0,
                "model class ids for the 12 pitch slots (empty: 12 random ones)"),
    "dominant_classes_first": ("react.dominant_classes_first", "bool", None, None, "", 0.0,
                               "the most dominant pitch drives the first class"),
    "class_pitch_react": ("react.class.pitch_react", "float", 0.0, 4.0, "", 0.2,
                          "how fast pitch classes pull the class vector"),
    "class_smooth_seconds": ("react.class.smooth_seconds", "float", 0.0, 30.0, "s", 0.2,
                             "one-pole smoothing of the class vector"),
    "class_complexity": ("react.class.complexity", "float", 0.0, 4.0, "", 0.2,
                         "maximum of the class vector"),
    "class_shuffle_seconds": ("react.class.shuffle_seconds", "float", 0.0, 600.0, "s", 0.0,
                              "class shuffle period (0 = off; presets may list times)"),
    "class_shuffle_strength": ("react.class.shuffle_strength", "float", 0.0, 1.0, "", 0.0,
                               "a shuffle rotates the pitch-to-class map by round(this x 12)"),
    "contrast_percussive": ("react.contrast.percussive", "bool", None, None, "", 0.0,
                            "contrast follows the hits of its audio (else its level)"),
    "flash_percussive": ("react.flash.percussive", "bool", None, None, "", 0.0,
                         "flash follows the hits of its audio (else its level)"),
    "class_latent_react": ("react.class.latent_react", "float", 0.0, 4.0, "", 0.2,
                           "unconditional models: how far pitch steers 12 directions"),
    "class_dominance_seconds": ("react.class.dominance_seconds", "float", 1.0, 600.0, "s", 0.0,
                                "memory of the running dominance ranking"),
    "sync": ("react.sync", "choice", None, None, "", 0.0,
             "shuffles and motion redraws wait for the next beat or bar"),
}
FIELD_TO_NAME = {f: row[0] for f, row in _REACT_TABLE.items()}
NAME_TO_FIELD = {name: f for f, name in FIELD_TO_NAME.items()}
FX_STRENGTH_RANGE = (0.0, 2.0)
FX_SMOOTHING_S = 0.1
_ACTION_DOCS = {
    "blackout": "fade the picture to black (toggle)", "freeze": "hold the last frame (toggle)",
    "hud": "show or hide the operator HUD", "fullscreen": "toggle fullscreen",
    "quit": "end the show (not over OSC)",
    "tap": "tap tempo: tap on the beat", "flash": "a one-shot flash",
    "safe_scene": "cross-fade to the safe scene (panic)",
}


def react_specs() -> list[ParamSpec]:
    defaults = ReactParams()
    out = []
    for f in ReactParams.field_names():
        name, kind, lo, hi, unit, smooth, doc = _REACT_TABLE[f]
        default = getattr(defaults, f)
        if f == "class_shuffle_seconds" and default is None:
            default = 0.0
        out.append(ParamSpec(name, kind, default, lo, hi, unit, smooth, doc,
                             SYNC_MODES if kind == "choice" else ()))
    return out


def effect_spec(effect: str, default: float = 0.5) -> ParamSpec:
    lo, hi = FX_STRENGTH_RANGE
    return ParamSpec(f"fx.{effect}.strength", "float", min(max(float(default), lo), hi), lo, hi,
                     "", FX_SMOOTHING_S, f"strength of the {effect} effect")


def action_specs() -> list[ParamSpec]:
    return [ParamSpec(f"action.{a}", "trigger", 0, doc=_ACTION_DOCS.get(a, a)) for a in ACTIONS]


def scene_spec(scene: str) -> ParamSpec:
    return ParamSpec(f"scene.{scene}", "trigger", 0, doc=f"cross-fade to scene {scene!r}")


class Registry:
    """Specs plus current target values. Thread-safe; subscribers run in the setter's thread and
    must not block (queue what they need and act on it in a frame hook)."""

    def __init__(self, specs: Iterable[ParamSpec]) -> None:
        self._lock = threading.RLock()
        self._specs: dict[str, ParamSpec] = {}
        self._values: dict[str, Any] = {}
        self._subscribers: list[Subscriber] = []
        self.subscriber_errors = 0
        for s in specs:
            self.add(s)

    # -- the table ---------------------------------------------------------------------------
    def add(self, spec: ParamSpec) -> None:
        if spec.kind not in KINDS:
            raise VjganError(f"parameter {spec.name}: kind {spec.kind!r} — use one of {', '.join(KINDS)}")
        with self._lock:
            self._specs[spec.name] = spec
            self._values[spec.name] = spec.default

    def remove(self, name: str) -> None:
        with self._lock:
            self._specs.pop(name, None)
            self._values.pop(name, None)

    def specs(self) -> list[ParamSpec]:
        with self._lock:
            return list(self._specs.values())

    def names(self) -> list[str]:
        with self._lock:
            return list(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def spec(self, name: str) -> ParamSpec:
        s = self._specs.get(name)
        if s is None:
            raise ControlError(f"unknown parameter {name!r} — {self.hint(name)}", "unknown")
        return s

    def hint(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._specs), n=1, cutoff=0.6)
        return f"did you mean {close[0]}?" if close else "`vjgan params` lists them all"

    # -- values ------------------------------------------------------------------------------
    def get(self, name: str) -> Any:
        self.spec(name)
        with self._lock:
            return self._values[name]

    def values(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)

    def coerce(self, name: str, value: Any) -> Any:
        """The value `set` would apply (validated and clamped), without applying it."""
        return coerce(self.spec(name), value)

    def set(self, name: str, value: Any, source: str) -> Any:
        spec = self.spec(name)
        applied = coerce(spec, value)
        if spec.kind == "trigger":
            if not applied:
                return 0  # a button's release: nothing fires
        else:
            with self._lock:
                self._values[name] = applied
        self._notify(name, applied, source)
        return applied

    def set_many(self, values: dict[str, Any], source: str) -> dict[str, Any]:
        """Validate everything first, then apply: a bad value applies nothing."""
        checked = {n: self.coerce(n, v) for n, v in values.items()}
        return {n: self.set(n, v, source) for n, v in checked.items()}

    def get_normalized(self, name: str) -> float:
        spec = self.spec(name)
        value = self.get(name)
        if spec.kind in ("float", "int"):
            span = spec.max - spec.min
            return 0.0 if span <= 0 else min(1.0, max(0.0, (value - spec.min) / span))
        if spec.kind == "bool":
            return 1.0 if value else 0.0
        if spec.kind == "choice":
            return spec.choices.index(value) / max(1, len(spec.choices) - 1)
        if spec.kind == "trigger":
            return 0.0
        raise ControlError(f"parameter {name} is a list — it cannot follow a fader", "type")

    def set_normalized(self, name: str, x: float, source: str) -> Any:
        spec = self.spec(name)
        x = _finite(spec, x)
        x = min(1.0, max(0.0, x))
        if spec.kind in ("float", "int"):
            return self.set(name, spec.min + x * (spec.max - spec.min), source)
        if spec.kind in ("bool", "trigger"):
            return self.set(name, x >= 0.5, source)
        if spec.kind == "choice":
            return self.set(name, spec.choices[round(x * (len(spec.choices) - 1))], source)
        raise ControlError(f"parameter {name} is a list — it cannot follow a fader", "type")

    # -- subscribers -------------------------------------------------------------------------
    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subscribers:
                    self._subscribers.remove(fn)

        return unsubscribe

    def _notify(self, name: str, value: Any, source: str) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for fn in subscribers:
            try:
                fn(name, value, source)
            except Exception:  # noqa: BLE001 - one broken listener must not stop a show
                self.subscriber_errors += 1


def _finite(spec: ParamSpec, value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, (int, float)):
        raise ControlError(f"{spec.name} takes a number, got {value!r}", "type")
    if not math.isfinite(value):
        raise ControlError(f"{spec.name} must be finite, got {value!r}", "nonfinite")
    return float(value)


def coerce(spec: ParamSpec, value: Any) -> Any:
    """Check `value` against `spec`: the value to apply (clamped), or ControlError."""
    kind = spec.kind
    if kind in ("float", "int"):
        if isinstance(value, bool):
            raise ControlError(f"{spec.name} takes a number, got {value!r}", "type")
        x = _finite(spec, value)
        if spec.min is not None:
            x = max(spec.min, x)
        if spec.max is not None:
            x = min(spec.max, x)
        return int(round(x)) if kind == "int" else x
    if kind in ("bool", "trigger"):
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "on", "1"):
                return True if kind == "bool" else 1
            if low in ("false", "off", "0"):
                return False if kind == "bool" else 0
            raise ControlError(f"{spec.name} takes true/false or 1/0, got {value!r}", "type")
        on = _finite(spec, value) >= 0.5
        return on if kind == "bool" else int(on)
    if kind == "choice":
        if isinstance(value, str):
            if value not in spec.choices:
                raise ControlError(f"{spec.name} takes one of {', '.join(spec.choices)}, got "
                                   f"{value!r}", "type")
            return value
        index = round(_finite(spec, value))
        return spec.choices[min(max(index, 0), len(spec.choices) - 1)]
    return _coerce_list(spec, value)


def _coerce_list(spec: ParamSpec, value: Any) -> tuple[int, ...] | None:
    if value is None or value == () or value == []:
        return None
    if not isinstance(value, (list, tuple)):
        value = (value,)
    out = []
    for v in value:
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ControlError(f"{spec.name} takes class ids (whole numbers >= 0), got {v!r}", "type")
        out.append(v)
    return tuple(out)


def build_registry(effects: Sequence[tuple[str, float]] = (), scenes: Sequence[str] = ()) -> Registry:
    """The registry for a show: every ReactParams field, gen.psi, fx.<effect>.strength for each
    effect in the chain (name, strength), the actions and one trigger per scene."""
    specs = react_specs()
    seen: set[str] = set()
    for name, strength in effects:
        if name not in seen:
            seen.add(name)
            specs.append(effect_spec(name, strength))
    specs += action_specs()
    specs += [scene_spec(s) for s in scenes]
    return Registry(specs)
