"""Curves vs epoch/iteration with mean ± std bands, one line per model; adjoint-norm profiles.

The mean and band of a model are over its completed runs only (``outcome`` column, see
:mod:`odebench.report.outcomes`; every run counts as completed without one). A run that
diverged or stopped at the NFE cap is drawn alone, thin and dashed in its model's colour,
ending at its last finite value with × (diverged) or □ (NFE cap) there: no line is ever drawn
on from an overflow, NaN or infinity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.font_manager  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.textpath  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from odebench.records.atomic import atomic_open  # noqa: E402
from odebench.report.outcomes import COMPLETED, DIVERGED, NFE_CAP  # noqa: E402

# Global L2 norm of the parameter gradients before clipping, epoch mean over iterations.
GRAD_NORM_PANEL = ("grad_norm_mean", "‖∇θ‖₂ (mean over iterations)")
PANELS: tuple[tuple[str, str], ...] = (
    ("nfe_forward", "forward NFE / iteration"),
    ("nfe_backward", "backward NFE / iteration"),
    ("loss", "training loss"),
    GRAD_NORM_PANEL,
)
# HBNODE Figs. 1 and 6, NesterovNODE Figs. 5 and 6: NFE, time and accuracy per epoch.
IMAGE_PANELS: tuple[tuple[str, str], ...] = (
    ("nfe_forward", "forward NFE / iteration"),
    ("nfe_backward", "backward NFE / iteration"),
    ("seconds", "training time / epoch (s)"),
    ("loss", "training loss"),
    ("test_accuracy", "test accuracy"),
    GRAD_NORM_PANEL,
)
# HBNODE Figs. 8 and 9, NesterovNODE Fig. 7: NFE per batch (summed over a window's solves),
# losses and MSEs per epoch; test MSE only on the epochs that evaluated it.
SEQUENCE_PANELS: tuple[tuple[str, str], ...] = (
    ("nfe_forward", "forward NFE / batch"),
    ("nfe_backward", "backward NFE / batch"),
    ("nfe_test", "test NFE / batch"),
    ("loss", "training loss"),
    ("valid_mse", "validation MSE"),
    ("test_mse", "test MSE"),
    GRAD_NORM_PANEL,
)
# Panels drawn on a log y-scale when their values span more than LOG_SPAN (two decades).
LOG_WHEN_WIDE = frozenset({"grad_norm_mean"})
# Panels on which a recorded chance level is drawn.
ACCURACY_COLUMNS = frozenset({"test_accuracy", "accuracy"})
LOG_SPAN = 100.0
ADJOINT_PREFIX = "adjoint_norm_"


# The end of a stopped run's curve.
STOPPED_MARKERS = {DIVERGED: "x", NFE_CAP: "s"}


# --- shared look: palette, series styles, sizes, titles --------------------------------------

# Okabe & Ito's colour-blind-safe set without its black (kept for reference lines: chance,
# exact solutions, bounds, diagonals) and its yellow (too pale on white); relative luminance
# 0.17-0.45, so no series is near-white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
LINESTYLES = ("-", "--", "-.", ":")
REFERENCE_COLOUR = "black"
# Saved resolution and the widest raster figure (16 in at DPI); the smallest font anywhere.
DPI = 150
MAX_WIDTH_PX = 2400
MAX_WIDTH_IN = MAX_WIDTH_PX / DPI
MIN_FONT_PT = 8.0
TITLE_PT = 12.0
SUBTITLE_PT = 9.0
# Markers per curve at most (markevery beyond): enough to tell curves apart, few enough to
# keep the curve readable.
MARKS_PER_CURVE = 8


def series_style(index: int) -> dict[str, str]:
    """Colour, marker and line style of the ``index``-th series: (colour, marker) pairs are
    distinct for the first 30 series, line styles change every len(PALETTE) series."""
    return {"color": PALETTE[index % len(PALETTE)], "marker": MARKERS[index % len(MARKERS)],
            "linestyle": LINESTYLES[(index // len(PALETTE)) % len(LINESTYLES)]}


def mark_every(points: int, index: int) -> tuple[int, int] | None:
    """``markevery`` for a curve of ``points`` points: all of them up to
    :data:`MARKS_PER_CURVE`, else every k-th, staggered by series ``index`` so that the markers
    of coinciding curves do not hide each other."""
    if points <= MARKS_PER_CURVE:
        return None
    step = math.ceil(points / MARKS_PER_CURVE)
    return index % step, step


def relative_luminance(colour: str | Sequence[float]) -> float:
    """WCAG relative luminance of a matplotlib colour (0 black, 1 white)."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
              for c in matplotlib.colors.to_rgb(colour)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def overlapping(curves: Sequence[tuple[str, Sequence[float], Sequence[float]]],
                rtol: float = 1e-9) -> list[list[str]]:
    """Groups (two or more labels) of ``(label, x, y)`` curves that coincide point by point
    (relative tolerance only: tiny values such as 1e-15 and 1e-13 differ)."""
    groups: list[tuple[np.ndarray, np.ndarray, list[str]]] = []
    for label, x, y in curves:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        for gx, gy, labels in groups:
            if gx.shape == x.shape and np.allclose(gx, x, rtol=rtol, atol=0.0, equal_nan=True) \
                    and np.allclose(gy, y, rtol=rtol, atol=0.0, equal_nan=True):
                labels.append(label)
                break
        else:
            groups.append((x, y, [label]))
    return [labels for _, _, labels in groups if len(labels) > 1]


