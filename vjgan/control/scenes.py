"""Scenes: named snapshots of the show (parameters, effect strengths, class map, latent anchor),
recalled with a crossfade over N beats or seconds.

During a recall every number moves from where it was to the scene's value along a smoothstep
(the midpoint is halfway; the end is exactly the scene's value), switches and lists change at the
midpoint, and the latent base walk slerps to the scene's anchor (its position in the keyframe
walk) over the same time. A recall starts on the next beat (or bar) when a tempo is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from vjgan.control.registry import ParamSpec, Registry
from vjgan.control.tempo import BEATS_PER_BAR, Tempo
from vjgan.errors import VjganError

SAFE_SCENE = "safe"
START_MODES = ("now", "beat", "bar")
DEFAULT_FADE_BEATS = 4.0
SCENE_KINDS = ("float", "int", "bool", "choice", "list")  # what a scene may hold (not triggers)


@dataclass(frozen=True)
class Scene:
    name: str
    values: Mapping[str, Any] = field(default_factory=dict)  # registry name -> value
    anchor: float | None = None  # base walk position, keyframes (None: the walk is left alone)
    fade_beats: float | None = None  # crossfade length in beats (default 4) ...
    fade_s: float | None = None  # ... or in seconds (wins when both are set)
    start: str = "beat"  # "now" | "beat" | "bar": when the crossfade begins

    def fade_length_s(self, tempo: Tempo, t_s: float) -> float:
        if self.fade_s is not None:
            return max(0.0, self.fade_s)
        beats = DEFAULT_FADE_BEATS if self.fade_beats is None else self.fade_beats
        return max(0.0, tempo.beats_to_s(beats, t_s))


def safe_scene(registry: Registry) -> Scene:
    """The panic scene: every effect off, a calm and slow picture, reached in one second."""
    values: dict[str, Any] = {"react.pulse.react": 0.1, "react.motion.react": 0.1,
                              "react.speed_fpm": 3.0, "gen.psi": 0.7}
    for spec in registry.specs():
        if spec.name.startswith("fx.") and spec.name.endswith(".strength"):
            values[spec.name] = 0.0
    return Scene(SAFE_SCENE, values, fade_s=1.0, start="now")


def capture(name: str, registry: Registry, anchor: float | None = None,
            fade_beats: float | None = None) -> Scene:
    """A scene holding every current value the registry has a scene kind for."""
    values = {s.name: registry.get(s.name) for s in registry.specs() if s.kind in SCENE_KINDS}
    return Scene(name, values, anchor=anchor, fade_beats=fade_beats)


def check_scene(scene: Scene, registry: Registry) -> Scene:
    """Validate a scene's values against the registry (coerced, clamped); VjganError names the key."""
    if scene.start not in START_MODES:
        raise VjganError(f"scene {scene.name}: start = {scene.start!r} — use one of "
                         f"{', '.join(START_MODES)}")
    values = {}
    for name, value in scene.values.items():
        spec = registry.spec(name)
        if spec.kind not in SCENE_KINDS:
            raise VjganError(f"scene {scene.name}: {name} is a {spec.kind}, not a value a scene holds")
        values[name] = registry.coerce(name, value)
    return Scene(scene.name, values, scene.anchor, scene.fade_beats, scene.fade_s, scene.start)


def _smoothstep(u: float) -> float:
    u = min(1.0, max(0.0, u))
    return u * u * (3.0 - 2.0 * u)


def interpolate(spec: ParamSpec, a: Any, b: Any, u: float) -> Any:
    """The value a fraction u of the way from a to b (b exactly at u >= 1)."""
    if u >= 1.0:
        return b
    if spec.kind in ("float", "int"):
        x = a + (b - a) * _smoothstep(u)
        return int(round(x)) if spec.kind == "int" else x
    return b if u >= 0.5 else a


class SceneFade:
    """One running crossfade: from the values at its start to the scene's."""

    def __init__(self, scene: Scene, start_values: Mapping[str, Any],
                 specs: Mapping[str, ParamSpec], t0_s: float, duration_s: float) -> None:
        self.scene = scene
        self.t0_s = t0_s
        self.duration_s = duration_s
        self._from = dict(start_values)
        self._specs = specs

    def progress(self, t_s: float) -> float:
        if self.duration_s <= 0:
            return 1.0 if t_s >= self.t0_s else 0.0
        return min(1.0, max(0.0, (t_s - self.t0_s) / self.duration_s))

    def values(self, t_s: float) -> dict[str, Any]:
        u = self.progress(t_s)
        return {n: interpolate(self._specs[n], self._from[n], v, u)
                for n, v in self.scene.values.items()}

    def release(self, name: str) -> None:
        """Stop fading `name` (a performer took it over mid-fade)."""
        self.scene = Scene(self.scene.name, {n: v for n, v in self.scene.values.items() if n != name},
                           self.scene.anchor, self.scene.fade_beats, self.scene.fade_s, self.scene.start)

    def done(self, t_s: float) -> bool:
        return self.progress(t_s) >= 1.0


class ScenePlayer:
    """Recalls scenes: waits for the start (beat/bar), then drives the registry every frame."""

    def __init__(self, registry: Registry, tempo: Tempo, scenes: Mapping[str, Scene] = ()) -> None:
        self.registry = registry
        self.tempo = tempo
        self.scenes: dict[str, Scene] = dict(scenes or {})
        self.fade: SceneFade | None = None
        self._pending: tuple[Scene, float] | None = None
        self.current: str | None = None

    def scene(self, name: str) -> Scene:
        if name == SAFE_SCENE and SAFE_SCENE not in self.scenes:
            return safe_scene(self.registry)
        found = self.scenes.get(name)
        if found is None:
            known = ", ".join(sorted({*self.scenes, SAFE_SCENE}))
            raise VjganError(f"unknown scene {name!r} — scenes: {known}")
        return found

    def recall(self, name: str, t_s: float) -> float:
        """Start recalling scene `name`; returns the time its crossfade begins."""
        scene = self.scene(name)
        if scene.start == "now":
            start = t_s
        else:
            start = self.tempo.next_beat_s(t_s, BEATS_PER_BAR if scene.start == "bar" else 1)
        self._pending = (scene, start)
        return start

    def step(self, t_s: float, reactor: Any = None) -> None:
        """Advance: begin a pending recall whose time has come, set this frame's values."""
        if self._pending is not None and t_s >= self._pending[1] - 1e-9:
            scene, _ = self._pending
            self._pending = None
            duration = scene.fade_length_s(self.tempo, t_s)
            start_values = {n: self.registry.get(n) for n in scene.values}
            specs = {n: self.registry.spec(n) for n in scene.values}
            self.fade = SceneFade(scene, start_values, specs, t_s, duration)
            self.current = scene.name
            if scene.anchor is not None and reactor is not None:
                reactor.move_base(scene.anchor, t_s, duration)
        if self.fade is None:
            return
        for name, value in self.fade.values(t_s).items():
            # a reload may have dropped an effect; unchanged values need no update
            if name in self.registry and self.registry.get(name) != value:
                self.registry.set(name, value, "scene")
        if self.fade.done(t_s):
            self.fade = None

    def taken_over(self, name: str) -> None:
        """Another source set `name`: the running fade lets go of it."""
        if self.fade is not None and name in self.fade.scene.values:
            self.fade.release(name)

    def status(self, t_s: float) -> str:
        if self._pending is not None:
            return f"{self._pending[0].name} on the next beat"
        if self.fade is not None:
            return f"→ {self.fade.scene.name} {self.fade.progress(t_s):.0%}"
        return self.current or "—"
