"""Figures and summary tables for the optimisation-as-ODE frames of
:mod:`odebench.structure.optim_flows` (matplotlib, Agg backend)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from odebench.report.figures import (  # noqa: E402
    MAX_WIDTH_IN,
    mark_every,
    note_panel,
    overlap_note,
    save_figure,
    series_style,
    set_titles,
)
from odebench.report.formatting import value  # noqa: E402
from odebench.structure.optim_flows import OBJECTIVES_2D  # noqa: E402

#: Losses are clipped to this floor on the log axis (HB and Adam reach ~1e-90 on the camelback).
LOSS_FLOOR = 1e-32
#: "Reached the minimum" threshold for :func:`optim_summary`: loss = F - F* <= this.
REACH_TOL = 1e-6


def _axis(frame: pd.DataFrame) -> str:
    """Time for the ODE figure (the frame has a non-null ``t``), iteration otherwise."""
    return "t" if "t" in frame and frame["t"].notna().all() else "step"


def _contour_box(points: np.ndarray, minimiser: tuple[float, float]) -> tuple[np.ndarray, ...]:
    pts = np.vstack([points, np.asarray(minimiser)[None]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = 0.15 * np.maximum(hi - lo, 0.5)
    return lo - pad, hi + pad


def plot_optim_figure(frame: pd.DataFrame, path: str | os.PathLike,
                      title: str | None = None) -> Path:
    """One column per problem: loss (log scale) vs iteration / time per method on top, and for
    the 2-D problems the trajectories on grey contours of the objective below (star: the
    minimiser). ``title``: line 1 the experiment, the rest its scope (the figures' names are
    added to line 1); the figures' names alone without it. Written atomically in the format
    of ``path``'s suffix (:func:`~odebench.report.figures.save_figure`)."""
    if frame.empty:
        raise ValueError("empty frame: nothing to plot")
    path = Path(path)
    problems = list(dict.fromkeys(frame["problem"]))
    has_2d = any(p in OBJECTIVES_2D for p in problems)
    nrows = 2 if has_2d else 1
    fig, axes = plt.subplots(nrows, len(problems), squeeze=False, layout="constrained",
                             figsize=(min(4.6 * len(problems), MAX_WIDTH_IN), 4.0 * nrows))
    figures = ", ".join(dict.fromkeys(frame["figure"]))
    head, newline, scope = (title or "").partition("\n")
    title = f"{head}: {figures}{newline}{scope}" if head else figures
    for col, problem in enumerate(problems):
        sub = frame[frame["problem"] == problem]
        xcol = _axis(sub)
        ax = axes[0, col]
        drawn = []
        for index, (method, g) in enumerate(sub.groupby("method", sort=False)):
            loss = np.maximum(g["loss"].to_numpy(float), LOSS_FLOOR)
            ax.plot(g[xcol], loss, label=method, markersize=5,
                    markevery=mark_every(len(g), index), **series_style(index))
            drawn.append((method, g[xcol].to_numpy(float), loss))
        ax.set_yscale("log")
        ax.set_xlabel("time t" if xcol == "t" else "iteration")
        ax.set_ylabel("F - F*")
        ax.set_title(problem)
        note_panel(ax, overlap_note(drawn))
        ax.legend(fontsize=8)
        if nrows == 1:
            continue
        ax = axes[1, col]
        if problem not in OBJECTIVES_2D:
            ax.axis("off")
            ax.text(0.5, 0.5, f"{problem}: not 2-D\n(x, y = first two coordinates)",
                    ha="center", va="center", transform=ax.transAxes, fontsize=9)
            continue
        func, _, minimiser, fmin = OBJECTIVES_2D[problem]
        lo, hi = _contour_box(sub[["x", "y"]].to_numpy(float), minimiser)
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
        values = np.log10(func(gx, gy) - fmin + 1e-6)
        ax.contour(gx, gy, values, levels=25, colors="0.6", linewidths=0.5)
        for index, (method, g) in enumerate(sub.groupby("method", sort=False)):
            ax.plot(g["x"], g["y"], lw=1.2, label=method, markersize=5,
                    markevery=mark_every(len(g), index), **series_style(index))
        ax.plot(*minimiser, marker="*", ms=14, color="k", ls="none", label="minimiser")
        ax.plot(sub["x"].iloc[0], sub["y"].iloc[0], marker="o", color="k", ls="none")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend(fontsize=8)
    set_titles(fig, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, [path])
    return path


def optim_summary(frame: pd.DataFrame, tol: float = REACH_TOL) -> pd.DataFrame:
    """One row per (figure, problem, method): the final loss, the final (x, y), and the first
    iteration (``axis = "step"``) or time (``axis = "t"``) at which ``F - F* <= tol``, or
    ``"not reached"``."""
    rows = []
    for (figure, problem, method), g in frame.groupby(["figure", "problem", "method"],
                                                       sort=False):
        xcol = _axis(g)
        hit = g.index[g["loss"].to_numpy(float) <= tol]
        reached = g.loc[hit[0], xcol] if len(hit) else "not reached"
        if len(hit) and xcol == "step":
            reached = int(reached)
        last = g.iloc[-1]
        rows.append({
            "figure": figure, "problem": problem, "method": method, "axis": xcol,
            "final": last[xcol], "final_loss": float(last["loss"]),
            "final_x": float(last["x"]), "final_y": float(last["y"]),
            f"reached_{tol:g}": reached,
        })
    return pd.DataFrame(rows)


def optim_markdown(summary: pd.DataFrame, experiment: str) -> str:
    """The summary per figure: final loss F − F*, final point, first step / time at 1e-6."""
    lines = [f"# {experiment}: optimisation as ODEs", "",
             "F − F* at the end of each run (HBNODE Fig. 2: time; the others: iterations) and "
             f"when it first reached {REACH_TOL:g}.", ""]
    if summary.empty:
        return "\n".join([*lines, "No runs.", ""])
    reached = f"reached_{REACH_TOL:g}"
    for figure, part in summary.groupby("figure", sort=False):
        lines += [f"## {figure}", "", f"| problem | method | final {part['axis'].iloc[0]} | "
                  f"final F − F* | final (x, y) | reached {REACH_TOL:g} |",
                  "|---|---|---|---|---|---|"]
        for _, r in part.iterrows():
            lines.append(f"| {r['problem']} | {r['method']} | {value(r['final'])} | "
                         f"{value(r['final_loss'], 3)} | ({value(r['final_x'], 3)}, "
                         f"{value(r['final_y'], 3)}) | {r[reached]} |")
        lines.append("")
    return "\n".join(lines)
