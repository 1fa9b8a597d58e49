"""Assembling the show's control: registry, tempo, scenes, OSC, preset hot reload.

    control = build_control_hooks(preset, opts.show.preset, osc_port=args.osc_port, ...)
    run_live(opts, hooks=control.hooks(midi_hook))   # inputs first, the control hook last

Order matters: input hooks (OSC, MIDI, preset reload) set registry targets; the control hook, last,
smooths them and applies them to the engine in the same frame.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from vjgan.control.live_control import ControlHook
from vjgan.control.osc import OscHook
from vjgan.control.osc_server import DEFAULT_PORT, OscConfig
from vjgan.control.preset_io import find_line
from vjgan.control.preset_watch import PresetWatcher
from vjgan.control.presets import Preset, resolve_preset, save_preset
from vjgan.control.registry import FIELD_TO_NAME, Registry, scene_spec
from vjgan.control.scenes import Scene, ScenePlayer, capture
from vjgan.control.tempo import Tempo
from vjgan.errors import VjganError
from vjgan.react.params import ReactParams

SCENE_SAVE_ADDRESS = "/vjgan/scene/save"
_OSC_KEYS = ("port", "bind", "allow", "feedback")


@dataclass
class ControlSet:
    registry: Registry
    tempo: Tempo
    scenes: ScenePlayer
    control: ControlHook
    preset: Preset
    preset_path: Path | None = None
    inputs: list[Any] = field(default_factory=list)  # OSC hook, preset watcher

    def hooks(self, *more_inputs: Any) -> list[Any]:
        """Every hook in frame order: inputs (these, then `more_inputs`, e.g. MIDI), control last."""
        return [*self.inputs, *[h for h in more_inputs if h is not None], self.control]

    @property
    def osc(self) -> OscHook | None:
        return next((h for h in self.inputs if isinstance(h, OscHook)), None)

    def capture_scene(self, name: str, engine: Any = None, t_s: float = 0.0) -> Scene:
        """Store the show as it is now as scene `name` (values, and the latent anchor when the
        engine is given); it becomes a trigger `scene.NAME` at once."""
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise VjganError(f"scene name {name!r}: use letters, digits, - and _")
        reactor = getattr(engine, "reactor", None)
        anchor = reactor.base_position(t_s) if reactor is not None else None
        scene = capture(name, self.registry, anchor=anchor)
        self.scenes.scenes[name] = scene
        if f"scene.{name}" not in self.registry:
            self.registry.add(scene_spec(name))
        return scene

    @property
    def base_preset(self) -> Preset:
        """The preset the show runs on: the last one the file watcher loaded, else the first."""
        watcher = next((h for h in self.inputs if isinstance(h, PresetWatcher)), None)
        return watcher.current if watcher is not None and watcher.current is not None else self.preset

    def current_preset(self) -> Preset:
        """The preset as the show is now: current targets, effect strengths, scenes."""
        base = self.base_preset
        values = self.registry.values()
        react = {f: values[n] for f, n in FIELD_TO_NAME.items() if n in values}
        if isinstance(base.react.class_shuffle_seconds, tuple) and react.get(
                "class_shuffle_seconds") == 0.0:
            react.pop("class_shuffle_seconds")  # listed times were never touched live: keep them
        effects = tuple(dataclasses.replace(e, strength=float(values.get(f"fx.{e.name}.strength", e.strength)))
                        for e in base.effects)
        scenes = tuple(self.scenes.scenes.values())
        return Preset(base.name, ReactParams.from_values(react, base=base.react), effects, scenes)

    def save_preset(self, path: str | Path | None = None) -> Path:
        """Save the show as it is now, atomically, to `path` or the preset's own file."""
        target = Path(path) if path is not None else self.preset_path
        if target is None:
            raise VjganError("this show's preset has no file — give a path to save it to")
        preset = self.current_preset()
        saved = save_preset(preset, target)
        self.preset = preset
        return saved

    def close(self) -> None:
        for h in [*self.inputs, self.control]:
            h.close()


