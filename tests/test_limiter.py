"""Photosensitivity limiter (FlashLimiter alone and through the chain), blackout and freeze."""

from __future__ import annotations

import numpy as np
import pytest

from vjgan.errors import VjganError
from vjgan.gfx.safety import FlashLimiter, LimiterConfig
from vjgan.gfx.uniforms import FrameUniforms

FPS = 60.0


# -- an independent flash counter (WCAG 2.x general flash) ------------------------------------

def relative_luminance(img: np.ndarray) -> float:
    """Mean WCAG relative luminance of an sRGB uint8 picture."""
    c = img.astype(np.float64) / 255
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float((lin @ np.array([0.2126, 0.7152, 0.0722])).mean())


def transition_times(series: list[float], times: list[float]) -> list[float]:
    """Times of opposing luminance changes of >= 0.1 whose darker side is below 0.8."""
    out: list[float] = []
    lo = hi = series[0]  # extremes since the last transition
    direction = 0
    for v, t in zip(series[1:], times[1:]):
        lo, hi = min(lo, v), max(hi, v)
        if direction != 1 and v - lo >= 0.1 and lo < 0.8:
            out.append(t)
            direction, lo, hi = 1, v, v
        elif direction != -1 and hi - v >= 0.1 and v < 0.8:
            out.append(t)
            direction, lo, hi = -1, v, v
    return out


def max_flashes_per_window(ts: list[float], window_s: float = 1.0) -> float:
    """The most flashes (pairs of transitions) in any half-open window of window_s."""
    ts = sorted(ts)
    return max((sum(1 for u in ts if t - window_s < u <= t) for t in ts), default=0) / 2


def simulate(limiter: FlashLimiter, candidates: list[float]) -> list[float]:
    """What the chain would show: shown = shown + alpha * (candidate - shown)."""
    shown: list[float] = []
    for i, c in enumerate(candidates):
        prev = shown[-1] if shown else None
        a = limiter.decide(i / FPS, prev, c)
        shown.append(c if prev is None else prev + a * (c - prev))
    return shown


def square_wave(hz: float, lo: float, hi: float, seconds: float) -> list[float]:
    return [hi if int(i / FPS * 2 * hz) % 2 == 0 else lo for i in range(int(seconds * FPS))]


# -- FlashLimiter alone -----------------------------------------------------------------------

def test_reference_counter_counts_a_plain_strobe():
    seq = square_wave(10, 0.05, 0.9, 2)
    assert max_flashes_per_window(transition_times(seq, [i / FPS for i in range(len(seq))])) >= 9


def test_a_10hz_strobe_is_cut_to_three_flashes_a_second():
    seq = square_wave(10, 0.05, 0.9, 3)
    shown = simulate(FlashLimiter(), seq)
    times = [i / FPS for i in range(len(seq))]
    ts = transition_times(shown, times)
    assert max_flashes_per_window(ts) <= 3
    for second in range(3):  # still flashing every second, not frozen
        assert sum(1 for t in ts if second <= t < second + 1) >= 4, ts


@pytest.mark.parametrize("seq", [
    [0.4] * 60,  # steady
    square_wave(10, 0.85, 1.0, 1),  # bright flicker: the darker side is above 0.8
    square_wave(10, 0.30, 0.38, 1),  # below the 10 % change
    square_wave(2, 0.20, 0.40, 2),  # 2 flashes a second, each step under the cap
])
def test_safe_sequences_are_untouched(seq):
    limiter = FlashLimiter()
    assert simulate(limiter, seq) == seq
    assert limiter.held_frames == 0


def test_a_big_step_is_spread_over_frames():
    shown = simulate(FlashLimiter(), [0.0] * 5 + [1.0] * 10)
    steps = np.diff(shown)
    assert steps.max() <= 0.25 + 1e-9 and (steps >= 0).all()
    assert shown[5] == pytest.approx(0.25) and shown[8] == pytest.approx(1.0)
    custom = simulate(FlashLimiter(LimiterConfig(max_step=0.5)), [0.0, 1.0, 1.0])
    assert custom == pytest.approx([0.0, 0.5, 1.0])


def test_first_frame_and_reset():
    limiter = FlashLimiter()
    assert limiter.decide(0.0, None, 1.0) == 1.0
    assert limiter.decide(1 / FPS, 0.0, 1.0) == pytest.approx(0.25)
    limiter.reset()
    assert limiter.decide(2 / FPS, None, 0.0) == 1.0


@pytest.mark.parametrize("field, value", [("max_step", 0.0), ("window_s", -1.0),
                                          ("max_flashes", 1.5), ("margin", 0.2)])
def test_bad_config_is_one_line(field, value):
    with pytest.raises(VjganError) as e:
        LimiterConfig(**{field: value})
    assert field in str(e.value) and "\n" not in str(e.value)


# -- through the chain (read-back frames) -----------------------------------------------------

moderngl = pytest.importorskip("moderngl")
from vjgan.gfx.effects import EffectChain, EffectSpec  # noqa: E402


