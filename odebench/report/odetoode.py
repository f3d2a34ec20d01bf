"""Tables and figures of the ODEtoODE experiments: MNIST-C Tables 1-2 in the paper's layout,
and the gradient-ratio theory check (Lemma 4.1 at finite N) with the W-flow integrators."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from odebench.report.formatting import fixed, value
from odebench.report.outcomes import COMPLETED, MISSING_SUMMARY, outcome_text
from odebench.report.reference_mnistc import PAPER_CAPTIONS, PAPER_TABLES, ROW_LABELS, ROWS

ODETOODE_PREFIX = "odetoode"


def model_label(name: str) -> str:
    """``dense-1`` -> ``Dense-1``, ``odetoode-10`` -> ``ODEtoODE-10``, ``node`` -> ``NODE``."""
    base, _, suffix = name.partition("-")
    labels = {"dense": "Dense", "node": "NODE", "nanode": "NANODE", "hypernet": "HyperNet",
              "odetoode": "ODEtoODE", "odetoode_iso": "ODEtoODE (ISO)"}
    label = labels.get(base, base)
    return f"{label}-{suffix}" if suffix else label


# --- MNIST-C ---------------------------------------------------------------------------------

def mnistc_table(runs: pd.DataFrame, setup: str,
                 model_order: Sequence[str] | None = None) -> pd.DataFrame:
    """Tidy: one row per (corruption, model) with our mean/std test accuracy (%) over the
    completed seeds (std NaN for one) and the paper's number for the same cell; ``excluded``
    names the model's seeds left out of the mean (``1 diverged``), "" when none."""
    paper = PAPER_TABLES.get(setup, {})
    models = list(model_order or [])
    models += sorted(set(runs["model"]) - set(models)) if not runs.empty else []
    models = [m for m in models if not runs.empty and m in set(runs["model"])]
    # ``runs`` are the summaries themselves (a frame without a status column, built by hand,
    # counts as completed)
    status = runs["status"] if "status" in runs else pd.Series(COMPLETED, index=runs.index)
    runs = runs.assign(outcome=status.fillna(MISSING_SUMMARY).astype(str))
    rows = []
    for corruption in ROWS:
        column = f"final_test_accuracy_{corruption}"
        for model in models:
            mine = runs[runs["model"] == model]
            done = mine[mine["outcome"] == COMPLETED]
            stopped = mine[mine["outcome"] != COMPLETED]["outcome"].value_counts()
            values = (done[column].dropna() * 100 if column in runs
                      else pd.Series(dtype=float))
            rows.append({
                "corruption": corruption, "model": model, "runs": int(values.count()),
                "accuracy_mean": float(values.mean()) if len(values) else math.nan,
                "accuracy_std": float(values.std(ddof=1)) if len(values) > 1 else math.nan,
                "paper_accuracy": paper.get(corruption, {}).get(model, math.nan),
                "excluded": outcome_text(stopped) if len(stopped) else ""})
    return pd.DataFrame(rows, columns=["corruption", "model", "runs", "accuracy_mean",
                                       "accuracy_std", "paper_accuracy", "excluded"])


def row_winners(table: pd.DataFrame, column: str) -> dict[str, list[str]]:
    """Per corruption, the model(s) with the highest ``column`` (ties all win)."""
    winners = {}
    for corruption, group in table.groupby("corruption", sort=False):
        values = group[column]
        if values.notna().any():
            best = values.max()
            winners[corruption] = list(group.loc[np.isclose(values, best), "model"])
    return winners


def odetoode_wins(winners: dict[str, list[str]]) -> int:
    """Rows whose best cell is an ODEtoODE model (the paper's wins count)."""
    return sum(any(m.startswith(ODETOODE_PREFIX) for m in models)
               for models in winners.values())


def _printed_wins(setup: str) -> int | None:
    """ODEtoODE wins over every column of the paper's printed table for ``setup``."""
    paper = PAPER_TABLES.get(setup)
    if not paper:
        return None
    full = pd.DataFrame([{"corruption": r, "model": m, "value": v}
                         for r, cells in paper.items() for m, v in cells.items()])
    return odetoode_wins(row_winners(full, "value"))


