"""Offline render speed: `vjgan render` of a short synthetic song, and PyAV encode cost per frame.

- real-time factor: seconds of song rendered per second of wall time (>= 1: faster than real time),
  the whole `render_file` path (model load, analysis, generator, effects, readback, H.264 + AAC).
- encode: `Recorder` (libx264 veryfast, crf 18, its own thread) fed a moving picture as fast as it
  takes frames, closed: wall ms per frame.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from vjgan.benchmark.stats import summarize


def run_render(seconds: float = 10.0, size: int = 256, fps: float = 30.0, model: str | None = None,
               preset: str = "default") -> dict[str, Any]:
    from vjgan.audio.demo_track import synthesize_demo_track, write_wav_16bit
    from vjgan.pipeline import ShowOptions
    from vjgan.render import render_file

    with tempfile.TemporaryDirectory(prefix="vjgan-bench-") as tmp:
        song = Path(tmp) / "song.wav"
        write_wav_16bit(song, synthesize_demo_track(48000, seconds), 48000)
        out = Path(tmp) / "render.mp4"
        summary = render_file(song, out, ShowOptions(model=model, size=size, fps=fps, preset=preset), progress=False)
        encode = measure_encode(Path(tmp) / "encode.mp4", size, fps, frames=int(seconds * fps))
    return {"song_s": summary.duration_s, "size": size, "fps": fps, "frames": summary.frames,
            "wall_s": summary.wall_s, "realtime_factor": summary.realtime_factor,
            "ms_per_frame": summary.wall_s * 1e3 / max(1, summary.frames), "encode": encode}


def measure_encode(path: Path, size: int, fps: float, frames: int = 300) -> dict[str, Any]:
    from vjgan.gfx.recorder import Recorder

    y, x = np.mgrid[0:size, 0:size]
    queued_ms = []
    t0 = time.perf_counter()
    with Recorder(path, (size, size), fps) as recorder:
        for i in range(frames):
            picture = np.stack([(x + 3 * i) % 256, (y + 2 * i) % 256, (x + y + i) % 256], axis=-1).astype(np.uint8)
            t1 = time.perf_counter()
            recorder.write_video(picture, i / fps)
            queued_ms.append((time.perf_counter() - t1) * 1e3)
    wall_s = time.perf_counter() - t0
    return {"frames": frames, "size": size, "wall_s": wall_s, "ms_per_frame": wall_s * 1e3 / frames,
            "write_call": summarize(queued_ms)}
