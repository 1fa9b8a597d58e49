"""matplotlib for the PNG plots vjgan writes (`vjgan analyze --plot`, `vjgan bench --plots`).

`pyplot(option)` imports pyplot on the Agg backend (no display needed), or says which option needs
matplotlib; `save_figure` lays the figure out, writes it atomically through `vjgan.files` and
closes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vjgan.errors import VjganError
from vjgan.files import atomic_path


def pyplot(option: str) -> Any:
    """matplotlib.pyplot on the Agg backend; VjganError naming `option` when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        raise VjganError(f"{option} needs matplotlib — install it (pip install matplotlib) or leave out "
                         f"{option}") from None
    matplotlib.use("Agg")  # no display needed; must come before pyplot is imported
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path, *, dpi: int, what: str = "the plot") -> None:
    """Lay out and save `fig` as a PNG at `path`, atomically; the figure is closed either way."""
    import matplotlib.pyplot as plt

    try:
        fig.tight_layout()
        with atomic_path(path, what=what) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
    finally:
        plt.close(fig)
