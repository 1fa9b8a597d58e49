"""Assembles an Engine from user options: model, preset, effect chain. Shared by live and render."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vjgan.errors import VjganError

if TYPE_CHECKING:
    from vjgan.control.presets import Preset
    from vjgan.engine import AudioSource, Engine

MIN_SIZE, MAX_SIZE = 16, 4096
SIZE_RULE = f"must be an even number of pixels from {MIN_SIZE} to {MAX_SIZE} (e.g. 512)"


@dataclass(frozen=True)
class ShowOptions:
    """Options every way of running a show shares."""

    model: Path | None = None  # None = the bundled default model
    size: int | None = None  # output pixels (square); None = the model's resolution
    seed: int = 0
    preset: str = "default"
    fps: float = 30.0
    stems: tuple[str, ...] = ()  # "ROLE=CH" assignments (1-based channels or "mix")
    onset_method: str = "hfc"  # aubio onset detection function


def size_ok(size: int) -> bool:
    return MIN_SIZE <= size <= MAX_SIZE and size % 2 == 0


def check_size(size: int) -> int:
    if not size_ok(size):
        raise VjganError(f"--size {size}: the output size {SIZE_RULE}")
    return size


def load_show_parts(opts: ShowOptions) -> tuple["Preset", Any]:
    """Load what can fail on bad files (preset, model) before anything is opened or written."""
    from vjgan.control.presets import load_preset
    from vjgan.gan import load_runner

    preset = load_preset(opts.preset)
    runner = load_runner(opts.model)
    return preset, runner


def output_size(opts: ShowOptions, runner: Any) -> tuple[int, int]:
    side = check_size(opts.size) if opts.size is not None else int(runner.resolution)
    return side, side


def build_engine(source: "AudioSource", runner: Any, preset: "Preset", ctx: Any,
                 size: tuple[int, int], opts: ShowOptions) -> tuple["Engine", Any]:
    from vjgan.audio.analysis import AnalysisConfig
    from vjgan.audio.stems import parse_stem_args
    from vjgan.engine import Engine, EngineConfig
    from vjgan.gfx.effects import EffectChain

    stem_map = parse_stem_args(list(opts.stems), source.channels)
    chain = EffectChain(ctx, size, preset.effects)
    engine = Engine(source, runner, chain,
                    EngineConfig(seed=opts.seed, react=preset.react, stems=stem_map,
                                 analysis=AnalysisConfig(onset_method=opts.onset_method)))
    return engine, chain
