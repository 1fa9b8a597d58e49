"""Offline render: a song file to an mp4, frame-exact, on the simulated clock.

`render_file` is what `vjgan render` runs; `render_job` is the general form the Lucid Sonic Dreams
API uses too (a window of the song, stem files, CPU frame filters, another audio track muxed in,
frames kept as PNGs, generator batches, a reaction trace).
"""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from vjgan.clock import FrameClock
from vjgan.engine import FrameFilter, FrameResult
from vjgan.errors import VjganError
from vjgan.pipeline import ShowOptions, build_engine, load_show_parts, output_size


@dataclass(frozen=True)
class RenderSummary:
    output: Path
    frames: int
    duration_s: float
    wall_s: float

    @property
    def realtime_factor(self) -> float:
        """Seconds of song rendered per second of wall time (>= 1: faster than real time)."""
        return self.duration_s / self.wall_s if self.wall_s > 0 else 0.0


@dataclass(frozen=True)
class RenderJob:
    """Everything one offline render needs beyond the show options."""

    audio: Path
    output: Path
    opts: ShowOptions = field(default_factory=ShowOptions)
    start_s: float = 0.0  # render the song from here (stems and output_audio follow)
    duration_s: float | None = None  # this much of it (None: to the end)
    stem_files: Mapping[str, Path] = field(default_factory=dict)  # role -> file (LSD's *_audio)
    filter_files: Mapping[str, Path] = field(default_factory=dict)  # stem name -> file, for filters
    filters: tuple[FrameFilter, ...] = ()
    output_audio: Path | None = None  # mux this track instead of the song
    frames_dir: Path | None = None  # also keep every frame as a PNG here
    batch_size: int = 1  # generator frames per call
    trace: Path | None = None  # write the reaction trace (.png plot or .json data)


def render_file(audio: Path, out: Path, opts: ShowOptions, progress: bool = True,
                on_frame: Callable[[FrameResult], None] | None = None, start_s: float = 0.0,
                duration_s: float | None = None, batch_size: int = 1,
                trace: Path | None = None) -> RenderSummary:
    """Render `audio` to `out` (H.264 + the source audio in stereo at its own rate).

    Frame i shows the audio up to i / fps; the frame count is round(duration * fps). "ROLE=FILE"
    stems in `opts.stems` are analysed in step with the song. Nothing is left at `out` if anything
    fails.
    """
    from dataclasses import replace

    from vjgan.audio.stems import split_stem_files

    channels, files = split_stem_files(opts.stems)
    job = RenderJob(audio=Path(audio), output=Path(out), opts=replace(opts, stems=tuple(channels)),
                    start_s=start_s, duration_s=duration_s, stem_files=files,
                    batch_size=batch_size, trace=trace)
    preset, runner = load_show_parts(opts)
    return render_job(job, preset, runner, progress=progress, on_frame=on_frame)


def render_job(job: RenderJob, preset: Any, generator: Any, progress: bool = True,
               on_frame: Callable[[FrameResult], None] | None = None) -> RenderSummary:
    from tqdm import tqdm

    from vjgan.audio.sources import FileSource
    from vjgan.gfx.display import open_output
    from vjgan.gfx.recorder import Recorder, check_output_path

    t0 = time.perf_counter()
    if job.batch_size < 1:
        raise VjganError(f"batch_size {job.batch_size}: use 1 or more frames per generator call")
    check_output_path(job.output)
    if job.trace is not None:
        from vjgan.react.trace import check_trace_path

        check_trace_path(job.trace)

    def open_window(path: Path) -> FileSource:
        return FileSource(path, start_s=job.start_s, duration_s=job.duration_s)

    with ExitStack() as stack:
        source = stack.enter_context(open_window(job.audio))
        stems = {role: stack.enter_context(open_window(p)) for role, p in job.stem_files.items()}
        stems.update({name: stack.enter_context(open_window(p)) for name, p in job.filter_files.items()})
        muxed = stack.enter_context(open_window(job.output_audio)) if job.output_audio else source
        size = output_size(job.opts, generator)
        duration_s = float(source.duration_s or 0.0)
        frames = max(1, round(duration_s * job.opts.fps))
        output = open_output(size, headless=True)
        stack.callback(output.close)
        engine, chain = build_engine(source, generator, preset, output.ctx, size, job.opts,
                                     stem_sources=stems, filters=job.filters)
        stack.callback(chain.release)
        trace = _new_trace(engine) if job.trace is not None else None
        if job.frames_dir is not None:
            job.frames_dir.mkdir(parents=True, exist_ok=True)
        recorder = stack.enter_context(
            Recorder(job.output, size, job.opts.fps, audio_rate=muxed.sample_rate))
        clock = FrameClock(job.opts.fps)
        bar = stack.enter_context(tqdm(total=frames, unit="frame", desc=f"rendering {job.output.name}",
                                       disable=not progress, file=sys.stderr, dynamic_ncols=True))
        digits = len(str(frames))

        def write(result: FrameResult) -> None:
            picture = chain.read()
            recorder.write_video(picture, result.t_s)
            recorder.write_audio(result.audio if muxed is source else muxed.read_until(result.t_s))
            if job.frames_dir is not None:
                _save_png(picture, job.frames_dir / f"{result.index:0{digits}d}.png")
            if trace is not None:
                trace.add(result.latents)
            if on_frame is not None:
                on_frame(result)
            bar.update(1)

        engine.run((clock.tick() for _ in range(frames)), batch_size=job.batch_size, on_frame=write)
        recorder.write_audio(muxed.read_until(float("inf")))  # the tail after the last frame
    if not job.output.is_file():
        raise VjganError(f"render finished but {job.output} was not written")
    if trace is not None:
        from vjgan.react.trace import write_trace

        write_trace(trace, job.trace, caption=f"{job.audio.name} — preset {preset.name}")
    return RenderSummary(job.output, frames, duration_s, time.perf_counter() - t0)


def _new_trace(engine: Any) -> Any:
    from vjgan.react.trace import ReactionTrace

    slots = engine.reactor.slot_classes
    return ReactionTrace(labels=[f"class {k}" for k in slots] if slots else None)


def _save_png(picture: Any, path: Path) -> None:
    from PIL import Image

    try:
        Image.fromarray(picture, "RGB").save(path)
    except OSError as exc:
        raise VjganError(f"cannot write frame {path}: {exc.strerror or exc} — choose a writable "
                         "folder") from exc
