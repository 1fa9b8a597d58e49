"""Lucid Sonic Dreams' invariants, per second: pulse, motion bounds, classes, shuffles, dominance."""

import math

import numpy as np
import pytest

from vjgan.audio.features import AudioFeatures
from vjgan.errors import VjganError
from vjgan.react.params import ParamError, ReactParams
from vjgan.react.reactor import LatentReactor

HOP_S = 128 / 48000


def _tone(pitch: int, weight: float = 1.0) -> tuple[float, ...]:
    return tuple(weight if k == pitch else 0.0 for k in range(12))


def _stream(duration_s, level=0.0, percussive=0.0, harmonic=0.0, chroma=(0.0,) * 12, beat_every_s=None,
            start_s=0.0, bpm=0.0):
    n = int(round(duration_s / HOP_S))
    beat_every = int(round(beat_every_s / HOP_S)) if beat_every_s else 0
    return [AudioFeatures(t_s=start_s + (i + 1) * HOP_S, duration_s=HOP_S, level=level,
                          percussive=percussive, harmonic=harmonic, chroma=chroma, bpm=bpm,
                          beat=bool(beat_every) and i % beat_every == beat_every - 1)
            for i in range(n)]


def _play(reactor, blocks, fps):
    """Feed blocks frame by frame at `fps`; returns the Latents of every frame."""
    out, k, t_prev, i = [], 0, 0.0, 0
    end = blocks[-1].t_s
    while i / fps <= end + 1e-9:
        t = i / fps
        mine = []
        while k < len(blocks) and blocks[k].t_s <= t + 1e-12:
            mine.append(blocks[k])
            k += 1
        out.append(reactor.step(mine, t, t - t_prev if i else 0.0))
        t_prev, i = t, i + 1
    return out


QUIET = dict(speed_fpm=0, motion_react=0.0, class_latent_react=0.0)


@pytest.mark.parametrize("fps", [24, 60, 144])
def test_pulse_returns_to_rest_in_silence_with_its_time_constant(fps):
    p = ReactParams(pulse_react=1.0, pulse_decay_s=0.2, **QUIET)
    hit = _stream(0.5, percussive=1.0)
    silence = _stream(2.0, start_s=hit[-1].t_s)
    frames = _play(LatentReactor(8, params=p), hit + silence, fps)
    end_of_hit = hit[-1].t_s
    peak = max(f.pulse for f in frames if f.t_s <= end_of_hit)
    assert peak == pytest.approx(1.0, abs=1e-3)
    for f in frames:
        if f.t_s > end_of_hit + 0.05:
            expected = math.exp(-(f.t_s - end_of_hit) / 0.2)  # e^-1 after one time constant
            assert f.pulse == pytest.approx(expected, rel=0.03, abs=1e-4)
    assert frames[-1].pulse < 1e-3  # at rest


def test_motion_stays_within_twice_truncation_and_turns_there():
    p = ReactParams(speed_fpm=0, pulse_react=0.0, class_latent_react=0.0, truncation=0.5,
                    motion_react=0.5, motion_randomness=0.0)
    reactor = LatentReactor(16, seed=4, params=p)
    frames = _play(reactor, _stream(6.0, level=1.0, harmonic=1.0), 30)
    z = np.array([f.z for f in frames])
    assert np.abs(z).max() <= 2 * 0.5 + 1e-6
    direction = np.sign(np.diff(z, axis=0))
    turns = (direction[1:] * direction[:-1] < 0).sum(axis=0)
    assert (turns >= 2).all()  # every dimension bounced off a bound more than once


@pytest.mark.parametrize("complexity", [0.0, 0.3, 1.0, 2.5])
def test_class_vector_max_equals_class_complexity(complexity):
    rng = np.random.default_rng(1)
    p = ReactParams(class_complexity=complexity, **QUIET)
    reactor = LatentReactor(8, c_dim=40, params=p)
    blocks = [AudioFeatures(t_s=(i + 1) * HOP_S, duration_s=HOP_S, chroma=tuple(rng.random(12)))
              for i in range(2000)]
    for f in _play(reactor, blocks, 30)[1:]:
        assert f.class_vector.max() == pytest.approx(complexity, abs=1e-6)
        assert f.c.max() == pytest.approx(complexity, abs=1e-6)


def _top_class(latents):
    return int(np.argmax(latents.c))


