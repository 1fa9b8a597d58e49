"""Scenes crossfade parameters and the latent, and the control hook applies it all per frame."""

import numpy as np
import pytest

from vjgan.control.hooks import ShowState
from vjgan.control.live_control import ControlHook
from vjgan.control.registry import build_registry
from vjgan.control.scenes import Scene, ScenePlayer
from vjgan.control.tempo import Tempo
from vjgan.errors import VjganError
from vjgan.gfx.effects import EffectSpec
from vjgan.react.reactor import LatentReactor

FPS = 30.0


class FakeEngine:
    """What the hook touches of the engine: params, set_params and the reactor."""

    def __init__(self, c_dim=0):
        self.reactor = LatentReactor(16, c_dim, seed=3)
        self.sets = 0

    @property
    def params(self):
        return self.reactor.params

    def set_params(self, params):
        self.reactor.params = params
        self.sets += 1


class FakeChain:
    def __init__(self, names=("contrast", "flash")):
        self.specs = [EffectSpec(n) for n in names]
        self.strength = {n: 0.5 for n in names}

    def set_strength(self, name, value):
        if name not in self.strength:
            raise VjganError(f"effect {name!r} is not in the chain")
        self.strength[name] = value

    def strengths(self):
        return dict(self.strength)


class Show:
    """A registry, tempo, scene player and control hook driven frame by frame at FPS."""

    def __init__(self, scenes=(), c_dim=0):
        self.registry = build_registry([("contrast", 0.5), ("flash", 0.5)], [s.name for s in scenes])
        self.tempo = Tempo()
        self.player = ScenePlayer(self.registry, self.tempo, {s.name: s for s in scenes})
        self.hook = ControlHook(self.registry, self.tempo, self.player)
        self.engine, self.chain = FakeEngine(c_dim), FakeChain()
        self.log = []
        self.state = ShowState(self.engine, self.chain, self.log.append)
        self.frame = 0

    @property
    def t_s(self):
        return self.frame / FPS

    def run_until(self, t_s):
        while self.t_s <= t_s + 1e-9:
            self.hook.before_frame(self.t_s, self.state)
            self.engine.reactor.step([], self.t_s, 1.0 / FPS)
            self.frame += 1


DROP = Scene("drop", {"react.pulse.react": 2.5, "fx.flash.strength": 1.0, "react.sync": "bar"},
             fade_s=2.0, start="now")


def test_crossfade_passes_halfway_at_the_midpoint_and_ends_exactly_on_the_scene():
    show = Show([DROP])
    show.run_until(1.0)
    show.registry.set("scene.drop", 1, "osc:10.0.0.2:9000")  # recalled at t = 1.0 (next frame)
    show.run_until(1.0 + 1 / FPS)
    start = show.t_s - 1 / FPS
    show.run_until(start + 0.9)
    assert show.engine.params.sync == "off"  # switches change at the midpoint
    show.run_until(start + 1.0)
    p = show.engine.params
    assert 0.5 < p.pulse_react < 2.5 and p.pulse_react == pytest.approx(1.5, abs=0.01)
    assert 0.5 < show.chain.strength["flash"] < 1.0
    show.run_until(start + 1.1)
    assert show.engine.params.sync == "bar"
    show.run_until(start + 2.0 + 1 / FPS)
    assert show.engine.params.pulse_react == 2.5  # exactly, not 2.4999
    assert show.chain.strength["flash"] == 1.0
    assert show.hook.status()["Scene"] == "drop"


def test_a_recall_waits_for_the_next_beat_and_fades_over_beats():
    show = Show([Scene("drop", {"react.pulse.react": 2.5}, fade_beats=2, start="beat")])
    show.tempo.update("midi", 120.0, 0.0, beat_t_s=0.0)  # beats at 0, 0.5, 1.0, ...
    show.run_until(0.1)
    show.registry.set("scene.drop", 1, "midi")
    show.run_until(0.45)
    assert show.engine.params.pulse_react == 0.5 and "next beat" in show.hook.status()["Scene"]
    show.run_until(1.0)  # 2 beats = 1 s from the beat at 0.5
    assert 0.5 < show.engine.params.pulse_react < 2.5
    show.tempo.update("midi", 120.0, 1.0)  # keep the clock alive
    show.run_until(1.55)
    assert show.engine.params.pulse_react == 2.5


def test_the_latent_slerps_to_the_scene_anchor_and_walks_on_from_there():
    show = Show([Scene("far", {}, anchor=40.25, fade_s=1.0, start="now")])
    reactor = show.engine.reactor
    show.run_until(1.0)
    before = reactor.base(1.0).copy()
    show.registry.set("scene.far", 1, "osc:10.0.0.2:9000")
    show.run_until(1.0 + 1 / FPS)
    t0 = show.t_s - 1 / FPS
    reference = LatentReactor(16, 0, seed=3)  # the same walk, put at the anchor with no fade
    reference.move_base(40.25, t0)
    target_mid = reference.base(t0 + 0.5)
    mid = reactor.base(t0 + 0.5)
    assert 0.05 < np.linalg.norm(mid - before) < np.linalg.norm(target_mid - before)
    assert np.linalg.norm(mid - target_mid) > 0.05  # really in between
    show.run_until(t0 + 1.5)
    assert np.array_equal(reactor.base(t0 + 1.5), reference.base(t0 + 1.5))


def test_a_speed_change_moves_on_from_where_the_walk_is():
    reactor = LatentReactor(16, 0, seed=1)
    reactor.step([], 100.0, 0.0)
    before = reactor.base(100.0)
    reactor.params = reactor.params.__class__(speed_fpm=30.0)
    reactor.step([], 100.0, 0.0)
    # the walk carries on from the same place (old rule: t x speed / 60 would jump 25 keyframes)
    assert np.allclose(reactor.base(100.0), before)
    assert reactor.base_position(102.0) == pytest.approx(100.0 * 12 / 60 + 2.0 * 30 / 60)


