"""Size ablations: of a model run at several sizes (run keys ``<model>+<variant>``), keep the
size with the best mean final return per setting, as ODEtoODE Sec. 5.1.2 did ("ablations over
sizes, best mean final-reward curve chosen").

:func:`select_sizes` turns an experiment's aggregate frames into frames with one size per
(model, setting), named by the model alone, so that tables, figures and claims compare the
chosen sizes; the ``size`` column of the runs frame says which was chosen, of how many.
"""

from __future__ import annotations

import math

import pandas as pd

from odebench.tasks.experiments import split_variant

FINAL_COLUMN = "eval_return"  # the return of the current parameters (rl records)


def _final_means(epochs: pd.DataFrame, variants: pd.Series) -> pd.DataFrame:
    """Mean over seeds of each run's last finite ``eval_return``, per (base, setting,
    variant), for the runs of a variant."""
    frame = epochs.assign(base=variants.str[0], variant=variants.str[1])
    frame = frame.dropna(subset=["variant", FINAL_COLUMN]).sort_values("iteration")
    last = frame.groupby(["base", "setting", "variant", "seed"], dropna=False)[FINAL_COLUMN].last()
    return last.groupby(["base", "setting", "variant"], dropna=False).mean().reset_index()


def _ratio(variant: str) -> float:
    try:
        return float(str(variant).removeprefix("p"))
    except ValueError:
        return math.inf


def select_sizes(epochs: pd.DataFrame,
                 runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(epochs, runs)`` with, per (model, setting), only the variant of the best mean final
    return (ties: the smaller size), renamed to the model; unchanged without variants."""
    if epochs.empty or "model" not in epochs or FINAL_COLUMN not in epochs:
        return epochs, runs
    names = epochs["model"].astype(str).map(split_variant)
    if names.str[1].isna().all():
        return epochs, runs
    epochs = epochs.assign(setting=epochs["setting"].fillna(""))
    means = _final_means(epochs, names)
    chosen: dict[tuple[str, str], tuple[str, int]] = {}
    for (base, setting), group in means.groupby(["base", "setting"], dropna=False):
        group = group.assign(ratio=group["variant"].map(_ratio))
        best = group.sort_values([FINAL_COLUMN, "ratio"], ascending=[False, True]).iloc[0]
        chosen[(base, setting)] = (best["variant"], len(group))
    epochs = _keep_chosen(epochs, chosen)
    if not runs.empty and "model" in runs:
        runs = _keep_chosen(runs.assign(setting=runs["setting"].fillna("")), chosen)
        runs["size"] = [_size_label(chosen, model, setting)
                        for model, setting in zip(runs["model"], runs["setting"], strict=True)]
    return epochs, runs


def _keep_chosen(frame: pd.DataFrame,
                 chosen: dict[tuple[str, str], tuple[str, int]]) -> pd.DataFrame:
    names = frame["model"].astype(str).map(split_variant)
    keep = [variant is None or chosen.get((base, setting), (None,))[0] == variant
            for (base, variant), setting in zip(names, frame["setting"], strict=True)]
    kept = frame[keep].copy()
    kept["model"] = names[keep].str[0]
    return kept


def _size_label(chosen: dict[tuple[str, str], tuple[str, int]], model: str,
                setting: str) -> str | None:
    """``"p1.5 of 3 sizes"`` for a chosen size; None for a model without an ablation."""
    if (model, setting) not in chosen:
        return None
    variant, count = chosen[(model, setting)]
    return f"{variant} of {count} sizes"


def sizes_note(runs: pd.DataFrame | None) -> str:
    """A figure-title line naming each chosen size (``""`` without a size ablation)."""
    if runs is None or runs.empty or "size" not in runs:
        return ""
    chosen = runs.dropna(subset=["size"]).drop_duplicates(["model", "setting"])
    if chosen.empty:
        return ""
    parts = [f"{model} {str(size).split()[0]} ({setting.partition('=')[2] or setting})"
             for model, setting, size in zip(chosen["model"], chosen["setting"], chosen["size"],
                                             strict=True)]
    return "\nbest sizes (of a size ablation): " + ", ".join(parts)
