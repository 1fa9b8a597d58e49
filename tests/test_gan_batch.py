"""Batch rendering (GeneratorRunner.render_batch) and style functions (CallableGenerator)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from test_gan import tiny
from vjgan.errors import VjganError
from vjgan.gan import CallableGenerator, GeneratorRunner, load_runner
from vjgan.gan.callable import SIGNATURE_HINT


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


# -- GeneratorRunner.render_batch --

@pytest.mark.parametrize("psi", [1.0, 0.6])
def test_a_batch_gives_the_frames_of_single_calls_within_one_level(psi):
    # Measured on CPU (torch 2.10): a batch of one is bit-identical; for B > 1 about 0.005 % of the
    # channel values differ by exactly 1 (float summation order in the batched convolutions).
    runner = load_runner(None)
    z = np.random.default_rng(1).standard_normal((3, runner.z_dim)).astype(np.float32)
    batch = runner.render_batch(z, None, psi)
    side = runner.resolution
    assert batch.shape == (3, side, side, 3) and batch.dtype == np.uint8
    singles = np.stack([runner(z[k], None, psi) for k in range(3)])
    diff = _diff(batch, singles)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3
    assert np.array_equal(runner.render_batch(z[:1], None, psi)[0], singles[0])
    assert _diff(batch[0], batch[1]).mean() > 5  # different latents, different pictures


def test_a_conditional_batch_follows_each_rows_class():
    runner = GeneratorRunner(tiny(c_dim=4))
    rng = np.random.default_rng(2)
    z = np.repeat(rng.standard_normal((1, 16)).astype(np.float32), 4, axis=0)
    c = np.eye(4, dtype=np.float32)
    batch = runner.render_batch(z, c, 0.8)
    singles = np.stack([runner(z[k], c[k], 0.8) for k in range(4)])
    assert _diff(batch, singles).max() <= 1
    assert _diff(batch[0], batch[1]).mean() > 1  # same z, other class: another picture


def test_batch_inputs_are_checked_like_single_frames():
    runner = GeneratorRunner(tiny())
    cond = GeneratorRunner(tiny(c_dim=3))
    z = np.zeros((2, 16), np.float32)
    cases = [
        (lambda: runner.render_batch(np.zeros(16), None), r"z has shape \(16,\); a batch for this model needs shape \(B, 16\)"),
        (lambda: runner.render_batch(np.zeros((2, 8)), None), r"needs shape \(B, 16\)"),
        (lambda: runner.render_batch(np.zeros((0, 16)), None), "no rows"),
        (lambda: runner.render_batch(np.full((2, 16), np.nan), None), "NaN"),
        (lambda: runner.render_batch(z, np.ones((2, 3))), r"unconditional \(c_dim=0\); pass c=None"),
        (lambda: runner.render_batch(z, None, psi=float("inf")), "psi must be a finite number"),
        (lambda: cond.render_batch(z, None), r"conditional \(c_dim=3\); pass class vectors c of shape \(2, 3\)"),
        (lambda: cond.render_batch(z, np.ones((3, 3))), r"c has shape \(3, 3\); a batch for this model needs shape \(2, 3\)"),
    ]
    for call, message in cases:
        with pytest.raises(VjganError, match=message):
            call()
    assert runner.render_batch(z, np.zeros((2, 0))).shape == (2, 32, 32, 3)


# -- CallableGenerator --

def paint(noise_batch, class_batch):
    """One flat colour per row: red, green, blue from the first three noise values (0..1)."""
    colours = np.clip(noise_batch[:, :3], 0.0, 1.0) * 255
    return np.broadcast_to(colours.round().astype(np.uint8)[:, None, None, :], (len(noise_batch), 24, 40, 3))


def test_a_numpy_style_function_paints_what_it_is_given():
    gen = CallableGenerator(paint, z_dim=8)
    assert (gen.z_dim, gen.c_dim, gen.resolution) == (8, 0, None)
    z = np.array([[1.0, 0.0, 0.5] + [0] * 5, [0.2, 0.4, 1.0] + [0] * 5], np.float32)
    frames = gen.render_batch(z, None)
    assert frames.shape == (2, 24, 40, 3) and frames.dtype == np.uint8
    assert frames[0, 10, 20].tolist() == [255, 0, 128] and frames[1, 0, 0].tolist() == [51, 102, 255]
    assert gen.resolution == 24 and gen.frame_shape == (24, 40)
    single = gen(z[1], None, psi=0.3)  # psi is ignored by style functions
    assert single.shape == (24, 40, 3) and np.array_equal(single, frames[1])


def test_the_function_gets_keyword_float32_batches_and_classes():
    seen = {}

    def record(*, noise_batch, class_batch):
        seen.update(noise=noise_batch, classes=class_batch)
        return [np.full((8, 8), int(k) * 100, np.uint8) for k in class_batch.argmax(axis=1)]

    gen = CallableGenerator(record, z_dim=4, c_dim=3)
    z = np.arange(8, dtype=np.float64).reshape(2, 4)
    frames = gen.render_batch(z, np.array([[0, 0, 1], [0, 1, 0]]))
    assert seen["noise"].dtype == np.float32 and seen["noise"].shape == (2, 4)
    assert seen["classes"].dtype == np.float32 and seen["classes"].tolist() == [[0, 0, 1], [0, 1, 0]]
    assert frames[0].max() == frames[0].min() == 200 and frames[1, 3, 3].tolist() == [100] * 3  # grey -> RGB
    with pytest.raises(VjganError, match="conditional"):
        gen(z[0])

    unconditional = CallableGenerator(lambda **kw: seen.update(kw) or [np.zeros((4, 4, 3), np.uint8)], z_dim=2)
    unconditional(np.zeros(2))
    assert seen["class_batch"].shape == (1, 0)


def test_pil_images_and_float_and_rgba_arrays_are_converted():
    def pil_style(noise_batch, class_batch):
        return [Image.new("RGB", (6, 4), (10, 200, 30)), Image.new("L", (6, 4), 77)]

    frames = CallableGenerator(pil_style, z_dim=3).render_batch(np.zeros((2, 3)), None)
    assert frames.shape == (2, 4, 6, 3)
    assert frames[0, 3, 5].tolist() == [10, 200, 30] and frames[1, 0, 0].tolist() == [77, 77, 77]

    def float_rgba(noise_batch, class_batch):
        img = np.zeros((len(noise_batch), 5, 5, 4))
        img[..., 0], img[..., 1], img[..., 2], img[..., 3] = 0.2, 0.5, 1.0, 0.0
        return img

    frame = CallableGenerator(float_rgba, z_dim=3)(np.zeros(3))
    assert frame.shape == (5, 5, 3) and frame[2, 2].tolist() == [51, 128, 255]  # rounded, alpha dropped


@pytest.mark.parametrize("output, message", [
    ([np.zeros((4, 4, 3), np.uint8)], r"paint_wrong returned 1 images for 2 noise vectors"),
    ("picture", r"paint_wrong returned a str; return a list of 2 images"),
    (np.zeros((4, 4, 3), np.uint8), r"returned one array of shape \(4, 4, 3\)"),
    ([np.zeros((4, 4, 3)), np.zeros((4, 5, 3))], r"different sizes \(4x4, 4x5, HxW\)"),
    ([np.full((4, 4), 2.0), np.zeros((4, 4))], r"image 0 has float values 2..2; float images must be in \[0, 1\]"),
    ([np.zeros((4, 4), np.int64) - 1, np.zeros((4, 4))], r"image 0 has int64 values -1..-1"),
    ([np.zeros((4, 4, 2), np.uint8)] * 2, r"image 0 has shape \(4, 4, 2\)"),
    ([{"not": "an image"}] * 2, r"image 0 is a dict; return PIL images or numpy arrays"),
])
def test_wrong_outputs_are_one_line_errors_naming_the_function(output, message):
    def paint_wrong(noise_batch, class_batch):
        return output

    gen = CallableGenerator(paint_wrong, z_dim=2)
    with pytest.raises(VjganError, match=message) as err:
        gen.render_batch(np.zeros((2, 2)), None)
    assert "\n" not in str(err.value)


def test_frames_must_keep_the_size_of_the_first_call():
    sizes = iter([(8, 8), (16, 16)])

    def growing(noise_batch, class_batch):
        return [np.zeros((*next(sizes), 3), np.uint8)]

    gen = CallableGenerator(growing, z_dim=1)
    gen(np.zeros(1))
    with pytest.raises(VjganError, match=r"growing returned 16x16 \(HxW\) images after 8x8 ones"):
        gen(np.zeros(1))


def test_an_exception_inside_the_function_is_reported_and_chained():
    def broken(noise_batch, class_batch):
        return [len(noise_batch) / 0]

    gen = CallableGenerator(broken, z_dim=2)
    with pytest.raises(VjganError, match="style function broken raised ZeroDivisionError: division by zero") as err:
        gen(np.zeros(2))
    assert isinstance(err.value.__cause__, ZeroDivisionError)


def test_bad_signatures_and_sizes_are_refused_at_construction():
    def positional(a, b):
        return []

    def only_noise(noise_batch):
        return []

    def extra(noise_batch, class_batch, size):
        return []

    for func in (positional, only_noise, lambda noise_batch, class_batch, /: [], "not callable"):
        with pytest.raises(VjganError, match="noise_batch and class_batch") as err:
            CallableGenerator(func, z_dim=4)
        assert SIGNATURE_HINT in str(err.value)
    with pytest.raises(VjganError, match="extra has required parameter 'size'"):
        CallableGenerator(extra, z_dim=4)
    CallableGenerator(lambda **kwargs: [], z_dim=4)  # **kwargs takes both
    for bad in (0, -3, 2.5, True, None):
        with pytest.raises(VjganError, match="z_dim must be an integer >= 1"):
            CallableGenerator(paint, z_dim=bad)
    with pytest.raises(VjganError, match="c_dim must be an integer >= 0"):
        CallableGenerator(paint, z_dim=4, c_dim=-1)