def _pct(number: float) -> str:
    """A percentage with the paper's two decimals (``55.00``)."""
    return fixed(number, 2)


def mnistc_markdown(table: pd.DataFrame, experiment: str, setup: str,
                    levels: Sequence[str] = (), paper_matches: bool = True,
                    paper_why: str = "different data") -> str:
    """The paper's layout: corruption rows, model columns, ``ours (paper)`` cells, the best
    of each row in bold on each side, and the ODEtoODE wins count of each table.

    ``paper_matches`` false (stand-in data or other settings): our cells alone, and the
    paper's numbers in a table of their own headed ``paper (<paper_why>)``."""
    models = list(dict.fromkeys(table["model"]))
    ours, paper = row_winners(table, "accuracy_mean"), row_winners(table, "paper_accuracy")
    caption = PAPER_CAPTIONS.get(setup, "the paper")
    beside = f" with {caption} in brackets" if paper_matches else ""
    lines = [f"# {experiment}: MNIST-C test accuracy (%)", "",
             f"Ours (train on clean MNIST, test on each corruption; mean over the seeds that "
             f"completed){beside}; **bold**: best of the row. All accuracies in %. Seeds that "
             "diverged, stopped at the NFE cap or have no summary are never averaged in: they "
             "are listed under the table.", "",
             *[line for level in levels for line in (level, "")]]

    def bold(text: str, model: str, winners: list[str]) -> str:
        return f"**{text}**" if model in winners else text

    def matrix(cell_text, best_columns) -> list[str]:
        header = ["corruption", *[model_label(m) for m in models], *[h for h, _ in best_columns]]
        rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for corruption, group in table.groupby("corruption", sort=False):
            cells = [ROW_LABELS.get(corruption, corruption)]
            cells += [cell_text(corruption, m, group[group["model"] == m].iloc[0])
                      for m in models]
            cells += [", ".join(model_label(m) for m in w.get(corruption, [])) or "–"
                      for _, w in best_columns]
            rows.append("| " + " | ".join(cells) + " |")
        return rows

    def ours_cell(corruption: str, model: str, cell: pd.Series) -> str:
        return bold(_pct(cell["accuracy_mean"]), model, ours.get(corruption, []))

    def paper_cell(corruption: str, model: str, cell: pd.Series) -> str:
        return bold(_pct(cell["paper_accuracy"]), model, paper.get(corruption, []))

    if paper_matches:
        lines += matrix(lambda c, m, cell: f"{ours_cell(c, m, cell)} ({paper_cell(c, m, cell)})",
                        [("best (ours)", ours), ("best (paper)", paper)])
    else:
        lines += matrix(ours_cell, [("best (ours)", ours)])
        lines += ["", f"## paper ({paper_why}): {caption}", "",
                  f"Printed in the paper for its own data and settings; not comparable with "
                  f"the table above ({paper_why}).", ""]
        lines += matrix(paper_cell, [("best (paper)", paper)])
    excluded = table.drop_duplicates("model") if "excluded" in table else table.iloc[:0]
    excluded = [f"{model_label(r['model'])}: {r['excluded']}" for _, r in excluded.iterrows()
                if r["excluded"]]
    if excluded:
        lines += ["", "Not averaged (did not complete): " + "; ".join(excluded) + "."]
    rows = table["corruption"].nunique()
    printed = _printed_wins(setup)
    lines += ["", f"ODEtoODE wins (rows whose best cell is an ODEtoODE model, among the models "
              f"shown): ours {odetoode_wins(ours)}/{rows}, paper {odetoode_wins(paper)}/{rows}"
              + (f"; the paper's full printed table: {printed}/{len(ROWS)}." if printed
                 is not None else "."),
              "", "The paper's text says ODEtoODE wins 11 of 15 tasks in Table 1; its printed "
              "tables have 11 rows and 8 ODEtoODE wins each."]
    return "\n".join(lines) + "\n"


