"""Where the project's bundled folders live (shaders/, presets/) — beside the package."""

from __future__ import annotations

import os
from pathlib import Path

import vjgan

PROJECT_ROOT = Path(vjgan.__file__).resolve().parents[1]


def presets_dir() -> Path:
    return Path(os.environ.get("VJGAN_PRESET_DIR", PROJECT_ROOT / "presets"))
