"""MIDI with in-memory mido ports: bindings, encoders, curves, learn, soft takeover, feedback,
reconnect, flood bounding, clock -> BPM and notes as a music source."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import mido
import pytest
from midi_memory import MemoryBackend, Show, cc, note

from vjgan.control.midi import build_midi_hook
from vjgan.control.midi_clock import ClockFollower
from vjgan.control.midi_map import load_map, parse_map
from vjgan.control.midi_notes import NoteInput
from vjgan.control.midi_save import save_map
from vjgan.control.midi_values import shape
from vjgan.control.registry import build_registry
from vjgan.errors import VjganError


def test_absolute_cc_follows_curve_and_sub_range(tmp_path):
    show = Show(tmp_path, """
        [[bind]]
        cc = 0
        param = "react.pulse.react"
        max = 2.0
        [[bind]]
        cc = 1
        param = "react.motion.react"
        curve = "exp"
        [[bind]]
        cc = 2
        param = "gen.psi"
        min = 1.5
        max = 0.5
        """, controller="pickup = false")
    show.send(cc(0, 127), cc(1, 127), cc(2, 127))
    assert show.registry.get("react.pulse.react") == pytest.approx(2.0)
    assert show.registry.get("react.motion.react") == pytest.approx(4.0)
    assert show.registry.get("gen.psi") == pytest.approx(0.5)  # min > max: the control is inverted
    show.send(cc(0, 64), cc(1, 64), cc(2, 0))
    assert show.registry.get("react.pulse.react") == pytest.approx(2.0 * 64 / 127)
    # exp: half the travel gives a fifth of the range — fine control at the bottom
    assert show.registry.get("react.motion.react") == pytest.approx(4.0 * shape(64 / 127, "exp"))
    assert show.registry.get("react.motion.react") < 1.0
    assert show.registry.get("gen.psi") == pytest.approx(1.5)
    show.send(cc(0, 127, channel=3))  # another channel: not this binding
    assert show.registry.get("react.pulse.react") == pytest.approx(2.0 * 64 / 127)


@pytest.mark.parametrize("mode, up, down", [("relative-twos", 1, 127), ("relative-signed", 1, 65),
                                            ("relative-offset", 65, 63)])
def test_relative_encoders_step_by_detents(tmp_path, mode, up, down):
    show = Show(tmp_path, f"""
        [[bind]]
        cc = 16
        param = "react.motion.randomness"
        mode = "{mode}"
        step = 0.05
        """)
    start = show.registry.get("react.motion.randomness")  # 0.5 of 0..1; encoders need no pick-up
    show.send(cc(16, up), cc(16, up), cc(16, up))
    assert show.registry.get("react.motion.randomness") == pytest.approx(start + 0.15)
    show.send(cc(16, down))
    assert show.registry.get("react.motion.randomness") == pytest.approx(start + 0.10)
    show.send(*[cc(16, up)] * 40)  # stops at the end of the range
    assert show.registry.get("react.motion.randomness") == pytest.approx(1.0)


def test_soft_takeover_waits_until_the_knob_meets_the_value(tmp_path):
    show = Show(tmp_path, """
        [[bind]]
        cc = 0
        param = "react.pulse.react"
        max = 1.0
        """)
    show.registry.set("react.pulse.react", 0.5, "preset")
    show.send(cc(0, 10))
    show.send(cc(0, 30))  # far below 0.5: nothing happens
    assert show.registry.get("react.pulse.react") == 0.5
    assert show.hook.status()["MIDI"].endswith("1 to pick up")
    show.send(cc(0, 70))  # crossed 0.5 on the way up: the knob has it now
    assert show.registry.get("react.pulse.react") == pytest.approx(70 / 127)
    show.send(cc(0, 20))
    assert show.registry.get("react.pulse.react") == pytest.approx(20 / 127)
    show.registry.set("react.pulse.react", 0.9, "scene")  # a scene moves it: the knob lets go
    show.send(cc(0, 25))
    assert show.registry.get("react.pulse.react") == 0.9
    show.send(cc(0, 113))  # within the tolerance of 0.9 (114.3 / 127)
    assert show.registry.get("react.pulse.react") == pytest.approx(113 / 127)


def test_feedback_follows_changes_from_other_sources_only(tmp_path):
    show = Show(tmp_path, """
        [[bind]]
        cc = 0
        param = "react.pulse.react"
        max = 2.0
        [[bind]]
        cc = 48
        param = "react.pulse.percussive"
        button = "toggle"
        [[bind]]
        note = 0
        param = "react.motion.harmonic"
        button = "toggle"
        led_on = 1
        """)
    show.frame()
    first = show.sent()[:]  # on connect: every LED and fader position once
    assert cc(48, 127) in first and cc(0, round(127 * 0.25)) in first and note(0, 1) in first
    show.sent().clear()
    show.frame()
    assert show.sent() == []  # nothing changed, nothing sent
    show.registry.set("react.pulse.react", 1.0, "osc")
    show.registry.set("react.pulse.percussive", False, "osc")
    show.frame()
    assert show.sent() == [cc(0, 64), cc(48, 0)]
    show.sent().clear()
    show.send(cc(0, 64), cc(0, 100))  # the knob itself: no echo to the knob
    assert show.sent() == []
    show.send(note(0), note(0, on=False))  # a toggle pad: its LED shows the new state
    assert show.registry.get("react.motion.harmonic") is False
    assert show.sent() == [note(0, 0)]


def test_buttons_fire_triggers_once_per_press_and_toggle_or_hold(tmp_path):
    show = Show(tmp_path, """
        [[bind]]
        cc = 41
        param = "action.tap"
        [[bind]]
        note = 36
        param = "action.flash"
        [[bind]]
        note = 37
        scene = 2
        [[bind]]
        cc = 49
        param = "react.pulse.harmonic"
        """)
    show.send(cc(41, 127), cc(41, 127), cc(41, 0), cc(41, 127), cc(41, 0))
    show.send(note(36), note(36, on=False), note(36, velocity=0))
    show.send(note(37))
    assert show.fired == [("action.tap", "midi"), ("action.tap", "midi"), ("action.flash", "midi"),
                          ("scene.drop", "midi")]
    show.send(cc(49, 127))  # momentary: on while held
    assert show.registry.get("react.pulse.harmonic") is True
    show.send(cc(49, 0))
    assert show.registry.get("react.pulse.harmonic") is False


def test_learn_binds_the_next_control_and_saves_atomically(tmp_path):
    show = Show(tmp_path, "")
    with pytest.raises(VjganError, match="did you mean fx.flash.strength"):
        show.hook.arm("fx.flash.strenght")
    assert show.hook.arm("fx.flash.strength") == "fx.flash.strength"
    assert show.hook.status()["MIDI"] == "nanoKONTROL2 · 0 bindings · learn: armed fx.flash.strength"
    show.send(note(60))  # a pad cannot drive a number: refused, still armed
    assert "cannot drive fx.flash.strength" in show.state.errors[-1]
    show.send(mido.Message("clock"), cc(21, 40, channel=2))
    assert show.hook.status()["MIDI"] == "nanoKONTROL2 · 1 bindings · 1 to pick up"
    assert any("ch3 cc 21 -> fx.flash.strength" in line for line in show.log)
    assert show.registry.get("fx.flash.strength") == 0.3  # learning moves nothing
    show.send(cc(21, 45, channel=2))
    assert show.registry.get("fx.flash.strength") == 0.3
    show.send(cc(21, 12, channel=2), cc(21, 100, channel=2))  # crosses 0.3 (cc 19), then drives
    assert show.registry.get("fx.flash.strength") == pytest.approx(2.0 * 100 / 127)
    show.hook.arm("blackout")
    show.send(note(10, channel=2))
    target = tmp_path / "learned" / "mine.toml"
    assert show.hook.save_now(target) == target
    again = load_map(str(target), show.registry)
    assert [(b.control.label(), b.param) for b in again.bindings] == [
        ("ch3 cc 21", "fx.flash.strength"), ("ch3 note 10", "action.blackout")]
    show.hook.arm("gen.psi")
    show.send(cc(21, 5, channel=2))  # re-learning a control moves it to the new parameter
    show.hook.save_now(target)
    assert [b.param for b in load_map(str(target), show.registry).bindings] == ["action.blackout", "gen.psi"]
    assert "fx.flash.strength" in (tmp_path / "learned" / "mine.toml.bak").read_text()
    assert not list(target.parent.glob(".*.tmp*"))


@pytest.mark.parametrize("feedback", [True, False])
def test_unplug_and_replug_reconnects_and_picks_up_again(tmp_path, feedback):
    show = Show(tmp_path, """
        [[bind]]
        cc = 0
        param = "react.pulse.react"
        max = 1.0
        """, controller=f"feedback = {str(feedback).lower()}")
    show.send(cc(0, 64), cc(0, 80))
    assert show.registry.get("react.pulse.react") == pytest.approx(80 / 127)
    show.backend.present.clear()  # unplugged: the port just goes silent
    show.poll()
    show.frame()
    assert show.hook.status()["MIDI"].startswith("nanoKONTROL2 unplugged")
    assert "is gone" in show.state.errors[-1]
    show.registry.set("react.pulse.react", 0.2, "osc")  # meanwhile the value moves elsewhere
    show.backend.present.append("nanoKONTROL2 MIDI 1")
    show.poll()
    show.send(cc(0, 100))  # the knob still sits at 100: no jump
    assert show.registry.get("react.pulse.react") == 0.2
    assert show.hook.status()["MIDI"].startswith("nanoKONTROL2 · 1 bindings")
    if feedback:
        assert show.sent()[-1] == cc(0, round(0.2 * 127))  # the value is sent to the new port
    else:
        assert show.sent() == []
    show.send(cc(0, 10), cc(0, 60))  # crosses 0.2 (25.4): taken over
    assert show.registry.get("react.pulse.react") == pytest.approx(60 / 127)


def test_missing_controller_or_midi_system_never_stops_the_show(tmp_path):
    show = Show(tmp_path, "")
    show.backend.present = ["Midi Through Port-0"]
    show.hook.links["nanoKONTROL2"].state = "starting"
    show.hook.links["nanoKONTROL2"]._in = None
    show.poll()
    show.poll()
    show.frame()
    show.frame()
    assert [e for e in show.state.errors if "no input port matches" in e] == [
        "MIDI: no input port matches 'nanoKONTROL2' (ports: Midi Through Port-0) — the show goes on, "
        "looking every 1 s"]
    show.backend.down = True
    show.poll()
    show.frame()
    assert ("no MIDI system answers (MidiInJack::initialize: JACK server not running?)"
            in show.state.errors[-1])
    assert show.hook.status()["MIDI"] == "no MIDI system · 0 bindings"


def test_floods_are_bounded_and_the_latest_value_still_lands(tmp_path):
    show = Show(tmp_path, """
        [[bind]]
        cc = 0
        param = "react.pulse.react"
        max = 1.0
        """, controller="pickup = false")
    port = show.backend.inputs["nanoKONTROL2 MIDI 1"]
    junk = mido.Message("sysex", data=[0x7E] * 200)
    tick = mido.Message("clock")
    for i in range(20000):
        port.callback(junk)
        port.callback(tick)
        port.callback(cc(0, i % 100))
    port.callback(cc(0, 127))  # the probe, sent last
    t0 = time.perf_counter()
    show.frame()
    frame_ms = (time.perf_counter() - t0) * 1e3
    assert show.registry.get("react.pulse.react") == pytest.approx(1.0)
    counts = show.hook.counts()
    assert counts["sysex dropped"] == 20000
    assert counts["clock dropped"] == 20000 - 512
    assert counts["dropped"] == 20001 - 1024
    assert "dropped" in show.hook.status()["MIDI"]
    assert show.hook.clock.bpm is None  # 20000 ticks at once are not a tempo
    assert frame_ms < 500  # bounded work, generous for a shared 2-core machine


def test_clock_ticks_become_a_smoothed_bpm_for_the_tempo_arbiter(tmp_path):
    class Tempo:
        updates: list[tuple[str, float, float]] = []

        def update(self, source, bpm, t_s):
            self.updates.append((source, bpm, t_s))

    now = [100.0]
    show = Show(tmp_path, "", tempo=Tempo(), now=lambda: now[0])
    port = show.backend.inputs["nanoKONTROL2 MIDI 1"]
    show.send(mido.Message("start"))
    jitter = [0.0, 0.004, -0.003, 0.002, -0.004, 0.001]
    for bpm, seconds in ((120.0, 4.0), (140.0, 4.0)):
        for k in range(int(seconds * bpm / 60 * 24)):
            now[0] += 60.0 / (bpm * 24)
            tick_at = now[0]
            now[0] += jitter[k % len(jitter)]  # arrival times wobble by a few ms
            port.callback(mido.Message("clock"))
            now[0] = tick_at
            if k % 8 == 7:
                show.frame()
        assert show.hook.clock.bpm == pytest.approx(bpm, abs=0.5)
        assert Tempo.updates[-1][0] == "midi" and Tempo.updates[-1][1] == pytest.approx(bpm, abs=0.5)
    assert show.hook.clock.running
    assert "clock 140.0 BPM" in show.hook.status()["MIDI"]
    show.send(mido.Message("stop"))
    assert not show.hook.clock.running


def test_clock_follower_smooths_in_seconds_and_forgets_a_silent_clock():
    clock = ClockFollower(smoothing_s=0.5)
    t = 0.0
    for _ in range(48):  # 1 s at 120 BPM
        t += 60 / (120 * 24)
        clock.feed([t])
    assert clock.bpm == pytest.approx(120.0)
    for _ in range(12):  # a fifth of a second at 150 BPM: the one-beat window alone would
        t += 60 / (150 * 24)  # say 133; smoothed over 0.5 s it has moved less than a third
        clock.feed([t])
    assert 120.0 < clock.bpm < 130.0
    for _ in range(120):  # 2 s more (4 time constants): there
        t += 60 / (150 * 24)
        clock.feed([t])
    assert clock.bpm == pytest.approx(150.0, abs=1.0)
    clock.expire(t + 0.4)
    assert clock.bpm is not None
    clock.expire(t + 0.6)
    assert clock.bpm is None


def test_notes_become_chroma_and_pulse(tmp_path):
    notes = NoteInput(release_s=0.3)
    notes.feed([note(60, 127), note(64, 64), note(79, 96), mido.Message("clock")])  # C4 E4 G5
    first = notes.step(0.1, 1 / 60)
    assert first.onset and first.percussive == pytest.approx(1.0)
    assert [round(c, 2) for c in first.chroma] == [1.0, 0, 0, 0, 0.5, 0, 0, 0.76, 0, 0, 0, 0]
    held = notes.step(0.12, 1 / 60)
    assert not held.onset and held.percussive == 0.0 and held.harmonic == pytest.approx(1.0)
    notes.feed([note(60, on=False), note(64, on=False), note(79, on=False)])
    fading = [notes.step(0.12 + k / 60, 1 / 60) for k in range(1, 61)]
    assert fading[0].chroma[0] == pytest.approx(1.0)  # released notes fade, keeping their shape
    assert fading[-1].chroma == (0.0,) * 12  # a second later: silence


def test_notes_port_feeds_the_music_source_and_skips_bound_notes(tmp_path):
    show = Show(tmp_path, """
        [[bind]]
        note = 36
        param = "action.flash"
        """, notes_port="nanoKONTROL2")
    show.send(note(36), note(62, 90))
    assert show.state.engine.music_input == show.hook.note_features  # the notes play the show
    features = show.hook.note_features(show.t_s, 1 / 60)
    assert features.chroma[2] == 1.0 and features.chroma[0] == 0.0  # D, not the bound C
    assert features.percussive == pytest.approx(90 / 127)
    assert show.fired == [("action.flash", "midi")]


@pytest.mark.parametrize("body, message", [
    ('[[bind]]\ncc = 0\nparam = "react.pulse.react"\ncurve = "expo"\n',
     "map.toml:6: bind[0].curve = 'expo' — choose one of linear, exp, log"),
    ('[[bind]]\ncc = 0\nparam = "react.pulse.reakt"\n',
     "map.toml:5: bind[0].param: unknown parameter 'react.pulse.reakt' — did you mean react.pulse.react?"),
    ('[[bind]]\ncc = 200\nparam = "gen.psi"\n', "map.toml:4: bind[0].cc = 200 — use 0..127"),
    ('[[bind]]\ncc = 1\nparam = "gen.psi"\nstpe = 0.1\n',
     "map.toml:6: unknown field bind[0].stpe — did you mean step?"),
    ('[[bind]]\nnote = 1\nparam = "gen.psi"\n',
     "map.toml:5: bind[0]: a note drives triggers and on/off parameters, and gen.psi is a float "
     "— bind it to a cc"),
    ('[[bind]]\ncc = 1\nparam = "gen.psi"\nmax = 9\n',
     "map.toml:6: bind[0].max = 9 is outside gen.psi's range -1..2"),
    ('[[bind]]\ncc = 1\nparam = "gen.psi"\n\n[[bind]]\ncc = 1\nparam = "react.pulse.react"\n',
     "map.toml:8: any channel cc 1 is bound twice (bind[0] and bind[1]) — remove one"),
    ('[[bind]]\ncc = 1\nparam = "gen.psi"\nmode = "relative-twos"\nchannel = 17\n',
     "map.toml:7: bind[0].channel = 17 — use a MIDI channel 1..16 or \"any\""),
    ('[[bind]\ncc = 1\n',
     "map.toml: Expected ']]' at the end of an array declaration (at line 3, column 7) "
     "— fix the TOML syntax"),
])
def test_bad_map_files_fail_with_one_line_naming_file_line_and_field(tmp_path, body, message):
    path = tmp_path / "map.toml"
    path.write_text('[controller]\nname = "x"\n' + body)
    with pytest.raises(VjganError) as info:
        load_map(str(path), build_registry())
    text = str(info.value)
    assert "\n" not in text
    assert text.endswith(message) and str(tmp_path) in text


def test_shipped_maps_bind_the_factory_controls():
    registry = build_registry(effects=[("contrast", 0.5), ("flash", 0.3)], scenes=[f"s{i}" for i in range(8)])
    layouts = {
        "nanokontrol2": ("nanoKONTROL2", list(range(0, 8)) + list(range(16, 24))),
        "midimix": ("MIDI Mix", [19, 23, 27, 31, 49, 53, 57, 61, 62, 16, 20, 24, 28, 46, 50, 54, 58]),
        "apcmini": ("APC MINI", list(range(48, 57))),
    }
    for name, (port, ccs) in layouts.items():
        m = load_map(name, registry)
        assert m.name == port and m.skipped == () and m.channel == 0
        bound_ccs = [b.control.number for b in m.bindings if b.control.kind == "cc"
                     and registry.spec(b.param).kind in ("float", "choice")]
        assert sorted(bound_ccs) == sorted(ccs)
        scenes = [b.param for b in m.bindings if b.param.startswith("scene.")]
        assert scenes == [f"scene.s{i}" for i in range(8)]
        panic = {"action.blackout", "action.freeze", "action.tap", "action.flash"}
        assert panic <= {b.param for b in m.bindings}
    small = load_map("apcmini", build_registry(effects=[("contrast", 0.5)]))
    assert len(small.skipped) == 9  # fx.flash.strength and the 8 scenes: left out, not an error


def test_a_saved_map_reads_back_and_keeps_the_bindings_its_show_lacked(tmp_path):
    """MIDI learn saves the whole map: a show with fewer parameters must not drop the lines for the
    others (they come back, under a comment, and work again on a show that has them)."""
    full, small = build_registry(), build_registry(effects=[("contrast", 0.5)])

    def by_control(m):
        return sorted(m.bindings, key=lambda b: (b.control.kind, b.control.number))

    shipped = load_map("apcmini", small)
    path = save_map(shipped, tmp_path / "apc.toml", small)
    text = path.read_text()
    assert text.count("# not used by the show it was saved from:") == len(shipped.skipped) == 9
    assert load_map(str(path), small).bindings == shipped.bindings
    assert by_control(load_map(str(path), full)) == by_control(load_map("apcmini", full))


def test_build_midi_hook_from_flags(tmp_path):
    registry = build_registry()
    assert build_midi_hook(registry) is None  # no MIDI flag: no hook
    with pytest.raises(VjganError, match="--midi-notes-channel 0 — use a MIDI channel 1..16"):
        build_midi_hook(registry, port="x", notes_channel=0, backend=MemoryBackend())
    hook = build_midi_hook(registry, port="MIDI Mix", map_file="midimix", backend=MemoryBackend("MIDI Mix:0"),
                           feedback=False)
    try:
        assert hook.controller.map.name == "MIDI Mix" and not hook.controller.map.feedback
        deadline = time.monotonic() + 5
        while hook.links["MIDI Mix"].state != "connected" and time.monotonic() < deadline:
            time.sleep(0.01)  # the watcher thread opens it
        assert hook.status()["MIDI"].startswith("MIDI Mix · 23 bindings")
    finally:
        hook.close()
    parsed = tomllib.loads(Path(load_map("midimix", registry).path).read_text())
    assert parse_map(parsed, Path("midimix.toml"), registry).name == "MIDI Mix"


def test_learned_bindings_go_to_the_users_map_or_the_config_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    show = Show(tmp_path, "")
    assert show.hook.default_save_path() == tmp_path / "map.toml"  # the user's own map
    shipped = build_midi_hook(show.registry, map_file="apcmini", backend=MemoryBackend())
    try:
        assert shipped.default_save_path() == tmp_path / "config" / "vjgan" / "midi" / "apcmini.toml"
    finally:
        shipped.close()
    show.hook.save_path = tmp_path / "learned.toml"  # --midi-save: written after every learn
    show.hook.arm("gen.psi")
    show.send(cc(3, 64))
    deadline = time.monotonic() + 5
    while not any("map saved to" in line for line in show.log) and time.monotonic() < deadline:
        time.sleep(0.01)
        show.frame()  # the save runs on its own thread; its outcome is logged on a frame
    assert [b.param for b in load_map(str(tmp_path / "learned.toml"), show.registry).bindings] == ["gen.psi"]


def test_key_l_learns_the_parameter_last_moved_on_the_phone(tmp_path):
    """The performer moves a TouchOSC fader, presses l, turns a knob: the knob now drives it."""
    show = Show(tmp_path, "")
    show.frame()
    show.state.act("midi_learn")
    assert "change a parameter first" in show.state.errors[-1]  # nothing touched yet
    show.registry.set("react.motion.react", 1.0, "osc:192.168.1.23:9000")
    show.registry.set("react.pulse.react", 1.0, "midi")  # a knob already bound: not a target
    show.state.act("midi_learn")
    show.send(cc(21, 0))  # the learning move
    show.send(cc(21, 127))
    assert show.registry.get("react.motion.react") == show.registry.spec("react.motion.react").max


def test_osc_can_arm_midi_learn_by_name(tmp_path):
    show = Show(tmp_path, "")
    show.frame()
    show.hook.osc_commands()["/vjgan/midi/learn"](["fx.flash.strength"], show.state)
    show.send(cc(5, 0))
    show.send(cc(5, 127))
    assert show.registry.get("fx.flash.strength") == show.registry.spec("fx.flash.strength").max
