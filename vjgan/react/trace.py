"""The reaction trace: what the latent reactor did, frame by frame, as a plot (PNG) or data (JSON).

Seeing the video is not enough to tune a preset: the trace shows the pulse (with the percussive hit
envelope behind it), the motion speed (with the harmonic level) and the 12 class-slot weights over
time, with the class shuffles marked. `ReactionTrace.add` takes the reactor's `Latents` once per
video frame; `write_trace` writes it by suffix.

The JSON is columnar (one entry per frame), floats at the precision they were rendered with
(float32 values in their shortest form, times in full):

    {"schema": "vjgan.reaction-trace/1", "frames": N, "labels": [12 names],
     "t_s": [...], "pulse": [...], "percussive": [...], "harmonic": [...], "motion_speed": [...],
     "class_vector": [[12 values]...], "class_shift": [ints...], "shuffled": [bools...],
     "shuffle_times_s": [s...]}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vjgan.errors import VjganError
from vjgan.files import atomic_path, atomic_write_text, check_folder
from vjgan.react.reactor import Latents

PathLike = str | os.PathLike[str]
SCHEMA = "vjgan.reaction-trace/1"
CLASS_SLOTS = 12
FLOAT_COLUMNS = ("pulse", "percussive", "harmonic", "motion_speed")
TRACE_SUFFIXES = (".png", ".json")
FIGSIZE_IN = (12.0, 8.0)
DPI = 100
SHUFFLE_COLOR = "tab:cyan"


class ReactionTrace:
    """Per-frame columns of the reactor's output, compact enough for an hour of video."""

    def __init__(self, labels: Sequence[str | int] | None = None) -> None:
        if labels is None:
            labels = [f"slot {j}" for j in range(CLASS_SLOTS)]
        if len(labels) != CLASS_SLOTS:
            raise ValueError(f"a reaction trace needs {CLASS_SLOTS} class-slot labels, got {len(labels)}")
        self.labels: tuple[str, ...] = tuple(str(label) for label in labels)
        self._t_s: list[float] = []
        self._floats: dict[str, list[float]] = {name: [] for name in FLOAT_COLUMNS}
        self._class_rows: list[np.ndarray] = []
        self._class_shift: list[int] = []
        self._shuffled: list[bool] = []

    def add(self, latents: Latents) -> None:
        """Append one video frame's reaction."""
        row = np.asarray(latents.class_vector, dtype=np.float32).reshape(-1)
        if row.size != CLASS_SLOTS:
            raise ValueError(f"class_vector has {row.size} values, expected {CLASS_SLOTS}")
        self._t_s.append(float(latents.t_s))
        for name in FLOAT_COLUMNS:
            self._floats[name].append(float(getattr(latents, name)))
        self._class_rows.append(row.copy())
        self._class_shift.append(int(latents.class_shift))
        self._shuffled.append(bool(latents.shuffled))

    def __len__(self) -> int:
        return len(self._t_s)

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns as numpy arrays: t_s (float64), the float columns and class_vector (N, 12)
        as float32, class_shift (int), shuffled (bool)."""
        out: dict[str, np.ndarray] = {"t_s": np.asarray(self._t_s, dtype=np.float64)}
        for name in FLOAT_COLUMNS:
            out[name] = np.asarray(self._floats[name], dtype=np.float32)
        out["class_vector"] = (np.stack(self._class_rows) if self._class_rows
                               else np.zeros((0, CLASS_SLOTS), dtype=np.float32))
        out["class_shift"] = np.asarray(self._class_shift, dtype=np.int64)
        out["shuffled"] = np.asarray(self._shuffled, dtype=bool)
        return out

    def shuffle_times_s(self) -> list[float]:
        """Times of the frames in which a class shuffle happened."""
        return [t for t, hit in zip(self._t_s, self._shuffled) if hit]

    def to_dict(self) -> dict[str, Any]:
        """The columnar, JSON-ready form (see the module docstring)."""
        a = self.arrays()
        out: dict[str, Any] = {"schema": SCHEMA, "frames": len(self), "labels": list(self.labels),
                               "t_s": list(self._t_s)}
        for name in FLOAT_COLUMNS:
            out[name] = _short_floats(a[name])
        out["class_vector"] = [_short_floats(row) for row in a["class_vector"]]
        out["class_shift"] = list(self._class_shift)
        out["shuffled"] = list(self._shuffled)
        out["shuffle_times_s"] = self.shuffle_times_s()
        return out


def _short_floats(values: np.ndarray) -> list[float | None]:
    """float32 values as the shortest decimals that read back to the same float32 (0.1, not
    0.10000000149011612): exact and about half the size in JSON. A non-finite value becomes null."""
    return [float(np.format_float_positional(v, unique=True, trim="-")) if np.isfinite(v) else None
            for v in values]


def check_trace_path(path: PathLike) -> Path:
    """Fail early (before a long render) if `path` cannot take a trace: wrong suffix or no folder."""
    out = Path(path)
    if out.suffix.lower() not in TRACE_SUFFIXES:
        raise VjganError(f"--trace {out}: use a .png (plot) or .json (data) file")
    return check_folder(out, "the trace")


def write_trace(trace: ReactionTrace, path: PathLike, caption: str | None = None) -> None:
    """Write the trace by suffix: `.json` the data (atomically), `.png` the plot (`caption` on top,
    e.g. the song and preset)."""
    out = check_trace_path(path)
    if len(trace) == 0:
        raise VjganError(f"nothing to plot: no frames were rendered, so the trace {out} was not written")
    if out.suffix.lower() == ".json":
        text = json.dumps(trace.to_dict(), separators=(",", ":"), allow_nan=False)
        atomic_write_text(out, text, what="the trace")
    else:
        _plot(trace, out, caption)


def _plot(trace: ReactionTrace, out: Path, caption: str | None) -> None:
    from matplotlib.figure import Figure  # a bare Figure: no pyplot state, no display, Agg for PNG

    a = trace.arrays()
    t_s = a["t_s"]
    step_s = float(np.median(np.diff(t_s))) if t_s.size > 1 else 1.0 / 30.0
    start_s, end_s = float(t_s[0]) - step_s / 2.0, float(t_s[-1]) + step_s / 2.0
    shuffles = trace.shuffle_times_s()

    fig = Figure(figsize=FIGSIZE_IN, dpi=DPI)
    ax_pulse, ax_motion, ax_class = fig.subplots(
        3, 1, sharex=True, gridspec_kw={"height_ratios": [1.0, 1.0, 1.3]})

    # (1) pulse, the percussive envelope faint behind it on its own 0..1 scale
    ax_hits = ax_pulse.twinx()
    ax_hits.fill_between(t_s, 0.0, a["percussive"], color="tab:orange", alpha=0.25, linewidth=0,
                         label="percussive")
    ax_hits.set_ylim(0.0, 1.05)
    ax_hits.set_ylabel("percussive", color="tab:orange")
    ax_pulse.set_zorder(ax_hits.get_zorder() + 1)  # the pulse line in front of the envelope
    ax_pulse.patch.set_visible(False)
    ax_pulse.plot(t_s, a["pulse"], color="tab:red", linewidth=0.9, label="pulse")
    ax_pulse.set_ylabel("pulse (z offset)", color="tab:red")

    # (2) motion speed, the harmonic level that drives it on a twin axis
    ax_tones = ax_motion.twinx()
    ax_tones.plot(t_s, a["harmonic"], color="tab:purple", linewidth=0.7, alpha=0.6)
    ax_tones.set_ylim(0.0, 1.05)
    ax_tones.set_ylabel("harmonic", color="tab:purple")
    ax_motion.set_zorder(ax_tones.get_zorder() + 1)
    ax_motion.patch.set_visible(False)
    ax_motion.plot(t_s, a["motion_speed"], color="tab:green", linewidth=0.9)
    ax_motion.set_ylabel("motion (z/s per dim)", color="tab:green")
    ax_motion.set_ylim(bottom=0.0)

    # (3) the class vector: one row per slot over time, shuffles marked
    weights = a["class_vector"].T
    top = float(weights.max()) if weights.size and float(weights.max()) > 0.0 else 1.0
    ax_class.imshow(weights, aspect="auto", origin="lower", interpolation="nearest", cmap="magma",
                    extent=(start_s, end_s, -0.5, CLASS_SLOTS - 0.5), vmin=0.0, vmax=top)
    ax_class.set_yticks(range(CLASS_SLOTS), trace.labels, fontsize=7)
    ax_class.set_ylabel("class slots")
    for ax in (ax_pulse, ax_motion):
        for time_s in shuffles:
            ax.axvline(time_s, color=SHUFFLE_COLOR, linewidth=0.6, alpha=0.5)
    shifts = a["class_shift"][a["shuffled"]]
    for time_s, shift in zip(shuffles, shifts):
        ax_class.axvline(time_s, color=SHUFFLE_COLOR, linewidth=1.2)
        ax_class.text(time_s, CLASS_SLOTS - 0.5, f" shift {int(shift)}", color=SHUFFLE_COLOR,
                      fontsize=7, va="top", ha="left")
    ax_class.set_xlabel("time (s)")
    ax_class.set_xlim(start_s, end_s)

    plural = "" if len(shuffles) == 1 else "s"
    summary = f"{len(trace)} frames, {end_s - start_s:.1f} s, {len(shuffles)} class shuffle{plural}"
    fig.suptitle(f"{caption} — {summary}" if caption else f"reaction trace — {summary}")
    fig.tight_layout()
    with atomic_path(out, what="the trace plot") as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