@pytest.mark.parametrize("strength, rotation", [(0.25, 3), (0.5, 6), (0.1, 1), (1.0, 0)])
def test_shuffle_rotates_the_map_by_round_strength_times_12(strength, rotation):
    classes = tuple(range(100, 112))
    p = ReactParams(classes=classes, class_shuffle_seconds=2, class_shuffle_strength=strength,
                    class_smooth_seconds=0.1, **QUIET)
    frames = _play(LatentReactor(8, c_dim=200, params=p), _stream(3.5, chroma=_tone(0)), 30)
    before = [f for f in frames if 1.0 < f.t_s < 2.0]
    after = [f for f in frames if f.t_s > 3.0]
    assert {_top_class(f) for f in before} == {100}  # C -> classes[0]
    assert {_top_class(f) for f in after} == {100 + rotation}
    shuffles = [f.t_s for f in frames if f.shuffled]
    assert shuffles == [pytest.approx(2.0, abs=1 / 30)]
    assert frames[-1].class_shift == rotation


@pytest.mark.parametrize("fps", [24, 60, 144])
def test_float_shuffle_periods_fire_at_any_frame_rate(fps):
    """LSD never fired a float period (2.5 s); here it fires every 2.5 s, frame-rate independent."""
    p = ReactParams(class_shuffle_seconds=2.5, **QUIET)
    frames = _play(LatentReactor(8, params=p), _stream(8.0, chroma=_tone(0)), fps)
    times = [f.t_s for f in frames if f.shuffled]
    assert times == [pytest.approx(t, abs=1.0 / fps) for t in (2.5, 5.0, 7.5)]


def test_listed_shuffle_times_fire_once_each():
    p = ReactParams(class_shuffle_seconds=(0.5, 1.7), **QUIET)
    frames = _play(LatentReactor(8, params=p), _stream(3.0), 30)
    assert [f.t_s for f in frames if f.shuffled] == [pytest.approx(0.5, abs=1 / 30),
                                                     pytest.approx(1.7, abs=1 / 30)]


def test_synced_shuffle_waits_for_the_next_beat():
    p = ReactParams(class_shuffle_seconds=2, sync="beat", **QUIET)
    blocks = _stream(4.0, chroma=_tone(0), beat_every_s=0.6, bpm=100.0)  # beats at 0.6, 1.2, 1.8, 2.4
    frames = _play(LatentReactor(8, params=p), blocks, 60)
    assert [f.t_s for f in frames if f.shuffled] == [pytest.approx(2.4, abs=1 / 60)]


def test_synced_shuffle_does_not_wait_without_a_tempo():
    p = ReactParams(class_shuffle_seconds=2, sync="bar", **QUIET)
    frames = _play(LatentReactor(8, params=p), _stream(3.0, chroma=_tone(0)), 60)
    assert [f.t_s for f in frames if f.shuffled] == [pytest.approx(2.0, abs=1 / 60)]


def test_dominant_classes_first_gives_the_first_class_to_the_louder_pitch():
    classes = tuple(range(50, 62))
    p = ReactParams(classes=classes, dominant_classes_first=True, class_dominance_seconds=5.0,
                    class_smooth_seconds=0.1, **QUIET)
    reactor = LatentReactor(8, c_dim=100, params=p)
    g_loud = tuple(1.0 if k == 7 else 0.4 if k == 2 else 0.0 for k in range(12))
    frames = _play(reactor, _stream(4.0, chroma=g_loud), 30)
    assert _top_class(frames[-1]) == 50  # G is the most dominant pitch -> classes[0]
    d_loud = tuple(1.0 if k == 2 else 0.4 if k == 7 else 0.0 for k in range(12))
    frames = _play(reactor, _stream(12.0, chroma=d_loud, start_s=4.0 + HOP_S), 30)
    assert _top_class(frames[-1]) == 50  # the ranking followed: D now owns classes[0]
    rank = reactor._classes.ranking.order
    assert list(rank[:2]) == [2, 7]


def test_fewer_than_12_classes_still_hear_every_pitch():
    p = ReactParams(classes=(5, 9), class_smooth_seconds=0.0, **QUIET)
    for pitch in range(12):
        reactor = LatentReactor(8, c_dim=20, params=p)
        last = _play(reactor, _stream(0.5, chroma=_tone(pitch)), 30)[-1]
        assert _top_class(last) == (5, 9)[pitch % 2]
        assert set(np.nonzero(last.c)[0]) <= {5, 9}


@pytest.mark.parametrize("percussive, harmonic, follows", [
    (True, False, "percussive"), (False, True, "harmonic"), (True, True, "level"), (False, False, "level")])
def test_pulse_follows_the_part_of_its_audio_lsd_names(percussive, harmonic, follows):
    p = ReactParams(pulse_react=1.0, pulse_percussive=percussive, pulse_harmonic=harmonic, **QUIET)
    values = {"percussive": 0.9, "harmonic": 0.5, "level": 0.2}
    frames = _play(LatentReactor(8, params=p), _stream(1.0, **values), 30)
    assert frames[-1].pulse == pytest.approx(values[follows], rel=1e-3)