def overlap_note(curves: Sequence[tuple[str, Sequence[float], Sequence[float]]]) -> str:
    """``overlapping: a, b; c, d`` for the coinciding curves, ``""`` when none coincide."""
    groups = overlapping(curves)
    return "overlapping: " + "; ".join(", ".join(g) for g in groups) if groups else ""


def _text_width_pt(text: str, size: float) -> float:
    width, _, _ = matplotlib.textpath.TextToPath().get_text_width_height_descent(
        text, matplotlib.font_manager.FontProperties(size=size), ismath=False)
    return float(width)


def wrap_to_width(text: str, size: float, width_pt: float) -> list[str]:
    """``text`` in lines no wider than ``width_pt`` at font ``size``: broken at " · " where
    possible, else between words."""
    lines: list[str] = []
    for part in text.split(" · "):
        joined = f"{lines[-1]} · {part}" if lines else part
        if lines and _text_width_pt(joined, size) <= width_pt:
            lines[-1] = joined
            continue
        current = ""
        for word in part.split(" "):
            candidate = f"{current} {word}" if current else word
            if current and _text_width_pt(candidate, size) > width_pt:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
    return lines


def set_titles(fig: plt.Figure, title: str) -> None:
    """Line 1 of ``title`` as the suptitle, the other lines (the scope line, notes) as a smaller
    subtitle under it, both wrapped to the figure width; the figure grows by their height, which
    the layout engine (constrained unless one is set) leaves free above the axes."""
    head, _, rest = title.partition("\n")
    width_pt = fig.get_figwidth() * 72 * 0.96
    head_lines = wrap_to_width(head, TITLE_PT, width_pt)
    sub_lines = [line for part in rest.splitlines() if part.strip()
                 for line in wrap_to_width(part.strip(), SUBTITLE_PT, width_pt)]
    pad, gap = 6.0, 3.0 if sub_lines else 0.0
    head_pt = len(head_lines) * TITLE_PT * 1.25
    band_pt = pad + head_pt + gap + len(sub_lines) * SUBTITLE_PT * 1.25 + pad
    height_pt = fig.get_figheight() * 72 + band_pt
    fig.set_figheight(height_pt / 72)
    suptitle = fig.suptitle("\n".join(head_lines), y=1 - pad / height_pt, va="top",
                            fontsize=TITLE_PT)
    suptitle.set_in_layout(False)
    if sub_lines:
        fig.text(0.5, 1 - (pad + head_pt + gap) / height_pt, "\n".join(sub_lines), ha="center",
                 va="top", fontsize=SUBTITLE_PT, color="0.2", gid="subtitle", in_layout=False)
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")
    fig.get_layout_engine().set(rect=(0, 0, 1, 1 - band_pt / height_pt))


def subtitle(fig: plt.Figure) -> str:
    """The subtitle :func:`set_titles` drew (``""`` if none)."""
    return next((t.get_text() for t in fig.texts if t.get_gid() == "subtitle"), "")


