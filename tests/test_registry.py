"""The parameter registry: one table for every input, checked values, feedback, the README table."""

import math

import pytest

from vjgan.control.hooks import ACTIONS
from vjgan.control.params_table import (generic_registry, params_markdown, params_text,
                                        readme_block, readme_table)
from vjgan.control.presets import load_preset
from vjgan.control.registry import (FIELD_TO_NAME, ControlError, ParamSpec, Registry,
                                    build_registry)
from vjgan.control.smoothing import Smoother
from vjgan.react.params import ReactParams
from vjgan.resources import PROJECT_ROOT


@pytest.fixture
def reg():
    return build_registry([("contrast", 0.5), ("flash", 0.3)], ["drop"])


def test_every_reaction_parameter_psi_effect_action_and_scene_has_a_name(reg):
    names = set(reg.names())
    assert set(FIELD_TO_NAME) == set(ReactParams.field_names())
    assert {FIELD_TO_NAME[f] for f in ReactParams.field_names()} <= names
    assert FIELD_TO_NAME["pulse_react"] == "react.pulse.react" and FIELD_TO_NAME["psi"] == "gen.psi"
    assert {"fx.contrast.strength", "fx.flash.strength", "scene.drop"} <= names
    assert {f"action.{a}" for a in ACTIONS} <= names
    assert reg.get("fx.flash.strength") == 0.3  # the chain's strength is the starting value
    defaults = ReactParams()
    assert reg.get("react.pulse.react") == defaults.pulse_react
    assert reg.get("react.sync") == "off" and reg.spec("react.sync").choices == ("off", "beat", "bar")


def test_set_clamps_to_the_range_and_returns_what_it_applied(reg):
    assert reg.set("react.pulse.react", 9.0, "test") == 4.0
    assert reg.get("react.pulse.react") == 4.0
    assert reg.set("react.pulse.react", -3, "test") == 0.0
    assert reg.set("react.pulse.percussive", 0.0, "test") is False
    assert reg.set("react.sync", "bar", "test") == "bar"
    assert reg.set("react.sync", 1, "test") == "beat"  # an index works for a selector
    assert reg.set("react.classes", [3, 1.0, 7], "test") == (3, 1, 7)


@pytest.mark.parametrize("name, value, reason", [
    ("gen.psi", math.nan, "nonfinite"),
    ("gen.psi", math.inf, "nonfinite"),
    ("gen.psi", "loud", "type"),
    ("gen.psi", True, "type"),
    ("react.sync", "sometimes", "type"),
    ("react.classes", [1, -2], "type"),
    ("react.pulse.percussive", "maybe", "type"),
])
def test_bad_values_are_refused_and_leave_the_old_value(reg, name, value, reason):
    before = reg.get(name)
    with pytest.raises(ControlError) as err:
        reg.set(name, value, "test")
    assert err.value.reason == reason and name in str(err.value) and "\n" not in str(err.value)
    assert reg.get(name) == before


def test_unknown_names_get_a_did_you_mean(reg):
    with pytest.raises(ControlError, match=r"did you mean react\.pulse\.react\?"):
        reg.get("react.pulse.reakt")
    with pytest.raises(ControlError, match="vjgan params"):
        reg.set("zzz", 1, "test")


def test_normalized_values_span_the_range(reg):
    reg.set_normalized("react.speed_fpm", 0.25, "midi")
    assert reg.get("react.speed_fpm") == pytest.approx(30.0)
    assert reg.get_normalized("react.speed_fpm") == pytest.approx(0.25)
    reg.set_normalized("react.sync", 1.0, "midi")
    assert reg.get("react.sync") == "bar" and reg.get_normalized("react.sync") == 1.0
    reg.set_normalized("react.pulse.harmonic", 0.7, "midi")
    assert reg.get("react.pulse.harmonic") is True
    with pytest.raises(ControlError):
        reg.set_normalized("gen.psi", math.nan, "midi")
    with pytest.raises(ControlError, match="list"):
        reg.get_normalized("react.classes")


def test_subscribers_hear_every_change_with_its_source_until_they_unsubscribe(reg):
    heard = []
    unsubscribe = reg.subscribe(lambda n, v, s: heard.append((n, v, s)))
    reg.set("gen.psi", 0.5, "midi")
    reg.set("action.blackout", 1, "osc:1.2.3.4:9")
    reg.set("action.blackout", 0, "osc:1.2.3.4:9")  # a button's release fires nothing
    unsubscribe()
    reg.set("gen.psi", 0.7, "midi")
    assert heard == [("gen.psi", 0.5, "midi"), ("action.blackout", 1, "osc:1.2.3.4:9")]


def test_a_broken_subscriber_does_not_stop_the_others(reg):
    heard = []
    reg.subscribe(lambda n, v, s: 1 / 0)
    reg.subscribe(lambda n, v, s: heard.append(n))
    reg.set("gen.psi", 0.5, "midi")
    assert heard == ["gen.psi"] and reg.subscriber_errors == 1


def test_set_many_applies_nothing_when_one_value_is_bad(reg):
    with pytest.raises(ControlError):
        reg.set_many({"gen.psi": 0.3, "react.sync": "never"}, "preset")
    assert reg.get("gen.psi") == 1.0


def test_unknown_kind_is_refused():
    with pytest.raises(Exception, match="kind"):
        Registry([ParamSpec("x", "vector", 0)])


def test_smoothing_is_in_seconds_not_frames():
    """The same knob move looks the same at 30 and 240 fps, and lands exactly on the target."""
    def after(fps, seconds):
        s = Smoother(0.0, 0.1)
        s.set_target(1.0)
        for _ in range(round(seconds * fps)):
            s.step(1.0 / fps)
        return s.value

    assert after(30, 0.1) == pytest.approx(1 - math.exp(-1), abs=1e-9)
    assert after(240, 0.1) == pytest.approx(after(30, 0.1), abs=1e-9)
    assert after(60, 3.0) == 1.0  # settled exactly, not 0.99999


def test_params_text_lists_every_parameter_with_range_and_unit():
    reg = load_preset("default").registry()
    text = params_text(reg)
    for spec in reg.specs():
        assert spec.name in text
    line = next(ln for ln in text.splitlines() if ln.startswith("react.speed_fpm "))
    assert "0 … 120" in line and "fpm" in line and "0.5 s" in line


def test_markdown_table_has_one_row_per_parameter():
    reg = generic_registry()
    rows = [ln for ln in params_markdown(reg).splitlines() if ln.startswith("| `")]
    assert len(rows) == len(reg.specs())
    assert any("`fx.EFFECT.strength`" in r for r in rows)


def test_readme_parameter_table_is_current():
    """README.md's table between the params markers is what the registry generates: regenerate
    it with `python -c "from vjgan.control.params_table import readme_block; print(readme_block())"`."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    current = readme_table(readme)
    assert current is not None, "README.md has no <!-- params:start --> / <!-- params:end --> block"
    assert current == readme_block(), "README.md's parameter table is stale — regenerate it"
