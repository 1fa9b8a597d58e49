"""Summaries every section shares: percentiles over a list of timings."""

from __future__ import annotations

from typing import Iterable

import numpy as np


def summarize(values: Iterable[float], unit: str = "ms") -> dict[str, float | int | None]:
    """n, p50, p95, p99, mean, min and max of `values` (keys suffixed with the unit, e.g. p50_ms)."""
    arr = np.asarray([v for v in values if v is not None], dtype=np.float64)
    keys = ("p50", "p95", "p99", "mean", "min", "max")
    if arr.size == 0:
        return {"n": 0, **{f"{k}_{unit}": None for k in keys}}
    figures = (np.median(arr), np.percentile(arr, 95), np.percentile(arr, 99), arr.mean(), arr.min(), arr.max())
    return {"n": int(arr.size), **{f"{k}_{unit}": float(v) for k, v in zip(keys, figures)}}
