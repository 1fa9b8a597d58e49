"""The latent reactor: LSD behaviour per second, deterministic, frame-rate independent."""

import numpy as np
import pytest

from vjgan.audio.features import AudioFeatures
from vjgan.react.params import ReactParams
from vjgan.react.reactor import LatentReactor

HOP_S = 128 / 48000
C_MAJOR = tuple(1.0 if k in (0, 4, 7) else 0.0 for k in range(12))
A_MINOR = tuple(1.0 if k in (9, 0, 4) else 0.0 for k in range(12))


def _blocks(duration_s: float, onset_every_s: float | None = 0.5, level: float = 0.7,
            harmony: bool = True):
    """A block stream like the analyser's: constant level, a hit every onset_every_s, C major for
    the first half, A minor for the second."""
    n = int(duration_s / HOP_S)
    hit_every = int(round(onset_every_s / HOP_S)) if onset_every_s else 0
    out = []
    for i in range(n):
        chroma = C_MAJOR if i * HOP_S < duration_s / 2 else A_MINOR
        since_hit_s = (i % hit_every) * HOP_S if hit_every else float("inf")
        out.append(AudioFeatures(t_s=(i + 1) * HOP_S, duration_s=HOP_S, level=level,
                                 onset=since_hit_s == 0.0, harmonic=level,
                                 percussive=float(np.exp(-since_hit_s / 0.1)),
                                 chroma=chroma if harmony else (0.0,) * 12))
    return out


def _run(fps: float, blocks, seed=0, params=None, z_dim=64, c_dim=0):
    reactor = LatentReactor(z_dim, c_dim, seed=seed, params=params)
    frames, i, t_prev, k = {}, 0, 0.0, 0
    duration_s = blocks[-1].t_s
    while True:
        t = i / fps
        if t > duration_s:
            break
        mine = []
        while k < len(blocks) and blocks[k].t_s <= t:
            mine.append(blocks[k])
            k += 1
        frames[round(t, 6)] = reactor.step(mine, t, t - t_prev if i else 0.0)  # one mix drives all
        t_prev, i = t, i + 1
    return frames


def test_same_features_and_seed_give_the_same_latents():
    blocks = _blocks(3.0)
    a, b = _run(30, blocks), _run(30, blocks)
    assert all(np.array_equal(a[t].z, b[t].z) for t in a)
    c = _run(30, blocks, seed=1)
    assert not np.allclose(a[1.0].z, c[1.0].z)


@pytest.mark.parametrize("fps", [24, 144])
def test_trajectory_is_the_same_at_any_frame_rate(fps):
    blocks = _blocks(4.0)
    ref = _run(60, blocks)
    other = _run(fps, blocks)
    common = [t for t in (0.5, 1.0, 2.0, 3.0, 3.5) if t in ref and t in other]
    assert len(common) == 5
    for t in common:
        assert other[t].pulse == pytest.approx(ref[t].pulse, rel=1e-6, abs=1e-9)
        np.testing.assert_allclose(other[t].class_vector, ref[t].class_vector, atol=1e-6)
        # Motion bounces off the same bounds whatever the frame rate; only the slowly moving base is
        # sampled at different instants, so a small tolerance remains.
        diff = np.abs(other[t].z - ref[t].z)
        assert diff.max() < 0.1 and diff.mean() < 0.02


def test_pulse_jumps_on_a_hit_and_decays_within_a_fraction_of_a_second():
    blocks = _blocks(2.0, onset_every_s=1.0)
    frames = _run(100, blocks)
    hit = frames[1.03].pulse
    assert hit > 0.1
    assert frames[1.5].pulse < 0.1 * hit  # gone after half a second
    louder = _run(100, blocks, params=ReactParams(pulse_react=1.0))[1.03].pulse
    assert louder == pytest.approx(2 * hit, rel=1e-6)


def test_motion_moves_z_with_level_and_stands_still_in_silence():
    still = ReactParams(speed_fpm=0)
    loud = _run(30, _blocks(2.0, level=0.8), params=still)
    quiet = _run(30, _blocks(2.0, None, level=0.0, harmony=False), params=still)
    moved = np.abs(loud[2.0].z - loud[1.0].z).mean()
    assert moved > 0.5
    assert np.allclose(quiet[2.0].z, quiet[1.0].z, atol=1e-6)
    assert np.abs(loud[2.0].z).max() <= 2.0 + 1e-6  # turns back before +-2 truncation


def test_motion_react_zero_means_no_motion():
    params = ReactParams(speed_fpm=0, motion_react=0.0, pulse_react=0.0, class_latent_react=0.0)
    frames = _run(30, _blocks(2.0, level=1.0), params=params)
    assert np.allclose(frames[0.5].z, frames[1.9].z)


def test_base_drift_never_stops():
    params = ReactParams(speed_fpm=60, motion_react=0.0, pulse_react=0.0, class_latent_react=0.0)
    reactor = LatentReactor(32, seed=3, params=params)
    bases = [reactor.base(t) for t in np.arange(0, 120, 0.5)]
    steps = [np.abs(b - a).max() for a, b in zip(bases, bases[1:])]
    assert min(steps) > 1e-3  # no static tail, ever


def test_pitch_classes_pick_the_mapped_model_classes():
    classes = tuple(range(100, 112))
    reactor = LatentReactor(16, c_dim=1000, seed=0, params=ReactParams(classes=classes))
    blocks = _blocks(2.0)[: int(0.9 / HOP_S)]  # C major only
    lat = reactor.step(blocks, 0.9, 0.9)
    top = set(np.argsort(lat.c)[-3:])
    assert top == {100, 104, 107}  # C, E, G


def test_harmony_moves_an_unconditional_model():
    params = ReactParams(speed_fpm=0, motion_react=0.0, pulse_react=0.0)
    frames = _run(30, _blocks(4.0, level=0.0), params=params)
    assert np.abs(frames[3.9].z - frames[1.9].z).max() > 0.05  # C major -> A minor changed z


def test_each_role_listens_to_its_own_stem():
    """LSD's pulse_audio / motion_audio: drums on one input drive pulse, pads on another motion."""
    drums = _blocks(2.0, onset_every_s=0.25, level=0.0, harmony=False)
    pads = _blocks(2.0, onset_every_s=None, level=0.8)
    params = ReactParams(speed_fpm=0, class_latent_react=0.0)
    routed = LatentReactor(32, seed=0, params=params)
    swapped = LatentReactor(32, seed=0, params=params)
    still = LatentReactor(32, seed=0, params=params)
    z0 = still.step({"pulse": [], "motion": [], "class": []}, 0.0, 0.0).z
    a = routed.step({"pulse": drums, "motion": pads, "class": pads}, 2.0, 2.0)
    b = swapped.step({"pulse": pads, "motion": drums, "class": pads}, 2.0, 2.0)
    assert a.pulse > 0.1 and b.pulse < 1e-6  # pads have no hits
    assert np.abs(a.z - a.pulse - z0).mean() > 0.5  # pads moved z
    assert np.abs(b.z - b.pulse - z0).mean() < 1e-6  # drums (level 0 harmonic) did not
