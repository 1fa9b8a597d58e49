"""The realtime loop: audio in, frames out on a wall clock, until the audio ends, the duration
passes, or the performer quits."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vjgan.clock import WallClock
from vjgan.engine import FrameResult
from vjgan.pipeline import ShowOptions, build_engine, load_show_parts, output_size


@dataclass(frozen=True)
class LiveOptions:
    show: ShowOptions = field(default_factory=ShowOptions)
    audio_file: Path | None = None
    audio_device: str | None = None
    fullscreen: bool = False
    display: int = 0
    headless: bool = False
    duration_s: float | None = None
    record: Path | None = None
    monitor: bool = True  # play an --audio-file to the output device when one exists
    monitor_device: str | None = None
    sample_rate_hz: int = 48000  # line-in only
    channels: int = 2
    block: int = 128


@dataclass(frozen=True)
class LiveSummary:
    frames: int
    elapsed_s: float
    frame_ms_p50: float
    frame_ms_p99: float
    record: Path | None

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed_s if self.elapsed_s > 0 else 0.0


def open_source(opts: LiveOptions) -> Any:
    from vjgan.audio.sources import FileSource, LineInSource

    if opts.audio_file is not None:
        return FileSource(opts.audio_file)
    return LineInSource(opts.audio_device, sample_rate=opts.sample_rate_hz, channels=opts.channels,
                        block=opts.block)


def run_live(opts: LiveOptions, clock: Any = None,
             on_frame: Callable[[FrameResult], None] | None = None,
             log: Callable[[str], None] | None = None) -> LiveSummary:
    """Run a show. `clock` defaults to the wall clock (capped at the --fps rate); tests pass a
    FrameClock to run the same loop on simulated time."""
    from vjgan.gfx.display import open_output
    from vjgan.gfx.recorder import Recorder

    say = log or (lambda msg: print(msg, file=sys.stderr))
    preset, runner = load_show_parts(opts.show)
    size = output_size(opts.show, runner)
    source = open_source(opts)
    output = None
    recorder = None
    monitor = None
    try:
        output = open_output(size, headless=opts.headless, fullscreen=opts.fullscreen,
                             display=opts.display)
        engine, chain = build_engine(source, runner, preset, output.ctx, size, opts.show)
        if opts.record is not None:
            recorder = Recorder(opts.record, size, opts.show.fps, audio_rate=source.sample_rate,
                                audio_channels=max(2, source.channels))
        if clock is None:
            if opts.audio_file is not None and opts.monitor and not opts.headless:
                monitor = _start_monitor(opts.audio_file, opts.monitor_device, say)
            # With audio playing, run the picture behind by the output latency so they meet.
            clock = WallClock(max_fps=opts.show.fps,
                              lag_s=monitor.latency_s if monitor is not None else 0.0)
        frame_ms: list[float] = []
        start = getattr(clock, "start", None)
        if callable(start):
            start()
        t_s = 0.0
        last_s: float | None = None
        audio_status = "ok"
        while output.poll():
            t_s = clock.tick()
            if opts.duration_s is not None and t_s >= opts.duration_s:
                break
            audio_status = _report_audio_status(source, audio_status, t_s, say)
            result = engine.step(t_s)
            output.present(result.output)
            if recorder is not None:
                recorder.write_video(chain.read(), t_s)
                recorder.write_audio(result.audio)
            if on_frame is not None:
                on_frame(result)
            if last_s is not None:
                frame_ms.append((t_s - last_s) * 1e3)
            last_s = t_s
            if getattr(source, "finished", False):
                break
        if recorder is not None:
            recorder.close()
        times = np.asarray(frame_ms or [0.0])
        return LiveSummary(
            frames=len(frame_ms) + (1 if last_s is not None else 0),
            elapsed_s=t_s,
            frame_ms_p50=float(np.percentile(times, 50)),
            frame_ms_p99=float(np.percentile(times, 99)),
            record=opts.record if recorder is not None else None,
        )
    except BaseException:
        if recorder is not None:
            recorder.abort()
        raise
    finally:
        if monitor is not None:
            monitor.close()
        if output is not None:
            output.close()
        source.close()


def _start_monitor(path: Path, device: str | None, say: Callable[[str], None]) -> Any:
    from vjgan.audio.playback import Monitor

    monitor, reason = Monitor.try_start(path, device=device)
    if monitor is None:
        say(f"vjgan: playing silently ({reason})")
    return monitor


def _report_audio_status(source: Any, previous: str, t_s: float, say: Callable[[str], None]) -> str:
    """Say when line-in is lost and when it is back; the show itself never waits for audio."""
    status = getattr(source, "status", "ok")
    reported = status if status in ("ok", "lost") else previous  # "starting" changes nothing yet
    if reported != previous:
        if reported == "lost":
            why = getattr(source, "last_error", None)
            say(f"vjgan: audio lost at {t_s:.1f} s{f' ({why})' if why else ''} — visuals continue, "
                "reconnecting to the input")
        else:
            stats = source.stats() if hasattr(source, "stats") else {}
            outage = stats.get("last_outage_s")
            say(f"vjgan: audio back at {t_s:.1f} s"
                + (f" after {outage:.2f} s without input" if outage else ""))
    return reported
