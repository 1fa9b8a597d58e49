"""The realtime loop: audio in, frames out on a wall clock, until the audio ends, the duration
passes, or the performer quits.

Per frame: pump the window's events -> run the actions of the keys pressed -> every hook's
`before_frame` (vjgan.control.hooks) -> the effect chain's shader hot reload -> `engine.step` ->
present -> operator HUD on top (window only) -> flip -> hand the frame to the recorder. The HUD is
drawn into the window after the chain, so a recording (read from the chain) never contains it.
"""

from __future__ import annotations

import array
import gc
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import numpy as np

from vjgan.clock import WallClock
from vjgan.control.hooks import LiveHook, ShowState
from vjgan.engine import FrameResult
from vjgan.live_controls import HookRunner, install_actions, one_line, run_actions
from vjgan.pipeline import ShowOptions, build_engine, load_show_parts, output_size

if TYPE_CHECKING:
    from vjgan.control.presets import Preset


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
    hud: bool = False  # start with the operator HUD shown (window only; key h toggles it)
    # the preset already read from show.preset (vjgan live reads it once, for its controls too);
    # None: run_live reads it
    preset: Preset | None = None


@dataclass(frozen=True)
class LiveSummary:
    frames: int
    elapsed_s: float
    frame_ms_p50: float
    frame_ms_p99: float
    record: Path | None
    frames_dropped: int = 0  # frames the recording skipped because its encoder was behind

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
             log: Callable[[str], None] | None = None,
             hooks: Iterable[LiveHook] = ()) -> LiveSummary:
    """Run a show. `clock` defaults to the wall clock (capped at the --fps rate); tests pass a
    FrameClock to run the same loop on simulated time. `hooks` steer the show (see
    vjgan.control.hooks); run_live closes every one of them when it ends, however it ends."""
    say = log or (lambda msg: print(msg, file=sys.stderr))
    runner = HookRunner(hooks)
    try:
        return _run(opts, clock, on_frame, say, runner)
    finally:
        runner.close(say)


def _run(opts: LiveOptions, clock: Any, on_frame: Callable[[FrameResult], None] | None,
         say: Callable[[str], None], hooks: HookRunner) -> LiveSummary:
    from vjgan.gfx.display import open_output

    preset, generator = load_show_parts(opts.show, opts.preset)
    size = output_size(opts.show, generator)
    source = open_source(opts)
    output = None
    show: _Show | None = None
    monitor = None
    try:
        output = open_output(size, headless=opts.headless, fullscreen=opts.fullscreen,
                             display=opts.display)
        engine, chain = build_engine(source, generator, preset, output.ctx, size, opts.show)
        show = _Show(opts, output, engine, chain, source, hooks, say)
        if clock is None:
            if opts.audio_file is not None and opts.monitor and not opts.headless:
                monitor = _start_monitor(opts.audio_file, opts.monitor_device, say)
            # With audio playing, run the picture behind by the output latency so they meet.
            clock = WallClock(max_fps=opts.show.fps,
                              lag_s=monitor.latency_s if monitor is not None else 0.0)
        gc.collect()
        gc.freeze()  # start-up objects leave the collector's view: no gen-2 pauses mid-show
        try:
            return show.run(clock, on_frame)
        finally:
            gc.unfreeze()
    except BaseException:
        if show is not None:
            show.abort_recording()
        raise
    finally:
        if monitor is not None:
            monitor.close()
        if show is not None:
            show.release()
        if output is not None:
            output.close()
        source.close()


