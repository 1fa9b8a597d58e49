"""rosinality/stylegan2-pytorch checkpoints: key/layout mapping, exact outputs, and safe loading.

The test writes rosinality-layout checkpoints itself (no model download): `to_rosinality` below is
the inverse of vjgan's mapping, written independently of vjgan/gan/rosinality.py, and
`rosinality_forward` recomputes a rosinality generator's image from such a state dict the way
rosinality's model.py does (transposed-conv upsampling, blur, noise, fused lrelu, ToRGB skips), so
a wrong flip, offset or scale in the mapping shows up as a different picture.
"""

from __future__ import annotations

import argparse
import fractions
import math
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from vjgan.errors import VjganError
from vjgan.gan.rosinality import generator_config, load_rosinality
from vjgan.gan.stylegan2 import Generator

SIZE, DIM, N_MLP = 32, 16, 2
TINY = dict(z_dim=DIM, c_dim=0, w_dim=DIM, img_resolution=SIZE, img_channels=3,
            mapping_kwargs={"num_layers": N_MLP},
            synthesis_kwargs={"channel_base": 256, "channel_max": 32})
BLUR = torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64 * 4


def seeded_generator(seed: int = 0) -> Generator:
    """A tiny vjgan generator whose biases, noise strengths and w_avg are all non-zero."""
    torch.manual_seed(seed)
    G = Generator(**TINY).eval().requires_grad_(False)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.3 + 0.1 * torch.rand([]).item())
            elif name.endswith(".bias") and "mapping" not in name:
                p.add_(0.2 * torch.randn_like(p))
        G.mapping.w_avg.copy_(torch.randn(DIM) * 0.5)
    return G


