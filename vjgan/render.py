"""Offline render: a song file to an mp4, frame-exact, on the simulated clock."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from vjgan.clock import FrameClock
from vjgan.engine import FrameResult
from vjgan.errors import VjganError
from vjgan.pipeline import ShowOptions, build_engine, load_show_parts, output_size


@dataclass(frozen=True)
class RenderSummary:
    output: Path
    frames: int
    duration_s: float
    wall_s: float


def render_file(audio: Path, out: Path, opts: ShowOptions, progress: bool = True,
                on_frame: Callable[[FrameResult], None] | None = None) -> RenderSummary:
    """Render `audio` to `out` (H.264 + the source audio in stereo at its own rate).

    Frame i shows the audio up to i / fps; the frame count is round(duration * fps). Nothing is
    left at `out` if anything fails.
    """
    import time

    from tqdm import tqdm

    from vjgan.audio.sources import FileSource
    from vjgan.gfx.display import open_output
    from vjgan.gfx.recorder import Recorder

    t0 = time.perf_counter()
    with FileSource(audio) as source:
        preset, runner = load_show_parts(opts)
        size = output_size(opts, runner)
        duration_s = float(source.duration_s or 0.0)
        frames = max(1, round(duration_s * opts.fps))
        output = open_output(size, headless=True)
        try:
            engine, chain = build_engine(source, runner, preset, output.ctx, size, opts)
            with Recorder(out, size, opts.fps, audio_rate=source.sample_rate) as recorder:
                clock = FrameClock(opts.fps)
                bar = tqdm(total=frames, unit="frame", desc=f"rendering {Path(out).name}",
                           disable=not progress, file=sys.stderr, dynamic_ncols=True)
                with bar:
                    for _ in range(frames):
                        result = engine.step(clock.tick())
                        recorder.write_video(chain.read(), result.t_s)
                        recorder.write_audio(result.audio)
                        if on_frame is not None:
                            on_frame(result)
                        bar.update(1)
                recorder.write_audio(source.read_until(float("inf")))  # the tail after the last frame
        finally:
            output.close()
    if not Path(out).is_file():
        raise VjganError(f"render finished but {out} was not written")
    return RenderSummary(Path(out), frames, duration_s, time.perf_counter() - t0)
