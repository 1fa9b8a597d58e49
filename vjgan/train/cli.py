"""`vjgan train`: the subcommand's flags and what it runs (wired into vjgan/cli.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vjgan.cli_types import positive_float, whole_number
from vjgan.errors import VjganError
from vjgan.train.config import SIZES, TrainConfig

# Defaults for a 2-core CPU (small and quick) and for a CUDA GPU.
CPU_DEFAULTS = {"size": 128, "width": 64, "batch": 8, "kimg": 20.0}
CUDA_DEFAULTS = {"size": 256, "width": 128, "batch": 32, "kimg": 1000.0}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `train` to the vjgan subcommands; returns its parser."""
    p = subparsers.add_parser(
        "train", help="train your own style (a StyleGAN2) on images or video frames",
        description="Train vjgan's StyleGAN2 on a folder of images and/or video files (every Nth frame, "
                    "new shots kept, near-duplicates dropped), resized and centre-cropped to --size. Writes "
                    "a normal vjgan model file for --model or your styles folder; checkpoints and sample "
                    "grids go to MODEL.train/ next to it, and --resume continues an interrupted run. "
                    f"Defaults: on a CPU {CPU_DEFAULTS['size']} px, width {CPU_DEFAULTS['width']}, batch "
                    f"{CPU_DEFAULTS['batch']}, {CPU_DEFAULTS['kimg']:g} kimg; with CUDA {CUDA_DEFAULTS['size']} px, "
                    f"width {CUDA_DEFAULTS['width']}, batch {CUDA_DEFAULTS['batch']}, {CUDA_DEFAULTS['kimg']:g} kimg.")
    p.add_argument("data", nargs="+", type=Path, metavar="DATA",
                   help="a folder of images (searched recursively; videos in it are used too) or video files")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL.safetensors",
                   help="the model file to write (rewritten at every checkpoint)")
    p.add_argument("--size", type=int, metavar="N",
                   help=f"training resolution, a power of two: {', '.join(map(str, SIZES))}")
    p.add_argument("--width", type=whole_number(1), metavar="C",
                   help="network width: channels at 4-32 px, halved at every doubling above (64 is quick, 128 richer)")
    p.add_argument("--kimg", type=positive_float, metavar="N",
                   help="train until D has seen N thousand real images (counted over resumes)")
    p.add_argument("--minutes", type=positive_float, metavar="M",
                   help="train for M minutes of training time (counted over resumes); with --kimg too, "
                        "training stops at whichever comes first")
    p.add_argument("--batch", type=whole_number(1), metavar="N", help="images per step (default 8 on CPU, 32 on CUDA)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed of the run (default 0)")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in the work folder")
    p.add_argument("--every-frames", type=whole_number(1), default=10, metavar="N",
                   help="take every Nth video frame, plus the first frame of each new shot (default 10)")
    p.add_argument("--augment", default="color,translation,cutout", metavar="OPS",
                   help="differentiable augmentations for D: a comma list of color, translation, cutout, or none")
    p.add_argument("--no-mirror", action="store_true", help="do not show D left-right mirrored real images")
    p.add_argument("--snapshot-minutes", type=positive_float, default=5.0, metavar="M",
                   help="checkpoint, sample grid and model file every M minutes (default 5) and at the end")
    p.add_argument("--workdir", type=Path, metavar="DIR",
                   help="where checkpoints and samples go (default MODEL.train/)")
    p.add_argument("--device", default=None, metavar="DEV", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--threads", type=whole_number(1), metavar="N",
                   help="CPU threads for torch (default: torch's choice; 1 is fastest on a busy, shared machine)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _config(args: argparse.Namespace) -> tuple[TrainConfig, set[str]]:
    import torch

    from vjgan.train.augment import parse_policy

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise VjganError(f"--device {device}: torch sees no CUDA GPU here; use --device cpu")
    defaults = CUDA_DEFAULTS if device.startswith("cuda") else CPU_DEFAULTS
    explicit = {name for name in ("size", "width", "batch", "kimg", "minutes") if getattr(args, name) is not None}
    values = {name: getattr(args, name) if name in explicit else defaults[name] for name in ("size", "width", "batch")}
    kimg = args.kimg if args.kimg is not None else (None if args.minutes is not None else defaults["kimg"])
    if args.minutes is not None or args.kimg is not None:
        explicit |= {"kimg", "minutes"}
    explicit |= {"snapshot_s"}
    cfg = TrainConfig(**values, kimg=kimg, minutes=args.minutes, seed=args.seed, augment=parse_policy(args.augment),
                      mirror=not args.no_mirror, snapshot_s=args.snapshot_minutes * 60, device=device)
    return cfg, explicit


def run(args: argparse.Namespace) -> int:
    """Run `vjgan train` from parsed arguments; prints progress and a summary line."""
    from tqdm import tqdm

    from vjgan.train.dataset import load_dataset
    from vjgan.train.trainer import Trainer, default_workdir, resume_config

    import torch

    cfg, explicit = _config(args)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    workdir = args.workdir if args.workdir is not None else default_workdir(args.output)
    if args.resume:
        cfg = resume_config(workdir, cfg, explicit)
    with tqdm(desc="reading training data", unit=" img", disable=args.no_progress, leave=False) as bar:
        dataset = load_dataset(args.data, cfg.size, every_frames=args.every_frames, on_item=lambda: bar.update(1))
    info = dataset.summary
    note = f", {info.skipped} unreadable skipped (first: {info.first_skipped})" if info.skipped else ""
    print(f"training on {info.images} images at {cfg.size} px ({info.from_videos} video frames{note})", file=sys.stderr)
    trainer = Trainer(cfg, dataset, args.output, workdir=workdir, resume=args.resume)
    if trainer.resumed_from is not None:
        print(f"resuming {workdir} at step {trainer.step} ({trainer.nimg / 1000:.1f} kimg)", file=sys.stderr)
    by_kimg = cfg.kimg is not None
    total = cfg.kimg if by_kimg else cfg.minutes * 60  # type: ignore[operator]
    with tqdm(total=total, initial=trainer.nimg / 1000 if by_kimg else trainer.train_s, unit="kimg" if by_kimg else "s",
              desc=f"training {args.output.name}", disable=args.no_progress, dynamic_ncols=True,
              bar_format="{l_bar}{bar}| {n:.1f}/{total:g} {unit} [{elapsed}<{remaining}{postfix}]") as bar:
        def on_progress(p) -> None:
            bar.n = min(p.nimg / 1000 if by_kimg else p.train_s, total)
            r1 = f" r1 {p.r1:.3f}" if p.r1 is not None else ""
            bar.set_postfix_str(f"step {p.step} G {p.loss_g:.3f} D {p.loss_d:.3f}{r1}", refresh=False)
            bar.update(0)

        try:
            summary = trainer.run(on_progress=on_progress)
        except KeyboardInterrupt:
            bar.close()
            print(f"stopped at step {trainer.step} ({trainer.nimg / 1000:.1f} kimg); checkpoint saved in "
                  f"{trainer.workdir}; continue with the same command and --resume", file=sys.stderr)
            return 130
    print(f"wrote {summary.output}: {summary.steps} steps, {summary.nimg / 1000:.1f} kimg in "
          f"{summary.train_s / 60:.1f} min of training (G loss {summary.loss_g:.3f}, D loss {summary.loss_d:.3f}); "
          f"checkpoints and sample grids in {summary.workdir}")
    return 0
