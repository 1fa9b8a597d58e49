"""What a benchmark ran on: every result names its device, software versions, commit and load."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit(where: Path = PACKAGE_DIR) -> str:
    """The short commit of the checkout vjgan runs from, or "unknown" (an installed package)."""
    try:
        run = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return run.stdout.strip() if run.returncode == 0 and run.stdout.strip() else "unknown"


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages (other work on the machine skews every figure)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def torch_info() -> dict[str, Any]:
    import torch

    cuda = torch.cuda.is_available()
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cuda_device": torch.cuda.get_device_name() if cuda else None,
            "device": torch.cuda.get_device_name() if cuda else cpu_name()}


def describe() -> dict[str, Any]:
    """The machine block of a result file."""
    from vjgan import __version__

    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "cpu": cpu_name(), "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "vjgan": __version__, "commit": git_commit(),
            **torch_info(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "loadavg_start": load_average()}
