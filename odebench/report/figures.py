"""Curves vs epoch/iteration with mean ± std bands, one line per model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

PANELS: tuple[tuple[str, str], ...] = (
    ("nfe_forward", "forward NFE / iteration"),
    ("nfe_backward", "backward NFE / iteration"),
    ("loss", "training loss"),
)


def curves_figure(epochs: pd.DataFrame, paths: Sequence[Path], title: str,
                  model_order: Sequence[str] | None = None,
                  panels: Sequence[tuple[str, str]] = PANELS) -> None:
    """Draw one panel per metric, mean line and ± std band over seeds, save to every path.

    The x axis reads "iteration" when every epoch is one full-batch iteration.
    """
    full_batch = "iterations" in epochs and bool((epochs["iterations"] == 1).all())
    x_label = "iteration (full batch)" if full_batch else "epoch"
    present = [(col, label) for col, label in panels if col in epochs]
    models = [m for m in (model_order or []) if m in set(epochs["model"])]
    models += sorted(set(epochs["model"]) - set(models))
    fig, axes = plt.subplots(1, max(1, len(present)), figsize=(4.2 * max(1, len(present)), 3.4),
                             squeeze=False)
    for ax, (column, label) in zip(axes[0], present, strict=False):
        for model in models:
            stats = (epochs[epochs["model"] == model].groupby("epoch")[column]
                     .agg(["mean", "std", "count"]))
            std = stats["std"].fillna(0.0)
            line, = ax.plot(stats.index, stats["mean"], label=model)
            ax.fill_between(stats.index, stats["mean"] - std, stats["mean"] + std,
                            color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_xlabel(x_label)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
