"""Curves vs epoch/iteration with mean ± std bands, one line per model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

PANELS: tuple[tuple[str, str], ...] = (
    ("nfe_forward", "forward NFE / iteration"),
    ("nfe_backward", "backward NFE / iteration"),
    ("loss", "training loss"),
)
# HBNODE Figs. 1 and 6, NesterovNODE Figs. 5 and 6: NFE, time and accuracy per epoch.
IMAGE_PANELS: tuple[tuple[str, str], ...] = (
    ("nfe_forward", "forward NFE / iteration"),
    ("nfe_backward", "backward NFE / iteration"),
    ("seconds", "training time / epoch (s)"),
    ("loss", "training loss"),
    ("test_accuracy", "test accuracy"),
)


def _line_label(model: str, setting: str) -> str:
    return f"{model} ({setting})" if setting else model


def _series(epochs: pd.DataFrame, model_order: Sequence[str] | None) -> list[tuple[str, str]]:
    setting = epochs["setting"] if "setting" in epochs else pd.Series("", index=epochs.index)
    pairs = set(zip(epochs["model"], setting.fillna("").astype(str), strict=True))
    order = {m: i for i, m in enumerate(model_order or [])}
    return sorted(pairs, key=lambda p: (order.get(p[0], len(order)), p[0], p[1]))


def curves_figure(epochs: pd.DataFrame, paths: Sequence[Path], title: str,
                  model_order: Sequence[str] | None = None,
                  panels: Sequence[tuple[str, str]] = PANELS) -> None:
    """One panel per metric, a mean line and ± std band over seeds per model (x setting).

    The x axis reads "iteration" when every epoch is one full-batch iteration.
    """
    full_batch = "iterations" in epochs and bool((epochs["iterations"] == 1).all())
    x_label = "iteration (full batch)" if full_batch else "epoch"
    present = [(col, label) for col, label in panels
               if col in epochs and epochs[col].notna().any()]
    setting = (epochs["setting"].fillna("").astype(str) if "setting" in epochs
               else pd.Series("", index=epochs.index))
    fig, axes = plt.subplots(1, max(1, len(present)), figsize=(4.2 * max(1, len(present)), 3.4),
                             squeeze=False)
    for ax, (column, label) in zip(axes[0], present, strict=False):
        for model, value in _series(epochs, model_order):
            rows = epochs[(epochs["model"] == model) & (setting == value)]
            stats = rows.dropna(subset=[column]).groupby("epoch")[column].agg(["mean", "std"])
            std = stats["std"].fillna(0.0)
            line, = ax.plot(stats.index, stats["mean"], label=_line_label(model, value),
                            marker="o" if len(stats) < 4 else None)
            ax.fill_between(stats.index, stats["mean"] - std, stats["mean"] + std,
                            color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_xlabel(x_label)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, paths)


def norm_figure(epochs: pd.DataFrame, paths: Sequence[Path], title: str,
                model_order: Sequence[str] | None = None) -> None:
    """||h(t)||_2 at initialisation on a log scale, mean over inits (HBNODE Fig. 3,
    NesterovNODE Fig. 2 left), with the exact |V2(t)| as reference."""
    fig, ax = plt.subplots(figsize=(6, 4))
    finite = epochs[np.isfinite(epochs["h_norm"]) & (epochs["h_norm"] > 0)]
    for model, _ in _series(epochs, model_order):
        stats = finite[finite["model"] == model].groupby("t")["h_norm"].mean()
        stats = stats[np.isfinite(stats)]  # a mean can overflow where one init blew up
        ax.plot(stats.index, stats.values, label=model)
    exact = epochs.groupby("t")["exact_norm"].first()
    exact = exact[exact > 0]
    ax.plot(exact.index, exact.values, "k--", label="exact |V2|")
    ax.set_yscale("log")
    values = np.concatenate([finite["h_norm"].to_numpy(), exact.to_numpy()])
    if len(values):
        ax.set_ylim(values.min() / 2, min(values.max() * 2, 1e30))  # blow-ups leave the top
    ax.set_xlabel("t")
    ax.set_ylabel("‖h(t)‖₂ (mean over initialisations)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    ax.set_title(title)
    fig.tight_layout()
    _save(fig, paths)


def tolerance_scatter(epochs: pd.DataFrame, paths: Sequence[Path], title: str,
                      model_order: Sequence[str] | None = None) -> None:
    """Forward vs backward NFE, one point per epoch, coloured by tolerance on a log scale,
    one panel per model, dashed y = x (HBNODE Fig. 7)."""
    data = epochs.assign(tol=epochs["setting"].astype(str).str.partition("=")[2].astype(float))
    models = [m for m, _ in _series(data, model_order)]
    models = list(dict.fromkeys(models))
    fig, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models) + 1.2, 3.4),
                             squeeze=False, layout="constrained")
    norm = matplotlib.colors.LogNorm(vmin=data["tol"].min(), vmax=max(data["tol"].max(),
                                                                      data["tol"].min() * 10))
    for ax, model in zip(axes[0], models, strict=True):
        rows = data[data["model"] == model]
        points = ax.scatter(rows["nfe_forward"], rows["nfe_backward"], c=rows["tol"],
                            cmap="viridis", norm=norm, s=14)
        top = max(rows["nfe_forward"].max(), rows["nfe_backward"].max()) * 1.05
        ax.plot([0, top], [0, top], "k--", linewidth=0.8)
        ax.set_title(model)
        ax.set_xlabel("forward NFE")
        ax.set_ylabel("backward NFE")
        ax.grid(alpha=0.3)
    fig.colorbar(points, ax=axes[0].tolist(), label="tolerance")
    fig.suptitle(title)
    _save(fig, paths)


def _save(fig: plt.Figure, paths: Sequence[Path]) -> None:
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