def readable_fonts(fig: plt.Figure) -> None:
    """Every text of ``fig`` at :data:`MIN_FONT_PT` or more (tick labels included: ticks added
    when drawing copy the first tick's font)."""
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_fontsize() < MIN_FONT_PT:
            text.set_fontsize(MIN_FONT_PT)


class NoAdjointProfileError(ValueError):
    """The epochs hold no ``adjoint_norm_<k>`` column, so there is no adjoint figure."""


def _line_label(model: str, setting: str) -> str:
    return f"{model} ({setting})" if setting else model


def _series(epochs: pd.DataFrame, model_order: Sequence[str] | None) -> list[tuple[str, str]]:
    setting = epochs["setting"] if "setting" in epochs else pd.Series("", index=epochs.index)
    pairs = set(zip(epochs["model"], setting.fillna("").astype(str), strict=True))
    order = {m: i for i, m in enumerate(model_order or [])}
    return sorted(pairs, key=lambda p: (order.get(p[0], len(order)), p[0], p[1]))


def _settings(epochs: pd.DataFrame) -> pd.Series:
    return (epochs["setting"].fillna("").astype(str) if "setting" in epochs
            else pd.Series("", index=epochs.index))


def _grid(panels: int) -> tuple[int, int]:
    """(rows, columns): one row up to four panels, else two rows."""
    columns = panels if panels <= 4 else math.ceil(panels / 2)
    return math.ceil(panels / columns), columns


def spans_decades(values: pd.Series | np.ndarray, span: float = LOG_SPAN) -> bool:
    """Whether the positive finite ``values`` span more than ``span`` (max / min)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    return len(values) > 1 and values.max() / values.min() > span


def _colour(index: int) -> str:
    """The ``index``-th series' colour (:func:`series_style`): the same in every panel."""
    return series_style(index)["color"]


def finite_curve(x: Sequence[float] | pd.Series | np.ndarray,
                 y: Sequence[float] | pd.Series | np.ndarray,
                 positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One run's points, in order, up to its last finite value: NaN points (epochs that did
    not measure the column) dropped, everything from the first ±inf on cut (an overflow ends
    the curve); with ``positive`` (log axes) non-positive points dropped too."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    infinite = np.isinf(y)
    if infinite.any():
        cut = int(np.argmax(infinite))
        x, y = x[:cut], y[:cut]
    keep = ~np.isnan(y) & ~np.isnan(x)
    if positive:
        keep &= y > 0
    return x[keep], y[keep]


def split_runs(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, pd.DataFrame]]]:
    """(rows of the completed runs, [(outcome, rows of one stopped run), ...]) by the
    ``outcome`` column (all completed without one), runs told apart by ``seed``."""
    if "outcome" not in rows:
        return rows, []
    done = rows["outcome"] == COMPLETED
    stopped = [(str(part["outcome"].iloc[0]), part)
               for _, part in rows[~done].groupby("seed", sort=True)]
    return rows[done], stopped


def completed_stats(rows: pd.DataFrame, x: str, column: str,
                    positive: bool = False) -> pd.DataFrame:
    """Mean and std (0 for one run) of ``column`` over the runs (``seed``) of ``rows`` per
    ``x``, each run cut at its last finite value first (:func:`finite_curve`)."""
    parts = []
    runs = rows.sort_values(x).groupby("seed", sort=False) if "seed" in rows else [(0, rows)]
    for seed, run in runs:
        xs, ys = finite_curve(run[x], run[column], positive)
        parts.append(pd.DataFrame({x: xs, column: ys, "seed": seed}))
    if not parts:
        return pd.DataFrame(columns=["mean", "std"])
    stats = pd.concat(parts).groupby(x)[column].agg(["mean", "std"])
    stats["std"] = stats["std"].fillna(0.0)
    return stats[np.isfinite(stats["mean"])]  # a mean can still overflow


