"""Work-precision diagrams in the SciMLBenchmarks manner, from a tidy CSV of solver runs.

One row of the table is one solve: ``problem``, ``method``, ``backend``, the tolerance
(rtol = atol) or fixed step size in ``tolerance_or_step``, and what it cost and achieved:
``error`` (against a reference), ``seconds`` (wall time) and ``nfe`` (field evaluations).
``benchmarks/work_precision.py`` writes such a table; this module only reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from odebench.report.figures import (  # noqa: E402
    MARKERS,
    PALETTE,
    _positive,
    save_figure,
    set_titles,
)

REQUIRED_COLUMNS = ("problem", "method", "backend", "tolerance_or_step", "error", "seconds",
                    "nfe")
# The y quantity of each panel (SciML: error on x, work on y, both log scales).
WORK_PANELS = (("seconds", "wall time (s)"), ("nfe", "NFE"))
# Solid lines, filled markers for torchdiffeq; the lean backend takes the same steps, so its
# points sit on the same errors and NFE: dashed lines and larger hollow markers ring them.
BACKEND_STYLES = {"torchdiffeq": {"linestyle": "-", "fillstyle": "full", "markersize": 5},
                  "lean": {"linestyle": "--", "fillstyle": "none", "markersize": 8}}
OTHER_STYLE = {"linestyle": ":", "fillstyle": "full", "markersize": 5}


def require_columns(frame: pd.DataFrame, source: str | Path = "work-precision frame") -> None:
    """Raise ``ValueError`` naming each of :data:`REQUIRED_COLUMNS` that ``frame`` lacks."""
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {', '.join(missing)}; a work-precision "
                         f"table needs {', '.join(REQUIRED_COLUMNS)}")


def load_work_precision(path: str | Path) -> pd.DataFrame:
    """The work-precision table at ``path``, its columns checked (:func:`require_columns`)."""
    frame = pd.read_csv(path)
    require_columns(frame, path)
    return frame


def _series(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(backend, method) pairs: methods in order of appearance, torchdiffeq before lean."""
    methods = list(dict.fromkeys(frame["method"].astype(str)))
    backends = sorted(set(frame["backend"].astype(str)),
                      key=lambda b: (list(BACKEND_STYLES).index(b) if b in BACKEND_STYLES
                                     else len(BACKEND_STYLES), b))
    present = set(zip(frame["backend"].astype(str), frame["method"].astype(str), strict=True))
    return [(b, m) for m in methods for b in backends if (b, m) in present]


def _style(backend: str, method: str, methods: Sequence[str]) -> dict:
    """One colour and marker per method (the same in every panel), line style by backend."""
    index = list(methods).index(method)
    return {"color": PALETTE[index % len(PALETTE)], "marker": MARKERS[index % len(MARKERS)],
            **BACKEND_STYLES.get(backend, OTHER_STYLE)}


def _finite_positive(values: pd.Series) -> np.ndarray:
    array = _positive(values)
    return np.where(np.isfinite(array), array, np.nan)


def _panel(ax: plt.Axes, rows: pd.DataFrame, column: str, label: str,
           series: Sequence[tuple[str, str]], methods: Sequence[str]) -> None:
    """Error (x) vs ``column`` (y), one line per (backend, method), loose to tight."""
    for backend, method in series:
        line = rows[(rows["backend"] == backend) & (rows["method"] == method)]
        if line.empty:
            continue
        line = line.sort_values("tolerance_or_step", ascending=False)
        ax.plot(_finite_positive(line["error"]), _finite_positive(line[column]),
                label=f"{method} ({backend})", **_style(backend, method, methods))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("error")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3, which="both")


def work_precision_figure(frame: pd.DataFrame, paths: Sequence[Path],
                          title: str = "Work-precision") -> None:
    """Per problem (one row), error vs wall time and error vs NFE, log-log, one line with
    markers per (backend, method); a shared legend below. Writes every ``paths``."""
    require_columns(frame)
    if frame.empty:
        raise ValueError("work-precision frame has no rows to draw")
    problems = list(dict.fromkeys(frame["problem"].astype(str)))
    methods = list(dict.fromkeys(frame["method"].astype(str)))
    series = _series(frame)
    fig, axes = plt.subplots(len(problems), len(WORK_PANELS), squeeze=False,
                             figsize=(4.6 * len(WORK_PANELS) + 1.0, 3.6 * len(problems) + 0.6),
                             layout="constrained")
    for row, problem in zip(axes, problems, strict=True):
        rows = frame[frame["problem"].astype(str) == problem]
        for ax, (column, label) in zip(row, WORK_PANELS, strict=True):
            _panel(ax, rows, column, label, series, methods)
            ax.set_title(f"{problem}: {label}", fontsize="medium")
    legend: dict[str, plt.Artist] = {}
    for ax in axes.ravel():  # every series once, even one that only some problems have
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), loc="outside lower center", fontsize="small",
               ncol=min(len(legend), 4))
    set_titles(fig, title)
    save_figure(fig, paths)