def test_a_role_with_its_own_stem_follows_the_stems_whole_level():
    """LSD's pulse_audio: the stem drives the pulse with its whole level, the flags aside."""
    p = ReactParams(pulse_react=1.0, **QUIET)
    reactor = LatentReactor(8, params=p, own_stems={"pulse"})
    frames = _play(reactor, _stream(1.0, level=0.3, percussive=0.9), 30)
    assert frames[-1].pulse == pytest.approx(0.3, rel=1e-3)


def test_same_features_seed_and_params_give_the_same_latents_with_every_feature_on():
    p = ReactParams(class_shuffle_seconds=1.5, dominant_classes_first=True, sync="beat")
    blocks = _stream(5.0, level=0.6, percussive=0.4, harmonic=0.5,
                     chroma=_tone(4), beat_every_s=0.5, bpm=120.0)
    a = _play(LatentReactor(32, c_dim=30, seed=7, params=p), blocks, 30)
    b = _play(LatentReactor(32, c_dim=30, seed=7, params=p), blocks, 30)
    assert all(np.array_equal(x.z, y.z) and np.array_equal(x.c, y.c) for x, y in zip(a, b))


@pytest.mark.parametrize("values, field", [
    ({"pulse_percussive": 0}, "pulse_percussive"),  # a flag is a bool, never silently True
    ({"class_shuffle_strength": 1.5}, "class_shuffle_strength"),
    ({"classes": []}, "classes"),
    ({"classes": [3, -1]}, "classes"),
    ({"sync": "downbeat"}, "sync"),
    ({"motion_randomness": float("nan")}, "motion_randomness"),
    ({"pulse_reakt": 1.0}, "pulse_reakt"),
])
def test_bad_values_name_the_parameter(values, field):
    with pytest.raises(ParamError) as err:
        ReactParams.from_values(values)
    assert err.value.field == field and field in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, VjganError)


def test_zero_stays_zero_and_false_stays_false():
    p = ReactParams.from_values({"pulse_react": 0, "motion_harmonic": False, "class_shuffle_seconds": 0})
    assert p.pulse_react == 0.0 and p.motion_harmonic is False and p.shuffle_period_s() is None


def test_classes_beyond_the_model_are_refused_with_the_range():
    with pytest.raises(ParamError, match="ids 0..9"):
        LatentReactor(8, c_dim=10, params=ReactParams(classes=(3, 12)))


@pytest.mark.parametrize("sync, redraw_s", [("off", 4.0), ("beat", 4.2)])
def test_motion_redraw_lands_on_the_beat_when_synced(sync, redraw_s):
    """Every 4 s LSD redraws which dimensions move slowly; synced, the redraw waits for a beat."""
    p = ReactParams(speed_fpm=0, pulse_react=0.0, class_latent_react=0.0, motion_react=0.05,
                    motion_randomness=1.0, sync=sync)  # randomness 1: the slow half stands still
    blocks = _stream(5.0, level=1.0, harmonic=1.0, beat_every_s=0.6, bpm=100.0)  # beats at k x 0.6 s
    frames = _play(LatentReactor(64, seed=2, params=p), blocks, 60)
    z = np.array([f.z for f in frames])
    moving = np.abs(np.diff(z, axis=0)) > 1e-9  # which dimensions moved between two frames
    changed = [frames[i + 1].t_s for i in range(1, len(moving)) if (moving[i] != moving[i - 1]).any()]
    redraws = [t for t in changed if t > 1.0]
    assert redraws and redraws[0] == pytest.approx(redraw_s, abs=1.5 / 60)


def test_a_show_that_starts_mid_chord_keeps_a_finite_class_vector():
    """The first frame has dt = 0; with a chord already sounding that once made the class vector
    0/0 = NaN for the rest of the show."""
    from vjgan.audio.features import AudioFeatures
    from vjgan.react.reactor import LatentReactor

    reactor = LatentReactor(z_dim=8, c_dim=12, seed=0)
    chord = tuple(1.0 if i in (0, 4, 7) else 0.0 for i in range(12))
    block = AudioFeatures(t_s=0.0, duration_s=0.0, level=0.5, chroma=chord, harmonic=0.5)
    roles = ("mix", "pulse", "motion", "class", "contrast", "flash")
    first = reactor.step({role: [block] for role in roles}, 0.0, 0.0)
    block = AudioFeatures(t_s=0.1, duration_s=0.1, level=0.5, chroma=chord, harmonic=0.5)
    later = reactor.step({role: [block] for role in roles}, 0.1, 0.1)
    assert np.isfinite(first.c).all() and np.isfinite(later.c).all()
    assert later.c.max() > 0
