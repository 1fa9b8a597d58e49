"""What a benchmark ran on (kept for the scripts here): see `vjgan.benchmark.machine`."""

from __future__ import annotations

from vjgan.benchmark.machine import cpu_name, describe, git_commit, load_average

__all__ = ["cpu_name", "describe", "git_commit", "load_average"]