def draw_stopped(ax: plt.Axes, x: np.ndarray, y: np.ndarray, colour: str | tuple[float, ...],
                 outcome: str, label: str | None = None, top: float | None = None) -> None:
    """A stopped run: a thin dashed line to its last finite point, marked there (× diverged,
    □ NFE cap); with ``top``, a marker above it sits on the top edge, unclipped."""
    if not len(x):
        return
    ax.plot(x, y, color=colour, linewidth=0.9, linestyle="--", alpha=0.8, label=label)
    marker = STOPPED_MARKERS.get(outcome)
    if marker:
        end = min(y[-1], top) if top is not None else y[-1]
        ax.plot(x[-1:], [end], linestyle="none", marker=marker, color=colour, markersize=7,
                markerfacecolor="none", markeredgewidth=1.5, clip_on=top is None)


def _curve_panel(ax: plt.Axes, epochs: pd.DataFrame, column: str,
                 series: Sequence[tuple[str, str]], setting: pd.Series) -> str:
    """Mean line and ± std band over the completed seeds per (model, setting), NaN epochs left
    out; each stopped run alone (:func:`draw_stopped`). Returns the panel's
    :func:`overlap_note`."""
    means, drawn = [], []
    for index, (model, value) in enumerate(series):
        rows = epochs[(epochs["model"] == model) & (setting == value)]
        completed, stopped = split_runs(rows)
        style, label = series_style(index), _line_label(model, value)
        colour = style["color"]
        stats = completed_stats(completed, "epoch", column)
        if not stats.empty:
            std = stats["std"]
            ax.plot(stats.index, stats["mean"], label=label, markersize=5,
                    markevery=mark_every(len(stats), index), **style)
            ax.fill_between(stats.index, stats["mean"] - std, stats["mean"] + std,
                            color=colour, alpha=0.2, linewidth=0)
            means.append(stats["mean"].to_numpy())
            drawn.append((label, stats.index.to_numpy(), stats["mean"].to_numpy()))
        labelled = set()
        for outcome, run in stopped:
            xs, ys = finite_curve(run.sort_values("epoch")["epoch"],
                                  run.sort_values("epoch")[column])
            first = outcome not in labelled and len(xs) > 0
            draw_stopped(ax, xs, ys, colour, outcome, f"{label}: {outcome}" if first else None)
            labelled |= {outcome} if first else set()
            means.append(ys)
    if column in LOG_WHEN_WIDE and means and spans_decades(np.concatenate(means)):
        ax.set_yscale("log")
    return overlap_note(drawn)


def draw_chance(ax: plt.Axes, chance: float | None) -> None:
    """The chance level (the test set's majority class) as a labelled dotted black line."""
    if chance is not None and math.isfinite(chance):
        ax.axhline(chance, color=REFERENCE_COLOUR, linestyle=":", linewidth=1.2,
                   label=f"chance (majority class) {chance:.3g}")


def note_panel(ax: plt.Axes, note: str) -> None:
    """``note`` (e.g. which curves coincide) over the panel, wrapped to its width: under the
    panel's title (at the title's size) where it has one, else as a small left title."""
    if not note:
        return
    width = ax.get_figure().get_figwidth() * 72 * ax.get_position().width
    title = ax.get_title()
    if title:
        size = ax.title.get_fontsize()
        ax.set_title("\n".join([title, *wrap_to_width(note, size, width)]), fontsize=size)
    else:
        ax.set_title("\n".join(wrap_to_width(note, MIN_FONT_PT, width)), loc="left",
                     fontsize=MIN_FONT_PT)


