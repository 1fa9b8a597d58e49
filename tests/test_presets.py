"""Presets: the shipped ones load; a bad one is refused with the file and field named."""

import pytest

from vjgan.control.presets import load_preset
from vjgan.errors import VjganError
from vjgan.resources import presets_dir


@pytest.mark.parametrize("path", sorted(presets_dir().glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_preset_loads(path):
    preset = load_preset(path.stem)
    assert preset.effects, "a shipped preset should set up an effect chain"


def test_preset_values_reach_the_reactor_and_effects():
    calm = load_preset("calm")
    assert calm.react.speed_fpm == 4 and calm.react.pulse_react == 0.2
    assert [(e.name, e.strength) for e in calm.effects] == [("contrast", 0.3), ("flash", 0.15)]


@pytest.mark.parametrize("text, needle", [
    ("[react]\npulse_reakt = 1\n", "react.pulse_reakt"),
    ("[react]\npulse_react = 'loud'\n", "react.pulse_react"),
    ("[react]\npulse_react = -1\n", "react.pulse_react"),
    ("[react]\npulse_react = nan\n", "react.pulse_react"),
    ("[react\n", "line 1"),
    ("[effects]\nchain = ['contrast', 'wobble']\n", "wobble"),
    ("[effects]\nchain = ['flash']\n[effects.flash]\namp = 'volume'\n", "effects.flash.amp"),
    ("[lights]\n", "[lights]"),
])
def test_bad_preset_names_file_and_field(tmp_path, text, needle):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(VjganError) as err:
        load_preset(str(path))
    message = str(err.value)
    assert "mine.toml" in message and needle in message and "\n" not in message


def test_unknown_preset_name_lists_the_shipped_ones():
    with pytest.raises(VjganError, match="default"):
        load_preset("no-such-preset")


# -- registry validation, exact messages, round trip, hot reload (atomic saves: test_files.py) --

import dataclasses  # noqa: E402
import time  # noqa: E402

from vjgan.control.build import build_control_hooks  # noqa: E402
from vjgan.control.hooks import ShowState  # noqa: E402
from vjgan.control.preset_watch import PresetWatcher  # noqa: E402
from vjgan.control.presets import parse_preset_text, preset_to_toml, save_preset  # noqa: E402
from vjgan.control.scenes import Scene  # noqa: E402
from vjgan.gfx.effects import EffectSpec  # noqa: E402


@pytest.mark.parametrize("text, message", [
    ("[react]\nspeed_fpm = 3\npulse_reakt = 1\n",
     "{p}:3: react.pulse_reakt is not a reaction parameter — did you mean pulse_react?"),
    ("[react]\npulse_react = 9\n", "{p}:2: react.pulse_react = 9 is outside 0..4 — use a value in range"),
    ("[react]\nsync = 'bars'\n", "{p}:2: react.sync must be one of off, beat, bar, got 'bars'"),
    ("# a comment\n[react\n", "{p}:2: Expected ']' at the end of a table declaration (at line 2, column 7)"
                              " — fix the TOML syntax"),
    ("[effects]\nchain = ['contrast', 'flahs']\n",
     "{p}:2: effects.chain names unknown effect 'flahs' — did you mean flash?"),
    ("[effects]\nchain = ['flash']\n\n[effects.flash]\nstrenght = 0.3\n",
     "{p}:5: unknown field effects.flash.strenght — did you mean strength?"),
    ("[effects]\nchain = ['flash']\n[effects.flash]\nstrength = 7\n",
     "{p}:4: effects.flash.strength = 7 is outside 0..2"),
    ("[raect]\n", "{p}:1: unknown section [raect] — did you mean [react]?"),
    ("[effects]\nchain = ['flash']\n[scenes.drop]\nfade_beats = 8\nreact.pulse.reakt = 1\n",
     "{p}:5: scenes.drop: unknown parameter 'react.pulse.reakt' — did you mean react.pulse.react?"),
    ("[scenes.drop]\n'fx.flash.strength' = 0.5\n",  # no flash in this preset's chain
     "{p}:2: scenes.drop: unknown parameter 'fx.flash.strength' — `vjgan params` lists the names"),
    ("[scenes.drop]\n\"react.pulse.react\" = 7\n",
     "{p}:2: scenes.drop: react.pulse.react = 7 is outside 0..4 — use a value in range"),
    ("[scenes.drop]\nstart = 'never'\n", "{p}:2: scenes.drop.start = 'never' — use one of now, beat, bar"),
])
def test_bad_files_get_exact_one_line_messages(tmp_path, text, message):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(VjganError) as err:
        load_preset(str(path))
    assert str(err.value) == "preset " + message.format(p=path)


def _rich_preset():
    base = load_preset("shuffle")
    scene = Scene("drop", {"react.pulse.react": 1.5, "fx.flash.strength": 0.9, "react.sync": "beat",
                           "react.classes": (4, 2, 9)}, anchor=12.5, fade_beats=8.0)
    calm = Scene("calm", {"gen.psi": 0.6}, fade_s=3.0, start="now")
    return dataclasses.replace(base, scenes=(scene, calm))


def test_round_trip_keeps_everything(tmp_path):
    preset = _rich_preset()
    path = save_preset(preset, tmp_path / "shuffle.toml")
    again = load_preset(str(path))
    assert again == preset
    assert preset_to_toml(again) == path.read_text(encoding="utf-8")


def test_listed_shuffle_times_survive_a_round_trip(tmp_path):
    preset = parse_preset_text("[react]\nclass_shuffle_seconds = [4.0, 8.5]\n", tmp_path / "t.toml")
    path = save_preset(preset, tmp_path / "t.toml")
    assert load_preset(str(path)).react.class_shuffle_seconds == (4.0, 8.5)


class _Engine:
    def __init__(self, react):
        self.params = react

    def set_params(self, params):
        self.params = params


class _Chain:
    def __init__(self, names):
        self.specs = [EffectSpec(n) for n in names]


def _wait_for(condition, frame, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        frame()
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_hot_reload_applies_good_edits_and_keeps_the_last_good_preset_on_a_broken_one(tmp_path):
    path = tmp_path / "live.toml"
    path.write_text("[react]\npulse_react = 0.5\n[effects]\nchain = ['flash']\n")
    preset = load_preset(str(path))
    registry = preset.registry()
    watcher = PresetWatcher(path, registry, current=preset, poll_s=0.02)
    state = ShowState(_Engine(preset.react), _Chain(["flash"]), lambda m: None)
    frame = lambda: watcher.before_frame(0.0, state)  # noqa: E731
    try:
        path.write_text("[react]\npulse_react = 1.25\n[effects]\nchain = ['flash']\n"
                        "[effects.flash]\nstrength = 0.8\n")
        assert _wait_for(lambda: registry.get("react.pulse.react") == 1.25, frame)
        assert registry.get("fx.flash.strength") == 0.8
        path.write_text("[react]\npulse_react = 1.5\npulse_reakt = 2\n")
        assert _wait_for(lambda: state.errors, frame)
        assert state.errors == [f"preset {path}:3: react.pulse_reakt is not a reaction parameter — "
                                "did you mean pulse_react? — keeping the last good preset"]
        assert registry.get("react.pulse.react") == 1.25
        assert watcher.status()["Preset"].endswith("reload failed (last good kept)")
        path.write_text("[react]\npulse_react = 1.5\n[effects]\nchain = ['flash']\n")
        assert _wait_for(lambda: registry.get("react.pulse.react") == 1.5, frame)
        assert len(state.errors) == 1
    finally:
        watcher.close()


def test_capture_a_scene_and_save_the_show(tmp_path):
    path = tmp_path / "mine.toml"
    save_preset(load_preset("default"), path)
    control = build_control_hooks(load_preset(str(path)), str(path), osc=False, reload_preset=False)
    control.registry.set("react.pulse.react", 1.75, "midi")
    control.registry.set("fx.flash.strength", 0.05, "midi")
    control.capture_scene("encore")
    control.registry.set("react.pulse.react", 0.25, "midi")
    control.save_preset()
    saved = load_preset(str(path))
    assert saved.react.pulse_react == 0.25
    assert [e.strength for e in saved.effects if e.name == "flash"] == [0.05]
    scenes = {s.name: s for s in saved.scenes}
    assert set(scenes) == {"calm", "peak", "encore"}  # the preset's own scenes stay
    assert scenes["encore"].values["react.pulse.react"] == 1.75
    assert scenes["encore"].values["fx.flash.strength"] == 0.05
    assert "scene.encore" in control.registry
    assert (tmp_path / "mine.toml.bak").is_file()