def test_a_performer_who_takes_over_a_parameter_keeps_it_during_a_fade():
    show = Show([DROP])
    show.registry.set("scene.drop", 1, "osc")
    show.run_until(0.5)
    show.registry.set("react.pulse.react", 0.2, "midi")
    show.run_until(3.0)
    assert show.engine.params.pulse_react == 0.2
    assert show.chain.strength["flash"] == 1.0  # the rest of the scene still arrived


def test_safe_scene_turns_effects_off_and_calms_the_picture():
    show = Show()
    show.run_until(0.1)
    assert show.state.act("safe_scene")
    show.run_until(1.3)
    assert show.chain.strength == {"contrast": 0.0, "flash": 0.0}
    assert show.engine.params.pulse_react == 0.1 and show.engine.params.psi == 0.7


def test_knob_changes_are_smoothed_in_seconds_and_then_stop_touching_the_engine():
    show = Show()
    show.run_until(0.1)
    show.registry.set("react.pulse.react", 2.5, "midi")  # time constant 0.1 s
    show.run_until(0.1 + 1 / FPS)
    first = show.engine.params.pulse_react
    assert 0.5 < first < 2.5
    show.run_until(0.2)  # three frames = 0.1 s after the move: 63 % of the way
    assert show.engine.params.pulse_react == pytest.approx(0.5 + 2.0 * (1 - np.exp(-1)), abs=1e-6)
    show.run_until(3.0)
    assert show.engine.params.pulse_react == 2.5
    sets = show.engine.sets
    show.run_until(4.0)
    assert show.engine.sets == sets  # settled: no more work per frame


def test_switches_and_selectors_apply_on_the_next_frame():
    show = Show()
    show.registry.set("react.sync", "beat", "osc")
    show.registry.set("react.pulse.harmonic", True, "osc")
    show.run_until(0.0)
    assert show.engine.params.sync == "beat" and show.engine.params.pulse_harmonic is True


def test_tap_action_sets_the_tempo():
    show = Show()
    for k in range(4):
        show.run_until(k * 0.5)
        show.state.act("tap")
    assert show.tempo.bpm(show.t_s) == pytest.approx(120.0, abs=1.0)
    assert show.hook.status()["Tempo"].endswith("(tap)")


def test_a_class_id_the_model_lacks_is_reported_and_the_last_good_value_stays():
    show = Show(c_dim=10)
    show.run_until(0.0)
    show.registry.set("react.classes", [2, 50], "osc")
    show.run_until(0.1)
    assert show.engine.params.classes is None
    assert any("50" in line and "classes" in line for line in show.state.errors)


def test_an_unknown_scene_is_reported_not_raised():
    show = Show()
    show.registry.add(show.registry.spec("action.tap").__class__("scene.gone", "trigger", 0))
    show.registry.set("scene.gone", 1, "osc")
    show.run_until(0.0)
    assert any("unknown scene 'gone'" in e for e in show.state.errors)


def test_in_a_real_live_show_a_scene_reaches_the_engine_and_the_effect_chain(tmp_path):
    """run_live with the show's control hooks: a scene recalled at 0.2 s is fully on the engine and
    the effect chain 0.5 s after its first frame, and the safe scene action (panic) works in the
    same loop."""
    import soundfile as sf

    from vjgan.clock import FrameClock
    from vjgan.control.build import build_control_hooks
    from vjgan.control.presets import load_preset
    from vjgan.live import LiveOptions, run_live
    from vjgan.pipeline import ShowOptions

    rate = 48000
    t = np.arange(int(rate * 2.4)) / rate
    song = tmp_path / "song.wav"
    sf.write(song, (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    preset_path = tmp_path / "show.toml"
    preset_path.write_text("[effects]\nchain = ['contrast', 'flash']\n[scenes.hit]\nfade_s = 0.5\n"
                           "start = 'now'\nreact.pulse.react = 2.0\nfx.flash.strength = 1.0\n")
    control = build_control_hooks(load_preset(str(preset_path)), str(preset_path), osc=False)
    seen = {}

    class Recorder:
        name = "recorder"

        def before_frame(self, t_s, state):
            seen[round(t_s, 2)] = (state.engine.params.pulse_react, state.chain.strengths()["flash"])
            if round(t_s, 2) == 0.2:
                control.registry.set("scene.hit", 1, "test")
            if round(t_s, 2) == 0.9:
                state.act("safe_scene")

        def status(self):
            return {}

        def close(self):
            pass

    show = ShowOptions(size=64, fps=10, preset=str(preset_path))
    run_live(LiveOptions(show=show, audio_file=song, headless=True), clock=FrameClock(show.fps),
             hooks=control.hooks(Recorder()), log=lambda m: None)
    assert seen[0.2] == (0.5, 0.5)
    assert 0.5 < seen[0.5][0] < 2.0 and 0.5 < seen[0.5][1] < 1.0
    assert seen[0.9] == (2.0, 1.0)  # the fade ran 0.3 .. 0.8 s
    assert seen[2.1] == (0.1, 0.0)  # the safe scene: 1.0 .. 2.0 s


def test_a_change_made_before_the_first_frame_still_reaches_the_engine():
    show = Show()
    show.registry.set("react.pulse.react", 1.5, "osc")
    show.registry.set("fx.contrast.strength", 0.0, "osc")
    show.run_until(2.0)
    assert show.engine.params.pulse_react == 1.5 and show.chain.strength["contrast"] == 0.0
