"""Per-model tables (mean ± std over the completed seeds) from run records."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from odebench.report.formatting import mean_std, value
from odebench.report.outcomes import COMPLETED, OUTCOME_RULE, outcome_sort_key, with_outcome
from odebench.report.reference import Reference

# name -> (how it is computed per run from epochs.csv, readable header)
STATISTICS: dict[str, tuple[str, str]] = {
    "final_loss": ("last loss", "final loss"),
    "final_test_accuracy": ("last test_accuracy", "final test acc."),
    "best_test_accuracy": ("max test_accuracy", "best test acc."),
    "final_train_mse": ("last mse", "final train MSE"),
    "final_valid_mse": ("last valid_mse", "final valid. MSE"),
    "best_valid_mse": ("min valid_mse", "best valid. MSE"),
    "final_test_mse": ("last test_mse", "final test MSE"),
    "nfe_forward": ("mean nfe_forward", "forward NFE / iter."),
    "nfe_backward": ("mean nfe_backward", "backward NFE / iter."),
    "nfe_forward_last": ("last nfe_forward", "forward NFE / iter. (last epoch)"),
    "nfe_backward_last": ("last nfe_backward", "backward NFE / iter. (last epoch)"),
    "nfe_test": ("last nfe_test", "test NFE"),
    "grad_norm_last": ("last grad_norm_mean", "‖∇θ‖ (last epoch)"),
    "seconds_per_epoch": ("mean seconds", "s / epoch"),
    "total_seconds": ("sum seconds", "total s"),
    "final_h_norm": ("last h_norm", "‖h(T)‖₂"),
    "max_h_norm": ("max h_norm", "max ‖h(t)‖₂"),
    "final_t": ("last t", "T reached"),
    "nfe_total": ("last nfe_forward", "forward NFE (whole solve)"),
}

# Which statistics each kind of experiment reports (the task decides the kind).
KIND_STATISTICS: dict[str, tuple[str, ...]] = {
    "pointcloud": ("final_loss", "final_test_accuracy", "nfe_forward", "nfe_backward",
                   "grad_norm_last", "seconds_per_epoch", "total_seconds"),
    "images": ("final_test_accuracy", "best_test_accuracy", "nfe_forward_last",
               "nfe_backward_last", "nfe_test", "grad_norm_last", "seconds_per_epoch",
               "total_seconds"),
    "silverbox": ("final_h_norm", "max_h_norm", "final_t", "nfe_total"),
    # HBNODE Figs. 8-9 / NesterovNODE Fig. 7 as numbers: MSEs, NFEs, gradient norm, time.
    "sequences": ("final_train_mse", "final_valid_mse", "best_valid_mse", "final_test_mse",
                  "nfe_forward_last", "nfe_backward_last", "nfe_test", "grad_norm_last",
                  "seconds_per_epoch", "total_seconds"),
}
TASK_KIND = {"pointcloud": "pointcloud", "mnist": "images", "cifar10": "images",
             "silverbox_init": "silverbox", "plane_vibration": "sequences",
             "walker2d": "sequences", "odetoode_theory": "theory", "mnistc": "mnistc",
             "rl": "rl", "structure": "structure",
             "optim_flows": "optim"}
RUN_STATISTICS = tuple((name, *STATISTICS[name]) for name in STATISTICS)
# How a per-run statistic reduces the non-NaN values of its column, in epoch order.
REDUCTIONS: dict[str, Callable[[pd.Series], float]] = {
    "last": lambda v: v.iloc[-1], "max": pd.Series.max, "min": pd.Series.min,
    "mean": pd.Series.mean, "sum": pd.Series.sum}


def with_setting(frame: pd.DataFrame) -> pd.DataFrame:
    """Ensure a string ``setting`` column ("" for runs outside a sweep)."""
    if frame.empty and "setting" not in frame:
        return frame.assign(setting=pd.Series(dtype=str))
    setting = frame["setting"] if "setting" in frame else ""
    values = pd.Series(setting, index=frame.index, dtype=object).fillna("")
    return frame.assign(setting=values.astype(str))


def per_run(epochs: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, setting, seed) with the statistics of :data:`RUN_STATISTICS`
    (each a :data:`REDUCTIONS` entry over its column's non-NaN values, in epoch order)."""
    rows = []
    grouped = with_setting(epochs).sort_values("epoch").groupby(["model", "setting", "seed"],
                                                                sort=False)
    for (model, setting, seed), run in grouped:
        row = {"model": model, "setting": setting, "seed": seed,
               "epochs": int(run["epoch"].max())}
        for name, rule, _ in RUN_STATISTICS:
            how, column = rule.split(" ")
            if column not in run or run[column].isna().all():
                continue
            row[name] = REDUCTIONS[how](run[column].dropna())
        rows.append(row)
    return pd.DataFrame(rows)


