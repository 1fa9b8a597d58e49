"""vjgan's own StyleGAN3 (configs T and R): NVlabs contract and key names, rebuild, equivariance."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from vjgan.gan.sg3_filters import bessel_j1, design_lowpass_filter, filtered_lrelu, upfirdn2d
from vjgan.gan.sg3_layers import sg3_modulated_conv2d
from vjgan.gan.stylegan3 import Generator, MappingNetwork

SMALL = dict(z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=3,
             mapping_kwargs={"num_layers": 2},
             synthesis_kwargs={"channel_base": 512, "channel_max": 16, "num_layers": 4})
R_KWARGS = {"conv_kernel": 1, "use_radial_filters": True}
# Derived by hand from the StyleGAN3 schedule for SMALL: cutoffs 2, 5.66, 16, 16, 16; sampling rates
# 16, 32, 32, 32, 32; sizes = rate + 2 * margin (10) except the last two (= 32); channels
# min(256 / cutoff, 16), 3 for the ToRGB layer.
SMALL_LAYERS = ["L0_36_16", "L1_52_16", "L2_52_16", "L3_32_16", "L4_32_3"]
# Layer names of the published 1024-px StyleGAN3 T and R generators.
T1024_LAYERS = ["L0_36_512", "L1_36_512", "L2_52_512", "L3_52_512", "L4_84_512", "L5_148_512", "L6_148_512",
                "L7_276_323", "L8_276_203", "L9_532_128", "L10_1044_81", "L11_1044_51", "L12_1044_32",
                "L13_1024_32", "L14_1024_3"]
R1024_LAYERS = ["L0_36_1024", "L1_36_1024", "L2_52_1024", "L3_52_1024", "L4_84_1024", "L5_148_1024",
                "L6_148_1024", "L7_276_645", "L8_276_406", "L9_532_256", "L10_1044_161", "L11_1044_102",
                "L12_1044_64", "L13_1024_64", "L14_1024_3"]


def small(radial: bool = False, seed: int = 0, **synthesis) -> Generator:
    torch.manual_seed(seed)
    syn = {**SMALL["synthesis_kwargs"], **(R_KWARGS if radial else {}), **synthesis}
    return Generator(**{**SMALL, "synthesis_kwargs": syn}).eval().requires_grad_(False)


def randomize_biases(G: Generator, scale: float = 0.5) -> None:
    """Trained networks have non-zero biases; make the nonlinearities do real work."""
    for name, p in G.synthesis.named_parameters():
        if name.endswith(".bias") and ".affine." not in name:
            p.copy_(torch.randn_like(p) * scale)


def rel_err(a: torch.Tensor, ref: torch.Tensor) -> float:
    return ((a - ref).square().mean() / (ref - ref.mean()).square().mean()).sqrt().item()


@pytest.mark.parametrize("radial", [False, True], ids=["T", "R"])
def test_contract_and_output(radial):
    G = small(radial)
    assert (G.z_dim, G.c_dim, G.w_dim, G.img_resolution, G.img_channels, G.num_ws) == (16, 0, 16, 32, 3, 6)
    z = torch.randn(2, 16)
    ws = G.mapping(z, None, truncation_psi=1)
    assert ws.shape == (2, 6, 16)
    img = G.synthesis(ws, noise_mode="const")
    assert img.shape == (2, 3, 32, 32) and img.dtype == torch.float32
    assert torch.isfinite(img).all()
    assert img.abs().max() < 2 and 0.01 < img.std() < 1
    assert torch.equal(G(z, None, truncation_psi=1, truncation_cutoff=None, noise_mode="const"), img)
    kernel = 1 if radial else 3
    for name in SMALL_LAYERS[:-1]:
        assert getattr(G.synthesis, name).weight.shape[-2:] == (kernel, kernel)
    assert G.synthesis.L4_32_3.weight.shape == (3, 16, 1, 1)  # ToRGB is 1x1 in both configs
    with pytest.raises(ValueError, match="noise_mode"):
        G(z, None, noise_mode="sometimes")
    with pytest.raises(ValueError, match="ws must have shape"):
        G.synthesis(ws[:, :5])


def test_state_dict_keys_follow_nvlabs_naming():
    layer_keys = ["weight", "bias", "magnitude_ema", "up_filter", "down_filter", "affine.weight", "affine.bias"]
    expected = [f"synthesis.input.{k}" for k in ("weight", "transform", "freqs", "phases", "affine.weight",
                                                  "affine.bias")]
    for name in SMALL_LAYERS:
        keys = layer_keys if name != SMALL_LAYERS[-1] else [k for k in layer_keys if "filter" not in k]
        expected += [f"synthesis.{name}.{k}" for k in keys]
    expected += ["mapping.w_avg", "mapping.fc0.weight", "mapping.fc0.bias", "mapping.fc1.weight", "mapping.fc1.bias"]
    for radial in (False, True):
        G = small(radial)
        assert G.synthesis.layer_names == SMALL_LAYERS
        sd = G.state_dict()
        assert list(sd) == expected
        assert sd["synthesis.input.freqs"].shape == (16, 2) and sd["synthesis.input.transform"].shape == (3, 3)
        assert sd["synthesis.L0_36_16.magnitude_ema"].shape == ()
        assert sd["synthesis.L1_52_16.up_filter"].shape == (24,)  # rate 16 -> 64: up 4, 6 taps per factor
        # R: radially symmetric 2-D down filters except in the critically sampled last layers.
        assert sd["synthesis.L1_52_16.down_filter"].shape == ((12, 12) if radial else (12,))
        assert sd["synthesis.L3_32_16.down_filter"].shape == (12,)


@pytest.mark.parametrize("kwargs,names,conv", [
    ({}, T1024_LAYERS, (512, 512, 3, 3)),
    ({"channel_base": 65536, "channel_max": 1024, **R_KWARGS}, R1024_LAYERS, (1024, 1024, 1, 1)),
], ids=["T1024", "R1024"])
def test_full_size_structure_builds_on_meta(kwargs, names, conv):
    with torch.device("meta"):
        G = Generator(z_dim=512, c_dim=0, w_dim=512, img_resolution=1024, img_channels=3,
                      mapping_kwargs={"num_layers": 2}, **kwargs)
    assert G.synthesis.layer_names == names and G.num_ws == 16
    sd = G.state_dict()
    assert all(t.device.type == "meta" for t in sd.values())
    assert sd[f"synthesis.{names[0]}.weight"].shape == conv
    assert sd[f"synthesis.{names[2]}.up_filter"].shape == (24,)
    assert sd[f"synthesis.{names[-1]}.weight"].shape == (3, conv[0] // 16, 1, 1)
    assert f"synthesis.{names[-1]}.up_filter" not in sd
    fp16 = [n for n in names if getattr(G.synthesis, n).use_fp16]
    assert fp16 == names[5:]  # sampling rate * 2**num_fp16_res > 1024 from the 128-rate layers on


def test_rebuild_from_init_kwargs_on_meta_gives_identical_output():
    G = small(radial=True, seed=3)
    randomize_biases(G)
    G.mapping.w_avg.normal_()
    config = json.loads(json.dumps(G.init_kwargs))  # what a vjgan model file stores
    with torch.device("meta"):
        H = Generator(**config)
    H.load_state_dict(G.state_dict(), strict=True, assign=True)
    H.eval()
    z = torch.randn(2, 16)
    assert torch.equal(H(z, None, truncation_psi=0.6), G(z, None, truncation_psi=0.6))
    # NVlabs pickles keep the synthesis settings flat in their init kwargs: same network.
    flat = Generator(**{k: v for k, v in config.items() if k != "synthesis_kwargs"}, **config["synthesis_kwargs"])
    assert flat.init_kwargs == G.init_kwargs
    assert {k: v.shape for k, v in flat.state_dict().items()} == {k: v.shape for k, v in G.state_dict().items()}


def test_translation_equivariance_of_config_t():
    G = small(seed=2, num_layers=6)
    randomize_biases(G)
    ws = G.mapping(torch.randn(1, 16), None)

    def shifted(dx: float, dy: float) -> torch.Tensor:
        # `transform` is the inverse transform of the image: translating it by -d moves the content by +d.
        G.synthesis.input.transform[0, 2] = -dx / G.img_resolution
        G.synthesis.input.transform[1, 2] = -dy / G.img_resolution
        return G.synthesis(ws)

    m = 6  # compare the interior; content enters and leaves at the borders
    for (x0, y0), (x1, y1) in (((0, 0), (3, 1)), ((0.5, 0.25), (2.5, 1.25))):  # whole and sub-pixel start
        a, b = shifted(x0, y0), shifted(x1, y1)
        sx, sy = int(x1 - x0), int(y1 - y0)
        inner = a[..., m:-m, m:-m]
        aligned = b[..., m + sy:-m + sy, m + sx:-m + sx]
        # Measured: aligned 7e-6 (whole pixels) / 3e-6 (sub-pixel); the content moved: 0.08 / 0.06 unaligned.
        assert rel_err(aligned, inner) < 1e-3
        assert rel_err(b[..., m:-m, m:-m], inner) > 0.02


def test_rotation_equivariance_of_config_r_but_not_t():
    errs = {}
    for radial in (False, True):
        G = small(radial, seed=2, num_layers=6)
        ws = G.mapping(torch.randn(1, 16), None)
        ref = G.synthesis(ws)
        th = math.radians(30)
        rot = torch.tensor([[math.cos(th), math.sin(th)], [-math.sin(th), math.cos(th)]])
        G.synthesis.input.transform[:2, :2] = rot
        turned = G.synthesis(ws)
        theta = torch.cat([rot, torch.zeros(2, 1)], dim=1)[None]
        expect = F.grid_sample(ref, F.affine_grid(theta, ref.shape, align_corners=False), mode="bicubic",
                               align_corners=False)
        yy, xx = torch.meshgrid(torch.arange(32) - 15.5, torch.arange(32) - 15.5, indexing="ij")
        disc = yy**2 + xx**2 < 11**2
        errs[radial] = rel_err(turned[..., disc], expect[..., disc])
    # Measured over seeds 2-5: R 0.004-0.016, T (3x3 kernels) 0.2-0.65.
    assert errs[True] < 0.05 and errs[False] > 0.1


def test_determinism_batch_consistency_and_truncation():
    G = small(seed=4)
    randomize_biases(G)
    z = torch.randn(3, 16)
    batch = G(z, None, noise_mode="const")
    assert torch.equal(batch, G(z, None, noise_mode="const"))
    for k in range(3):
        assert torch.allclose(G(z[k:k + 1], None), batch[k:k + 1], atol=1e-5)
    assert not torch.allclose(batch[0], batch[1], atol=1e-2)
    G.mapping.w_avg.normal_()
    mean_imgs = G(z, None, truncation_psi=0)  # psi 0: every z maps to w_avg
    assert torch.allclose(mean_imgs[0], mean_imgs[2], atol=1e-6)


def test_mapping_matches_stylegan3_defaults():
    m = MappingNetwork(z_dim=8, c_dim=4, w_dim=12, num_ws=5, freeze_layers=1, freeze_embed=True)
    assert m.num_layers == 2
    assert [k for k in m.state_dict()] == ["w_avg", "embed.weight", "embed.bias", "fc0.weight", "fc0.bias",
                                           "fc1.weight", "fc1.bias"]
    assert m.fc0.weight.shape == (12, 20)
    ws = m(torch.randn(2, 8), torch.eye(4)[:2])
    assert ws.shape == (2, 5, 12)
    assert hasattr(MappingNetwork(8, 0, 12, 5, w_avg_beta=None), "w_avg")


def test_lowpass_filters_match_kaiser_design_reference_values():
    # Values from scipy.signal.firwin(12, cutoff=2, width=4, fs=32) and the Kaiser-windowed jinc.
    f = design_lowpass_filter(12, cutoff=2.0, width=4.0, fs=32)
    ref = torch.tensor([0.0261573836, 0.0482165283, 0.0740874033, 0.0996527163, 0.1202107824, 0.1316751862])
    assert torch.allclose(f[:6], ref, atol=1e-7) and torch.allclose(f, f.flip(0))
    assert abs(f.sum().item() - 1) < 1e-6
    assert bessel_j1([0.5, 3.0, 10.0, 25.0]) == pytest.approx([0.2422684577, 0.3390589585, 0.0434727462,
                                                              -0.1253502496], abs=1e-9)
    r = design_lowpass_filter(12, cutoff=5.0, width=6.0, fs=32, radial=True)
    assert r.shape == (12, 12) and torch.allclose(r, r.t()) and abs(r.sum().item() - 1) < 1e-6
    ref_row = torch.tensor([0.0225672293, 0.0494192315, 0.0695911088, 0.0695911088, 0.0494192315, 0.0225672293])
    assert torch.allclose(r[5, 3:9], ref_row, atol=1e-7) and abs(r[0, 0].item() - 0.00011784788639631312) < 1e-9
    assert design_lowpass_filter(1, 2.0, 4.0, 32) is None
    # Passes low frequencies, half amplitude at the cutoff, blocks the stopband (cutoff + width/2 on).
    freqs = torch.fft.rfftfreq(512, d=1 / 32)
    gain = torch.fft.rfft(f.double(), n=512).abs()
    assert (gain[freqs <= 0.25] > 0.99).all() and (gain[freqs >= 4.0] < 0.05).all()
    assert gain[freqs == 2.0].item() == pytest.approx(0.5, abs=0.1)


def _naive_upfirdn(x, f, up, down, pad, gain):
    """Zero-insert, pad, 2-D true convolution, decimate: the textbook definition."""
    n, c, h, w = x.shape
    y = torch.zeros(n, c, h * up, w * up, dtype=x.dtype)
    y[:, :, ::up, ::up] = x
    y = F.pad(y, pad)
    f2 = torch.outer(f, f) if f.ndim == 1 else f
    kernel = (f2 * gain).flip(0, 1)[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(y, kernel, groups=c)[:, :, ::down, ::down]


@pytest.mark.parametrize("up,down,pad", [(2, 1, [9, 8, 9, 8]), (4, 2, [-6, -9, -6, -9]), (1, 2, [3, 2, 1, 4])])
def test_upfirdn2d_matches_textbook_definition(up, down, pad):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 20, 20, dtype=torch.float64)
    f = torch.rand(12, dtype=torch.float64)
    got = upfirdn2d(x, f, up=up, down=down, padding=pad, gain=up * up)
    assert torch.allclose(got, _naive_upfirdn(x, f, up, down, pad, up * up), atol=1e-10)
    f2 = torch.rand(5, 5, dtype=torch.float64)
    got2 = upfirdn2d(x, f2, up=up, down=down, padding=pad, gain=2.0)
    assert torch.allclose(got2, _naive_upfirdn(x, f2, up, down, pad, 2.0), atol=1e-10)


def test_filtered_lrelu_and_half_precision_path():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 20, 20) * 3
    fu = design_lowpass_filter(12, 4.0, 4.0, 32)
    fd = design_lowpass_filter(12, 4.0, 4.0, 32, radial=True)
    b = torch.randn(4)
    kw = dict(up=2, down=2, padding=[9, 8, 9, 8], gain=math.sqrt(2), slope=0.2, clamp=2.0)
    y = filtered_lrelu(x, fu, fd, b, **kw)
    up = _naive_upfirdn(x + b[None, :, None, None], fu, 2, 1, [9, 8, 9, 8], 4.0)
    want = _naive_upfirdn((F.leaky_relu(up, 0.2) * math.sqrt(2)).clamp(-2, 2), fd, 1, 2, [0, 0, 0, 0], 1.0)
    assert y.shape == want.shape == (2, 4, 18, 18) and torch.allclose(y, want, atol=1e-5)
    x_before = x.clone()
    filtered_lrelu(x, clamp=0.5)  # identity resampling: must not clamp the caller's tensor in place
    assert torch.equal(x, x_before)
    # float16 (what CUDA runs on the high-resolution layers) stays close to float32.
    yh = filtered_lrelu(x.half(), fu, fd, b, **kw)
    assert yh.dtype == torch.float16 and (yh.float() - y).abs().max() < 0.02
    w, s = torch.randn(6, 4, 3, 3), torch.randn(2, 4) * 50
    ref = sg3_modulated_conv2d(x, w, s, demodulate=True, padding=2, input_gain=torch.tensor(0.7))
    half = sg3_modulated_conv2d(x.half(), w, s, demodulate=True, padding=2, input_gain=torch.tensor(0.7))
    assert half.dtype == torch.float16 and torch.isfinite(half).all()
    assert (half.float() - ref).abs().max() < 0.02 * ref.abs().max()


def _golden_setup(radial: bool) -> tuple[Generator, torch.Tensor]:
    """A small network with every parameter and buffer made to matter (w-dependent rotation and
    shift of the Fourier features, biases, input magnitudes, w_avg), and a fixed latent."""
    G = small(radial, seed=7)
    gen = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for name, p in sorted(G.named_parameters()):
            if name.endswith(".bias") or "affine" in name:
                p.add_(torch.randn(p.shape, generator=gen) * 0.3)
        for name, b in sorted(G.named_buffers()):
            if name.endswith("magnitude_ema"):
                b.fill_(0.5 + torch.rand([], generator=gen).item())
        G.mapping.w_avg.copy_(torch.randn(16, generator=gen))
    return G, torch.randn(2, 16, generator=gen)


# Produced by the NVlabs StyleGAN3 reference implementation (networks_stylegan3.Generator with its
# 'ref' ops, scipy filter design) on the state dict of _golden_setup, truncation_psi=0.7:
# [mean, std, then out[0, 0, ::8, ::8] row by row].
GOLDEN = {
    False: [0.1384602, 0.3645282, 0.5410472, 0.2965059, 0.2782011, 0.5893068, 0.6972023, 0.09749964, 0.1859806,
            0.6227335, 0.6986172, 0.02597943, 0.113978, 0.6218468, 0.4944672, 0.3827111, 0.07745737, 0.504099],
    True: [0.223549, 0.3404652, -0.1255516, 0.1175825, 0.2614578, -0.3061348, 0.2706638, 0.1403364, -0.03891166,
           -0.1004529, 0.1455501, -0.04364723, -0.3152497, -0.1748891, 0.249428, -0.03809188, -0.3091681,
           -0.2811086],
}


@pytest.mark.parametrize("radial", [False, True], ids=["T", "R"])
def test_matches_nvlabs_reference_output(radial):
    G, z = _golden_setup(radial)
    out = G(z, None, truncation_psi=0.7)
    got = [out.mean().item(), out.std().item(), *out[0, 0, ::8, ::8].flatten().tolist()]
    assert got == pytest.approx(GOLDEN[radial], abs=2e-5)
