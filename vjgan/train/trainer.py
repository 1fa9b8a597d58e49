"""The training loop: steps, progress, periodic checkpoints / sample grids / model file, resume.

A run keeps its files in a work folder (by default MODEL.train/ next to the model file):
checkpoint.safetensors + state.json (the last checkpoint), samples/reals.png and
samples/fakes-<step>.png. The model file itself (the EMA generator, a normal vjgan model) is
rewritten at every checkpoint, so even an interrupted run leaves a usable model behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vjgan.errors import VjganError
from vjgan.files import check_folder
from vjgan.gan.modelfile import save_generator
from vjgan.train.checkpoint import CHECKPOINT_NAME, load_checkpoint, read_state, save_checkpoint
from vjgan.train.config import ARCH_FIELDS, TrainConfig
from vjgan.train.dataset import ImageDataset
from vjgan.train.losses import GanModels, StepLosses, train_step
from vjgan.train.samples import fixed_latents, grid_shape, render_grid, save_png, tile

_SMOOTH_BETA = 0.9  # running average of the printed losses


@dataclass(frozen=True)
class Progress:
    step: int
    nimg: int
    train_s: float  # training time of the whole run so far (resumed parts included)
    loss_g: float  # running averages
    loss_d: float
    r1: float | None


@dataclass(frozen=True)
class TrainSummary:
    output: Path
    workdir: Path
    steps: int
    nimg: int
    train_s: float
    loss_g: float
    loss_d: float
    r1: float | None
    resumed_from_step: int | None
    finished: bool  # reached --kimg / --minutes (False: stopped early by max_steps)


def default_workdir(output: Path) -> Path:
    return output.with_name(output.stem + ".train")


def resume_config(workdir: Path, requested: TrainConfig, explicit: set[str]) -> TrainConfig:
    """The config to continue a run with: the checkpoint's, updated by the run-length, seed-free
    settings the user gave again. An architecture setting given explicitly must match the checkpoint."""
    state = read_state(workdir / CHECKPOINT_NAME)
    saved = TrainConfig.from_json(state["config"])
    for name in ARCH_FIELDS:
        if name in explicit and getattr(requested, name) != getattr(saved, name):
            raise VjganError(f"--{name.replace('_', '-')} {getattr(requested, name)} does not match the checkpoint in "
                             f"{workdir} ({getattr(saved, name)}); drop the flag to resume, or start a new run")
    updates = {k: getattr(requested, k) for k in ("kimg", "minutes", "snapshot_s", "snapshot_steps", "device")
               if k in explicit or k in ("snapshot_steps", "device")}
    return TrainConfig.from_json({**saved.to_json(), **updates})


class Trainer:
    """Train on `dataset` per `cfg`, writing `output` (a vjgan model file) and the work folder."""

    def __init__(self, cfg: TrainConfig, dataset: ImageDataset, output: str | Path,
                 workdir: str | Path | None = None, resume: bool = False) -> None:
        self.output = Path(output)
        if self.output.suffix.lower() != ".safetensors":
            raise VjganError(f"{self.output}: vjgan model files end in .safetensors; name the output e.g. "
                             f"{self.output.with_suffix('.safetensors')}")
        check_folder(self.output, "the trained model")  # before training, not after
        if dataset.size != cfg.size:
            raise VjganError(f"the training images are {dataset.size} px but --size is {cfg.size}; "
                             f"load them at {cfg.size}")
        self.cfg, self.dataset = cfg, dataset
        self.workdir = Path(workdir) if workdir is not None else default_workdir(self.output)
        checkpoint = self.workdir / CHECKPOINT_NAME
        if resume and not checkpoint.is_file():
            raise VjganError(f"--resume: no checkpoint in {self.workdir}; run without --resume to start training")
        if not resume and checkpoint.is_file():
            raise VjganError(f"{self.workdir} already holds a training run; pass --resume to continue it, "
                             "or delete that folder (or pick another output) to start over")
        (self.workdir / "samples").mkdir(parents=True, exist_ok=True)
        self.device = torch.device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.models = GanModels(cfg)
        self.step = self.nimg = 0
        self.train_s = 0.0
        self.avg: dict[str, float | None] = {"loss_g": None, "loss_d": None, "r1": None}
        self.resumed_from: int | None = None
        if resume:
            state = read_state(checkpoint)
            load_checkpoint(checkpoint, self.models)
            self.step, self.nimg, self.train_s = int(state["step"]), int(state["nimg"]), float(state["train_s"])
            self.avg.update(state.get("losses", {}))
            self.resumed_from = self.step
        cols, rows = grid_shape(cfg.size)
        self.grid_cols = cols
        self.grid_z = fixed_latents(cfg.seed, cols * rows, cfg.z_dim)

    def done(self) -> bool:
        cfg = self.cfg
        return bool((cfg.kimg is not None and self.nimg >= cfg.kimg * 1000)
                    or (cfg.minutes is not None and self.train_s >= cfg.minutes * 60))

    def run(self, on_progress: Callable[[Progress], None] | None = None, max_steps: int | None = None) -> TrainSummary:
        """Train until the configured length (or `max_steps` more steps); checkpoint on the way and at the end.

        On KeyboardInterrupt the run is checkpointed before the exception propagates.
        """
        cfg = self.cfg
        if self.resumed_from is None:
            reals = self.dataset.images[:len(self.grid_z)].permute(0, 2, 3, 1).numpy()
            save_png(tile(reals, self.grid_cols), self.workdir / "samples" / "reals.png")
        last_snapshot_t, last_snapshot_step = time.monotonic(), self.step
        steps_here = 0
        try:
            while not self.done() and (max_steps is None or steps_here < max_steps):
                t0 = time.perf_counter()
                reals = self.dataset.batch(cfg.batch, cfg.mirror, self.device)
                losses = train_step(self.models, reals, self.step, self.nimg)
                self.step += 1
                steps_here += 1
                self.nimg += cfg.batch
                self.train_s += time.perf_counter() - t0
                self._smooth(losses)
                if on_progress is not None:
                    on_progress(self.progress())
                due_steps = cfg.snapshot_steps is not None and self.step - last_snapshot_step >= cfg.snapshot_steps
                if due_steps or time.monotonic() - last_snapshot_t >= cfg.snapshot_s:
                    self.snapshot()
                    last_snapshot_t, last_snapshot_step = time.monotonic(), self.step
        except KeyboardInterrupt:
            self.snapshot()
            raise
        if self.step != last_snapshot_step or steps_here == 0:
            self.snapshot()
        return TrainSummary(self.output, self.workdir, self.step, self.nimg, self.train_s,
                            self.avg["loss_g"] or 0.0, self.avg["loss_d"] or 0.0, self.avg["r1"],
                            self.resumed_from, self.done())

    def _smooth(self, losses: StepLosses) -> None:
        for key, value in (("loss_g", losses.loss_g), ("loss_d", losses.loss_d), ("r1", losses.r1)):
            if value is None:
                continue
            old = self.avg[key]
            self.avg[key] = value if old is None else old * _SMOOTH_BETA + value * (1 - _SMOOTH_BETA)

    def progress(self) -> Progress:
        return Progress(self.step, self.nimg, self.train_s, self.avg["loss_g"] or 0.0,
                        self.avg["loss_d"] or 0.0, self.avg["r1"])

    def state(self) -> dict[str, Any]:
        return {"config": self.cfg.to_json(), "step": self.step, "nimg": self.nimg, "train_s": self.train_s,
                "losses": dict(self.avg), "images": len(self.dataset), "model": self.output.name}

    def snapshot(self) -> None:
        """Checkpoint, sample grid and the model file (G_ema), each written atomically."""
        save_checkpoint(self.workdir, self.models, self.state())
        grid = render_grid(self.models.G_ema, self.grid_z, self.grid_cols)
        save_png(grid, self.workdir / "samples" / f"fakes-{self.step:07d}.png")
        save_generator(self.models.G_ema, self.output)