def _setting_sort_key(setting: str) -> tuple:
    name, _, value = setting.partition("=")
    try:
        return (name, float(value))
    except ValueError:
        return (name, value)


def run_key(model: str, setting: str) -> str:
    return f"{model}@{setting}" if setting else model


def model_table(epochs: pd.DataFrame, summaries: pd.DataFrame,
                model_order: Sequence[str] | None = None, kind: str | None = None,
                reference: Reference | None = None) -> pd.DataFrame:
    """Tidy table: one row per model (x setting) x outcome with ``<stat>_mean``/``_std``
    over seeds (std NaN for a single run).

    The completed runs of a model make its row; runs that diverged, hit the NFE cap or have
    no summary get one row per outcome after it (:data:`~odebench.report.outcomes.OUTCOME_RULE`),
    never averaged in with the completed ones. ``kind`` narrows the statistics to those of
    :data:`KIND_STATISTICS`; ``reference`` adds the paper's number to each completed row.
    """
    names = KIND_STATISTICS.get(kind, tuple(STATISTICS)) if kind else tuple(STATISTICS)
    runs = per_run(epochs)
    if runs.empty:
        return pd.DataFrame(columns=["model", "setting", "outcome", "runs"])
    summaries = with_setting(summaries) if not summaries.empty else summaries
    runs = with_outcome(runs, summaries)
    order = [m for m in (model_order or []) if m in set(runs["model"])]
    order += sorted(set(runs["model"]) - set(order))
    rows = []
    for model in order:
        settings = sorted(set(runs.loc[runs["model"] == model, "setting"]),
                          key=_setting_sort_key)
        for setting in settings:
            alike = runs[(runs["model"] == model) & (runs["setting"] == setting)]
            for outcome in sorted(set(alike["outcome"]), key=outcome_sort_key):
                group = alike[alike["outcome"] == outcome]
                row = {"model": model, "setting": setting, "outcome": outcome,
                       "runs": len(group), "status": f"{len(group)} {outcome}"}
                for name in names:
                    if name in group and group[name].notna().any():
                        row[f"{name}_mean"] = group[name].mean()
                        row[f"{name}_std"] = group[name].std(ddof=1)  # NaN for one run
                if reference is not None:
                    row[reference.column] = (reference.values.get(run_key(model, setting))
                                             if outcome == COMPLETED else None)
                rows.append(row)
    return pd.DataFrame(rows)


def row_label(model: str, outcome: str) -> str:
    """``node`` for completed runs, ``node (diverged)`` for the row of stopped ones."""
    return model if outcome in (COMPLETED, "") else f"{model} ({outcome})"


CAPTION = ("Mean ± std over seeds (one run per seed), both rounded to the std's first "
           "significant digit; a single run shows its value alone. " + OUTCOME_RULE)


def to_markdown(table: pd.DataFrame, title: str, reference: Reference | None = None,
                levels: Sequence[str] = ()) -> str:
    """The same table, readable: ``mean ± std`` cells (:func:`~odebench.report.formatting.
    mean_std`), stopped runs' rows labelled ``<model> (<outcome>)``, the paper's numbers
    beside ours; ``levels``: sentences stating what learning nothing scores
    (:func:`~odebench.report.build.reference_levels`), printed above the table."""
    stats = [(name, header) for name, (_, header) in STATISTICS.items()
             if f"{name}_mean" in table]
    papers = ([(reference.column, reference.header)]
              if reference is not None and reference.column in table else [])
    sweep = "setting" in table and table["setting"].fillna("").astype(bool).any()
    header = ["model", *(["setting"] if sweep else []), "runs", *[h for _, h in stats],
              *[h for _, h in papers], "status"]
    level_lines = [*levels, ""] if levels else []
    lines = [f"# {title}", "", CAPTION, "", *level_lines,
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        outcome = row["outcome"] if "outcome" in row and isinstance(row["outcome"], str) \
            else COMPLETED
        cells = [row_label(str(row["model"]), outcome),
                 *([str(row["setting"])] if sweep else []), str(row["runs"])]
        for name, _ in stats:
            cells.append(mean_std(row.get(f"{name}_mean"), row.get(f"{name}_std")))
        for column, _ in papers:
            cells.append(value(row[column]))
        cells.append(str(row["status"]))
        lines.append("| " + " | ".join(cells) + " |")
    if papers and reference.note:
        lines += ["", f"{reference.header}: {reference.note}"]
    return "\n".join(lines) + "\n"
