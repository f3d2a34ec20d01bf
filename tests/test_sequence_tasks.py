"""Plane vibration and Walker2D experiments end to end at toy size on the offline stand-ins."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from odebench.config import load_config
from odebench.records import run_dir
from odebench.tasks.run import experiment_jobs, run_one
from tests.helpers import write_config

TINY = {"seeds": 1, "epochs": 2, "seq_len": 6, "batch_size": 8, "tol": 1.0e-2,
        "eval_every": 1, "data": {"limit": [8, 4, 4]}}
WALKER_STANDIN = {"n_trajectories": 8, "steps": 60}


def _config(tmp_path, experiments):
    return load_config(write_config(tmp_path, tmp_path, experiments, offline=True,
                                    data_dir=str(tmp_path / "data")))


def _read(tmp_path, experiment, key, seed=0):
    folder = run_dir(tmp_path, experiment, key, seed)
    return (pd.read_csv(folder / "epochs.csv"),
            json.loads((folder / "summary.json").read_text()))


def test_plane_vibration_records_mse_nfe_gradients_and_adjoint_profile(tmp_path):
    config = _config(tmp_path, {"plane_vibration": {**TINY, "forecast_len": 3}})
    run_one(config, "plane_vibration", "hbnode", 0, log=lambda _m: None)
    epochs, summary = _read(tmp_path, "plane_vibration", "hbnode")
    assert summary["status"] == "completed" and len(epochs) == 2
    for column in ("loss", "mse", "valid_mse", "test_mse", "nfe_forward", "nfe_backward",
                   "nfe_valid", "nfe_test", "grad_norm_mean", "grad_norm_max",
                   "clip_fraction", "gamma"):
        assert epochs[column].notna().all(), column
    profile = [f"adjoint_norm_{k}" for k in range(6)]
    assert set(profile) <= set(epochs.columns)
    assert (epochs[profile] >= 0).all().all() and (epochs["adjoint_norm_0"] > 0).all()
    assert (epochs["nfe_backward"] > 0).all()
    assert "stand-in" in summary["data_source"]
    assert summary["n_params"] == 20 * 20 * 3 + 60 + 6 * 40 + 2 * 20 * 40 + 80 + 6 * 5 * 40 \
        + 40 + 21 * 5 + 1  # f, jump (3 layers), window ic (6 steps x 5), head, gamma
    assert summary["config"]["param_shrink"] == 0.01
    assert summary["model_options"]["adjoint_scale"] == "per_step"  # exact gradients
    assert epochs["gamma"].iloc[0] < 0.495  # omega_0 = -3 x 0.01: shrunk once
    assert set(summary["baseline_mse"]) == {"train_mean", "persistence"}


def test_baselines_score_the_forecast_and_the_next_step_of_known_windows():
    from odebench.data.sequences import SequenceSplit
    from odebench.tasks.sequences import baseline_mse

    x = torch.tensor([[[1.0], [2.0]], [[3.0], [4.0]]])  # 2 windows, 2 steps, 1 channel
    y = x + 1.0                                           # the next step
    times = torch.ones(2, 2)
    train = SequenceSplit(times, x, y, forecast=torch.full((2, 3, 1), 2.0))
    test = SequenceSplit(times, x, y, forecast=torch.tensor([[[2.0]] * 3, [[6.0]] * 3]))
    # forecast: train mean 2 -> errors 0 and 4; held last value 2 and 4 -> errors 0 and 2
    assert baseline_mse(train, test) == pytest.approx({"train_mean": 8.0, "persistence": 2.0})
    train, test = SequenceSplit(times, x, y), SequenceSplit(times, x, y)
    # next step: train mean of y is 3.5 over 2, 3, 4, 5; holding x is off by 1 everywhere
    assert baseline_mse(train, test) == pytest.approx({"train_mean": 1.25, "persistence": 1.0})


def test_official_code_plane_vibration_switches_lr_schedule_and_xi(tmp_path):
    config = _config(tmp_path, {"plane_vibration": {**TINY, "forecast_len": 2,
                                                    "variant": "official_code",
                                                    "models": ["hbnode"]}})
    run_one(config, "plane_vibration", "hbnode", 0, log=lambda _m: None)
    epochs, summary = _read(tmp_path, "plane_vibration", "hbnode")
    assert list(epochs["lr"]) == [1e-3, 1e-3]  # trainpv.py lr_dict {0: 1e-3, 50: 1e-4}
    assert "xi" in epochs and summary["model_options"]["xi_learnable"] is True
    # the code's loop: batches in data order, double shrink, the adjoint's stale gap scale
    assert summary["config"]["shuffle"] is False and summary["config"]["param_shrink_twice"]
    assert summary["model_options"]["adjoint_scale"] == "last"
    # omega_0 = -3 x 1e-4 (shrunk twice), two Adam steps of 1e-3 later: gamma ~ 1/2
    assert epochs["gamma"].iloc[0] > 0.498


@pytest.mark.parametrize("experiment,model,variant,alignment", [
    ("walker2d", "gnesterovnode", "paper", "after_flow"),
    ("walker2d_hbnode2021", "node", "official_code", "before_jump"),
])
def test_walker_runs_on_the_mujoco_standin(tmp_path, experiment, model, variant, alignment):
    pytest.importorskip("mujoco", reason="the Walker2D stand-in needs gymnasium[mujoco]")
    config = _config(tmp_path, {experiment: {**TINY, "variant": variant, "models": [model],
                                             "data": {"limit": [8, 4, 4],
                                                      "standin": WALKER_STANDIN}}})
    run_one(config, experiment, model, 0, log=lambda _m: None)
    epochs, summary = _read(tmp_path, experiment, model)
    assert summary["status"] == "completed"
    assert summary["model_options"]["alignment"] == alignment
    assert "Walker2d" in summary["data_source"]
    assert epochs["test_mse"].notna().all() and epochs["grad_norm_mean"].gt(0).all()
    assert "adjoint_norm_5" in epochs


def test_walker_experiments_run_the_papers_models(tmp_path):
    config = _config(tmp_path, {"walker2d": {"seeds": 1}, "walker2d_hbnode2021": {}})
    assert [j.model for j in experiment_jobs(config, "walker2d")] == [
        "node", "anode", "sonode", "hbnode", "ghbnode", "nesterovnode", "gnesterovnode"]
    assert [j.model for j in experiment_jobs(config, "walker2d_hbnode2021")] == [
        "node", "anode", "hbnode", "ghbnode"]  # HBNODE footnote 6: no SONODE-RNN


def test_unknown_loss_term_is_named(tmp_path):
    config = _config(tmp_path, {"plane_vibration": {**TINY, "forecast_len": 2,
                                                    "models": ["node"]}})
    config["experiments"]["plane_vibration"]["loss_weights"] = {"forcast": 1.0}
    # the run's entry check (schema) or the loss itself names the key and the bad term
    with pytest.raises(ValueError, match="loss_weights.*forcast"):
        run_one(config, "plane_vibration", "node", 0, log=lambda _m: None)
    from odebench.tasks.sequences import SequenceLoss

    with pytest.raises(ValueError, match="unknown term\\(s\\) forcast; valid: next_step"):
        SequenceLoss({"forcast": 1.0})
