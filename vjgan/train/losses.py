"""One training iteration: non-saturating logistic loss, lazy R1, style mixing, EMA generator.

Each iteration draws one batch of latents, renders it once, updates D on (augmented) reals and
the detached fakes, then updates G through D on the same fakes. Every `r1_interval` iterations
D's loss also carries the R1 penalty (gamma / 2 * |grad_x D(x)|^2 on reals) times the interval,
and D's Adam uses the lazy-regularisation corrected lr and betas (Karras et al. 2020).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vjgan.gan.stylegan2 import Generator
from vjgan.train.augment import diff_augment
from vjgan.train.config import TrainConfig
from vjgan.train.discriminator import Discriminator

W_AVG_BETA = 0.995


@dataclass(frozen=True)
class StepLosses:
    loss_g: float
    loss_d: float
    r1: float | None  # the penalty's mean |grad|^2, on R1 iterations only
    real_score: float  # mean D logit on reals / fakes (D's confidence)
    fake_score: float


class GanModels:
    """G, its EMA copy, D and both Adam optimisers, built from a TrainConfig."""

    def __init__(self, cfg: TrainConfig) -> None:
        dev = torch.device(cfg.device)
        self.cfg = cfg
        self.G = Generator(**cfg.generator_kwargs()).to(dev).train().requires_grad_(False)
        self.D = Discriminator(**cfg.discriminator_kwargs()).to(dev).train().requires_grad_(False)
        if dev.type == "cpu":  # oneDNN convolutions are much faster in NHWC
            self.D = self.D.to(memory_format=torch.channels_last)
        self.G_ema = copy.deepcopy(self.G).eval()
        with torch.no_grad():  # start w_avg at the mean mapped latent so truncation works from step 0
            z = torch.randn([1024, cfg.z_dim], device=dev)
            self.G.mapping.w_avg.copy_(self.G.mapping(z, None)[:, 0].mean(0))
            self.G_ema.mapping.w_avg.copy_(self.G.mapping.w_avg)
        ratio = cfg.r1_interval / (cfg.r1_interval + 1)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(0.0, 0.99), eps=1e-8)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d * ratio, betas=(0.0, 0.99**ratio), eps=1e-8)

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"G": self.G, "G_ema": self.G_ema, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt_G": self.opt_g, "opt_D": self.opt_d}


def _mapped(G: Generator, cfg: TrainConfig, batch: int, device: torch.device) -> torch.Tensor:
    """ws for a batch of fresh latents, with style mixing; updates G's running w_avg."""
    ws = G.mapping(torch.randn([batch, cfg.z_dim], device=device), None)
    with torch.no_grad():
        G.mapping.w_avg.copy_(ws[:, 0].float().mean(0).lerp(G.mapping.w_avg, W_AVG_BETA))
    if cfg.style_mix_prob > 0 and torch.rand([]) < cfg.style_mix_prob:
        cutoff = int(torch.randint(1, ws.shape[1], []))
        mixed = G.mapping(torch.randn([batch, cfg.z_dim], device=device), None)
        ws = torch.cat([ws[:, :cutoff], mixed[:, cutoff:]], dim=1)
    return ws


def train_step(models: GanModels, reals: torch.Tensor, step: int, nimg: int) -> StepLosses:
    """One D update and one G update on `reals` (float, [-1, 1], [N, 3, R, R]); then the EMA update.

    `step` is this iteration's index (R1 runs when step % r1_interval == 0), `nimg` the images shown
    before it (for the EMA ramp-up).
    """
    cfg, G, D = models.cfg, models.G, models.D
    n, dev = reals.shape[0], reals.device
    augment = lambda x: diff_augment(x, cfg.augment)  # noqa: E731

    G.requires_grad_(True)
    fakes = G.synthesis(_mapped(G, cfg, n, dev), noise_mode="random")

    # Discriminator: fakes -> 0, reals -> 1, plus lazy R1 on reals.
    D.requires_grad_(True)
    do_r1 = cfg.gamma > 0 and step % cfg.r1_interval == 0
    real_in = reals.detach().requires_grad_(do_r1)
    fake_logits = D(augment(fakes.detach()))
    real_logits = D(augment(real_in))
    loss_d = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
    r1 = None
    if do_r1:
        (grad,) = torch.autograd.grad(real_logits.sum(), real_in, create_graph=True)
        penalty = grad.square().sum(dim=[1, 2, 3])
        loss_d = loss_d + (penalty * (cfg.gamma / 2)).mean() * cfg.r1_interval
        r1 = float(penalty.detach().mean())
    models.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    models.opt_d.step()
    D.requires_grad_(False)

    # Generator: make D call the fakes real.
    loss_g = F.softplus(-D(augment(fakes))).mean()
    models.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    models.opt_g.step()
    G.requires_grad_(False)

    update_ema(models, cfg, n, nimg)
    return StepLosses(float(loss_g.detach()), float(loss_d.detach()), r1, float(real_logits.detach().mean()),
                      float(fake_logits.detach().mean()))


@torch.no_grad()
def update_ema(models: GanModels, cfg: TrainConfig, batch: int, nimg: int) -> None:
    """G_ema <- lerp towards G with a half-life of ema_images (ramped up over the first images)."""
    ema_images = min(cfg.ema_images, max(nimg, 1) * cfg.ema_rampup) if cfg.ema_rampup else cfg.ema_images
    beta = 0.5 ** (batch / max(ema_images, 1e-8))
    for p_ema, p in zip(models.G_ema.parameters(), models.G.parameters()):
        p_ema.copy_(p.lerp(p_ema, beta))
    for b_ema, b in zip(models.G_ema.buffers(), models.G.buffers()):
        b_ema.copy_(b)
