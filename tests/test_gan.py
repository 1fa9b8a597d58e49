"""The generator stage: our StyleGAN2 under the NVlabs contract, model files, the runner."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from vjgan.errors import VjganError
from vjgan.gan import Generator, GeneratorRunner, load_generator, load_runner, save_generator
from vjgan.gan.default import DEFAULT_CONFIG, build_default_generator, default_model_path

TINY = dict(z_dim=16, w_dim=16, img_resolution=32, img_channels=3,
            mapping_kwargs={"num_layers": 2},
            synthesis_kwargs={"channel_base": 256, "channel_max": 32})


def tiny(c_dim: int = 0, seed: int = 0) -> Generator:
    torch.manual_seed(seed)
    return Generator(c_dim=c_dim, **TINY).eval().requires_grad_(False)


def test_nvlabs_contract_and_output_range():
    G = tiny()
    assert (G.z_dim, G.c_dim, G.w_dim, G.img_resolution, G.img_channels) == (16, 0, 16, 32, 3)
    z = torch.randn(2, 16)
    ws = G.mapping(z, None)
    assert ws.shape == (2, G.num_ws, 16)
    img = G.synthesis(ws, noise_mode="const")
    assert img.shape == (2, 3, 32, 32) and torch.isfinite(img).all()
    assert torch.equal(G(z, None, noise_mode="const"), img)
    keys = set(G.state_dict())
    for key in ("mapping.fc0.weight", "mapping.w_avg", "synthesis.b4.const",
                "synthesis.b4.conv1.affine.weight", "synthesis.b8.conv0.weight",
                "synthesis.b32.torgb.weight", "synthesis.b32.conv1.noise_const"):
        assert key in keys


def test_batching_and_noise_modes_behave():
    G = tiny()
    z = torch.randn(3, 16)
    batch = G(z, None)
    for k in range(3):
        assert torch.allclose(G(z[k : k + 1], None), batch[k : k + 1], atol=1e-5)
    for name, p in G.named_parameters():
        if name.endswith("noise_strength"):
            p.fill_(0.5)
    const = G(z, None, noise_mode="const")
    assert torch.equal(const, G(z, None, noise_mode="const"))
    assert not torch.allclose(const, G(z, None, noise_mode="none"), atol=1e-3)
    assert not torch.allclose(G(z, None, noise_mode="random"), G(z, None, noise_mode="random"), atol=1e-3)
    with pytest.raises(ValueError, match="noise_mode"):
        G(z, None, noise_mode="sometimes")


def _reference_upfirdn(x, f, up, pad0, pad1, gain):
    """Textbook upfirdn: zero insertion, zero padding, true convolution with f * gain."""
    n, c, h, w = x.shape
    z = torch.zeros(n, c, h * up, w * up)
    z[:, :, ::up, ::up] = x
    z = torch.nn.functional.pad(z, [pad0, pad1, pad0, pad1])
    k = (f.flip([0, 1]) * gain)[None, None].repeat(c, 1, 1, 1)
    return torch.nn.functional.conv2d(z, k, groups=c)


def test_upsampling_matches_the_reference_resampling_chain():
    # NVlabs checkpoints only render correctly if our resampling lines up with theirs sample for sample.
    from vjgan.gan.layers import make_resample_filter, modulated_conv2d, upsample2d

    f = make_resample_filter([1, 3, 3, 1])
    img = torch.randn(2, 3, 8, 8)
    assert torch.allclose(upsample2d(img, f), _reference_upfirdn(img, f, 2, 2, 1, 4.0), atol=1e-5)
    x, weight, styles = torch.randn(2, 4, 8, 8), torch.randn(5, 4, 3, 3), torch.randn(2, 4)
    ours = modulated_conv2d(x, weight, styles, demodulate=True, up=2, padding=1, resample_filter=f)
    for k in range(2):
        w = weight * styles[k][None, :, None, None]
        w = w * (w.square().sum([1, 2, 3]) + 1e-8).rsqrt()[:, None, None, None]
        y = torch.nn.functional.conv_transpose2d(x[k : k + 1], w.transpose(0, 1), stride=2)
        assert torch.allclose(ours[k : k + 1], _reference_upfirdn(y, f, 1, 1, 1, 4.0), atol=1e-4)


def test_psi_zero_gives_the_average_image_for_any_z():
    G = tiny()
    a = G(torch.randn(1, 16), None, truncation_psi=0)
    b = G(torch.randn(1, 16), None, truncation_psi=0)
    assert torch.allclose(a, b, atol=1e-5)
    assert not torch.allclose(G(torch.randn(1, 16), None), a, atol=1e-3)


def test_class_vector_steers_a_conditional_model():
    G = tiny(c_dim=5)
    z = torch.randn(1, 16)
    images = [G(z, torch.eye(5)[k : k + 1]) for k in range(5)]
    assert all(not torch.allclose(images[0], im, atol=1e-3) for im in images[1:])


def test_runner_is_deterministic_and_returns_uint8_frames():
    runner = GeneratorRunner(tiny())
    z = np.random.default_rng(0).standard_normal(16).astype(np.float32)
    a, b = runner(z, None), runner(z, None)
    assert a.dtype == np.uint8 and a.shape == (32, 32, 3) and a.flags["C_CONTIGUOUS"]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, runner(-z, None))
    with pytest.raises(VjganError, match="shape"):
        runner(np.zeros(3, np.float32), None)


def test_save_load_round_trip_is_bit_identical(tmp_path):
    G = tiny(c_dim=3)
    path = save_generator(G, tmp_path / "m.safetensors")
    H = load_generator(path)
    z, c = torch.randn(1, 16), torch.eye(3)[:1]
    assert torch.equal(G(z, c), H(z, c))
    assert H.init_kwargs == G.init_kwargs


def test_shipped_default_model_renders_a_real_picture():
    path = default_model_path()
    assert path.is_file() and path.stat().st_size < 20e6
    runner = load_runner(None)
    side = DEFAULT_CONFIG["img_resolution"]
    assert runner.resolution == side
    rng = np.random.default_rng(1)
    frame = runner(rng.standard_normal(runner.z_dim).astype(np.float32))
    assert frame.shape == (side, side, 3) and frame.dtype == np.uint8
    assert frame.std() > 20 and np.mean((frame == 0) | (frame == 255)) < 0.2  # not flat, not clipped
    assert np.abs(frame.astype(int) - frame.mean(axis=2, keepdims=True)).mean() > 10  # colour, not grey
    other = runner(rng.standard_normal(runner.z_dim).astype(np.float32))
    assert np.abs(frame.astype(int) - other.astype(int)).mean() > 10  # the latent changes the picture
    with torch.no_grad():
        raw = runner.G(torch.randn(2, runner.z_dim), None)
    assert (raw.abs() < 1.5).float().mean() > 0.95  # roughly in [-1, 1]


def _expect_error(path: Path, *needles: str) -> None:
    with pytest.raises(VjganError) as err:
        load_generator(path)
    message = str(err.value)
    assert path.name in message and "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_bad_model_files_are_refused_with_the_file_named(tmp_path):
    _expect_error(tmp_path / "missing.safetensors", "not found")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x07" * 64)
    _expect_error(junk, "safetensors")
    plain = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(2)}, plain)
    _expect_error(plain, "header")
    good = save_generator(tiny(), tmp_path / "good.safetensors")
    from safetensors import safe_open

    with safe_open(str(good), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors["mapping.fc0.weight"] = tensors["mapping.fc0.weight"][:, :8].contiguous()
    wrong = tmp_path / "wrong.safetensors"
    save_file(tensors, wrong, metadata=meta)
    _expect_error(wrong, "mapping.fc0.weight")
    del tensors["mapping.fc0.weight"]
    short = tmp_path / "short.safetensors"
    save_file(tensors, short, metadata=meta)
    _expect_error(short, "mapping.fc0.weight", "missing")


def _rewrite(src: Path, dst: Path, edit_meta=None, edit_tensors=None) -> Path:
    from safetensors import safe_open

    with safe_open(str(src), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if edit_meta:
        meta = edit_meta(meta)
    if edit_tensors:
        edit_tensors(tensors)
    save_file(tensors, dst, metadata=meta)
    return dst


def test_bad_headers_and_extra_tensors_are_refused(tmp_path):
    import json

    good = save_generator(tiny(), tmp_path / "good.safetensors")

    def with_header(**changes):
        def edit(meta):
            header = json.loads(meta["vjgan"])
            header.update(changes)
            return {"vjgan": json.dumps(header)}
        return edit

    _expect_error(_rewrite(good, tmp_path / "json.safetensors", lambda m: {"vjgan": "{not json"}), "JSON")
    _expect_error(_rewrite(good, tmp_path / "arch.safetensors", with_header(arch="biggan")), "biggan", "stylegan2")
    _expect_error(_rewrite(good, tmp_path / "newer.safetensors", with_header(version=99)), "upgrade")
    bad_cfg = with_header(config={**tiny().init_kwargs, "img_resolution": 48})
    _expect_error(_rewrite(good, tmp_path / "cfg.safetensors", bad_cfg), "img_resolution")
    extra = _rewrite(good, tmp_path / "extra.safetensors",
                     edit_tensors=lambda t: t.update({"synthesis.b64.torgb.weight": torch.zeros(3)}))
    _expect_error(extra, "synthesis.b64.torgb.weight", "unexpected")
    wrong = _rewrite(good, tmp_path / "shape.safetensors",
                     edit_tensors=lambda t: t.update({"synthesis.b4.const": torch.zeros(32, 2, 2)}))
    _expect_error(wrong, "synthesis.b4.const", "[32, 2, 2]", "[32, 4, 4]")
    _expect_error(tmp_path, "folder")


def test_runner_reports_bad_inputs_and_bad_paths(tmp_path):
    with pytest.raises(VjganError, match="nope.safetensors"):
        load_runner(tmp_path / "nope.safetensors")
    runner = GeneratorRunner(tiny(c_dim=5))
    z = np.zeros(16, np.float32)
    with pytest.raises(VjganError, match="conditional"):
        runner(z, None)
    with pytest.raises(VjganError, match="NaN"):
        runner(np.full(16, np.nan, np.float32), np.eye(5, dtype=np.float32)[0])
    frames = [runner(z, np.eye(5, dtype=np.float32)[k]) for k in (0, 1)]
    assert not np.array_equal(*frames)
    if not torch.cuda.is_available():
        with pytest.raises(VjganError, match="cuda"):
            GeneratorRunner(tiny(), device="cuda")


def test_truncation_in_the_runner_pulls_toward_the_average_frame():
    G = tiny()
    with torch.no_grad():
        G.mapping.w_avg.copy_(G.mapping(torch.randn(256, 16), None).mean(dim=(0, 1)))
    runner = GeneratorRunner(G)
    rng = np.random.default_rng(3)
    za, zb = (rng.standard_normal(16).astype(np.float32) for _ in range(2))
    assert np.array_equal(runner(za, psi=0.0), runner(zb, psi=0.0))
    far = np.abs(runner(za).astype(int) - runner(zb).astype(int)).mean()
    near = np.abs(runner(za, psi=0.3).astype(int) - runner(zb, psi=0.3).astype(int)).mean()
    assert near < far


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_pickle_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps({"G_ema": _Payload(str(marker))}, protocol=2))
    _expect_error(evil, "pickle")
    assert not marker.exists()
    torch_file = tmp_path / "evil.pt"
    torch.save({"g_ema": _Payload(str(marker))}, torch_file)
    with pytest.raises(VjganError):
        load_generator(torch_file)
    assert not marker.exists()