def to_rosinality(G: Generator) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """(g_ema state_dict in rosinality's layout, latent_avg) for a vjgan generator."""
    sd = G.state_dict()
    out: dict[str, torch.Tensor] = {}
    for i in range(N_MLP):
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
    out["input.input"] = sd["synthesis.b4.const"][None]

    def styled(dst: str, src: str, noise_idx: int, up: bool) -> None:
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.noise.weight"] = sd[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = sd[f"{src}.bias"]
        out[f"noises.noise_{noise_idx}"] = sd[f"{src}.noise_const"][None, None]
        if up:
            out[f"{dst}.conv.blur.kernel"] = BLUR.clone()

    def rgb(dst: str, src: str, up: bool) -> None:
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        out[f"{dst}.bias"] = sd[f"{src}.bias"].reshape(1, -1, 1, 1)
        if up:
            out[f"{dst}.upsample.kernel"] = BLUR.clone()

    styled("conv1", "synthesis.b4.conv1", 0, up=False)
    rgb("to_rgb1", "synthesis.b4.torgb", up=False)
    for k, res in enumerate(r for r in (8, 16, 32) if r <= SIZE):
        styled(f"convs.{2 * k}", f"synthesis.b{res}.conv0", 2 * k + 1, up=True)
        styled(f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1", 2 * k + 2, up=False)
        rgb(f"to_rgbs.{k}", f"synthesis.b{res}.torgb", up=True)
    return {k: v.clone() for k, v in out.items()}, sd["mapping.w_avg"].clone()


def _fir(x: torch.Tensor, kernel: torch.Tensor, pad: tuple[int, int]) -> torch.Tensor:
    """upfirdn2d without up/down: zero pad, then a true convolution with `kernel` per channel."""
    c = x.shape[1]
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    return F.conv2d(x, kernel.flip([0, 1])[None, None].repeat(c, 1, 1, 1), groups=c)


def rosinality_forward(sd: dict[str, torch.Tensor], z: torch.Tensor, lr_mlp: float = 0.01) -> torch.Tensor:
    """A rosinality generator's image for z (one style, stored noise), straight from its state dict."""
    x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
    for i in range(1, N_MLP + 1):
        w_, b_ = sd[f"style.{i}.weight"], sd[f"style.{i}.bias"]
        x = F.leaky_relu(x @ (w_ * lr_mlp / math.sqrt(w_.shape[1])).t() + b_ * lr_mlp, 0.2) * math.sqrt(2)
    w = x

    def modconv(p: str, h: torch.Tensor, demod: bool, up: bool) -> torch.Tensor:
        weight = sd[f"{p}.conv.weight"][0]
        mw, mb = sd[f"{p}.conv.modulation.weight"], sd[f"{p}.conv.modulation.bias"]
        style = w @ (mw / math.sqrt(mw.shape[1])).t() + mb
        scale = 1 / math.sqrt(weight[0].numel())
        rows = []
        for n in range(h.shape[0]):
            wt = scale * weight * style[n][None, :, None, None]
            if demod:
                wt = wt * (wt.square().sum(dim=[1, 2, 3]) + 1e-8).rsqrt()[:, None, None, None]
            if up:
                y = F.conv_transpose2d(h[n : n + 1], wt.transpose(0, 1), stride=2)
                rows.append(_fir(y, sd[f"{p}.conv.blur.kernel"], (1, 1)))
            else:
                rows.append(F.conv2d(h[n : n + 1], wt, padding=weight.shape[-1] // 2))
        return torch.cat(rows)

    def styled(p: str, h: torch.Tensor, noise: torch.Tensor, up: bool = False) -> torch.Tensor:
        h = modconv(p, h, True, up) + sd[f"{p}.noise.weight"] * noise
        return F.leaky_relu(h + sd[f"{p}.activate.bias"][None, :, None, None], 0.2) * math.sqrt(2)

    def to_rgb(p: str, h: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        y = modconv(p, h, False, False) + sd[f"{p}.bias"]
        if skip is None:
            return y
        n, c, hh, ww = skip.shape
        zeros = torch.zeros(n, c, hh * 2, ww * 2)
        zeros[:, :, ::2, ::2] = skip
        return y + _fir(zeros, sd[f"{p}.upsample.kernel"], (2, 1))

    h = sd["input.input"].repeat(z.shape[0], 1, 1, 1)
    h = styled("conv1", h, sd["noises.noise_0"])
    img = to_rgb("to_rgb1", h, None)
    for k in range(int(math.log2(SIZE)) - 2):
        h = styled(f"convs.{2 * k}", h, sd[f"noises.noise_{2 * k + 1}"], up=True)
        h = styled(f"convs.{2 * k + 1}", h, sd[f"noises.noise_{2 * k + 2}"])
        img = to_rgb(f"to_rgbs.{k}", h, img)
    return img


def save_ema(path: Path, G: Generator) -> dict[str, torch.Tensor]:
    sd, avg = to_rosinality(G)
    torch.save({"g_ema": sd, "latent_avg": avg}, path)
    return sd


def test_the_reference_forward_is_sensitive_to_a_flipped_upsampling_kernel():
    sd, _ = to_rosinality(seeded_generator())
    z = torch.randn(2, DIM, generator=torch.Generator().manual_seed(1))
    flipped = dict(sd)
    flipped["convs.0.conv.weight"] = sd["convs.0.conv.weight"].flip([3, 4])
    assert (rosinality_forward(sd, z) - rosinality_forward(flipped, z)).abs().max() > 0.05


def test_a_converted_checkpoint_draws_what_rosinality_draws_and_what_the_source_drew(tmp_path):
    G = seeded_generator()
    path = tmp_path / "ffhq.pt"
    sd = save_ema(path, G)
    loaded = load_rosinality(path)
    assert not loaded.training and all(not p.requires_grad for p in loaded.parameters())
    assert loaded.init_kwargs["synthesis_kwargs"]["channel_base"] == 256
    z = torch.randn(3, DIM, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours = loaded(z, None, noise_mode="const")
        assert torch.equal(ours, G(z, None, noise_mode="const"))
        assert torch.equal(loaded(z, None, truncation_psi=0.5), G(z, None, truncation_psi=0.5))
        reference = rosinality_forward(sd, z)
    assert ours.shape == (3, 3, SIZE, SIZE) and ours.std() > 0.05
    assert torch.allclose(ours, reference, atol=1e-4), (ours - reference).abs().max()


def test_a_training_checkpoint_with_args_loads_and_estimates_the_w_average(tmp_path):
    G = seeded_generator(seed=3)
    sd, _ = to_rosinality(G)
    args = argparse.Namespace(size=SIZE, latent=DIM, n_mlp=N_MLP, channel_multiplier=2, arch="stylegan2",
                              iter=800000, batch=16, r1=10.0, ckpt=None, augment=False)
    optim = {"state": {}, "param_groups": [{"lr": 0.002, "betas": (0.0, 0.99), "params": [0, 1]}]}
    path = tmp_path / "010000.pt"
    torch.save({"g": sd, "d": {"convs.0.0.weight": torch.zeros(8, 3, 1, 1)}, "g_ema": sd, "g_optim": optim,
                "d_optim": optim, "args": args, "ada_aug_p": 0.0}, path)
    loaded = load_rosinality(path)
    z = torch.randn(2, DIM, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert torch.equal(loaded(z, None), G(z, None))
        mean_w = G.mapping(torch.randn(20000, DIM), None)[:, 0].mean(dim=0)
    spread = G.mapping(torch.randn(256, DIM), None)[:, 0].std(dim=0).mean()
    assert (loaded.mapping.w_avg - mean_w).abs().max() < 0.1 * spread

    swagan = tmp_path / "swagan.pt"
    torch.save({"g_ema": sd, "args": argparse.Namespace(arch="swagan")}, swagan)
    with pytest.raises(VjganError, match="swagan.pt: .*'swagan'.*stylegan2"):
        load_rosinality(swagan)


class _Shell:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_code_in_a_checkpoint_never_runs_and_unexpected_classes_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    sd, avg = to_rosinality(seeded_generator())
    torch.save({"g_ema": sd, "latent_avg": avg, "hook": _Shell(marker)}, evil)
    with pytest.raises(VjganError, match=r"evil\.pt: refused: .*system") as err:
        load_rosinality(evil)
    assert "\n" not in str(err.value)
    assert not marker.exists()
    odd = tmp_path / "odd.pt"
    torch.save({"g_ema": sd, "args": argparse.Namespace(lr=fractions.Fraction(1, 3))}, odd)
    with pytest.raises(VjganError, match=r"odd\.pt: refused: .*fractions\.Fraction"):
        load_rosinality(odd)


def test_missing_extra_and_misshapen_tensors_are_named(tmp_path):
    sd, avg = to_rosinality(seeded_generator())
    cases = {
        "missing": ({k: v for k, v in sd.items() if k != "to_rgbs.1.bias"}, "'to_rgbs.1.bias' is missing"),
        "extra": ({**sd, "convs.9.conv.weight": torch.zeros(1)}, "unexpected tensor 'convs.9.conv.weight'"),
        "shape": ({**sd, "convs.1.activate.bias": torch.zeros(7)}, r"'convs.1.activate.bias' has shape \[7\]"),
        "blur": ({**sd, "convs.0.conv.blur.kernel": torch.ones(4, 4)}, "'convs.0.conv.blur.kernel' is not the"),
        "nan": ({**sd, "style.2.bias": torch.full_like(sd["style.2.bias"], math.nan)}, "'style.2.bias'.*NaN"),
    }
    for name, (state, message) in cases.items():
        path = tmp_path / f"{name}.pt"
        torch.save({"g_ema": state, "latent_avg": avg}, path)
        with pytest.raises(VjganError, match=f"{name}.pt: .*{message}"):
            load_rosinality(path)
    torch.save({"model": sd}, tmp_path / "other.pt")
    with pytest.raises(VjganError, match="other.pt: no 'g_ema'"):
        load_rosinality(tmp_path / "other.pt")


def _rosinality_shapes(size: int, cm: int) -> dict[str, tuple[int, ...]]:
    """The shapes in a real rosinality g_ema (512-d style, 8-layer mapping) of this size/multiplier."""
    table = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * cm, 128: 128 * cm, 256: 64 * cm, 512: 32 * cm,
             1024: 16 * cm}
    shapes = {f"style.{i}.weight": (512, 512) for i in range(1, 9)}
    shapes["input.input"] = (1, 512, 4, 4)
    shapes["to_rgb1.conv.weight"] = (1, 3, 512, 1, 1)
    for k, res in enumerate(r for r in table if 8 <= r <= size):
        shapes[f"to_rgbs.{k}.conv.weight"] = (1, 3, table[res], 1, 1)
    return shapes


@pytest.mark.parametrize("size, cm, base", [(1024, 2, 32768), (256, 2, 32768), (256, 1, 16384), (64, 1, 16384)])
def test_official_configs_get_rosinality_channel_widths(size, cm, base):
    config = generator_config(_rosinality_shapes(size, cm), Path("ffhq.pt"))
    assert config["img_resolution"] == size and config["z_dim"] == config["w_dim"] == 512
    assert config["mapping_kwargs"] == {"num_layers": 8, "lr_multiplier": 0.01}
    assert config["synthesis_kwargs"]["channel_base"] == base
    with torch.device("meta"):
        G = Generator(**config)
    for k in range(int(math.log2(size)) - 2):
        res = 8 * 2**k
        want = _rosinality_shapes(size, cm)[f"to_rgbs.{k}.conv.weight"][2]
        assert getattr(G.synthesis, f"b{res}").out_channels == want


def test_a_channel_table_vjgan_cannot_build_is_refused():
    with pytest.raises(VjganError, match="big.pt: channel widths .*64: 1024.*channel_multiplier 1 and 2"):
        generator_config(_rosinality_shapes(256, 4), Path("big.pt"))