def curves_figure(epochs: pd.DataFrame, paths: Sequence[Path], title: str,
                  model_order: Sequence[str] | None = None,
                  panels: Sequence[tuple[str, str]] = PANELS,
                  chance: float | None = None) -> None:
    """One panel per metric, a mean line and ± std band over seeds per model (x setting).

    Panels whose column is absent or all NaN are left out; more than four wrap onto two rows.
    The x axis reads "iteration" when every epoch is one full-batch iteration. ``chance``
    (the test set's majority class) is drawn on the accuracy panel; curves that coincide are
    named over their panel.
    """
    full_batch = "iterations" in epochs and bool((epochs["iterations"] == 1).all())
    x_label = "iteration (full batch)" if full_batch else "epoch"
    present = [(col, label) for col, label in panels
               if col in epochs and epochs[col].notna().any()]
    setting = _settings(epochs)
    series = _series(epochs, model_order)
    rows, columns = _grid(max(1, len(present)))
    fig, axes = plt.subplots(rows, columns, figsize=(3.8 * columns, 3.2 * rows), squeeze=False,
                             layout="constrained")
    flat = axes.ravel()
    for ax, (column, label) in zip(flat, present, strict=False):
        note = _curve_panel(ax, epochs, column, series, setting)
        if column in ACCURACY_COLUMNS:
            draw_chance(ax, chance)
        note_panel(ax, note)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlabel(x_label)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for ax in flat[max(1, len(present)):]:
        ax.set_visible(False)
    flat[0].legend(fontsize="small")
    accuracy = [ax for ax, (col, _) in zip(flat, present, strict=False)
                if col in ACCURACY_COLUMNS and ax is not flat[0]]
    for ax in accuracy:  # the chance line's own legend
        if chance is not None:
            ax.legend(handles=ax.get_lines()[-1:], fontsize="small")
    set_titles(fig, title)
    save_figure(fig, paths)


def adjoint_columns(epochs: pd.DataFrame) -> list[str]:
    """The ``adjoint_norm_<k>`` columns holding data, by k = T - t (0: the last step)."""
    columns = [c for c in epochs.columns if isinstance(c, str) and c.startswith(ADJOINT_PREFIX)
               and c.removeprefix(ADJOINT_PREFIX).isdigit() and epochs[c].notna().any()]
    return sorted(columns, key=lambda c: int(c.removeprefix(ADJOINT_PREFIX)))


class AdjointProfile(NamedTuple):
    """One model's adjoint norms: ``grid`` (epoch x T - t, mean over the completed seeds) and
    the ``first``/``last`` epoch's profile over T - t (each seed's own, then the mean);
    ``left_out``: the stopped runs not averaged in."""

    grid: pd.DataFrame
    first: pd.Series
    last: pd.Series
    left_out: int = 0


def adjoint_profiles(epochs: pd.DataFrame, model_order: Sequence[str] | None = None
                     ) -> dict[str, AdjointProfile]:
    """:class:`AdjointProfile` per model (x setting) label, in model order."""
    columns = adjoint_columns(epochs)
    if not columns:
        raise NoAdjointProfileError(
            "no adjoint_norm_<k> columns in the epochs: only runs that record the adjoint-norm "
            "profile (sequence tasks with adjoint_profile: true) have an adjoint figure")
    steps = [int(c.removeprefix(ADJOINT_PREFIX)) for c in columns]
    setting = _settings(epochs)
    profiles = {}
    for model, value in _series(epochs, model_order):
        rows, stopped = split_runs(epochs[(epochs["model"] == model) & (setting == value)])
        rows = rows.dropna(subset=columns, how="all").sort_values("epoch")
        if rows.empty:
            continue
        grid = rows.groupby("epoch")[columns].mean().set_axis(steps, axis=1)
        grid = grid.reindex(index=range(int(grid.index.min()), int(grid.index.max()) + 1),
                            columns=range(min(steps), max(steps) + 1))
        per_seed = rows.groupby("seed")[columns]
        profiles[_line_label(model, value)] = AdjointProfile(
            grid, per_seed.first().mean().set_axis(steps), per_seed.last().mean().set_axis(steps),
            len(stopped))
    return profiles


def _positive(values: pd.Series | pd.DataFrame) -> np.ndarray:
    """Values as floats with non-positive entries masked (NaN), for log scales."""
    array = np.asarray(values, dtype=float)
    return np.where(array > 0, array, np.nan)


def _heat_norm(grids: Sequence[pd.DataFrame]) -> matplotlib.colors.Normalize:
    """One log colour scale over every model's heat map (linear when nothing is positive)."""
    values = np.concatenate([_positive(g).ravel() for g in grids])
    values = values[np.isfinite(values)]
    if not len(values):
        return matplotlib.colors.Normalize(vmin=0.0, vmax=1.0)
    low, high = values.min(), values.max()
    return matplotlib.colors.LogNorm(vmin=low, vmax=high if high > low else low * 10)


