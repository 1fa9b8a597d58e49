"""End-to-end software latency through the real capture path.

A click player (its own process and JACK client, `vjgan.benchmark.click_player`) plays a click
train; the show's own capture path (`LineInSource`: the capture child process, shared-memory ring)
records it; the show loop (engine step, effect chain, present with a GL finish) runs on the wall
clock. The capture child stamps each block when its samples land in the ring; the loop stamps each
frame when it is handed to the display. `vjgan.benchmark.latency` pairs them.

Two set-ups:
- no --latency-device (default): a private JACK dummy server (`jackd -d dummy`, period = block),
  the player's port patched straight into the capture port. No sound card needed.
- a show machine: --latency-device IN --latency-output OUT and a loopback cable from OUT to IN.
  The same figures, plus the interface's own round trip in `transport_ms`.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np

from vjgan.benchmark.click_player import ClickPlayer, PlayerConfig
from vjgan.benchmark.jack import DummyJack
from vjgan.benchmark.latency import (arrival_ns, click_starts, flash_hit, match_clicks, onset_hit, pair_schedule,
                                     summarize_matches)
from vjgan.benchmark.stages import FrameLoop
from vjgan.benchmark.stats import summarize

CAPTURE_PORT = "vjgan-in:in_0"  # the capture child's JACK client (vjgan.audio.capture_child)


@dataclass(frozen=True)
class LatencyOptions:
    seconds: float = 30.0  # length of the click train
    fps: float = 60.0  # the show's frame-rate cap
    size: int = 256
    sample_rate: int = 48000
    block: int = 128  # capture block = analysis hop (= the JACK dummy's period unless jack_period is set)
    jack_period: int | None = None  # frames per JACK cycle of the dummy server
    input_device: str | None = None  # None: a private JACK dummy server
    output_device: str | None = None  # where the clicks are played (loopback cable to input_device)
    model: str | None = None
    preset: str = "default"
    seed: int = 0
    warmup_s: float = 1.5  # frames before the first click (analysis normalisation settles)
    flash_threshold: float = 0.5  # a frame shows the click when its flash amplitude reaches this
    max_latency_ms: float = 500.0  # a reaction later than this is not counted as the click's
    measure_luma: bool = True  # read each output back and check the flash brightened it
    window: bool = False  # present to a real window (flip, vsync when the driver has it), not headless
    threads: int | None = None  # torch intra-op threads (None: torch's default)
    limiter: bool = False  # the photosensitivity limiter holds flashes back on purpose: off, it is not latency


def run_latency(opts: LatencyOptions, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    from vjgan.audio.linein import LineInSource
    from vjgan.clock import WallClock
    from vjgan.gfx.display import open_output
    from vjgan.pipeline import ShowOptions, build_engine, load_show_parts

    say = log or (lambda _msg: None)
    show = ShowOptions(model=opts.model, size=opts.size, seed=opts.seed, preset=opts.preset, fps=opts.fps)
    with ExitStack() as stack:
        jack = None
        if opts.input_device is None:
            jack = stack.enter_context(DummyJack(opts.sample_rate, opts.jack_period or opts.block))
            stack.enter_context(jack.environment())
        source = LineInSource(opts.input_device or "system", sample_rate=opts.sample_rate, channels=1,
                              block=opts.block)
        stack.callback(source.close)
        if opts.threads is not None:
            import torch

            torch.set_num_threads(opts.threads)
        preset, runner = load_show_parts(show)
        size = (opts.size, opts.size)
        output = open_output(size, headless=not opts.window)
        stack.callback(output.close)
        engine, chain = build_engine(source, runner, preset, output.ctx, size, show)
        stack.callback(chain.release)
        if hasattr(chain, "set_limit"):
            chain.set_limit(opts.limiter)
        player = ClickPlayer(PlayerConfig(device=opts.output_device or ("system" if jack else None),
                                          sample_rate=opts.sample_rate, block=opts.block, seconds=opts.seconds))
        stack.callback(player.close)
        if jack is not None:
            clicks_port = f"{player.config.client_name}:out_0"
            jack.connect(clicks_port, CAPTURE_PORT)
            for port in jack.connections(CAPTURE_PORT):
                if port != clicks_port:
                    jack.disconnect(port, CAPTURE_PORT)  # the dummy's own capture port: silence
        say(f"latency: {opts.seconds:.0f} s of clicks from {player.info['device']} into {source.device_name}, "
            f"hop {opts.block} at {opts.sample_rate} Hz, {opts.size} px, {opts.fps:g} fps cap")
        loop = FrameLoop(engine, chain, output, keep_audio=True, measure_luma=opts.measure_luma)
        clock = WallClock(max_fps=opts.fps)
        clock.start()
        stamps, overflows_at_go = [], 0
        end_s = float("inf")  # the train's length after "go", and half a second for the last click
        while (t_s := clock.tick()) < end_s:
            if end_s == float("inf") and t_s >= opts.warmup_s:
                overflows_at_go = source.stats()["overflows"]
                player.go()
                end_s = t_s + opts.seconds + 0.5
            loop.frame(t_s)
            stamps.append(source.block_arrivals())
        played = player.finish()
        capture = source.stats()
        capture["overflows_during_clicks"] = capture["overflows"] - overflows_at_go
    rows = np.concatenate(stamps) if stamps else np.zeros((0, 2), dtype=np.int64)
    return analyse_run(opts, loop, rows, played, capture, has_flash=any(s.name == "flash" for s in chain.specs),
                       devices={"input": source.device_name, "output": player.info["device"]},
                       mode="jack-dummy" if jack is not None else "loopback")


def analyse_run(opts: LatencyOptions, loop: FrameLoop, rows: np.ndarray, played: dict[str, Any],
                capture: dict[str, Any], has_flash: bool, devices: dict[str, str], mode: str) -> dict[str, Any]:
    found = click_starts(loop.audio(), sample_rate=opts.sample_rate)
    arrivals = arrival_ns(found, rows[:, 0], rows[:, 1])
    records = loop.records
    flash = match_clicks(found, arrivals, records, flash_hit(opts.flash_threshold), opts.max_latency_ms)
    onset = match_clicks(found, arrivals, records, onset_hit, opts.max_latency_ms)
    schedule = np.asarray(played["schedule"], dtype=np.int64)
    pairs = pair_schedule(found, schedule, window=int(0.1 * opts.sample_rate))
    sent_ns = played["click_ns"]
    transport = [(arrivals[i] - sent_ns[j]) / 1e6 for i, j, _ in pairs if arrivals[i] >= 0 and sent_ns[j] >= 0]
    shifts = [abs(shift) for _, _, shift in pairs]
    present = np.array([r.present_ns for r in records], dtype=np.int64)
    intervals_ms = np.diff(present) / 1e6
    return {
        "mode": mode, **devices, "options": asdict(opts),
        "frames": len(records),
        "fps_measured": float((len(present) - 1) / ((present[-1] - present[0]) / 1e9)) if len(present) > 1 else None,
        "frame_interval": summarize(intervals_ms),
        "clicks_scheduled": int(schedule.size), "clicks_found": int(found.size), "clicks_paired": len(pairs),
        "spacing_error_max_samples": max(shifts) if shifts else None,
        "spacing_jumps": sum(shift > 1 for shift in shifts),  # places where blocks were lost on the way
        "flash_effect_in_chain": has_flash,
        "flash": summarize_matches(flash, int(found.size)),
        "onset": summarize_matches(onset, int(found.size)),
        "transport_ms": summarize(transport),
        "capture": capture, "player_underflows": played["underflows"],
        "latencies_ms": {"flash": [m.latency_ms for m in flash], "onset": [m.latency_ms for m in onset]},
    }
