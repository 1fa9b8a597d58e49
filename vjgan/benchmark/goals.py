"""The issue's performance goals, checked against a `vjgan bench` result.

Each goal names where its figure comes from in the result; a goal for the other kind of machine (GPU
goals on a CPU run and the reverse), or from a section that did not run, is reported unmeasured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Result = dict[str, Any]


@dataclass(frozen=True)
class Goal:
    kind: str  # "gpu" | "cpu": the machine the goal is for
    text: str
    target: float
    better: str  # "<=" or ">="
    unit: str
    source: str  # where the figure comes from, for the reader
    measure: Callable[[Result], float | None]


def _get(result: Result, *path: Any) -> Any:
    node: Any = result
    for key in path:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
            node = node[key]
        else:
            return None
    return node


def _group(result: Result, group: str, resolution: int) -> dict[str, Any] | None:
    for g in _get(result, "sections", "generator", "groups") or []:
        if g["group"] == group and g["resolution"] == resolution:
            return g["configs"]
    return None


def _best_b1(result: Result, resolution: int) -> float | None:
    configs = _group(result, "config-f", resolution)
    if not configs:
        return None
    return min(c["p50_ms"] for name, c in configs.items() if name != "baseline" and c.get("batch", 1) == 1)


def _graph_speedup(result: Result) -> float | None:
    configs = _group(result, "config-f", 512)
    if not configs or "fp16-graph" not in configs or "fp16-eager" not in configs:
        return None
    return configs["fp16-eager"]["p50_ms"] / configs["fp16-graph"]["p50_ms"]


def _latency_p95(result: Result) -> float | None:
    return _get(result, "sections", "latency", "flash", "latency", "p95_ms")


GOALS = (
    Goal("gpu", "StyleGAN2 config-f 512, batch 1, p50", 1.5, "<=", "ms", "generator config-f 512: best runner config",
         lambda r: _best_b1(r, 512)),
    Goal("gpu", "StyleGAN2 config-f 1024, batch 1, p50", 2.5, "<=", "ms", "generator config-f 1024: best runner config",
         lambda r: _best_b1(r, 1024)),
    Goal("gpu", "CUDA graph vs eager (fp16, 512)", 3.0, ">=", "x", "fp16-eager p50 / fp16-graph p50", _graph_speedup),
    Goal("gpu", "audio->frame latency p95, hop 128 / 48 kHz", 15.0, "<=", "ms", "latency: flash frame p95",
         _latency_p95),
    Goal("cpu", "default model, whole frame at 256 px", 40.0, ">=", "fps", "frame: 1000 / frame p50",
         lambda r: _get(r, "sections", "frame", "fps_p50")),
    Goal("cpu", "audio->frame latency p95, hop 128 / 48 kHz", 60.0, "<=", "ms", "latency: flash frame p95",
         _latency_p95),
    Goal("cpu", "analysis, share of one core", 1.0, "<=", "%", "analysis: mean µs per block / block length",
         lambda r: _get(r, "sections", "analysis", "core_percent")),
    Goal("cpu", "offline render at 256 px / 30 fps", 1.0, ">=", "x real time", "render: realtime_factor",
         lambda r: _get(r, "sections", "render", "realtime_factor")),
)


def evaluate(result: Result) -> list[dict[str, Any]]:
    """Each goal with its measured figure (None when not measured here) and whether it is met."""
    kind = "gpu" if _get(result, "machine", "cuda_device") else "cpu"
    rows = []
    for goal in GOALS:
        measured = goal.measure(result) if goal.kind == kind else None
        met = None
        if measured is not None:
            met = measured <= goal.target if goal.better == "<=" else measured >= goal.target
        rows.append({"kind": goal.kind, "goal": goal.text, "target": f"{goal.better} {goal.target:g} {goal.unit}",
                     "measured": measured, "unit": goal.unit, "met": met, "source": goal.source})
    return rows


def goals_table(rows: list[dict[str, Any]], device: str) -> str:
    """A Markdown table: goal, target, latest measured figure (on `device`), met."""
    lines = ["| machine | goal | target | measured | met |", "|---|---|---|---|---|"]
    for row in rows:
        value = "not measured" if row["measured"] is None else f"{row['measured']:.3g} {row['unit']}"
        met = {True: "yes", False: "**no**", None: "—"}[row["met"]]
        where = device if row["measured"] is not None else row["kind"].upper()
        lines.append(f"| {where} | {row['goal']} | {row['target']} | {value} | {met} |")
    return "\n".join(lines)
