"""Analysis cost per block, onset latency and tempo accuracy (the live analyser, offline input).

- cost: the demo track (drums + chords, 120 BPM) through one `Analyzer` in 800-sample chunks (60 fps
  at 48 kHz), each part timed per block: onset (aubio onset + onset strength), chroma (4096-point FFT
  every chroma_hop), bands (1024-point FFT + band levels every spectrum_hop), split (the percussive /
  harmonic split on the same spectrum), tempo (aubio tempo every tempo_hop + beat clock), and the
  whole block. Mean is the amortised cost per block; median and p99 are over blocks (parts that run on
  a coarser hop cost nothing in most blocks, so their p99 is the cost of one run).
- latency: a click track with irregular spacing; detection latency = onset_detected_at_s - true
  onset time, compensated error = onset_t_s - true onset time.
- tempo: click tracks at several tempi: final bpm, time until the tempo is known, beat error.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from vjgan.audio.analysis import AnalysisConfig, Analyzer, analyze
from vjgan.audio.demo_track import synthesize_demo_track

SR = 48000
PARTS = ("onset", "chroma", "bands", "split", "tempo")


def click_track(times_s: np.ndarray, duration_s: float, seed: int = 1) -> np.ndarray:
    """Drum-like hits (noise burst + 200 Hz body, 30 ms decay) starting exactly at times_s."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(duration_s * SR))
    t = np.arange(int(0.2 * SR)) / SR
    env = np.exp(-t / 0.03)
    for hit_s in times_s:
        i = int(round(hit_s * SR))
        hit = (0.5 * rng.standard_normal(t.size) + np.sin(2 * np.pi * 200.0 * t)) * env
        x[i : i + t.size] += hit[: x.size - i]
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def _timed(fn: Callable[..., Any], acc: dict[str, float], part: str) -> Callable[..., Any]:
    clock = time.perf_counter

    def wrapper(*args: Any) -> Any:
        t0 = clock()
        out = fn(*args)
        acc[part] += clock() - t0
        return out

    return wrapper


def measure_cost(seconds: float, hop: int, repeats: int) -> dict[str, dict[str, float | None]]:
    music = synthesize_demo_track(duration_s=seconds)
    cfg = AnalysisConfig(hop=hop)
    rows: list[list[float]] = []
    plain_us: list[float] = []
    for _ in range(repeats):
        # the whole block, unwrapped parts: amortised cost = total time / blocks
        analyzer = Analyzer(SR, cfg)
        t0 = time.perf_counter()
        n = sum(len(analyzer.process(music[i : i + 800])) for i in range(0, music.shape[0], 800))
        plain_us.append((time.perf_counter() - t0) / n * 1e6)
        # per part and per block, with timing wrappers
        analyzer = Analyzer(SR, cfg)
        acc = dict.fromkeys(PARTS + ("block",), 0.0)
        analyzer._detect_onset = _timed(analyzer._detect_onset, acc, "onset")  # type: ignore[method-assign]
        analyzer._update_chroma = _timed(analyzer._update_chroma, acc, "chroma")  # type: ignore[method-assign]
        bands = analyzer._bands
        spectrum, update_bands = bands.spectrum, bands.update_bands
        bands.spectrum = _timed(spectrum, acc, "bands")  # type: ignore[method-assign]
        bands.update_bands = _timed(update_bands, acc, "bands")  # type: ignore[method-assign]
        bands.update_split = _timed(bands.update_split, acc, "split")  # type: ignore[method-assign]
        tempo = analyzer._tempo
        for name in ("frame", "block", "onset"):
            setattr(tempo, name, _timed(getattr(tempo, name), acc, "tempo"))
        inner = analyzer._block

        def block(samples: np.ndarray) -> Any:
            for key in acc:
                acc[key] = 0.0
            t0 = time.perf_counter()
            out = inner(samples)
            acc["block"] = time.perf_counter() - t0
            rows.append([acc[p] for p in PARTS + ("block",)])
            return out

        analyzer._block = block  # type: ignore[method-assign]
        for i in range(0, music.shape[0], 800):
            analyzer.process(music[i : i + 800])
    us = np.array(rows) * 1e6
    result = {}
    for j, part in enumerate(PARTS + ("block",)):
        col = us[:, j]
        result[part] = {"mean_us": float(col.mean()), "median_us": float(np.median(col)),
                        "p99_us": float(np.percentile(col, 99))}
    result["total"] = {"mean_us": float(np.median(plain_us)), "median_us": None, "p99_us": None}
    return result


def measure_latency(hop: int) -> dict[str, float]:
    truth_s = np.round(np.arange(0.3, 30.0, 0.4137), 4)  # irregular against the block grid
    records = analyze(click_track(truth_s, 30.5), SR, AnalysisConfig(hop=hop))
    detected = np.array([r.onset_detected_at_s for r in records if r.onset])
    compensated = np.array([r.onset_t_s for r in records if r.onset])
    nearest = truth_s[np.argmin(np.abs(compensated[:, None] - truth_s[None, :]), axis=1)]
    latency_ms = (detected - nearest) * 1e3
    error_ms = np.abs(compensated - nearest) * 1e3
    return {"clicks": int(truth_s.size), "onsets": int(detected.size),
            "latency_median_ms": float(np.median(latency_ms)),
            "latency_p95_ms": float(np.percentile(latency_ms, 95)),
            "compensated_abs_error_median_ms": float(np.median(error_ms)),
            "compensated_abs_error_p95_ms": float(np.percentile(error_ms, 95))}


def measure_tempo(bpm: float, hop: int, duration_s: float = 12.0) -> dict[str, float | None]:
    truth_s = np.arange(0.5, duration_s, 60.0 / bpm)
    records = analyze(click_track(truth_s, duration_s), SR, AnalysisConfig(hop=hop))
    known = [r for r in records if r.bpm > 0.0]
    beats_s = np.array([r.t_s - r.beat_phase * 60.0 / r.bpm for r in records if r.beat])
    errors_ms = (np.abs(beats_s[:, None] - truth_s[None, :]).min(axis=1) * 1e3) if beats_s.size else np.zeros(0)
    return {"true_bpm": bpm, "final_bpm": records[-1].bpm or None,
            "known_after_s": known[0].t_s if known else None, "beats": int(beats_s.size),
            "beat_abs_error_median_ms": float(np.median(errors_ms)) if errors_ms.size else None,
            "beat_abs_error_max_ms": float(errors_ms.max()) if errors_ms.size else None}


def run_analysis(seconds: float = 20.0, hop: int = 128, repeats: int = 3) -> dict[str, Any]:
    """The analysis section: cost per block (and the share of one core in real time), onset latency
    at hop 128 and 256 (and `hop`), tempo on click tracks at five tempi."""
    cost = measure_cost(seconds, hop, repeats)
    block_ms = hop / SR * 1e3
    return {"sample_rate": SR, "hop": hop, "block_ms": block_ms, "cost_us_per_block": cost,
            "core_percent": cost["total"]["mean_us"] / (block_ms * 10),
            "onset_latency": {str(h): measure_latency(h) for h in sorted({hop, 128, 256})},
            "tempo": [measure_tempo(bpm, hop) for bpm in (70.0, 90.0, 120.0, 140.0, 174.0)]}
