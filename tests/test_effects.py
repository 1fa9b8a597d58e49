"""EffectChain on real GL (EGL; Mesa llvmpipe on CPU): pixel-level checks against numpy."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from vjgan.errors import VjganError
from vjgan.gfx.resources import builtin_shader_dir
from vjgan.gfx.uniforms import FrameUniforms

moderngl = pytest.importorskip("moderngl")
from vjgan.gfx.effects import EffectChain, EffectSpec  # noqa: E402

TOL = 1.0 / 255 + 1e-6


def pattern(h: int = 96, w: int = 128) -> np.ndarray:
    """A gradient plus a checker pattern plus a few saturated blocks: non-trivial statistics."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 / (w - 1), y * 255 / (h - 1), (x + y) * 255 / (w + h - 2)], -1)
    img = img * 0.7 + ((x // 8 + y // 8) % 2)[..., None] * 60
    img[5:20, 10:40] = (250, 20, 30)
    img[60:90, 90:120] = (10, 240, 200)
    return np.clip(img, 0, 255).astype(np.uint8)


def pil_mean(img: np.ndarray) -> int:
    """PIL ImageEnhance.Contrast's grey level: int(mean(convert('L')) + 0.5)."""
    c = img.astype(np.int64)
    luma = (c[..., 0] * 19595 + c[..., 1] * 38470 + c[..., 2] * 7471 + 0x8000) >> 16
    return int(luma.mean() + 0.5)


def contrast_ref(img: np.ndarray, a: float, s: float, mean: float | None = None) -> np.ndarray:
    m = (pil_mean(img) if mean is None else mean) / 255
    return np.clip(m + (1 + a * s) * (img / 255 - m), 0, 1)


def flash_ref(img: np.ndarray, a: float, s: float) -> np.ndarray:
    d = 1 - a * s
    return np.ones(img.shape) if d <= 0 else np.minimum(img / 255 / d, 1)


def run(ctx, img, specs, u=FrameUniforms(), size=None, shader_dir=None, frames=1) -> np.ndarray:
    size = size or (img.shape[1], img.shape[0])
    chain = EffectChain(ctx, size, specs, shader_dir=shader_dir)
    try:
        for _ in range(frames):
            chain.render(img, u)
        return chain.read()
    finally:
        chain.release()


def err(out: np.ndarray, ref01: np.ndarray) -> float:
    return float(np.abs(out / 255 - ref01).max())


def test_contrast_matches_pil_math(ctx):
    img = pattern()
    out = run(ctx, img, [EffectSpec("contrast", 0.8, "contrast_amp")],
              FrameUniforms(contrast_amp=0.7))
    assert out.shape == img.shape and out.dtype == np.uint8
    assert err(out, contrast_ref(img, 0.7, 0.8)) <= TOL
    assert np.abs(out.astype(int) - img).max() > 20  # it did something


def test_contrast_uses_rounded_mean(ctx):
    # Half the pixels have luma 100, half 101: mean 100.5 -> PIL rounds half up to 101.
    img = np.full((32, 48, 3), 100, np.uint8)
    img[:, ::2] = 101
    out = run(ctx, img, [EffectSpec("contrast", 3.0, "contrast_amp")],
              FrameUniforms(contrast_amp=1.0))
    assert err(out, contrast_ref(img, 1.0, 3.0)) <= TOL
    assert out[0, 1, 0] == 97  # 101 + 4 * (100 - 101)
    for wrong in (100.0, 100.5):  # round-down / unrounded means would be visibly different
        assert err(out, contrast_ref(img, 1.0, 3.0, mean=wrong)) > 1.4 / 255
    # and on the general pattern with a strong factor (mean error is amplified 3x)
    img = pattern(80, 72)
    out = run(ctx, img, [EffectSpec("contrast", 3.0, "level")], FrameUniforms(level=1.0))
    assert err(out, contrast_ref(img, 1.0, 3.0)) <= TOL


def test_flash_matches_reference(ctx):
    img = pattern()
    out = run(ctx, img, [EffectSpec("flash", 0.5, "flash_amp")], FrameUniforms(flash_amp=0.6))
    assert err(out, flash_ref(img, 0.6, 0.5)) <= TOL


@pytest.mark.parametrize("strength", [1.0, 2.5])
def test_flash_saturates_to_white_without_nan(ctx, strength):
    out = run(ctx, pattern(32, 32), [EffectSpec("flash", strength, "flash_amp")],
              FrameUniforms(flash_amp=1.0))
    assert (out == 255).all()


def test_zero_amplitude_is_identity(ctx):
    img = pattern()
    specs = [EffectSpec("contrast", 1.0, "contrast_amp"), EffectSpec("flash", 1.0, "flash_amp")]
    out = run(ctx, img, specs, FrameUniforms(level=1.0, onset=1.0))
    assert np.abs(out.astype(int) - img).max() <= 1


def test_chain_applies_effects_in_order(ctx):
    img = pattern()
    u = FrameUniforms(contrast_amp=0.5, flash_amp=0.4)
    specs = [EffectSpec("contrast", 0.6, "contrast_amp"), EffectSpec("flash", 0.5, "flash_amp")]
    out = run(ctx, img, specs, u)
    mid = run(ctx, img, [EffectSpec("contrast", 0.6, "contrast_amp")], u)  # 8-bit between passes
    assert err(mid, contrast_ref(img, 0.5, 0.6)) <= TOL
    assert err(out, flash_ref(mid, 0.4, 0.5)) <= TOL


def test_empty_chain_copies_source_and_keeps_orientation(ctx):
    img = np.zeros((40, 60, 3), np.uint8)
    img[0] = (255, 0, 0)  # top row red
    img[-1] = (0, 0, 255)  # bottom row blue
    img[:, 0] = (0, 255, 0)
    out = run(ctx, img, [])
    assert np.array_equal(out, img)
    out = run(ctx, img, [EffectSpec("flash", 0.0)])
    assert np.array_equal(out[0, 5], [255, 0, 0]) and np.array_equal(out[-1, 5], [0, 0, 255])


def test_fill_crop_wide_and_tall(ctx):
    img = pattern(32, 64)  # wide: keep the central 32 columns
    out = run(ctx, img, [], size=(32, 32))
    assert np.abs(out.astype(int) - img[:, 16:48]).max() <= 1
    tall = pattern(64, 32)  # tall: keep the central 32 rows
    out = run(ctx, tall, [], size=(32, 32))
    assert np.abs(out.astype(int) - tall[16:48]).max() <= 1


def test_fill_crop_upscale_and_downscale(ctx):
    img = np.zeros((16, 32, 3), np.uint8)
    img[:, :8] = (0, 255, 0)  # left quarter: cropped away when filling a square
    img[:, 8:24] = (200, 100, 50)
    img[:, 24:] = (0, 0, 255)  # right quarter: cropped away
    img[:8, 8:24] = (255, 255, 255)  # top half of the kept centre is white
    out = run(ctx, img, [], size=(64, 64))  # 4x up
    assert np.abs(out[4:28, 8:56].astype(int) - 255).max() <= 1
    assert np.abs(out[36:60, 8:56].astype(int) - [200, 100, 50]).max() <= 1
    inner = out[:, 2:62].astype(int)  # no green or blue column kept (R dominates white/orange)
    assert (inner[..., 1] <= inner[..., 0]).all() and (inner[..., 2] <= inner[..., 0]).all()
    big = np.kron(img, np.ones((8, 8, 1), np.uint8))  # 128x256 -> 16x16: 8x down (mipmaps)
    out = run(ctx, big, [], size=(16, 16))
    assert np.abs(out[2:6, 2:14].astype(int) - 255).max() <= 2
    assert np.abs(out[10:14, 2:14].astype(int) - [200, 100, 50]).max() <= 2


def test_reused_source_texture_follows_new_frames(ctx):
    # limit=False: the jumps between these flat frames are larger than the limiter's step cap
    chain = EffectChain(ctx, (16, 16), [EffectSpec("flash", 0.5)], limit=False)
    try:
        for v in (10, 200):
            chain.render(np.full((16, 16, 3), v, np.uint8), FrameUniforms())
            assert (chain.read() == v).all()
        chain.render(np.full((8, 24, 3), 77, np.uint8), FrameUniforms())  # new input size
        assert (chain.read() == 77).all()
        assert chain.output.size == (16, 16)
    finally:
        chain.release()


def test_set_strength(ctx):
    img = pattern(32, 32)
    chain = EffectChain(ctx, (32, 32), [EffectSpec("flash", 0.0, "flash_amp")])
    try:
        chain.set_strength("flash", 0.5)
        chain.render(img, FrameUniforms(flash_amp=0.6))
        assert err(chain.read(), flash_ref(img, 0.6, 0.5)) <= TOL
        with pytest.raises(VjganError, match="contrast.*flash"):
            chain.set_strength("contrast", 1.0)
    finally:
        chain.release()


def test_unknown_effect_and_bad_amp(ctx):
    with pytest.raises(VjganError, match=r"'nope'.*available effects: .*contrast.*flash"):
        EffectChain(ctx, (8, 8), [EffectSpec("nope")])
    with pytest.raises(VjganError, match="amp 'loudness'.*contrast_amp"):
        EffectChain(ctx, (8, 8), [EffectSpec("flash", amp="loudness")])


@pytest.fixture
def shader_copy(tmp_path: Path) -> Path:
    d = tmp_path / "shaders"
    shutil.copytree(builtin_shader_dir(), d)
    return d


def test_compile_error_names_file_and_line(ctx, shader_copy):
    (shader_copy / "contrast.frag").write_text(
        "void main() {\n    vec3 img = texture(u_input, v_uv).rgb;\n"
        "    f_color = vec4(nope * img, 1.0);\n}\n")
    with pytest.raises(VjganError) as e:
        EffectChain(ctx, (8, 8), [EffectSpec("contrast")], shader_dir=shader_copy)
    msg = str(e.value)
    assert "contrast.frag:3:" in msg and "nope" in msg and "\n" not in msg


def test_shader_lacking_contract_uniforms_renders(ctx, tmp_path):
    (tmp_path / "solid.frag").write_text("void main() { f_color = vec4(0.25, 0.5, 0.75, 1.0); }\n")
    (tmp_path / "partial.frag").write_text(  # uses only part of u_chroma and one scalar
        "void main() { f_color = vec4(u_chroma[3], u_time_s, texture(u_input, v_uv).b, 1.0); }\n")
    img = pattern(16, 16)
    out = run(ctx, img, [EffectSpec("solid")], shader_dir=tmp_path)
    assert np.abs(out.astype(int) - [64, 128, 191]).max() <= 1
    chroma = tuple(i / 12 for i in range(12))
    out = run(ctx, img, [EffectSpec("partial")], FrameUniforms(chroma=chroma, time_s=0.5),
              shader_dir=tmp_path)
    assert np.abs(out[..., 0].astype(int) - 64).max() <= 1  # 3/12 * 255
    assert np.abs(out[..., 1].astype(int) - 128).max() <= 1
    assert np.array_equal(out[..., 2], img[..., 2])
    assert run(ctx, img, [EffectSpec("flash", 0.0)], shader_dir=tmp_path).shape == img.shape


def test_prev_output_feedback(ctx, tmp_path):
    (tmp_path / "echo.frag").write_text(
        "void main() {\n  f_color = vec4(0.5 * texture(u_prev_output, v_uv).rgb"
        " + 0.5 * texture(u_input, v_uv).rgb, 1.0);\n}\n")
    img = np.full((16, 16, 3), 200, np.uint8)
    chain = EffectChain(ctx, (16, 16), [EffectSpec("echo"), EffectSpec("flash", 0.0)],
                        shader_dir=tmp_path)
    try:
        got = []
        for _ in range(3):
            chain.render(img, FrameUniforms())
            got.append(int(chain.read()[8, 8, 0]))
        assert [abs(g - e) <= 1 for g, e in zip(got, (100, 150, 175))] == [True] * 3, got
    finally:
        chain.release()


def test_shader_dir_env_override(ctx, tmp_path, monkeypatch):
    (tmp_path / "flash.frag").write_text("void main() { f_color = vec4(0.0, 1.0, 0.0, 1.0); }\n")
    monkeypatch.setenv("VJGAN_SHADER_DIR", str(tmp_path))
    out = run(ctx, pattern(8, 8), [EffectSpec("flash"), EffectSpec("contrast", 0.0)])
    assert np.array_equal(out[0, 0], [0, 255, 0])  # the override won; contrast still built in
    monkeypatch.setenv("VJGAN_SHADER_DIR", str(tmp_path / "missing"))
    with pytest.raises(VjganError, match="VJGAN_SHADER_DIR"):
        run(ctx, pattern(8, 8), [EffectSpec("flash")])
