"""`vjgan analyze`: run the live analyser over a file and write what it saw as JSON (and a plot).

The report is columnar and compact (floats rounded to 4 decimals):

    {"file": "song.wav", "sample_rate": 48000, "channels": 2, "duration_s": 20.0, "hop": 128,
     "block_s": 0.002667, "onsets": [s...], "onsets_detected_at": [s...], "bpm": 120.0 | null,
     "beats": [s...], "analysis": {AnalysisConfig fields},
     "frames": {"t": [s...], "rms": [...], "level": [...], "onset_strength": [...], "low": [...],
                "mid": [...], "high": [...], "percussive": [...], "harmonic": [...], "bpm": [...],
                "beat_phase": [...], "chroma": [[12 values]...]}}

`onsets` are delay-compensated onset times, `onsets_detected_at` the stream times at which the live
analyser knew about them; `frames.t` is the end of each block. `bpm` is the median tempo over the
blocks where the tempo was known (null if it never was), `beats` the beat times.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from vjgan.audio.analysis import AnalysisConfig, Analyzer
from vjgan.audio.chroma import PITCH_CLASS_NAMES
from vjgan.audio.features import AudioFeatures
from vjgan.audio.sources import FileSource
from vjgan.files import atomic_write_text
from vjgan.plotting import pyplot, save_figure

PathLike = str | os.PathLike[str]
READ_CHUNK_S = 1.0  # the file is streamed through the analyser one second at a time
DECIMALS = 4
FRAME_COLUMNS = ("rms", "level", "onset_strength", "low", "mid", "high", "percussive", "harmonic", "bpm",
                 "beat_phase")


def analyze_file(path: PathLike, config: AnalysisConfig | None = None) -> dict[str, Any]:
    """Analyse an audio file block by block with the live `Analyzer`; returns the report dict."""
    config = config if config is not None else AnalysisConfig()
    with FileSource(path) as source:
        analyzer = Analyzer(source.sample_rate, config)
        blocks: list[AudioFeatures] = []
        t_s = 0.0
        while not source.finished:
            t_s += READ_CHUNK_S
            blocks += analyzer.process(source.read_until(t_s))
        return build_report(blocks, source.sample_rate, config, file=Path(path).name,
                            channels=source.channels, duration_s=source.frames / source.sample_rate)


def build_report(blocks: list[AudioFeatures], sample_rate: int, config: AnalysisConfig, *,
                 file: str | None = None, channels: int | None = None,
                 duration_s: float | None = None) -> dict[str, Any]:
    """The columnar report of a list of analysis blocks (see the module docstring)."""
    def r(x: float) -> float:
        return round(float(x), DECIMALS)

    onsets = [b for b in blocks if b.onset and b.onset_t_s is not None]
    beats = [r(b.t_s - b.beat_phase * 60.0 / b.bpm) for b in blocks if b.beat and b.bpm > 0.0]
    known = [b.bpm for b in blocks if b.bpm > 0.0]
    frames: dict[str, Any] = {"t": [r(b.t_s) for b in blocks]}
    for name in FRAME_COLUMNS:
        frames[name] = [r(getattr(b, name)) for b in blocks]
    frames["chroma"] = [[r(v) for v in b.chroma] for b in blocks]
    return {
        "file": file,
        "sample_rate": int(sample_rate),
        "channels": channels,
        "duration_s": None if duration_s is None else r(duration_s),
        "hop": config.hop,
        "block_s": round(config.hop / sample_rate, 6),
        "onsets": [r(b.onset_t_s) for b in onsets],  # type: ignore[arg-type]
        "onsets_detected_at": [r(b.onset_detected_at_s) for b in onsets],  # type: ignore[arg-type]
        "bpm": round(float(np.median(known)), 2) if known else None,
        "beats": beats,
        "analysis": asdict(config),
        "frames": frames,
    }


def write_json(report: dict[str, Any], path: PathLike) -> None:
    """Write the report compactly and atomically (a temp file in the same folder, then replace)."""
    text = json.dumps(report, separators=(",", ":"), allow_nan=False)
    atomic_write_text(path, text, what="the JSON report")


def plot_report(report: dict[str, Any], samples_or_path: np.ndarray | PathLike, out_png: PathLike) -> None:
    """A PNG: waveform with onsets and beats, band levels (and percussive / harmonic), chromagram."""
    plt = pyplot("--plot")
    rate = int(report["sample_rate"])
    mono = _mono(samples_or_path)
    frames = report["frames"]
    t_s = np.asarray(frames["t"], dtype=np.float64)
    end_s = max(mono.shape[0] / rate, float(t_s[-1]) if t_s.size else 0.0, 1e-3)
    fig, (ax_wave, ax_bands, ax_split, ax_chroma) = plt.subplots(
        4, 1, figsize=(14, 10), sharex=True, gridspec_kw={"height_ratios": [1.3, 1.0, 0.7, 1.0]})
    try:
        lo, hi, env_t = _envelope(mono, rate)
        ax_wave.fill_between(env_t, lo, hi, color="0.45", linewidth=0)
        if report["onsets"]:
            ax_wave.vlines(report["onsets"], -1.0, 1.0, color="tab:red", linewidth=0.6, alpha=0.7,
                           label="onsets")
        if report["beats"]:
            ax_wave.plot(report["beats"], np.full(len(report["beats"]), 1.06), "v", color="tab:blue",
                         markersize=5, label="beats")
        ax_wave.set_ylabel("waveform")
        ax_wave.set_ylim(-1.05, 1.12)
        if report["onsets"] or report["beats"]:
            ax_wave.legend(loc="lower right", fontsize=8)
        bpm = f"{report['bpm']:.1f} BPM" if report.get("bpm") else "no steady tempo"
        ax_wave.set_title(f"{report.get('file') or 'audio'} — {len(report['onsets'])} onsets, {bpm}")

        for name, color in (("low", "tab:red"), ("mid", "tab:green"), ("high", "tab:blue")):
            ax_bands.plot(t_s, frames[name], color=color, linewidth=0.7, label=name)
        ax_bands.set_ylim(0.0, 1.05)
        ax_bands.set_ylabel("band levels")
        ax_bands.legend(loc="upper right", fontsize=8, ncol=3)
        for name, color in (("percussive", "tab:orange"), ("harmonic", "tab:purple"),
                            ("onset_strength", "0.6")):
            if name in frames:
                ax_split.plot(t_s, frames[name], color=color, linewidth=0.7, label=name.replace("_", " "))
        ax_split.set_ylim(0.0, 1.05)
        ax_split.set_ylabel("hits / tones")
        ax_split.legend(loc="upper right", fontsize=8, ncol=3)

        chroma = np.asarray(frames["chroma"], dtype=np.float32).reshape(-1, 12).T
        ax_chroma.imshow(chroma, aspect="auto", origin="lower", interpolation="nearest", cmap="magma",
                         extent=(0.0, float(t_s[-1]) if t_s.size else end_s, -0.5, 11.5), vmin=0.0, vmax=1.0)
        ax_chroma.set_yticks(range(12), PITCH_CLASS_NAMES)
        ax_chroma.set_ylabel("chroma")
        ax_chroma.set_xlabel("time (s)")
        ax_chroma.set_xlim(0.0, end_s)
    except BaseException:
        plt.close(fig)
        raise
    save_figure(fig, out_png, dpi=100)


def _mono(samples_or_path: np.ndarray | PathLike) -> np.ndarray:
    if isinstance(samples_or_path, np.ndarray):
        array = samples_or_path
    else:
        with FileSource(samples_or_path) as source:
            array = source.read_until(float("inf"))
    array = np.asarray(array, dtype=np.float32)
    return array.mean(axis=1) if array.ndim == 2 else array


def _envelope(mono: np.ndarray, rate: int, columns: int = 4000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min / max per column: a long waveform drawn at a fixed cost."""
    if mono.size == 0:
        return np.zeros(1), np.zeros(1), np.zeros(1)
    per = max(1, mono.size // columns)
    shaped = mono[: mono.size // per * per].reshape(-1, per)
    t_s = (np.arange(shaped.shape[0]) * per + per / 2.0) / rate
    return shaped.min(axis=1), shaped.max(axis=1), t_s