def load_osc_config(path: str | Path) -> dict[str, Any]:
    """An OSC settings file: `[osc]` with port, bind, allow = [...], feedback = ["host:port"]."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise VjganError(f"cannot read OSC settings {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise VjganError(f"OSC settings {path}: {exc} — fix the TOML syntax") from None
    section = data.get("osc")
    if not isinstance(section, dict) or set(data) != {"osc"}:
        raise VjganError(f"OSC settings {path}: put the settings in one [osc] table")
    for key, value in section.items():
        line = find_line(text, ("osc", key))
        where = f"{path}:{line}" if line else str(path)
        if key not in _OSC_KEYS:
            raise VjganError(f"OSC settings {where}: unknown field osc.{key} — use {', '.join(_OSC_KEYS)}")
        ok = {"port": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 65536,
              "bind": lambda v: isinstance(v, str),
              "allow": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
              "feedback": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)}[key]
        if not ok(value):
            raise VjganError(f"OSC settings {where}: osc.{key} = {value!r} is not valid — port is a "
                             "number, bind a string, allow and feedback lists of strings")
    return section


def parse_host_port(text: str, flag: str = "--osc-feedback") -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise VjganError(f"{flag} {text!r}: use HOST:PORT, e.g. 192.168.1.23:9000")
    return host.strip("[]"), int(port)


def build_control_hooks(preset: Preset, preset_source: str | Path | None = None, *,
                        osc_port: int | None = None, osc_bind: str | None = None,
                        osc_allow: Sequence[str] = (), osc_feedback: Sequence[str] = (),
                        osc_config: str | Path | None = None, osc: bool = True,
                        reload_preset: bool = True,
                        log: Callable[[str], None] | None = None) -> ControlSet:
    """The show's control. `preset_source` is what --preset named (to watch and save the file).
    OSC listens unless `osc` is False; when no port was asked for and the default one is busy,
    it says so through `log` and the show goes on without OSC."""
    registry = preset.registry()
    tempo = Tempo()
    scenes = ScenePlayer(registry, tempo, {s.name: s for s in preset.scenes})
    control = ControlHook(registry, tempo, scenes)
    path = resolve_preset(preset_source) if preset_source is not None else None
    cs = ControlSet(registry, tempo, scenes, control, preset, path)
    if osc:
        settings = load_osc_config(osc_config) if osc_config is not None else {}
        asked = osc_port is not None or "port" in settings
        config = OscConfig(
            port=osc_port if osc_port is not None else settings.get("port", DEFAULT_PORT),
            bind=osc_bind or settings.get("bind", "127.0.0.1"),
            allow=tuple(osc_allow) + tuple(settings.get("allow", ())),
            feedback=tuple(parse_host_port(f) for f in [*osc_feedback, *settings.get("feedback", ())]))
        commands = {SCENE_SAVE_ADDRESS: lambda args, state: _save_scene(cs, args, state)}
        try:
            cs.inputs.append(OscHook(registry, config, commands))
        except VjganError as exc:
            if asked or "cannot listen" not in str(exc):
                raise
            if log is not None:
                log(f"vjgan: OSC off — {exc}")
    if reload_preset and path is not None:
        cs.inputs.append(PresetWatcher(path, registry, scenes, current=preset))
    return cs


def _save_scene(cs: ControlSet, args: list[Any], state: Any) -> None:
    """/vjgan/scene/save NAME: capture the show as scene NAME and save the preset file."""
    if not args or not isinstance(args[0], str):
        raise VjganError("send the scene's name: /vjgan/scene/save NAME")
    cs.capture_scene(args[0], state.engine, cs.control.t_s)
    if cs.preset_path is not None:
        saved = cs.save_preset()
        state.log(f"vjgan: scene {args[0]!r} saved in {saved}")
