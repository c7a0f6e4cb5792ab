"""Report figures: the headless Agg backend, selected before pyplot is imported, and PNG output
with reproducible bytes. Plot modules import ``plt`` and ``Figure`` from here."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["Figure", "plt", "save_figure"]


def save_figure(figure: Figure, path: str | os.PathLike[str]) -> None:
    """PNG without a timestamp (matplotlib's Agg writes none), then release the figure."""
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)