class _Show:
    """One running show's per-frame work and state (built once the output and engine exist)."""

    def __init__(self, opts: LiveOptions, output: Any, engine: Any, chain: Any, source: Any,
                 hooks: HookRunner, say: Callable[[str], None]) -> None:
        from vjgan.gfx.hud import FrameTimes, HudOverlay
        from vjgan.gfx.recorder import Recorder

        self.opts, self.output, self.engine, self.chain, self.source = (opts, output, engine,
                                                                        chain, source)
        self.hooks, self.say = hooks, say
        self.state = ShowState(engine=engine, chain=chain, log=say)
        self.hud = None if output.headless else HudOverlay(output.ctx, visible=opts.hud)
        if opts.hud and output.headless:
            say("vjgan: the HUD is drawn in the window only; a headless show has none")
        install_actions(self.state, output, chain, self.hud)
        self.times = FrameTimes()
        self.recorder = None
        if opts.record is not None:
            self.recorder = Recorder(opts.record, chain.size, opts.show.fps,
                                     audio_rate=source.sample_rate,
                                     audio_channels=max(2, source.channels), drop_when_behind=True)
        self._reload_error: str | None = None

    def run(self, clock: Any, on_frame: Callable[[FrameResult], None] | None) -> LiveSummary:
        frame_ms = array.array("d")
        start = getattr(clock, "start", None)
        if callable(start):
            start()
        t_s = 0.0
        last_s: float | None = None
        audio_status = "ok"
        while self.output.poll():
            t_s = clock.tick()
            if self.opts.duration_s is not None and t_s >= self.opts.duration_s:
                break
            run_actions(self.state, self.output.actions)
            if self.output.quit_requested:
                break
            audio_status = _report_audio_status(self.source, audio_status, t_s, self.say)
            self.hooks.before_frame(t_s, self.state)
            self._poll_reload(t_s)
            result = self.engine.step(t_s)
            self.times.add(t_s)
            self.output.show(result.output)
            self._draw_hud(result, t_s)
            self.output.flip()
            self._record(result, t_s)
            if on_frame is not None:
                on_frame(result)
            if last_s is not None:
                frame_ms.append((t_s - last_s) * 1e3)
            last_s = t_s
            if getattr(self.source, "finished", False):
                break
        recorded = self.recorder is not None
        dropped = self.recorder.frames_dropped if self.recorder is not None else 0
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        times = np.asarray(frame_ms) if len(frame_ms) else np.zeros(1)
        return LiveSummary(
            frames=len(frame_ms) + (1 if last_s is not None else 0),
            elapsed_s=t_s,
            frame_ms_p50=float(np.percentile(times, 50)),
            frame_ms_p99=float(np.percentile(times, 99)),
            record=self.opts.record if recorded else None,
            frames_dropped=dropped,
        )

    def _poll_reload(self, t_s: float) -> None:
        try:
            self.chain.poll_reload(t_s)  # compile errors land in chain.last_error (the HUD)
        except Exception as e:  # noqa: BLE001 - anything else about a shader file: same rule
            message = one_line(e)
            if message != self._reload_error:
                self._reload_error = message
                self.state.report(f"shader reload failed ({message})")

    def _record(self, result: FrameResult, t_s: float) -> None:
        if self.recorder is None:
            return
        from vjgan.errors import VjganError

        try:
            self.recorder.offer_video(self.chain.read, t_s)
            self.recorder.write_audio(result.audio)
        except VjganError as e:  # the disk filled up, ...: the show goes on unrecorded
            self.recorder = None
            self.state.report(f"{e} — recording stopped, the show goes on")

    def _draw_hud(self, result: FrameResult, t_s: float) -> None:
        hud = self.hud
        if hud is None or not hud.visible:
            return
        if hud.due(t_s):
            from vjgan.gfx.hud import hud_lines

            hud.update(hud_lines(self.hud_stats(result)), t_s, self.output.size)
        hud.draw(self.output.size)

    def hud_stats(self, result: FrameResult) -> Any:
        from vjgan.gfx.display import KEY_HELP
        from vjgan.gfx.hud import HudStats

        p50, p99 = self.times.percentiles_ms()
        f = result.features
        rec = self.recorder
        return HudStats(
            fps=self.times.fps(), frame_ms_p50=p50, frame_ms_p99=p99,
            generator_ms=result.timings_ms.get("generator"),
            effects_ms=result.timings_ms.get("effects"),
            level=f.level, low=f.low, mid=f.mid, high=f.high, bpm=f.bpm,
            blackout=self.chain.blackout, frozen=self.chain.frozen,
            limiter=self.chain.limit_enabled,
            record=(f"REC {rec.frames_written} frames, {rec.frames_dropped} dropped"
                    if rec is not None else None),
            status=tuple(self.hooks.statuses()),
            shader_error=self.chain.last_error,
            error=self.state.errors[-1] if self.state.errors else None,
            keys=KEY_HELP,
        )

    def abort_recording(self) -> None:
        if self.recorder is not None:
            self.recorder.abort()
            self.recorder = None

    def release(self) -> None:
        if self.hud is not None:
            self.hud.release()
            self.hud = None


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
