"""One tempo for the show: MIDI clock over tap tempo over the audio's beat tracker."""

import math

import pytest

from vjgan.control.tempo import Tempo


def test_priority_midi_then_tap_then_audio_while_each_is_fresh():
    t = Tempo(midi_timeout_s=2.0, tap_hold_s=10.0, audio_timeout_s=4.0)
    assert t.bpm(0.0) == 0.0 and t.status(0.0) == "no tempo"
    t.update("audio", 120.0, 0.0)
    assert (t.bpm(0.5), t.source(0.5)) == (120.0, "audio")
    for k in range(4):  # taps at 100 BPM
        t.tap(1.0 + k * 0.6)
    assert t.source(3.0) == "tap" and t.bpm(3.0) == pytest.approx(100.0)
    t.update("audio", 121.0, 3.0)
    t.update("midi", 128.0, 3.1)
    assert (t.bpm(3.2), t.source(3.2)) == (128.0, "midi")
    assert t.status(3.2) == "128.0 bpm (midi)"
    # the clock stops: after 2 s the tap tempo holds again, and after its hold the audio
    assert t.source(5.2) == "tap" and t.bpm(5.2) == pytest.approx(100.0)
    t.update("audio", 122.0, 13.0)  # the last tap was at 2.8 s, held for 10 s
    assert (t.source(13.5), t.bpm(13.5)) == ("audio", 122.0)
    assert t.bpm(17.5) == 0.0  # everything stale


def test_tap_tempo_takes_the_median_and_a_long_gap_starts_over():
    t = Tempo()
    assert t.tap(0.0) is None  # one tap is no tempo yet
    assert t.tap(0.5) == pytest.approx(120.0)
    t.tap(1.0)
    t.tap(1.62)  # one sloppy tap
    assert t.tap(2.0) == pytest.approx(120.0)
    assert t.tap(10.0) is None  # 8 s later: a new sequence
    assert t.tap(10.4) == pytest.approx(150.0)


def test_beat_phase_continues_across_tempo_changes_and_locks_to_taps():
    t = Tempo()
    t.update("midi", 120.0, 0.0, beat_t_s=0.0)
    assert t.beats(1.0) == pytest.approx(2.0)
    t.update("midi", 60.0, 1.0)  # slows down: no jump in the count
    assert t.beats(1.0) == pytest.approx(2.0)
    assert t.beats(2.0) == pytest.approx(3.0)
    t.update("midi", 60.0, 2.25, beat_t_s=2.25)  # a beat seen at 2.25: the phase moves onto it
    assert t.beat_phase(2.25) == pytest.approx(0.0, abs=1e-9)
    assert t.beat_phase(2.75) == pytest.approx(0.5)


def test_next_beat_and_next_bar_for_quantised_actions():
    t = Tempo()
    assert t.next_beat_s(3.3) == 3.3  # no tempo: now
    t.update("midi", 120.0, 0.0, beat_t_s=0.0)
    assert t.next_beat_s(0.2) == pytest.approx(0.5)
    assert t.next_beat_s(0.5) == pytest.approx(0.5)
    assert t.next_beat_s(0.6, every=4) == pytest.approx(2.0)
    assert t.beats_to_s(4, 0.6) == pytest.approx(2.0)
    assert Tempo().beats_to_s(4, 0.0) == pytest.approx(2.0)  # unknown tempo: 120 BPM assumed


@pytest.mark.parametrize("source, bpm", [("midi", math.nan), ("midi", math.inf), ("midi", 5000.0),
                                          ("clock", 120.0), ("audio", -1.0)])
def test_absurd_readings_are_refused_and_counted(source, bpm):
    t = Tempo()
    t.update("audio", 100.0, 0.0)
    assert t.update(source, bpm, 0.1) is False
    assert t.rejected == 1 and t.bpm(0.2) == 100.0
