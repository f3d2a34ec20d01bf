"""Per-model tables (mean ± std over seeds) from run records."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

# (column in the table, how it is computed per run, readable header)
RUN_STATISTICS: tuple[tuple[str, str, str], ...] = (
    ("final_loss", "last loss", "final loss"),
    ("final_test_accuracy", "last test_accuracy", "final test acc."),
    ("best_test_accuracy", "max test_accuracy", "best test acc."),
    ("nfe_forward", "mean nfe_forward", "forward NFE / iter."),
    ("nfe_backward", "mean nfe_backward", "backward NFE / iter."),
    ("nfe_test", "last nfe_test", "test NFE"),
    ("seconds_per_epoch", "mean seconds", "s / epoch"),
    ("total_seconds", "sum seconds", "total s"),
)


def per_run(epochs: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, seed) with the statistics of :data:`RUN_STATISTICS`."""
    rows = []
    for (model, seed), run in epochs.sort_values("epoch").groupby(["model", "seed"], sort=False):
        row = {"model": model, "seed": seed, "epochs": int(run["epoch"].max())}
        for name, rule, _ in RUN_STATISTICS:
            how, column = rule.split(" ")
            if column not in run or run[column].isna().all():
                continue
            values = run[column].dropna()
            row[name] = {"last": values.iloc[-1], "max": values.max(), "mean": values.mean(),
                         "sum": values.sum()}[how]
        rows.append(row)
    return pd.DataFrame(rows)


def _status_text(statuses: pd.Series) -> str:
    counts = statuses.fillna("missing summary").value_counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def model_table(epochs: pd.DataFrame, summaries: pd.DataFrame,
                model_order: Sequence[str] | None = None) -> pd.DataFrame:
    """Tidy table: one row per model with ``<stat>_mean`` and ``<stat>_std`` over seeds."""
    runs = per_run(epochs)
    if runs.empty:
        return pd.DataFrame(columns=["model", "runs"])
    if not summaries.empty:
        runs = runs.merge(summaries[["model", "seed", "status"]], on=["model", "seed"], how="left")
    else:
        runs["status"] = None
    order = [m for m in (model_order or []) if m in set(runs["model"])]
    order += sorted(set(runs["model"]) - set(order))
    rows = []
    for model in order:
        group = runs[runs["model"] == model]
        row = {"model": model, "runs": len(group), "status": _status_text(group["status"])}
        for name, _, _ in RUN_STATISTICS:
            if name in group and group[name].notna().any():
                row[f"{name}_mean"] = group[name].mean()
                row[f"{name}_std"] = group[name].std(ddof=1) if group[name].count() > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e5):
        return f"{value:.3g}"
    return f"{value:.4g}" if magnitude < 10 else f"{value:.1f}"


def to_markdown(table: pd.DataFrame, title: str) -> str:
    """The same table, readable: ``mean ± std`` cells and one header per statistic."""
    stats = [(name, header) for name, _, header in RUN_STATISTICS if f"{name}_mean" in table]
    header = ["model", "runs", *[h for _, h in stats], "status"]
    lines = [f"# {title}", "", "Mean ± std over seeds (one run per seed).", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        cells = [str(row["model"]), str(row["runs"])]
        for name, _ in stats:
            mean, std = row.get(f"{name}_mean"), row.get(f"{name}_std")
            cells.append("–" if pd.isna(mean) else f"{_fmt(mean)} ± {_fmt(std)}")
        cells.append(str(row["status"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
