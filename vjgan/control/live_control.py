"""The live control hook: registry targets -> smoothed values -> engine and effect chain, per frame.

Every source (OSC, MIDI, presets, scenes, keys) sets targets in the registry; this hook, run once per
frame by the live loop, smooths each number with its own time constant in seconds, pushes changed
reaction parameters into `engine.set_params` and strengths into `chain.set_strength`, fires the
triggers (actions and scene recalls), runs scene crossfades and keeps the show's tempo.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Mapping

from vjgan.control.hooks import ShowState
from vjgan.control.registry import NAME_TO_FIELD, Registry
from vjgan.control.scenes import SAFE_SCENE, ScenePlayer
from vjgan.control.smoothing import Smoother
from vjgan.control.tempo import Tempo
from vjgan.errors import VjganError
from vjgan.react.params import ReactParams

SMOOTH_KINDS = ("float",)
EVENT_LIMIT = 10_000  # events queued between two frames before the oldest are dropped


class ControlHook:
    """LiveHook applying the registry to the running show."""

    name = "control"

    def __init__(self, registry: Registry, tempo: Tempo | None = None,
                 scenes: ScenePlayer | None = None) -> None:
        self.registry = registry
        self.tempo = tempo or Tempo()
        self.scenes = scenes or ScenePlayer(registry, self.tempo)
        self._events: deque[tuple[str, Any, str]] = deque(maxlen=EVENT_LIMIT)
        self._unsubscribe = registry.subscribe(lambda n, v, s: self._events.append((n, v, s)))
        self._smoothers: dict[str, Smoother] = {}
        self._applied: dict[str, Any] = {}
        self._dirty: set[str] = set()
        self._last_t_s: float | None = None
        self._t_s = 0.0
        self._beat_count = 0
        self._state: ShowState | None = None
        self.frames = 0

    # -- the hook ----------------------------------------------------------------------------
    def before_frame(self, t_s: float, state: ShowState) -> None:
        if self._state is None:
            self._start(state)
        dt_s = 0.0 if self._last_t_s is None else max(0.0, t_s - self._last_t_s)
        self._last_t_s = self._t_s = t_s
        self._follow_audio_tempo(t_s, state.engine)
        self._drain(t_s, state)
        self.scenes.step(t_s, getattr(state.engine, "reactor", None))
        self._drain(t_s, state)
        self._apply(dt_s, state)
        self.frames += 1

    def status(self) -> Mapping[str, str]:
        return {"Tempo": self.tempo.status(self._t_s), "Scene": self.scenes.status(self._t_s)}

    def close(self) -> None:
        self._unsubscribe()

    # -- what the hook offers other inputs -------------------------------------------------
    @property
    def t_s(self) -> float:
        """The time of the frame being prepared (or the last one)."""
        return self._t_s

    def applied(self, name: str) -> Any:
        """The value in effect now (after smoothing), as the engine sees it."""
        s = self._smoothers.get(name)
        return s.value if s is not None else self._applied.get(name, self.registry.get(name))

    # -- internals ---------------------------------------------------------------------------
    def _start(self, state: ShowState) -> None:
        self._state = state
        state.actions.setdefault("tap", lambda: self.tempo.tap(self._t_s))
        state.actions.setdefault("safe_scene", lambda: self.scenes.recall(SAFE_SCENE, self._t_s))
        state.actions.setdefault("flash", lambda: self._flash(state))
        strengths = state.chain.strengths() if hasattr(state.chain, "strengths") else {}
        params = getattr(state.engine, "params", None)
        for spec in self.registry.specs():
            # start from what the engine runs now, so a change made before the first frame applies
            now = self.registry.get(spec.name)
            if spec.name in NAME_TO_FIELD and params is not None:
                now = getattr(params, NAME_TO_FIELD[spec.name], now)
            elif spec.name.startswith("fx.") and spec.name.endswith(".strength"):
                effect = spec.name[len("fx."):-len(".strength")]
                if effect in strengths:
                    now = strengths[effect]
                else:
                    self._dirty.add(spec.name)  # unknown: set it once
            if spec.kind in SMOOTH_KINDS:
                if isinstance(now, bool) or not isinstance(now, (int, float)):
                    now = self.registry.get(spec.name)  # e.g. listed shuffle times: not a number
                span = (spec.max - spec.min) if spec.max is not None and spec.min is not None else 1.0
                self._smoothers[spec.name] = Smoother(now, spec.smoothing_s, snap=1e-5 * max(span, 1e-9))
                if self.registry.get(spec.name) != now:
                    self._smoothers[spec.name].set_target(self.registry.get(spec.name))
            elif spec.kind != "trigger":
                self._applied[spec.name] = now

    def _flash(self, state: ShowState) -> None:
        state.engine.flash()

    def _follow_audio_tempo(self, t_s: float, engine: Any) -> None:
        reactor = getattr(engine, "reactor", None)
        bpm = getattr(reactor, "bpm", 0.0)
        count = getattr(reactor, "beat_count", 0)
        if bpm and bpm > 0:
            beat = count != self._beat_count
            self.tempo.update("audio", bpm, t_s, beat_t_s=t_s if beat else None)
        self._beat_count = count

    def _drain(self, t_s: float, state: ShowState) -> None:
        while self._events:
            name, value, source = self._events.popleft()
            if name.startswith("action."):
                state.act(name[len("action."):])
            elif name.startswith("scene."):
                try:
                    self.scenes.recall(name[len("scene."):], t_s)
                except VjganError as exc:
                    state.report(str(exc))
            else:
                if source != "scene":
                    self.scenes.taken_over(name)
                smoother = self._smoothers.get(name)
                if smoother is None:
                    if name not in self._applied and name not in self.registry:
                        continue
                    self._applied[name] = value
                    self._dirty.add(name)
                elif source == "scene":
                    smoother.jump(value)  # the crossfade is the smoothing
                    self._dirty.add(name)
                else:
                    smoother.set_target(value)

    def _apply(self, dt_s: float, state: ShowState) -> None:
        dirty = self._dirty
        for name, smoother in self._smoothers.items():
            if not smoother.settled:
                smoother.step(dt_s)
                dirty.add(name)
        if not dirty:
            return
        react: dict[str, Any] = {}
        for name in sorted(dirty):
            value = self.applied(name)
            if name in NAME_TO_FIELD:
                react[NAME_TO_FIELD[name]] = value
            elif name.startswith("fx.") and name.endswith(".strength"):
                effect = name[len("fx."):-len(".strength")]
                try:
                    state.chain.set_strength(effect, float(value))
                except VjganError as exc:
                    state.report(str(exc))
        dirty.clear()
        if react:
            self._set_react(react, state)

    @staticmethod
    def _set_react(react: dict[str, Any], state: ShowState) -> None:
        engine = state.engine
        old = engine.params
        try:
            engine.set_params(ReactParams.from_values(react, base=old))
            reactor = getattr(engine, "reactor", None)
            if reactor is not None and "classes" in react:
                reactor.slot_classes  # noqa: B018 - checks the class ids against the model now
        except VjganError as exc:  # keep the last good parameters live
            engine.set_params(old)
            state.report(f"control: {exc}")
