"""How a run ended, and the one rule every table and figure follows with it.

The rule (:data:`OUTCOME_RULE`): means and stds are taken over the runs that *completed*
only. A run that diverged, stopped at the NFE cap, or has no summary (still running,
crashed) is never averaged in with them: a table with one row per model gives each such
outcome a row of its own, ``<model> (<outcome>)``, whose values stop where the runs stopped;
a table laid out otherwise (MNIST-C) lists those runs under it. In figures the completed
runs make the mean line and band; a stopped run is its own thin line ending at its last
finite value, marked × where it diverged (□ at the NFE cap); the adjoint-norm profiles leave
stopped runs out and say how many in the legend.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from odebench.records import STATUS_COMPLETED, STATUS_DIVERGED, STATUS_NFE_CAP

COMPLETED = STATUS_COMPLETED
DIVERGED = STATUS_DIVERGED
NFE_CAP = STATUS_NFE_CAP
MISSING_SUMMARY = "missing summary"
# Rows of one model in this order; other statuses after them, alphabetically.
OUTCOME_ORDER = (COMPLETED, NFE_CAP, DIVERGED, "running", MISSING_SUMMARY)
RUN_KEYS = ("model", "setting", "seed")

OUTCOME_RULE = ("Only completed runs are averaged: runs that diverged, stopped at the NFE cap "
                "or have no summary are never mixed in but get a row of their own, labelled "
                "with the outcome (e.g. \"node (diverged)\"), with their values up to where "
                "they stopped.")


def outcome_sort_key(outcome: str) -> tuple[int, str]:
    """Completed first, then :data:`OUTCOME_ORDER`, then any other status by name."""
    order = OUTCOME_ORDER.index(outcome) if outcome in OUTCOME_ORDER else len(OUTCOME_ORDER)
    return order, outcome


def with_outcome(frame: pd.DataFrame, summaries: pd.DataFrame,
                 keys: Sequence[str] = RUN_KEYS) -> pd.DataFrame:
    """``frame`` with an ``outcome`` column: each run's recorded status from ``summaries``
    (matched on ``keys``), :data:`MISSING_SUMMARY` where none is recorded."""
    keys = list(keys)
    frame = frame.drop(columns=["outcome"], errors="ignore")
    if summaries is None or summaries.empty or "status" not in summaries:
        return frame.assign(outcome=MISSING_SUMMARY)
    status = summaries.reindex(columns=[*keys, "status"]).copy()
    if "setting" in keys:  # runs outside a sweep: "" (NaN once read back from CSV)
        status["setting"] = status["setting"].astype(object).fillna("").astype(str)
    status = status.drop_duplicates(keys)
    merged = frame.merge(status.rename(columns={"status": "outcome"}), on=keys, how="left")
    merged.index = frame.index
    merged["outcome"] = merged["outcome"].where(merged["outcome"].notna(), MISSING_SUMMARY)
    merged["outcome"] = merged["outcome"].astype(str)
    return merged


def outcome_text(counts: pd.Series) -> str:
    """``2 completed, 1 diverged`` from outcome -> count."""
    items = sorted(counts.items(), key=lambda item: outcome_sort_key(str(item[0])))
    return ", ".join(f"{n} {outcome}" for outcome, n in items)


def stopped_runs(runs: pd.DataFrame, group: Sequence[str]) -> dict[tuple, str]:
    """Per ``group`` key (tuple), the runs that did not complete, as text (``1 diverged``);
    ``runs`` has one row per run and an ``outcome`` column."""
    stopped = runs[runs["outcome"] != COMPLETED]
    text = {}
    for key, part in stopped.groupby(list(group), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        text[key] = outcome_text(part["outcome"].value_counts())
    return text