def picture(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(20, 120, (h, w, 3), dtype=np.uint8)  # a darkish, busy picture


def play(chain: EffectChain, frames: list[np.ndarray], levels: list[float] | None = None,
         t0: float = 0.0) -> list[np.ndarray]:
    out = []
    for i, frame in enumerate(frames):
        level = levels[i] if levels is not None else 0.0
        chain.render(frame, FrameUniforms(level=level, time_s=t0 + i / FPS))
        out.append(chain.read())
    return out


def flashes(frames: list[np.ndarray]) -> float:
    lum = [relative_luminance(f) for f in frames]
    return max_flashes_per_window(transition_times(lum, [i / FPS for i in range(len(lum))]))


@pytest.mark.parametrize("source", ["strobe effect", "generator frames"])
def test_chain_output_has_at_most_three_flashes_a_second(ctx, source):
    img = picture()
    n = int(2 * FPS)
    on = [1.0 if int(i / FPS * 20) % 2 == 0 else 0.0 for i in range(n)]  # 10 Hz
    if source == "strobe effect":
        specs, frames, levels = [EffectSpec("strobe", 1.0, "level")], [img] * n, on
    else:
        white = np.full_like(img, 255)
        specs, frames, levels = [], [white if a else img for a in on], None
    results = {}
    for limit in (True, False):
        chain = EffectChain(ctx, (32, 24), specs, limit=limit)
        try:
            results[limit] = flashes(play(chain, frames, levels))
        finally:
            chain.release()
    assert results[False] >= 9  # what was asked for
    assert 2 <= results[True] <= 3  # what is shown: still strobing, within the limit


def test_steady_picture_is_untouched(ctx):
    img = picture(seed=3)
    chain = EffectChain(ctx, (32, 24), [EffectSpec("contrast", 0.0)])
    try:
        for out in play(chain, [img] * 30):
            assert np.array_equal(out, img)
        assert chain.limit_enabled and chain.last_alpha == 1.0
    finally:
        chain.release()


def test_chain_spreads_a_big_step(ctx):
    black, white = np.zeros((24, 32, 3), np.uint8), np.full((24, 32, 3), 255, np.uint8)
    chain = EffectChain(ctx, (32, 24), [])
    try:
        lum = [relative_luminance(f) for f in play(chain, [black] * 3 + [white] * 8)]
    finally:
        chain.release()
    steps = np.diff(lum)
    assert steps.max() <= 0.25 + 0.01 and (steps >= -1e-6).all()
    assert 0.2 <= lum[3] <= 0.26 and lum[-1] == 1.0  # one cap-sized step, then on to white


def test_limit_can_be_switched_off_and_on(ctx):
    black, white = np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)
    chain = EffectChain(ctx, (8, 8), [])
    try:
        chain.set_limit(False)
        assert not chain.limit_enabled
        assert [f[0, 0, 0] for f in play(chain, [black, white, black])] == [0, 255, 0]
        chain.set_limit(True)
        out = play(chain, [black, white, white], t0=1.0)
        assert out[0][0, 0, 0] == 0 and 0 < out[1][0, 0, 0] < 255
    finally:
        chain.release()


def test_blackout_fades_to_black_and_back(ctx):
    img = np.full((16, 16, 3), 200, np.uint8)
    for limit in (True, False):
        chain = EffectChain(ctx, (16, 16), [EffectSpec("flash", 0.0)], limit=limit)
        try:
            play(chain, [img] * 3)
            chain.set_blackout(True)
            assert chain.blackout
            lum = [relative_luminance(f) for f in play(chain, [img] * 40, t0=3 / FPS)]
            assert lum[0] > 0.3, "no hard cut to black"
            assert np.all(np.diff(lum) <= 1e-9) and lum[-1] == 0.0
            assert np.diff([relative_luminance(img)] + lum).min() >= -0.25 - 0.01
            chain.set_blackout(False)
            back = play(chain, [img] * 40, t0=43 / FPS)
            assert relative_luminance(back[0]) < 0.3 and np.array_equal(back[-1], img)
            assert not chain.blackout
        finally:
            chain.release()


def test_freeze_keeps_the_last_output(ctx):
    a = picture(seed=1)
    b = a[::-1, ::-1].copy()  # same brightness, different picture
    chain = EffectChain(ctx, (32, 24), [EffectSpec("flash", 0.0)])
    try:
        play(chain, [a])
        chain.set_freeze(True)
        assert chain.frozen
        for out in play(chain, [b, picture(seed=2), b], t0=0.1):
            assert np.array_equal(out, a)
        chain.set_blackout(True)  # a frozen picture still fades out
        assert relative_luminance(play(chain, [b] * 40, t0=0.2)[-1]) == 0.0
        chain.set_blackout(False)
        play(chain, [b] * 40, t0=1.0)
        assert np.array_equal(chain.read(), a)
        chain.set_freeze(False)
        assert not chain.frozen
        assert np.array_equal(play(chain, [b], t0=2.0)[0], b)
    finally:
        chain.release()
