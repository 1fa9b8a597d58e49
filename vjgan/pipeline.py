"""Assembles an Engine from user options: model, preset, effect chain. Shared by live and render."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from vjgan.errors import VjganError

if TYPE_CHECKING:
    from vjgan.control.presets import Preset
    from vjgan.engine import AudioSource, Engine, FrameFilter

MIN_SIZE, MAX_SIZE = 16, 4096
SIZE_RULE = f"must be an even number of pixels from {MIN_SIZE} to {MAX_SIZE} (e.g. 512)"


@dataclass(frozen=True)
class ShowOptions:
    """Options every way of running a show shares."""

    model: str | Path | None = None  # a model file or style name; None = the bundled default model
    size: int | tuple[int, int] | None = None  # output pixels: N (square) or (w, h); None = the model's
    seed: int = 0
    preset: str = "default"
    fps: float = 30.0
    stems: tuple[str, ...] = ()  # "ROLE=CH" (1-based channel or "mix"); render also takes "ROLE=FILE"
    onset_method: str = "hfc"  # aubio onset detection function
    fit: str = "fill"  # a picture of another aspect than the output: fill (crop), fit (bars), mirror
    flash_limit: bool = True  # photosensitivity limiter: <= 3 flashes/s, capped luminance steps
    threads: int | None = None  # torch threads for a CPU generator; None: torch's default
    min_side: int = 256  # without `size`, a smaller model is shown this large (0: its own size)


def live_threads(asked: int | None) -> int | None:
    """Torch threads for a live show: what was asked, else 1 on a machine of 2 cores or fewer.
    There a second OpenMP thread waits on any other busy process and frames stall for up to a
    second (bench: 60 fps beside a busy process with 1 thread, 24 fps with 2)."""
    if asked is not None:
        return asked
    return 1 if (os.cpu_count() or 1) <= 2 else None


def size_ok(size: int) -> bool:
    return MIN_SIZE <= size <= MAX_SIZE and size % 2 == 0


def check_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """(w, h) for a square side or a (w, h) pair; VjganError naming --size if a side is bad."""
    w, h = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    for side in (w, h):
        if not size_ok(side):
            shown = f"{w}x{h}" if w != h else str(w)
            raise VjganError(f"--size {shown}: every side {SIZE_RULE}")
    return w, h


def load_show_parts(opts: ShowOptions, preset: "Preset | None" = None) -> tuple["Preset", Any]:
    """Load what can fail on bad files (preset unless given, model) before anything is opened or written."""
    from vjgan.control.presets import load_preset
    from vjgan.gan import load_runner

    if preset is None:
        preset = load_preset(opts.preset)
    runner = load_runner(opts.model, threads=opts.threads)
    return preset, runner


def native_size(generator: Any) -> tuple[int, int]:
    """The generator's own frame size; a callable style that does not know it renders one probe."""
    resolution = getattr(generator, "resolution", None)
    if resolution is not None:
        return int(resolution), int(resolution)
    c = np.zeros(generator.c_dim, dtype=np.float32) if generator.c_dim else None
    frame = generator(np.zeros(generator.z_dim, dtype=np.float32), c)
    return int(frame.shape[1]), int(frame.shape[0])


def output_size(opts: ShowOptions, runner: Any) -> tuple[int, int]:
    """--size, else the model's own size scaled up so its shorter side is at least
    `opts.min_side` (a 128 px model still fills a 256 px output; the chain scales it)."""
    if opts.size is not None:
        return check_size(opts.size)
    w, h = native_size(runner)
    scale = max(1.0, opts.min_side / min(w, h))
    w, h = round(w * scale), round(h * scale)
    return w + w % 2, h + h % 2  # H.264 needs even sides


def build_engine(source: "AudioSource", runner: Any, preset: "Preset", ctx: Any,
                 size: tuple[int, int], opts: ShowOptions,
                 stem_sources: Mapping[str, "AudioSource"] | None = None,
                 filters: Sequence["FrameFilter"] = ()) -> tuple["Engine", Any]:
    """The engine and its effect chain. `opts.stems` must hold channel assignments only here;
    stem files arrive already opened in `stem_sources`."""
    from vjgan.audio.analysis import AnalysisConfig
    from vjgan.audio.stems import parse_stem_args
    from vjgan.engine import Engine, EngineConfig
    from vjgan.gfx.effects import EffectChain

    stem_map = parse_stem_args(list(opts.stems), source.channels)
    chain = EffectChain(ctx, size, preset.effects, fit=opts.fit, limit=opts.flash_limit)
    try:
        engine = Engine(source, runner, chain,
                        EngineConfig(seed=opts.seed, react=preset.react, stems=stem_map,
                                     analysis=AnalysisConfig(onset_method=opts.onset_method)),
                        stem_sources=stem_sources, filters=filters)
    except BaseException:
        chain.release()
        raise
    return engine, chain