def adjoint_figure(epochs: pd.DataFrame, paths: Sequence[Path], title: str,
                   model_order: Sequence[str] | None = None) -> None:
    """The adjoint-norm profile ‖∂L_last/∂z_t‖ vs T - t (HBNODE Fig. 4, NesterovNODE Fig. 2
    right): (a) one line per model for the last epoch (dashed: the first), mean over seeds,
    log y; (b) an epoch x (T - t) heat map per model, one shared log colour scale.

    Raises :class:`NoAdjointProfileError` when the epochs have no ``adjoint_norm_*`` column.
    """
    profiles = adjoint_profiles(epochs, model_order)
    columns = min(len(profiles), 4)
    heat_rows = math.ceil(len(profiles) / columns)
    fig = plt.figure(figsize=(3.3 * columns + 1.2, 3.6 + 2.8 * heat_rows), layout="constrained")
    grid = fig.add_gridspec(1 + heat_rows, columns, height_ratios=[1.3] + [1.0] * heat_rows)
    curves = fig.add_subplot(grid[0, :])
    drawn = []
    for index, (label, profile) in enumerate(profiles.items()):
        note = f" ({profile.left_out} stopped, not averaged)" if profile.left_out else ""
        style = {**series_style(index), "linestyle": "-", "markersize": 5,
                 "markevery": mark_every(len(profile.last), index)}
        curves.plot(profile.last.index, _positive(profile.last), label=label + note, **style)
        drawn.append((label, profile.last.index.to_numpy(), profile.last.to_numpy()))
        if len(profile.grid.dropna(how="all")) > 1:
            curves.plot(profile.first.index, _positive(profile.first),
                        **{**style, "linestyle": "--", "fillstyle": "none"}, alpha=0.6)
    curves.set_yscale("log")
    curves.set_xlabel("T − t")
    curves.set_ylabel("‖∂L_last / ∂z_t‖ (mean over seeds)")
    curves.set_title("(a) last epoch (solid), first epoch (dashed)", fontsize="medium")
    curves.grid(alpha=0.3, which="both")
    overlaps = overlap_note(drawn)
    curves.legend(fontsize="small", ncol=min(len(profiles), 4), title_fontsize="small",
                  title=("\n".join(wrap_to_width(overlaps + " (last epoch)", 9.0,
                                                 fig.get_figwidth() * 60))
                         if overlaps else None))
    norm = _heat_norm([p.grid for p in profiles.values()])
    heat_axes = []
    for index, (label, profile) in enumerate(profiles.items()):
        ax = fig.add_subplot(grid[1 + index // columns, index % columns])
        heat = profile.grid
        image = ax.imshow(_positive(heat), aspect="auto", origin="lower", cmap="viridis",
                          norm=norm, interpolation="nearest",
                          extent=(heat.columns.min() - 0.5, heat.columns.max() + 0.5,
                                  heat.index.min() - 0.5, heat.index.max() + 0.5))
        ax.set_title(f"(b) {label}", fontsize="medium")
        ax.set_xlabel("T − t")
        ax.set_ylabel("epoch")
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        heat_axes.append(ax)
    fig.colorbar(image, ax=heat_axes, label="‖∂L_last / ∂z_t‖")
    set_titles(fig, title)
    save_figure(fig, paths)


def norm_figure(epochs: pd.DataFrame, paths: Sequence[Path], title: str,
                model_order: Sequence[str] | None = None) -> None:
    """||h(t)||_2 at initialisation on a log scale, mean over the completed inits (HBNODE
    Fig. 3, NesterovNODE Fig. 2 left), with the exact |V2(t)| as reference; an init that blew
    up is its own line, ending at its last finite norm with × (:func:`draw_stopped`)."""
    fig, ax = plt.subplots(figsize=(6.4, 4), layout="constrained")
    exact = epochs.groupby("t")["exact_norm"].first()
    exact = exact[exact > 0]
    finite = epochs["h_norm"][np.isfinite(epochs["h_norm"]) & (epochs["h_norm"] > 0)]
    values = np.concatenate([finite.to_numpy(), exact.to_numpy()])
    top = min(values.max() * 2, 1e30) if len(values) else None  # blow-ups leave the top
    ax.set_yscale("log")
    if top is not None:  # before plotting: no autoscaling over a 1e300 blow-up
        ax.set_ylim(values.min() / 2, top)
    models = list(dict.fromkeys(m for m, _ in _series(epochs, model_order)))
    drawn = []
    for index, model in enumerate(models):
        completed, stopped = split_runs(epochs[epochs["model"] == model])
        stats = completed_stats(completed, "t", "h_norm", positive=True)
        if not stats.empty:
            ax.plot(stats.index, stats["mean"], label=model, markersize=5,
                    markevery=mark_every(len(stats), index), **series_style(index))
            drawn.append((model, stats.index.to_numpy(), stats["mean"].to_numpy()))
        labelled = set()
        for outcome, run in stopped:
            run = run.sort_values("t")
            xs, ys = finite_curve(run["t"], run["h_norm"], positive=True)
            first = outcome not in labelled and len(xs) > 0
            draw_stopped(ax, xs, ys, _colour(index), outcome,
                         f"{model}: {outcome}" if first else None, top=top)
            labelled |= {outcome} if first else set()
    ax.plot(exact.index, exact.values, color=REFERENCE_COLOUR, linestyle="--",
            label="exact |V2|")
    ax.set_xlabel("t")
    ax.set_ylabel("‖h(t)‖₂ (mean over completed initialisations)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    note_panel(ax, overlap_note(drawn))
    set_titles(fig, title)
    save_figure(fig, paths)


def tolerance_scatter(epochs: pd.DataFrame, paths: Sequence[Path], title: str,
                      model_order: Sequence[str] | None = None) -> None:
    """Forward vs backward NFE, one point per epoch, one colour and marker per tolerance
    (loosest first), one panel per model (four per row), dashed y = x (HBNODE Fig. 7)."""
    data = epochs.assign(tol=epochs["setting"].astype(str).str.partition("=")[2].astype(float))
    models = [m for m, _ in _series(data, model_order)]
    models = list(dict.fromkeys(models))
    tolerances = sorted(data["tol"].dropna().unique(), reverse=True)
    columns = min(len(models), 4)
    rows = math.ceil(len(models) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.2 * rows + 0.4),
                             squeeze=False, layout="constrained")
    for ax, model in zip(axes.ravel(), models, strict=False):
        part = data[data["model"] == model]
        for index, tol in enumerate(tolerances):
            points = part[part["tol"] == tol]
            style = series_style(index)
            ax.scatter(points["nfe_forward"], points["nfe_backward"], s=22,
                       color=style["color"], marker=style["marker"], label=f"tol {tol:g}")
        top = max(part["nfe_forward"].max(), part["nfe_backward"].max()) * 1.05
        ax.plot([0, top], [0, top], color=REFERENCE_COLOUR, linestyle="--", linewidth=0.8,
                label="backward = forward NFE")
        ax.set_title(model)
        ax.set_xlabel("forward NFE")
        ax.set_ylabel("backward NFE")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(models):]:
        ax.set_visible(False)
    handles: dict[str, plt.Artist] = {}
    for ax in axes.ravel()[:len(models)]:  # every tolerance once, even one a model lacks
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", fontsize="small",
               ncol=min(len(handles), 4))
    set_titles(fig, title)
    save_figure(fig, paths)


def save_figure(fig: plt.Figure, paths: Sequence[Path], **options) -> None:
    """Each of ``paths`` written atomically (format from its suffix, :data:`DPI` unless
    ``options`` say otherwise, lowered so that no image is wider than :data:`MAX_WIDTH_PX`),
    every text at :data:`MIN_FONT_PT` or more, then ``fig`` closed."""
    readable_fonts(fig)
    dpi = options.pop("dpi", DPI)
    if isinstance(dpi, (int, float)):
        dpi = min(dpi, math.floor(MAX_WIDTH_PX / fig.get_figwidth()))
    try:
        for path in paths:
            suffix = Path(path).suffix.lstrip(".")
            # no creation date in a PDF: a rebuild from the same records gives the same bytes
            metadata = {"CreationDate": None} if suffix == "pdf" else None
            with atomic_open(path, "wb") as handle:
                fig.savefig(handle, format=suffix, dpi=dpi, metadata=metadata, **options)
    finally:
        plt.close(fig)
