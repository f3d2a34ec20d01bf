"""ODEtoODE report pieces on synthetic records: MNIST-C tables in the paper's layout with wins
counts, the reference tables as printed, the theory table and its bound marks."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from odebench.report.odetoode import (
    integrator_table,
    mnistc_markdown,
    mnistc_table,
    model_label,
    odetoode_wins,
    row_winners,
    theory_markdown,
    theory_table,
)
from odebench.report.reference_mnistc import PAPER_TABLES, ROWS, TABLE1_COLUMNS, TABLE2_COLUMNS


def test_reference_tables_have_the_papers_shape_and_corrected_cell():
    assert set(PAPER_TABLES["table1"]) == set(ROWS) == set(PAPER_TABLES["table2"])
    assert all(tuple(row) == TABLE1_COLUMNS for row in PAPER_TABLES["table1"].values())
    assert all(tuple(row) == TABLE2_COLUMNS for row in PAPER_TABLES["table2"].values())
    assert PAPER_TABLES["table2"]["identity"]["hypernet-4"] == 97.79  # not the OCR's 91.79
    # paper-odetoode §3.5: column means of the printed tables
    means1 = {m: sum(PAPER_TABLES["table1"][r][m] for r in ROWS) / len(ROWS)
              for m in TABLE1_COLUMNS}
    assert means1["odetoode-1"] == pytest.approx(79.36, abs=0.006)
    assert means1["dense-10"] == pytest.approx(72.30, abs=0.006)


@pytest.mark.parametrize("setup", ["table1", "table2"])
def test_printed_tables_give_eight_odetoode_wins_of_eleven(setup):
    paper = PAPER_TABLES[setup]
    table = pd.DataFrame([{"corruption": r, "model": m, "paper_accuracy": v}
                          for r in ROWS for m, v in paper[r].items()])
    assert odetoode_wins(row_winners(table, "paper_accuracy")) == 8


def _runs(accuracies: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """Summaries frame: one row per (model, seed) with final_test_accuracy_<corruption>."""
    rows = []
    for model, per_corruption in accuracies.items():
        seeds = len(next(iter(per_corruption.values())))
        for seed in range(seeds):
            rows.append({"model": model, "seed": seed, "setup": "table1", **{
                f"final_test_accuracy_{c}": values[seed]
                for c, values in per_corruption.items()}})
    return pd.DataFrame(rows)


def test_mnistc_table_means_in_percent_beside_the_paper_and_wins():
    runs = _runs({
        "dense-1": {c: [0.50, 0.60] for c in ROWS},
        "odetoode-1": {**{c: [0.40, 0.40] for c in ROWS}, "stripe": [0.9, 0.7]},
    })
    table = mnistc_table(runs, "table1", ["dense-1", "odetoode-1"])
    assert len(table) == 2 * len(ROWS)
    cell = table[(table["corruption"] == "stripe") & (table["model"] == "odetoode-1")].iloc[0]
    assert cell["accuracy_mean"] == pytest.approx(80.0)
    assert cell["accuracy_std"] == pytest.approx(math.sqrt(0.02) * 100)
    assert cell["paper_accuracy"] == 44.51
    winners = row_winners(table, "accuracy_mean")
    assert winners["stripe"] == ["odetoode-1"] and winners["rotate"] == ["dense-1"]
    assert odetoode_wins(winners) == 1
    text = mnistc_markdown(table, "mnistc", "table1")
    assert "| Stripe | 55.00 (30.55) | **80.00** (**44.51**) | ODEtoODE-1 | ODEtoODE-1 |" in text
    assert "ours 1/11, paper 11/11; the paper's full printed table: 8/11." in text


def test_mnistc_table_marks_missing_cells():
    runs = _runs({"node": {"identity": [0.9]}})
    table = mnistc_table(runs, "table1")
    assert table.loc[table["corruption"] == "rotate", "accuracy_mean"].isna().all()
    assert "| Rotate | – (**82.76**) | – | NODE |" in mnistc_markdown(table, "mnistc", "table1")


def test_model_labels():
    assert [model_label(m) for m in ("dense-10", "node", "nanode-2", "hypernet-4",
                                     "odetoode-1", "odetoode_iso")] == [
        "Dense-10", "NODE", "NANODE-2", "HyperNet-4", "ODEtoODE-1", "ODEtoODE (ISO)"]


def _theory_rows(model: str, seed: int, hold: bool) -> list[dict]:
    rows = []
    for phase in ("init", "trained"):
        for n in (10, 100):
            eta = 1.0 / n
            rows.append({"model": model, "seed": seed, "phase": phase, "horizon": 1.0,
                         "n_steps": n, "eta": eta, "ratio_min": 0.9, "ratio_max": 1.2 if hold
                         else 9.0, "bound_lower": (1 - eta) ** n, "bound_upper": (1 + eta) ** n,
                         "upper_excess": 0.5 if hold else 3.4, "bounds_hold": hold})
    rows.append({"model": model, "seed": seed, "phase": "integrator", "w_step": "euler",
                 "n_steps": 25, "horizon": 1.0, "orthogonality_defect": 0.5 + seed,
                 "isospectral_deviation": 0.1})
    return rows


def test_theory_table_counts_seeds_inside_the_bounds():
    epochs = pd.DataFrame(_theory_rows("odetoode_iso", 0, True) + _theory_rows("odetoode_iso",
                                                                                1, True)
                          + _theory_rows("node", 0, True) + _theory_rows("node", 1, False))
    table = theory_table(epochs)
    assert len(table) == 2 * 2 * 2  # model x phase x N
    iso = table[table["model"] == "odetoode_iso"]
    assert (iso["bounds_hold_runs"] == 2).all() and (iso["runs"] == 2).all()
    node = table[table["model"] == "node"]
    assert (node["bounds_hold_runs"] == 1).all() and (node["ratio_max"] == 9.0).all()
    integrators = integrator_table(epochs)
    assert integrators.loc[integrators["model"] == "node", "orthogonality_defect"].iloc[0] == 1.5
    text = theory_markdown(table, integrators, "odetoode_theory")
    assert "| ODEtoODE (ISO) | init | 1 | 0.9–1.2 ✓ | 0.9–1.2 ✓ |" in text
    assert "| NODE | trained | 1 | 0.9–9 ✗ (1/2) | 0.9–9 ✗ (1/2) |" in text
    assert "0.349–2.59" in text  # (1 - 1/10)^10 and (1 + 1/10)^10
