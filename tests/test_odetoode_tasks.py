"""The ODEtoODE experiments at toy size: the theory grid against the finite-N bounds, MNIST-C
training with every corruption tested, reports in the paper's layout, bad settings named."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from odebench.report.build import build_experiment_report
from odebench.report.claims import HOLDS, evaluate, load_records
from odebench.report.claims_data import CLAIMS
from odebench.tasks.run import experiment_jobs, experiment_task, run_one

THEORY = {"seeds": 1, "steps_grid": [10, 40], "horizons": [1, 4], "probe_batch": 8,
          "train_epochs": 3, "integrator_steps": [10, 50]}
MNISTC = {"width": 8, "eta": 0.25, "epochs": 2, "eval_every": 1, "n_train": 200,
          "n_test": 40, "batch_size": 64}


def _config(tmp_path, experiments):
    return {"profile": "test", "results_dir": str(tmp_path), "device": "cpu", "threads": 1,
            "offline": True, "experiments": experiments}


def test_theory_rows_hold_the_bounds_for_odetoode_and_report(tmp_path):
    models = ["odetoode_iso", "odetoode-1", "node"]
    config = _config(tmp_path, {"odetoode_theory": {**THEORY, "models": models}})
    for model in models:
        summary = run_one(config, "odetoode_theory", model, 0, log=lambda _: None)
        assert summary["status"] == "completed"
    epochs = pd.read_csv(tmp_path / "runs/odetoode_theory/odetoode_iso/seed0/epochs.csv")
    grid = epochs[epochs["phase"].isin(["init", "trained"])]
    assert len(grid) == 2 * 2 * 2  # phases x horizons x N
    assert grid["bounds_hold"].all()  # ODEtoODE: Lemma 4.1 at finite N, before and after
    assert (grid["ratio_min"] >= grid["bound_lower"] * (1 - 1e-9)).all()
    # each t against its own bounds: log(r_t / lower_t) >= 0 >= log(r_t / upper_t)
    assert (grid["log_over_lower_min"] >= -1e-9).all()
    assert (grid["log_over_upper_max"] <= 1e-9).all()
    integrators = epochs[epochs["phase"] == "integrator"].set_index(["w_step", "n_steps"])
    assert integrators.loc[("exp", 50), "orthogonality_defect"] < 1e-12
    assert integrators.loc[("cayley", 50), "orthogonality_defect"] < 1e-12
    assert integrators.loc[("exp", 50), "isospectral_deviation"] < 1e-10
    assert integrators.loc[("euler", 50), "orthogonality_defect"] > 1e-6
    gated = pd.read_csv(tmp_path / "runs/odetoode_theory/odetoode-1/seed0/epochs.csv")
    assert gated.loc[gated["phase"] != "integrator", "bounds_hold"].all()
    outputs = build_experiment_report(tmp_path, "odetoode_theory", models)
    text = outputs["md"].read_text()
    assert "| ODEtoODE (ISO) | trained | 4 |" in text and "## W-flow integrators" in text
    assert outputs["png"].stat().st_size > 0
    records, _ = load_records(tmp_path, "odetoode_theory")
    lemma = next(c for c in CLAIMS if c.id == "O2O-L41")
    assert evaluate(lemma, records).verdict == HOLDS  # every t, both phases, both ODEtoODEs


def test_theory_unconstrained_weights_leave_the_bounds_when_large(tmp_path):
    # A NODE whose W has a large norm breaks the ODEtoODE bound: the check can fail.
    config = _config(tmp_path, {"odetoode_theory": {
        **THEORY, "models": ["node"], "train_epochs": 0, "horizons": [4],
        "model_options": {"node": {"init_scale": 4.0}}}})
    run_one(config, "odetoode_theory", "node", 0, log=lambda _: None)
    epochs = pd.read_csv(tmp_path / "runs/odetoode_theory/node/seed0/epochs.csv")
    grid = epochs[epochs["phase"] == "init"]
    assert not grid["bounds_hold"].any()
    assert (grid["upper_excess"] > 1).all()
    assert (grid["log_over_upper_max"] > 1e-9).all()  # some t above its own upper bound


def test_mnistc_trains_on_clean_tests_every_corruption_and_reports(tmp_path):
    models = ["dense-1", "node", "odetoode-1"]
    config = _config(tmp_path, {"mnistc": {**MNISTC, "models": models}})
    assert [j.key for j in experiment_jobs(config, "mnistc")] == models
    for model in models:
        summary = run_one(config, "mnistc", model, 0, log=lambda _: None)
        assert summary["status"] == "completed"
        final = summary["final"]
        assert {f"test_accuracy_{c}" for c in ("rotate", "stripe", "identity")} <= set(final)
        assert final["test_accuracy_identity"] == pytest.approx(final["test_accuracy"])
        assert summary["config"]["width"] == 8
        assert 0.1 <= summary["chance_accuracy"] < 0.5  # the majority digit's share
    epochs = pd.read_csv(tmp_path / "runs/mnistc/odetoode-1/seed0/epochs.csv")
    assert (epochs["nfe_forward"] == 4).all()  # T / eta explicit Euler steps, counted
    assert epochs["grad_norm_mean"].gt(0).all()
    outputs = build_experiment_report(tmp_path, "mnistc", models)
    text = outputs["md"].read_text()
    # a profile other than the paper's: our cells alone, the paper's in a table of their own
    ours, _, paper = text.partition("## paper (different settings)")
    assert "| corruption | Dense-1 | NODE | ODEtoODE-1 | best (ours) |" in ours
    assert "| corruption | Dense-1 | NODE | ODEtoODE-1 | best (paper) |" in paper
    assert "Shot Noise" in text and "| **97.94** |" in paper  # ODEtoODE-1 identity, Table 1
    assert f"majority class): accuracy {100 * summary['chance_accuracy']:.1f} %." in ours
    table = pd.read_csv(outputs["csv"])
    assert len(table) == 11 * 3


def test_mnistc_defaults_follow_the_tables():
    config = {"experiments": {"mnistc": {}, "mnistc_table2": {}}}
    _, table1 = experiment_task(config, "mnistc")
    _, table2 = experiment_task(config, "mnistc_table2")
    assert (table1["width"], table1["dropout"], table1["epochs"], table1["eta"]) == \
        (128, 0.0, 100, 0.01)
    assert (table2["width"], table2["dropout"]) == (256, 0.1)
    assert len(experiment_jobs(config, "mnistc")) == 9
    assert len(experiment_jobs(config, "mnistc_table2")) == 13


def test_unknown_corruption_and_bad_grid_are_named():
    with pytest.raises(ValueError, match="unknown corruption.*blurry"):
        experiment_task({"experiments": {"mnistc": {"corruptions": ["identity", "blurry"]}}},
                        "mnistc")
    with pytest.raises(ValueError, match="steps_grid"):
        experiment_task({"experiments": {"odetoode_theory": {"steps_grid": []}}},
                        "odetoode_theory")


def test_eta_that_does_not_divide_the_horizon_is_an_error(tmp_path):
    config = _config(tmp_path, {"mnistc": {**MNISTC, "eta": 0.3, "models": ["odetoode-1"]}})
    with pytest.raises(ValueError, match="0.3"):
        run_one(config, "mnistc", "odetoode-1", 0, log=lambda _: None)


class _Doubling(torch.nn.Module):
    """x_1 = 2 x_0 and logits = scale · x_1: ∂L/∂x_0 = 2 ∂L/∂x_1 for every sample."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.encoder = torch.nn.Identity()
        self.block = self
        self.scale = scale

    def trajectory(self, x0):
        return [x0, 2 * x0]

    def head(self, state):
        return self.scale * state


def test_a_saturated_sample_has_no_ratio_and_is_counted():
    """Lemma 4.1's measurement at long horizons: a sample whose softmax saturates has an output
    gradient that underflows (0/0); it is left out, not read as a ratio of 0 or 1e148."""
    from odebench.tasks.odetoode_theory import gradient_ratios

    x = torch.tensor([[50.0, -50.0], [0.1, 0.2]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 0])
    ratios, undefined = gradient_ratios(_Doubling(10.0), x, y)
    assert undefined == 1 and ratios.shape == (2, 1)
    assert ratios[0, 0].item() == pytest.approx(2.0) and ratios[1, 0].item() == 1.0
    ratios, undefined = gradient_ratios(_Doubling(10.0), x[1:], y[1:])
    assert undefined == 0 and ratios.shape == (2, 1)
