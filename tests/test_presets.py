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


# -- registry validation, exact messages, round trip, atomic saves, hot reload -------------------

import dataclasses  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402

from vjgan.control.build import build_control_hooks  # noqa: E402
from vjgan.control.hooks import ShowState  # noqa: E402
from vjgan.control.preset_io import atomic_write_text, clean_stale_temps  # noqa: E402
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


def test_save_keeps_the_old_file_as_bak(tmp_path):
    path = tmp_path / "p.toml"
    atomic_write_text(path, "[react]\nspeed_fpm = 1\n")
    atomic_write_text(path, "[react]\nspeed_fpm = 2\n")
    assert path.read_text() == "[react]\nspeed_fpm = 2\n"
    assert (tmp_path / "p.toml.bak").read_text() == "[react]\nspeed_fpm = 1\n"


def test_an_unwritable_folder_is_one_line(tmp_path):
    with pytest.raises(VjganError, match=r"cannot save .*missing.*p\.toml"):
        atomic_write_text(tmp_path / "missing" / "p.toml", "x = 1\n")


_KILLED_WRITER = textwrap.dedent("""
    import sys
    from vjgan.control.preset_io import atomic_write_text
    path, a, b = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()
    i = 0
    while True:
        atomic_write_text(path, a if i % 2 else b)
        if i == 0:
            print("ready", flush=True)
        i += 1
""")


def test_a_save_killed_mid_write_leaves_a_whole_file(tmp_path):
    """SIGKILL a process in the middle of saving, many times: the preset is always one of the two
    complete versions (never torn), and the temporary files the killed writers left are removed
    by the next save."""
    big = {k: "".join(f"# padding {k} {i:06d} ................................\n" for i in range(6000))
           for k in "ab"}
    versions = {k: big[k] + f"[react]\nspeed_fpm = {n}\n" for k, n in (("a", 1), ("b", 2))}
    files = {}
    for k, text in versions.items():
        files[k] = tmp_path / f"{k}.src"
        files[k].write_text(text)
    target = tmp_path / "show.toml"
    atomic_write_text(target, versions["a"])
    rng = random.Random(7)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for _ in range(25):
        child = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target), str(files["a"]),
                                  str(files["b"])], stdout=subprocess.PIPE, env=env)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.03))
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert target.read_text() in (versions["a"], versions["b"])
        assert load_preset(str(target)).react.speed_fpm in (1.0, 2.0)
    atomic_write_text(target, versions["a"])
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert clean_stale_temps(target) == []


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


def test_a_saved_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "p.toml"
    atomic_write_text(path, "[react]\n")
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o640)
    atomic_write_text(path, "[react]\nspeed_fpm = 2\n")
    assert path.stat().st_mode & 0o777 == 0o640