def as_percent(values: pd.Series) -> pd.Series:
    """Accuracies in % (the table's unit): a column with no value above 1 holds fractions."""
    values = pd.to_numeric(values, errors="coerce")
    return values if (values.dropna() > 1).any() else values * 100


def mnistc_figure(table: pd.DataFrame, paths: Sequence[Path], title: str,
                  chance: float | None = None) -> None:
    """Small multiples, one panel per corruption (four per row): our test accuracy (in %, as
    the table; mean ± std over the completed seeds) per model as horizontal bars, the paper's
    as a black bar tick, and ``chance`` (the test set's majority class, a fraction 0-1) as a
    dotted line."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from odebench.report.figures import (
        REFERENCE_COLOUR,
        save_figure,
        series_style,
        set_titles,
    )

    models = list(dict.fromkeys(table["model"]))
    corruptions = list(dict.fromkeys(table["corruption"]))
    columns = min(4, max(1, len(corruptions)))
    rows = max(1, math.ceil(len(corruptions) / columns))
    fig, axes = plt.subplots(rows, columns, sharex=True, sharey=True, squeeze=False,
                             figsize=(3.3 * columns + 0.9, (0.24 * len(models) + 1.0) * rows),
                             layout="constrained")
    y = np.arange(len(models))[::-1]
    colours = [series_style(j)["color"] for j in range(len(models))]
    data = table.assign(ours=as_percent(table["accuracy_mean"]),
                        spread=as_percent(table["accuracy_std"]),
                        paper=as_percent(table["paper_accuracy"]))
    chance = 100 * chance if chance is not None and math.isfinite(chance) else None
    for ax, corruption in zip(axes.ravel(), corruptions, strict=False):
        part = data[data["corruption"] == corruption].set_index("model").reindex(models)
        ax.barh(y, part["ours"], xerr=part["spread"].fillna(0.0), color=colours, height=0.7,
                error_kw={"elinewidth": 0.8})
        ax.scatter(part["paper"], y, marker="|", s=120, color=REFERENCE_COLOUR, zorder=3)
        if chance is not None:
            ax.axvline(chance, color=REFERENCE_COLOUR, linestyle=":", linewidth=1.2)
        ax.set_title(ROW_LABELS.get(corruption, corruption), fontsize="medium")
        ax.set_xlim(0, 100)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(y, [model_label(m) for m in models])
    for ax in axes.ravel()[len(corruptions):]:
        ax.set_visible(False)
    for column in axes.T:  # the lowest panel of each column shows the x axis
        lowest = [ax for ax in column if ax.get_visible()][-1:]
        for ax in lowest:
            ax.set_xlabel("test accuracy (%)")
            ax.xaxis.set_tick_params(labelbottom=True)
    handles = [Patch(color="0.45", label="ours (mean ± std over seeds)"),
               Line2D([], [], color=REFERENCE_COLOUR, marker="|", linestyle="none",
                      markersize=11, label="paper")]
    if chance is not None:
        handles.append(Line2D([], [], color=REFERENCE_COLOUR, linestyle=":",
                              label=f"chance (majority class) {chance:.3g} %"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles),
               fontsize="small")
    set_titles(fig, title)
    save_figure(fig, paths)


# --- gradient-ratio theory -------------------------------------------------------------------

THEORY_PHASES = ("init", "trained")


def theory_table(epochs: pd.DataFrame) -> pd.DataFrame:
    """Tidy: one row per (model, phase, T, N): the extreme ratios over seeds, the finite-N
    bounds at t = 0, and in how many seeds every per-sample ratio stayed inside them."""
    grid = epochs[epochs["phase"].isin(THEORY_PHASES)]
    if grid.empty:
        return pd.DataFrame(columns=["model", "phase", "horizon", "n_steps"])
    grouped = grid.groupby(["model", "phase", "horizon", "n_steps"], sort=False)
    table = grouped.agg(runs=("seed", "nunique"), ratio_min=("ratio_min", "min"),
                        ratio_max=("ratio_max", "max"), bound_lower=("bound_lower", "first"),
                        bound_upper=("bound_upper", "first"),
                        upper_excess=("upper_excess", "max"),
                        bounds_hold_runs=("bounds_hold", lambda v: int(v.astype(bool).sum())))
    return table.reset_index()


def integrator_table(epochs: pd.DataFrame) -> pd.DataFrame:
    """Tidy: one row per (model, W-flow integrator, N): worst orthogonality defect and
    isospectral deviation over seeds."""
    rows = epochs[epochs["phase"] == "integrator"]
    if rows.empty:
        return pd.DataFrame(columns=["model", "w_step", "n_steps"])
    grouped = rows.groupby(["model", "w_step", "n_steps"], sort=False)
    return grouped.agg(runs=("seed", "nunique"),
                       orthogonality_defect=("orthogonality_defect", "max"),
                       isospectral_deviation=("isospectral_deviation", "max")).reset_index()


def _sci(number: float) -> str:
    """A ratio, bound or defect to 3 significant digits (``1 × 10⁻¹⁵``)."""
    return value(number, 3)


def theory_markdown(table: pd.DataFrame, integrators: pd.DataFrame, experiment: str) -> str:
    """Ratio ranges against the finite-N bounds per (model, phase, T) and N, then the
    integrators."""
    steps = sorted(table["n_steps"].unique()) if not table.empty else []
    lines = [f"# {experiment}: gradient ratios ‖∂L/∂x_t‖ / ‖∂L/∂x_T‖ against the finite-N "
             "bounds", "",
             "Cells: min–max of the per-sample ratio over all steps and seeds; ✓ when at "
             "every t every ratio of every seed lies in that t's own bounds "
             "[(1−η)^((T−t)/η), (1+η)^((T−t)/η)], η = T/N "
             "(ODEtoODE Lemma 4.1 at finite N), else ✗ with how many seeds held. The bounds "
             "at t = 0 are in the last rows.", "",
             "| model | phase | T | " + " | ".join(f"N = {n}" for n in steps) + " |",
             "|" + "---|" * (3 + len(steps))]
    for (model, phase, horizon), group in table.groupby(["model", "phase", "horizon"],
                                                        sort=False):
        cells = [model_label(model), phase, f"{horizon:g}"]
        for n in steps:
            cell = group[group["n_steps"] == n]
            if cell.empty:
                cells.append("–")
                continue
            c = cell.iloc[0]
            mark = "✓" if c["bounds_hold_runs"] == c["runs"] else \
                f"✗ ({c['bounds_hold_runs']}/{c['runs']})"
            cells.append(f"{_sci(c['ratio_min'])}–{_sci(c['ratio_max'])} {mark}")
        lines.append("| " + " | ".join(cells) + " |")
    bounds = table.drop_duplicates(["horizon", "n_steps"]).sort_values(["horizon", "n_steps"])
    for horizon, group in bounds.groupby("horizon"):
        cells = ["bounds at t = 0", "", f"{horizon:g}"]
        for n in steps:
            b = group[group["n_steps"] == n]
            cells.append("–" if b.empty else
                         f"{_sci(b.iloc[0]['bound_lower'])}–{_sci(b.iloc[0]['bound_upper'])}")
        lines.append("| " + " | ".join(cells) + " |")
    if not integrators.empty:
        lines += ["", "## W-flow integrators (ISO generator, T = 1)", "",
                  "max over the flow of ‖WᵀW − I‖_F and of |spec(WᵀQW) − spec(Q)|; exp is the "
                  "paper's step, Cayley an ablation, Euler the naive W ← W + ηWB.", "",
                  "| model | integrator | N | orthogonality defect | isospectral deviation |",
                  "|---|---|---|---|---|"]
        for _, r in integrators.iterrows():
            lines.append(f"| {model_label(r['model'])} | {r['w_step']} | {r['n_steps']} | "
                         f"{_sci(r['orthogonality_defect'])} | "
                         f"{_sci(r['isospectral_deviation'])} |")
    return "\n".join(lines) + "\n"


def theory_figure(epochs: pd.DataFrame, paths: Sequence[Path], title: str,
                  model_order: Sequence[str] | None = None) -> None:
    """Rows: profiles at initialisation and after training (one panel per T, log scale, one
    line per model at the largest N, mean over seeds, the finite-N bounds dashed); last row:
    the integrators' orthogonality defect and isospectral deviation vs N."""
    import matplotlib.pyplot as plt

    from odebench.report.figures import (
        REFERENCE_COLOUR,
        mark_every,
        note_panel,
        overlap_note,
        save_figure,
        series_style,
        set_titles,
    )

    grid = epochs[epochs["phase"].isin(THEORY_PHASES)]
    horizons = sorted(grid["horizon"].unique())
    n_max = grid["n_steps"].max()
    models = [m for m in (model_order or []) if m in set(grid["model"])]
    models += sorted(set(grid["model"]) - set(models))
    columns = max(len(horizons), 2)
    fig, axes = plt.subplots(3, columns, figsize=(min(3.4 * columns, 16.0), 8.4),
                             layout="constrained", squeeze=False)
    profile_columns = sorted((c for c in grid if c.startswith("ratio_at_")),
                             key=lambda c: int(c.rsplit("_", 1)[1]))
    fractions = np.linspace(0, 1, len(profile_columns))
    for row, phase in enumerate(THEORY_PHASES):
        for col in range(columns):
            ax = axes[row][col]
            if col >= len(horizons):
                ax.axis("off")
                continue
            horizon = horizons[col]
            cell = grid[(grid["phase"] == phase) & (grid["horizon"] == horizon)
                        & (grid["n_steps"] == n_max)]
            drawn = []
            for j, model in enumerate(models):
                part = cell[cell["model"] == model][profile_columns]
                if not part.empty:
                    ax.plot(fractions * horizon, part.mean().to_numpy(), markersize=4,
                            markevery=mark_every(len(fractions), j), **series_style(j),
                            label=model_label(model))
                    drawn.append((model_label(model), fractions, part.mean().to_numpy()))
            eta = horizon / n_max
            remaining = fractions * horizon / eta
            ax.plot(fractions * horizon, (1 + eta) ** remaining, color=REFERENCE_COLOUR,
                    linestyle="--", lw=0.8, label="finite-N bounds")
            ax.plot(fractions * horizon, (1 - eta) ** remaining if eta < 1 else
                    np.zeros_like(remaining), color=REFERENCE_COLOUR, linestyle="--", lw=0.8)
            ax.set_yscale("log")
            ax.set_title(f"{phase}, T = {horizon:g}, N = {n_max}", fontsize="small")
            note_panel(ax, overlap_note(drawn))
            ax.set_xlabel("T − t")
            if col == 0:
                ax.set_ylabel("‖∂L/∂x_t‖ / ‖∂L/∂x_T‖")
    axes[0][0].legend(fontsize="small")
    integrators = epochs[epochs["phase"] == "integrator"]
    for col, (column, label) in enumerate((("orthogonality_defect", "max ‖WᵀW − I‖_F"),
                                           ("isospectral_deviation",
                                            "max |spec(WᵀQW) − spec(Q)|"))):
        ax = axes[2][col]
        drawn = []
        for j, (w_step, part) in enumerate(integrators.groupby("w_step", sort=False)):
            worst = part.groupby("n_steps")[column].max()
            clipped = np.clip(worst.to_numpy(dtype=float), 1e-17, 1e17)
            ax.plot(worst.index, clipped, label=str(w_step), **series_style(j))
            drawn.append((str(w_step), worst.index.to_numpy(), clipped))
        ax.set_xscale("log")
        ax.set_yscale("log")
        steps = sorted(integrators["n_steps"].unique())
        ax.set_xticks(steps, [str(int(n)) for n in steps])
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel("N (T = 1)")
        ax.set_title(label, fontsize="small")
        note_panel(ax, overlap_note(drawn))
        if not integrators.empty:
            ax.legend(fontsize="small")
    for col in range(2, columns):
        axes[2][col].axis("off")
    set_titles(fig, title)
    save_figure(fig, paths)
