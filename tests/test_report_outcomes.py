"""Diverged, capped and unfinished runs are never averaged in silently: tables give them rows
of their own (or list them), figures end their curves at the last finite value."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from odebench.records import RunRecord, run_dir
from odebench.report import build, figures
from odebench.report.claims import experiment_verdicts
from odebench.report.figures import finite_curve, norm_figure
from odebench.report.odetoode import mnistc_markdown, mnistc_table
from odebench.report.outcomes import OUTCOME_RULE, with_outcome
from odebench.report.reference_mnistc import ROWS
from odebench.report.rl import rl_markdown, rl_table
from odebench.report.tables import model_table, to_markdown

NAN = float("nan")


@pytest.fixture
def captured(monkeypatch):
    """The figures drawn, kept open for inspection; empty files instead of rendered ones."""
    drawn: list[plt.Figure] = []

    def save(fig, paths):
        for path in paths:
            path.write_bytes(b"")
        drawn.append(fig)

    monkeypatch.setattr(figures, "save_figure", save)
    yield drawn
    for fig in drawn:
        plt.close(fig)


def _epochs(runs: dict[int, list[float]], model: str = "node") -> pd.DataFrame:
    """seed -> loss per epoch (a shorter list: the run stopped there)."""
    return pd.DataFrame([{"model": model, "setting": "", "seed": seed, "epoch": epoch,
                          "loss": loss, "nfe_forward": 10.0 * epoch, "grad_norm_mean": 1.0}
                         for seed, losses in runs.items()
                         for epoch, loss in enumerate(losses, start=1)])


def _summaries(statuses: dict[int, str], model: str = "node") -> pd.DataFrame:
    return pd.DataFrame([{"model": model, "setting": "", "seed": seed, "status": status}
                         for seed, status in statuses.items()])


def test_a_diverged_seed_gets_its_own_row_and_is_not_averaged():
    epochs = _epochs({0: [1.0, 0.5], 1: [1.0, 0.7], 2: [1.0, 50.0], 3: [1.0, 2.0]})
    summaries = _summaries({0: "completed", 1: "completed", 2: "diverged",
                            3: "stopped: NFE cap"})
    table = model_table(epochs, summaries, kind="pointcloud")
    assert list(table["outcome"]) == ["completed", "stopped: NFE cap", "diverged"]
    rows = table.set_index("outcome")
    assert rows.loc["completed", "runs"] == 2
    assert rows.loc["completed", "final_loss_mean"] == pytest.approx(0.6)  # not 13.05
    assert rows.loc["diverged", "final_loss_mean"] == pytest.approx(50.0)
    assert np.isnan(rows.loc["diverged", "final_loss_std"])  # one run: no spread
    markdown = to_markdown(table, "pointcloud")
    assert OUTCOME_RULE in markdown  # the rule is in the caption line
    assert "| node | 2 | 0.6 ± 0.1 |" in markdown
    assert "| node (stopped: NFE cap) | 1 | 2 |" in markdown
    assert "| node (diverged) | 1 | 50 |" in markdown and markdown.endswith("1 diverged |\n")


def test_a_run_without_summary_is_not_averaged_with_completed_ones():
    epochs = _epochs({0: [0.5], 1: [0.7], 2: [9.0]})
    table = model_table(epochs, _summaries({0: "completed", 1: "completed"}))
    assert list(zip(table["outcome"], table["runs"], strict=True)) == [
        ("completed", 2), ("missing summary", 1)]
    assert table.loc[0, "final_loss_mean"] == pytest.approx(0.6)


def test_with_outcome_matches_on_model_setting_and_seed():
    frame = pd.DataFrame({"model": ["a", "a", "b"], "setting": ["", "", "tol=0.1"],
                          "seed": [0, 1, 0]})
    summaries = pd.DataFrame({"model": ["a", "b"], "setting": [NAN, "tol=0.1"], "seed": [1, 0],
                              "status": ["diverged", "completed"]})
    assert list(with_outcome(frame, summaries)["outcome"]) == [
        "missing summary", "diverged", "completed"]


def _rl_epochs(curves: dict[tuple[str, int], list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"model": policy, "setting": "env=Swimmer-v5", "seed": seed,
                          "epoch": i, "iteration": i, "env_steps": 100 * i,
                          "eval_return": r, "seconds": 0.5}
                         for (policy, seed), curve in curves.items()
                         for i, r in enumerate(curve, start=1)])


def test_rl_table_keeps_diverged_seeds_apart_and_claims_use_completed_rows():
    epochs = _rl_epochs({("odetoode", 0): [0, 10], ("odetoode", 1): [0, 12],
                         ("odetoode", 2): [0, 900], ("deepnet", 0): [0, 20],
                         ("deepnet", 1): [0, 22]})
    runs = pd.DataFrame({"model": ["odetoode"] * 3 + ["deepnet"] * 2,
                         "setting": "env=Swimmer-v5", "seed": [0, 1, 2, 0, 1],
                         "status": ["completed", "completed", "diverged", "diverged",
                                    "diverged"]})
    table = rl_table(epochs, runs, ["odetoode", "deepnet"])
    assert list(zip(table["policy"], table["outcome"], strict=True)) == [
        ("odetoode", "completed"), ("odetoode", "diverged"), ("deepnet", "diverged")]
    assert table.loc[0, "final_return_mean"] == pytest.approx(11.0)  # 900 left out
    verdicts = experiment_verdicts(epochs, runs, "rl", "rl")
    text = rl_markdown(table, verdicts, "rl")
    assert "| Swimmer-v5 | ODEtoODE (diverged) | 1 |" in text
    claims = verdicts.set_index("id")
    # the diverged seed (900) is left out: ODEtoODE's gain over its completed seeds is 11
    assert claims.loc["O2O-F2-learns", "verdict"] == "holds"
    assert "gain d = 11 " in claims.loc["O2O-F2-learns", "evidence"]
    # DeepNet diverged everywhere: no completed run to rank ODEtoODE against
    assert claims.loc["O2O-F2-top-two", "verdict"] == "not run"


def test_mnistc_means_leave_out_and_list_the_runs_that_did_not_complete():
    runs = pd.DataFrame([{"model": "node", "seed": seed, "status": status, "setup": "table1",
                          **{f"final_test_accuracy_{c}": accuracy for c in ROWS}}
                         for seed, status, accuracy in ((0, "completed", 0.5),
                                                        (1, "completed", 0.7),
                                                        (2, "stopped: NFE cap", 0.1))])
    table = mnistc_table(runs, "table1")
    assert np.allclose(table["accuracy_mean"], 60.0)
    assert (table["runs"] == 2).all() and set(table["excluded"]) == {"1 stopped: NFE cap"}
    assert "Not averaged (did not complete): NODE: 1 stopped: NFE cap." in mnistc_markdown(
        table, "mnistc", "table1")


def test_finite_curve_ends_at_the_last_finite_value():
    x, y = finite_curve([1, 2, 3, 4, 5, 6], [1.0, 2.0, NAN, 3.0, np.inf, 0.5])
    assert list(x) == [1, 2, 4] and list(y) == [1.0, 2.0, 3.0]  # nothing after the overflow
    x, y = finite_curve([1, 2, 3], [1.0, 0.0, 2.0], positive=True)
    assert list(x) == [1, 3]


def _lines(ax: plt.Axes) -> list[tuple[np.ndarray, np.ndarray, str]]:
    return [(np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float),
             line.get_label()) for line in ax.get_lines()]


def _silverbox_epochs() -> pd.DataFrame:
    """node: init 0 completes t = 0..10, init 1 blows up after t = 5 (a stray inf and a small
    value after it, as a corrupt record could hold); hbnode completes."""
    rows = []
    for t in range(11):
        rows.append({"model": "node", "seed": 0, "t": float(t), "h_norm": 1.0 + t,
                     "exact_norm": 1.0, "outcome": "completed"})
        rows.append({"model": "hbnode", "seed": 0, "t": float(t), "h_norm": 2.0,
                     "exact_norm": 1.0, "outcome": "completed"})
    for t, h in [(0, 1.0), (1, 10.0), (2, 1e3), (3, 1e8), (4, 1e40), (5, 1e300),
                 (6, np.inf), (7, 0.5)]:
        rows.append({"model": "node", "seed": 1, "t": float(t), "h_norm": h,
                     "exact_norm": 1.0, "outcome": "diverged"})
    return pd.DataFrame(rows).assign(setting="")


def test_silverbox_figure_ends_a_diverged_curve_where_it_diverged(captured):
    norm_figure(_silverbox_epochs(), [], "silverbox_init", model_order=["node", "hbnode"])
    ax = captured[-1].axes[0]
    lines = _lines(ax)
    mean = next(y for x, y, label in lines if label == "node")
    assert list(mean) == [1.0 + t for t in range(11)]  # the completed init alone
    diverged = [(x, y) for x, y, label in lines if label.startswith("node: diverged")]
    assert len(diverged) == 1
    x, y = diverged[0]
    assert x.max() == 5.0 and y[-1] == 1e300  # no point after the divergence
    marker = next(line for line in ax.get_lines() if line.get_marker() == "x")
    assert list(marker.get_xdata()) == [5.0]
    assert marker.get_ydata()[0] <= ax.get_ylim()[1]  # drawn on the top edge, visible
    assert all(np.isfinite(y).all() for _, y, _ in lines)


def test_training_curves_mean_over_completed_runs_and_stop_the_diverged_one(captured):
    epochs = _epochs({0: [1.0, 0.8, 0.6, 0.4], 1: [1.0, 0.6, 0.4, 0.2], 2: [1.0, 5.0, NAN]})
    epochs = with_outcome(epochs, _summaries({0: "completed", 1: "completed", 2: "diverged"}))
    figures.curves_figure(epochs, [], "pointcloud")
    ax = next(a for a in captured[-1].axes if a.get_ylabel() == "training loss")
    lines = _lines(ax)
    mean = next(y for _, y, label in lines if label == "node")
    assert np.allclose(mean, [1.0, 0.7, 0.5, 0.3])
    stopped = next((x, y) for x, y, label in lines if label == "node: diverged")
    assert list(stopped[0]) == [1.0, 2.0] and list(stopped[1]) == [1.0, 5.0]


def _silverbox_run(results, model: str, seed: int, norms: list[float], status: str) -> None:
    folder = run_dir(results, "silverbox_init", model, seed)
    folder.mkdir(parents=True)
    record = RunRecord(folder, "silverbox_init", model, seed)
    for epoch, h in enumerate(norms, start=1):
        record.append({"epoch": epoch, "t": float(epoch), "h_norm": h, "exact_norm": 1.0,
                       "nfe_forward": 10 * epoch})
    record.write_summary(status=status, final={}, config={"task": "silverbox_init"},
                         device="cpu")


def test_build_reports_a_diverged_silverbox_init_apart(tmp_path, captured):
    _silverbox_run(tmp_path, "node", 0, [1.0, 2.0, 3.0, 4.0], "completed")
    _silverbox_run(tmp_path, "node", 1, [1.0, 1e10, 1e200], "diverged")
    build.aggregate(tmp_path, "silverbox_init")
    text = build.build_table(tmp_path, "silverbox_init")["md"].read_text()
    assert "| node | 1 | 4 | 4 | 4 | 40 | 1 completed |" in text
    assert "| node (diverged) | 1 | 1 × 10²⁰⁰ | 1 × 10²⁰⁰ | 3 | 30 | 1 diverged |" in text
    build.build_figure(tmp_path, "silverbox_init")
    lines = _lines(captured[-1].axes[0])
    assert next(y for _, y, label in lines if label == "node").tolist() == [1.0, 2.0, 3.0, 4.0]
    x, _ = next((x, y) for x, y, label in lines if label == "node: diverged")
    assert x.max() == 3.0
