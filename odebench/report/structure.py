"""The structure table: property x model, ours measured (review "Structure Preserving Deep
Learning", Sec. 4), with the reason wherever a property does not apply."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from odebench.report.formatting import value

PROPERTY_LABELS = {
    "flow_lipschitz": "flow Lipschitz (empirical)",
    "one_sided_lipschitz": "one-sided Lipschitz ν",
    "step_contractivity": "Euler-step expansion",
    "energy_drift": "energy error (10⁴ steps)",
    "symplecticity_defect": "symplecticity defect",
    "conformal_symplecticity_defect": "conformal symplecticity defect",
    "invertibility_error": "invertibility error",
    "orthogonality_defect": "orthogonality defect",
    "discrete_adjoint_error": "discrete adjoint vs backprop",
    "adjoint_gradient_error": "adjoint vs backprop",
}


def structure_table(epochs: pd.DataFrame, model_order: Sequence[str] | None = None,
                    ) -> pd.DataFrame:
    """Tidy: one row per (phase, property, model) with the mean over seeds (NaN: not
    applicable), the number of seeds and the note of the first seed."""
    if epochs.empty or "property" not in epochs:
        return pd.DataFrame(columns=["phase", "property", "model", "value", "seeds",
                                     "applicable", "note"])
    rows = []
    for (phase, prop, model), group in epochs.groupby(["phase", "property", "model"],
                                                      sort=False):
        applicable = bool(group["applicable"].astype(bool).any())
        rows.append({"phase": phase, "property": prop, "model": model,
                     "value": float(group["value"].mean()) if applicable else math.nan,
                     "seeds": int(group["seed"].nunique()), "applicable": applicable,
                     "note": str(group["note"].iloc[0])})
    table = pd.DataFrame(rows)
    order = list(model_order or [])
    order += [m for m in table["model"].unique() if m not in order]
    table["model"] = pd.Categorical(table["model"], categories=order, ordered=True)
    return table.sort_values(["phase", "model"], kind="stable").reset_index(drop=True)


def _cell(number: float, applicable: bool) -> str:
    """A measured property to 3 significant digits (:func:`~odebench.report.formatting.value`,
    ``∞`` for an unbounded one), ``n/a`` where the model cannot have it."""
    return value(number, 3) if applicable else "n/a"


def structure_markdown(table: pd.DataFrame, experiment: str,
                       labels: dict[str, str] | None = None) -> str:
    """Property rows x model columns per phase; the reasons for every "n/a" below."""
    labels = labels or {}
    lines = [f"# {experiment}: structural properties, ours measured", "",
             "Measured on each model at float64 (review \"Structure Preserving Deep "
             "Learning\", Sec. 4); n/a: the model cannot have the property (reasons below).",
             ""]
    if table.empty:
        return "\n".join([*lines, "No runs.", ""])
    for phase, part in table.groupby("phase", sort=False):
        models = [m for m in part["model"].cat.categories if m in set(part["model"])]
        lines += [f"## {phase}", "",
                  "| property | " + " | ".join(labels.get(m, m) for m in models) + " |",
                  "|---|" + "---|" * len(models)]
        for prop, rows in part.groupby("property", sort=False):
            cells = {r["model"]: _cell(r["value"], r["applicable"]) for _, r in rows.iterrows()}
            lines.append(f"| {PROPERTY_LABELS.get(prop, prop)} | "
                         + " | ".join(cells.get(m, "–") for m in models) + " |")
        lines.append("")
    notes = table[~table["applicable"]].drop_duplicates(["property", "model"])
    if not notes.empty:
        lines += ["## Not applicable", ""]
        lines += [f"- {PROPERTY_LABELS.get(r['property'], r['property'])}, "
                  f"{labels.get(r['model'], r['model'])}: "
                  f"{r['note'].removeprefix('not applicable: ')}" for _, r in notes.iterrows()]
        lines.append("")
    measured = table[table["applicable"]].drop_duplicates("property")
    lines += ["## How each property was measured", ""]
    lines += [f"- {PROPERTY_LABELS.get(r['property'], r['property'])}: {r['note']}"
              for _, r in measured.iterrows()]
    return "\n".join([*lines, ""])


def structure_figure(epochs: pd.DataFrame, paths: Sequence[Path], title: str,
                     model_order: Sequence[str] | None = None) -> None:
    """One panel per property: |value| per model (last phase) on a log scale, n/a left
    blank."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from odebench.report.figures import PALETTE, save_figure, set_titles

    table = structure_table(epochs, model_order)
    last = table[table["phase"] == table["phase"].iloc[-1]] if not table.empty else table
    props = list(dict.fromkeys(last["property"])) if not last.empty else []
    cols = 4
    nrows = max(1, math.ceil(len(props) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(3.8 * cols, 3.2 * nrows), squeeze=False,
                             layout="constrained")
    for ax, prop in zip(axes.flat, props, strict=False):
        part = last[last["property"] == prop]
        names = [str(m) for m in part["model"]]
        values = [abs(v) if r and math.isfinite(v) and v != 0 else math.nan
                  for v, r in zip(part["value"], part["applicable"], strict=True)]
        ax.bar(range(len(names)), values, color=PALETTE[0])
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        ax.set_title(PROPERTY_LABELS.get(prop, prop), fontsize=9)
    for ax in list(axes.flat)[len(props):]:
        ax.axis("off")
    head, newline, scope = title.partition("\n")
    set_titles(fig, f"{head} (|value|, log scale; blank = n/a){newline}{scope}")
    save_figure(fig, paths)  # atomically; closes fig
