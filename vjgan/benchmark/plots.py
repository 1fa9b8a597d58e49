"""PNG plots of a `vjgan bench` result (matplotlib, Agg: no display needed).

- latency.png: histogram of audio-to-frame latency (flash and onset frames), p95 marked;
- latency_stages.png: the mean latency split into its stages, one stacked bar per reaction;
- generator.png: generator ms per frame against resolution, one line per configuration (log scale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vjgan.benchmark.latency import LATENCY_STAGES
from vjgan.plotting import pyplot, save_figure

DPI = 80
OPTION = "--plots"  # the `vjgan bench` option that asks for these plots


def latency_histogram(latency: dict[str, Any], path: Path) -> Path:
    plt = pyplot(OPTION)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    every = [v for key in ("flash", "onset") for v in latency["latencies_ms"].get(key) or []]
    bins = np.histogram_bin_edges(every, bins=30) if every else 30
    for key, color in (("flash", "tab:orange"), ("onset", "tab:blue")):
        values = latency["latencies_ms"].get(key) or []
        if values:
            p95 = float(np.percentile(values, 95))
            ax.hist(values, bins=bins, histtype="step", linewidth=1.5, color=color,
                    label=f"{key} frame (n={len(values)}, p95 {p95:.1f} ms)")
            ax.axvline(p95, color=color, linestyle="--", linewidth=1)
    opts = latency.get("options", {})
    ax.set_xlabel("click arrival -> frame handed to the display (ms)")
    ax.set_ylabel("clicks")
    ax.set_title(f"audio->frame latency, hop {opts.get('block')} @ {opts.get('sample_rate')} Hz, "
                 f"{opts.get('size')} px, {opts.get('fps')} fps cap ({latency.get('mode')})", fontsize=9)
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=DPI)
    return path


def latency_stages(latency: dict[str, Any], path: Path) -> Path:
    plt = pyplot(OPTION)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    keys = [k for k in ("flash", "onset") if latency.get(k, {}).get("matched")]
    colors = plt.get_cmap("tab10")
    bottoms = np.zeros(len(keys))
    for i, stage in enumerate(LATENCY_STAGES):
        values = np.array([max(0.0, latency[k]["stages_mean_ms"][stage] or 0.0) for k in keys])
        ax.bar(keys, values, bottom=bottoms, color=colors(i), label=stage)
        bottoms += values
    for x, total in enumerate(bottoms):
        ax.text(x, total, f"{total:.1f} ms", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("mean ms")
    ax.set_title("where the latency goes (mean per stage)", fontsize=9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    save_figure(fig, path, dpi=DPI)
    return path


def generator_sweep(generator: dict[str, Any], path: Path) -> Path:
    plt = pyplot(OPTION)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    sweep = [g for g in generator["groups"] if g["group"] != "default"]
    names = list(dict.fromkeys(name for g in sweep for name in g["configs"]))
    for name in names:
        points = sorted((g["resolution"], g["configs"][name]["p50_ms"]) for g in sweep if name in g["configs"])
        xs, ys = zip(*points) if points else ((), ())
        ax.plot(xs, ys, marker="o", label=name, linestyle="--" if name == "baseline" else "-")
    from matplotlib.ticker import FormatStrFormatter

    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.tick_params(axis="y", which="minor", labelsize=7)
    resolutions = sorted({g["resolution"] for g in sweep})
    ax.set_xticks(resolutions, [str(r) for r in resolutions])
    ax.set_xlabel("resolution (px)")
    ax.set_ylabel("ms per frame (p50)")
    label = sweep[0]["group"] if sweep else "generator"
    ax.set_title(f"{label} on {generator.get('device')}: ms vs resolution", fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, path, dpi=DPI)
    return path


def write_plots(result: dict[str, Any], folder: Path, prefix: str = "") -> list[Path]:
    """Every plot the result has data for, as `folder/PREFIXname.png`."""
    folder.mkdir(parents=True, exist_ok=True)
    sections = result.get("sections", {})
    written = []
    latency = sections.get("latency")
    if latency and "latencies_ms" in latency:
        written.append(latency_histogram(latency, folder / f"{prefix}latency.png"))
        written.append(latency_stages(latency, folder / f"{prefix}latency_stages.png"))
    generator = sections.get("generator")
    if generator and "groups" in generator:
        written.append(generator_sweep(generator, folder / f"{prefix}generator.png"))
    return written
