"""The built-in effect shaders and fit modes on real GL (EGL; llvmpipe on CPU): what a user sees."""

from __future__ import annotations

import numpy as np
import pytest

from vjgan.errors import VjganError
from vjgan.gfx.uniforms import FrameUniforms

moderngl = pytest.importorskip("moderngl")
from vjgan.gfx.effects import EffectChain, EffectSpec, available_effects  # noqa: E402

BUILTINS = ("contrast", "edges", "flash", "hue_shift", "kaleidoscope", "rgb_split", "strobe",
            "swirl", "trails", "zoom")


def pattern(h: int = 48, w: int = 64) -> np.ndarray:
    """Smooth gradients plus saturated blocks: asymmetric, with colour and structure."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 / (w - 1), y * 255 / (h - 1), (x + 2 * y) * 255 / (w + 2 * h - 3)], -1)
    img[4:12, 6:20] = (250, 30, 20)
    img[h - 16:h - 6, w - 22:w - 8] = (20, 230, 210)
    return np.clip(img, 0, 255).astype(np.uint8)


def run(ctx, img, name, strength, amp, size=None, frames=1, **kw) -> np.ndarray:
    size = size or (img.shape[1], img.shape[0])
    chain = EffectChain(ctx, size, [EffectSpec(name, strength, "level")], **kw)
    try:
        for i in range(frames):
            chain.render(img, FrameUniforms(level=amp, time_s=i / 30))
        return chain.read()
    finally:
        chain.release()


def diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(np.asarray(a, dtype=int) - np.asarray(b, dtype=int)).max())


def test_builtins_are_available():
    assert set(BUILTINS) <= set(available_effects())


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_follows_its_amplitude(ctx, name):
    img = pattern()
    quiet, loud = (run(ctx, img, name, 0.6, a) for a in (0.2, 0.9))
    assert np.abs(quiet.astype(int) - loud).mean() > 2, f"{name} ignores u_amp"


@pytest.mark.parametrize("name, strength, amp", [
    ("edges", 0.0, 1.0), ("hue_shift", 1.0, 0.0), ("kaleidoscope", 0.0, 1.0),
    ("rgb_split", 1.0, 0.0), ("strobe", 1.0, 0.0), ("swirl", 1.0, 0.0), ("trails", 0.0, 1.0),
    ("zoom", 1.0, 0.0)])
def test_builtins_at_rest_pass_the_picture_through(ctx, name, strength, amp):
    img = pattern()
    assert diff(run(ctx, img, name, strength, amp), img) <= 1


def test_hue_shift_turns_red_to_green_and_blue(ctx):
    img = np.zeros((8, 8, 3), np.uint8)
    img[..., 0] = 255
    green = run(ctx, img, "hue_shift", 1 / 3, 1.0)
    assert diff(green, np.broadcast_to([0, 255, 0], img.shape)) <= 2
    blue = run(ctx, img, "hue_shift", 1 / 3, 2.0)  # amp 2: two thirds of a turn
    assert diff(blue, np.broadcast_to([0, 0, 255], img.shape)) <= 2
    grey = np.full((8, 8, 3), 128, np.uint8)  # no hue: stays grey
    assert diff(run(ctx, grey, "hue_shift", 0.25, 1.0), grey) <= 1


def test_strobe_is_white_on_a_hit_and_passes_through_otherwise(ctx):
    img = pattern(16, 16)
    assert (run(ctx, img, "strobe", 1.0, 1.0) == 255).all()
    assert np.array_equal(run(ctx, img, "strobe", 1.0, 0.0), img)
    assert np.array_equal(run(ctx, img, "strobe", 1.0, 0.4), img)  # below the gate
    half = run(ctx, img, "strobe", 0.5, 1.0)
    assert diff(half, (img.astype(float) + 255) / 2) <= 1


def test_edges_black_on_flat_bright_on_a_step(ctx):
    flat = np.full((16, 32, 3), 140, np.uint8)
    assert (run(ctx, flat, "edges", 1.0, 0.0) == 0).all()
    step = np.zeros((16, 32, 3), np.uint8)
    step[:, 16:] = 255
    out = run(ctx, step, "edges", 1.0, 0.0)[..., 0]
    assert (out[:, 15:17] >= 254).all()  # the two columns either side of the step
    assert (out[:, :14] == 0).all() and (out[:, 18:] == 0).all()
    weak = step // 4  # a quarter-height step: Sobel 1/4, amp 1 makes the gain 4
    assert abs(int(run(ctx, weak, "edges", 1.0, 0.0)[8, 16, 0]) - 64) <= 2
    assert run(ctx, weak, "edges", 1.0, 1.0)[8, 16, 0] >= 240  # nearly full (filter rounding)


def test_rgb_split_moves_red_right_and_blue_left(ctx):
    img = np.zeros((8, 80, 3), np.uint8)
    img[:, 38:42] = 255  # a white bar; 5 % of 80 px = 4 px at strength 1, amp 1
    out = run(ctx, img, "rgb_split", 1.0, 1.0)
    cols = [np.flatnonzero(out[4, :, c] > 128).tolist() for c in range(3)]
    assert cols == [[42, 43, 44, 45], [38, 39, 40, 41], [34, 35, 36, 37]]


def test_zoom_enlarges_a_centred_square(ctx):
    img = np.zeros((64, 64, 3), np.uint8)
    img[24:40, 24:40] = 255
    out = run(ctx, img, "zoom", 1.0, 0.5)  # 1.5x larger, turned by 0.125 rad
    area = (out[..., 0] > 128).sum()
    assert abs(area / 256 - 2.25) < 0.12
    assert (out[30:34, 30:34] == 255).all() and (out[:6, :6] == 0).all()
    assert out[32, 32 + 11, 0] > 128  # 11 px right of centre: outside the 8 px half-width before


def _blob(size: int, centre_xy: tuple[float, float]) -> np.ndarray:
    """A Gaussian dot; centre in pixels from the picture centre, x right, y up."""
    rows, cols = np.mgrid[0:size, 0:size]
    x, y = cols + 0.5 - size / 2, size / 2 - (rows + 0.5)
    d2 = (x - centre_xy[0]) ** 2 + (y - centre_xy[1]) ** 2
    v = 255 * np.exp(-d2 / (2 * 1.5 ** 2))
    return np.repeat(v[..., None], 3, axis=2).astype(np.uint8)


def _centroid(img: np.ndarray) -> tuple[float, float]:
    size = img.shape[0]
    rows, cols = np.mgrid[0:size, 0:size]
    w = img[..., 0].astype(float)
    return (float((w * (cols + 0.5 - size / 2)).sum() / w.sum()),
            float((w * (size / 2 - (rows + 0.5))).sum() / w.sum()))


def test_swirl_keeps_the_centre_and_turns_a_ring(ctx):
    size = 63  # odd: one pixel sits exactly on the centre
    img = pattern(size, size)
    out = run(ctx, img, "swirl", 1.0, 1.0)
    assert diff(out[31, 31], img[31, 31]) <= 1
    # a dot 16 px right of centre turns by pi * (1 - 16 / 31.5)^2 = 43.5 degrees, anticlockwise
    angle = np.pi * (1 - 16 / 31.5) ** 2
    got = _centroid(run(ctx, _blob(size, (16.0, 0.0)), "swirl", 1.0, 1.0))
    assert np.hypot(got[0] - 16 * np.cos(angle), got[1] - 16 * np.sin(angle)) < 1.0, got
    corner = _blob(size, (-27.0, 27.0))  # outside the inscribed circle: untouched
    assert diff(run(ctx, corner, "swirl", 1.0, 1.0), corner) <= 1


def test_kaleidoscope_is_mirror_symmetric(ctx):
    img = pattern(48, 48)
    out = run(ctx, img, "kaleidoscope", 1.0, 0.3)
    assert diff(out, out[:, ::-1]) <= 2 and diff(out, out[::-1]) <= 2
    assert diff(img, img[:, ::-1]) > 100  # the input was not
    other = run(ctx, img, "kaleidoscope", 1.0, 0.0)
    assert diff(other, other[:, ::-1]) <= 2 and np.abs(other.astype(int) - out).mean() > 5


def test_trails_blend_in_the_previous_output(ctx):
    # strength 1, amp 0: feedback 0.5; the first frame blends with black
    img = np.full((16, 16, 3), 200, np.uint8)
    chain = EffectChain(ctx, (16, 16), [EffectSpec("trails", 1.0, "level")])
    try:
        got = []
        for i, frame in enumerate([img, img, img, img // 2]):
            chain.render(frame, FrameUniforms(level=0.0, time_s=i / 30))
            got.append(int(chain.read()[8, 8, 0]))
        expected = [100, 150, 175, 100 / 2 + 175 / 2]
        assert all(abs(g - e) <= 1.5 for g, e in zip(got, expected)), got
        chain.render(img, FrameUniforms(level=1.0, time_s=4 / 30))  # amp 1: feedback 0.95
        assert abs(int(chain.read()[8, 8, 0]) - (0.05 * 200 + 0.95 * got[-1])) <= 1.5
    finally:
        chain.release()


# -- fit modes: a 32x32 frame on a 64x36 output (16:9-like) ------------------------------------

def quadrants(n: int = 32) -> np.ndarray:
    img = np.zeros((n, n, 3), np.uint8)
    h = n // 2
    img[:h, :h], img[:h, h:] = (250, 40, 40), (40, 250, 40)
    img[h:, :h], img[h:, h:] = (40, 40, 250), (250, 250, 40)
    return img


def test_fill_is_the_default_and_crops(ctx):
    img = quadrants()
    out = run(ctx, img, "flash", 0.0, 0.0, size=(64, 36))
    assert np.array_equal(out, run(ctx, img, "flash", 0.0, 0.0, size=(64, 36), fit="fill"))
    assert not (out == 0).all(axis=2).any()  # no bars
    assert diff(out[2, 2], [250, 40, 40]) <= 1 and diff(out[33, 61], [250, 250, 40]) <= 1


def test_fit_letterboxes_with_black_bars(ctx):
    img = quadrants()
    out = run(ctx, img, "flash", 0.0, 0.0, size=(64, 36), fit="fit")
    # scale 36/32: the picture is 36x36 at x = 14..49, black bars either side
    assert (out[:, :14] == 0).all() and (out[:, 50:] == 0).all()
    assert diff(out[1, 15], [250, 40, 40]) <= 1 and diff(out[34, 48], [250, 250, 40]) <= 1
    assert diff(out[1, 48], [40, 250, 40]) <= 1 and diff(out[34, 15], [40, 40, 250]) <= 1
    tall = run(ctx, img, "flash", 0.0, 0.0, size=(36, 64), fit="fit")  # bars top and bottom
    assert (tall[:14] == 0).all() and (tall[50:] == 0).all() and (tall[14:50] > 0).any(axis=2).all()


def test_mirror_fills_the_bars_with_the_mirrored_picture(ctx):
    img = quadrants()
    img[:, 4:8] = 255  # white stripes near both edges: a clamped edge would not repeat them
    img[:, 25:27] = 255
    fit = run(ctx, img, "flash", 0.0, 0.0, size=(64, 36), fit="fit")
    out = run(ctx, img, "flash", 0.0, 0.0, size=(64, 36), fit="mirror")
    assert np.array_equal(out[:, 14:50], fit[:, 14:50])
    for k in range(14):
        assert diff(out[:, 13 - k], out[:, 14 + k]) <= 1, k  # left bar mirrors the left edge
        assert diff(out[:, 50 + k], out[:, 49 - k]) <= 1, k
    left_stripe = np.flatnonzero(out[18, :14, 0] > 240)  # the stripe at x 18..22, mirrored
    assert left_stripe.size and 4 <= left_stripe.min() and left_stripe.max() <= 10


def test_unknown_fit_mode_is_one_line(ctx):
    with pytest.raises(VjganError) as e:
        EffectChain(ctx, (8, 8), [], fit="stretch")
    assert "'stretch'" in str(e.value) and "fill, fit, mirror" in str(e.value)
    assert "\n" not in str(e.value)
