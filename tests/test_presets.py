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
