"""Experiments end to end at toy size: presets, sweeps, image and Silverbox tasks, reports."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from odebench.config import ConfigError, load_config
from odebench.records import run_dir
from odebench.report.build import build_experiment_report
from odebench.tasks.run import UnknownNameError, experiment_jobs, run_one
from tests.helpers import write_config

TINY_CIFAR = {"seeds": 1, "epochs": 1, "standin_sizes": [16, 16], "standin_image_size": 6,
              "batch_size": 16, "tol": 1.0e-2}
TINY_MNIST = {"seeds": 1, "epochs": 1, "n_train": 32, "n_test": 16, "batch_size": 16,
              "tol": 1.0e-2}


def _config(tmp_path, experiments):
    return load_config(write_config(tmp_path, tmp_path, experiments, offline=True))


def _summary(tmp_path, experiment, key, seed=0):
    return json.loads((run_dir(tmp_path, experiment, key, seed) / "summary.json").read_text())


def _epochs(tmp_path, experiment, key, seed=0):
    return pd.read_csv(run_dir(tmp_path, experiment, key, seed) / "epochs.csv")


def test_presets_expand_models_and_sweeps(tmp_path):
    config = _config(tmp_path, {"cifar10_tolerance": {"seeds": 2,
                                                      "sweep": {"tol": [0.1, 1.0e-3]}},
                                "cifar10_factor": {}, "pointcloud": {"seeds": 1}})
    keys = [(job.key, job.seed) for job in experiment_jobs(config, "cifar10_tolerance")]
    assert len(keys) == 5 * 2 * 2  # HBNODE-paper models x tolerances x seeds
    assert ("hbnode@tol=0.001", 1) in keys and ("node@tol=0.1", 0) in keys
    factor = [job.key for job in experiment_jobs(config, "cifar10_factor")]
    assert len(factor) == 3 * 5  # r in {3, 5, 10} x the paper's 5 seeds
    assert set(factor) == {"gnesterovnode@nesterov_factor=3", "gnesterovnode@nesterov_factor=5",
                           "gnesterovnode@nesterov_factor=10"}
    pointcloud = {job.model for job in experiment_jobs(config, "pointcloud")}
    assert pointcloud == {"node", "anode", "sonode", "hbnode", "ghbnode", "nesterovnode",
                          "gnesterovnode"}  # the headline nesterov2022 setup


def test_model_a_paper_did_not_run_is_rejected_with_valid_ones(tmp_path):
    config = _config(tmp_path, {"cifar10_tolerance": {"models": ["nesterovnode"]}})
    with pytest.raises(UnknownNameError, match="'nesterovnode'; valid: node, anode, sonode"):
        experiment_jobs(config, "cifar10_tolerance")


def test_sweep_value_outside_the_sweep_is_named(tmp_path):
    config = _config(tmp_path, {"cifar10_tolerance": {"sweep": {"tol": [0.1]}, **TINY_CIFAR}})
    with pytest.raises(UnknownNameError, match="tol=0.5 is not in the sweep"):
        run_one(config, "cifar10_tolerance", "hbnode@tol=0.5", 0, log=lambda _m: None)


def test_sweep_with_two_settings_is_a_config_error(tmp_path):
    path = write_config(tmp_path, tmp_path, {"cifar10": {"sweep": {"tol": [0.1], "lr": [1]}}})
    with pytest.raises(ConfigError, match="experiments.cifar10.sweep"):
        load_config(path)


def test_mnist_standin_run_records_accuracy_nfe_and_options(tmp_path):
    config = _config(tmp_path, {"mnist": TINY_MNIST})
    summary = run_one(config, "mnist", "hbnode", 0, log=lambda _m: None)
    assert summary["status"] == "completed"
    assert summary["n_params"] > 0 and summary["model_options"]["n"] == 5
    assert summary["config"]["lr"] == 5e-4 and summary["config"]["nfe_cap"] == 300
    row = _epochs(tmp_path, "mnist", "hbnode").iloc[-1]
    for column in ("test_accuracy", "nfe_forward", "nfe_backward", "nfe_test", "seconds",
                   "gamma"):
        assert column in row and row[column] == row[column], column
    assert 0 <= row["test_accuracy"] <= 1 and row["nfe_backward"] > 0


def test_official_code_variant_switches_hyperparameters(tmp_path):
    config = _config(tmp_path, {"mnist_hbnode2021": {**TINY_MNIST, "variant": "official_code",
                                                     "tol": None} | {"tol": 1e-2}})
    summary = run_one(config, "mnist_hbnode2021", "ghbnode", 0, log=lambda _m: None)
    assert summary["config"]["lr"] == 5e-4 and summary["config"]["grad_clip"] == 10.0
    assert summary["model_options"]["variant"] == "official_code"


def test_nfe_cap_stops_an_image_run_and_is_recorded(tmp_path):
    config = _config(tmp_path, {"mnist": {**TINY_MNIST, "nfe_cap": 2}})
    summary = run_one(config, "mnist", "node", 0, log=lambda _m: None)
    assert summary["status"] == "stopped: NFE cap"
    assert summary["final"]["stopped_at_epoch"] == 1


def test_euler_sweep_uses_fixed_steps_with_exact_nfe(tmp_path):
    config = _config(tmp_path, {"cifar10_euler": {**TINY_CIFAR, "sweep": {"euler_step": [0.5]},
                                                  "models": ["gnesterovnode"]}})
    run_one(config, "cifar10_euler", "gnesterovnode@euler_step=0.5", 0, log=lambda _m: None)
    row = _epochs(tmp_path, "cifar10_euler", "gnesterovnode@euler_step=0.5").iloc[-1]
    assert row["nfe_forward"] == 2  # t in [1, 2] with step 0.5: two Euler steps
    assert row["nfe_backward"] == 2  # the adjoint takes the same two steps back


def test_factor_sweep_sets_r_and_reports_the_papers_numbers(tmp_path):
    config = _config(tmp_path, {"cifar10_factor": {**TINY_CIFAR,
                                                   "sweep": {"nesterov_factor": [3, 5]}}})
    for key in ("gnesterovnode@nesterov_factor=3", "gnesterovnode@nesterov_factor=5"):
        summary = run_one(config, "cifar10_factor", key, 0, log=lambda _m: None)
        assert summary["model_options"]["r"] == float(key.rsplit("=", 1)[1])
    outputs = build_experiment_report(tmp_path, "cifar10_factor")
    table = pd.read_csv(outputs["csv"])
    assert list(table["setting"]) == ["nesterov_factor=3", "nesterov_factor=5"]
    assert list(table["paper_best_test_accuracy"]) == [0.6180, 0.6192]
    assert "NesterovNODE Table 3" in outputs["md"].read_text()


def test_tolerance_sweep_report_has_a_row_per_model_and_tolerance(tmp_path):
    config = _config(tmp_path, {"cifar10_tolerance": {**TINY_CIFAR, "models": ["hbnode"],
                                                      "sweep": {"tol": [0.1, 1.0e-3]}}})
    for job in experiment_jobs(config, "cifar10_tolerance"):
        run_one(config, "cifar10_tolerance", job.key, job.seed, log=lambda _m: None)
    outputs = build_experiment_report(tmp_path, "cifar10_tolerance")
    table = pd.read_csv(outputs["csv"])
    assert list(table["setting"]) == ["tol=0.001", "tol=0.1"]
    assert outputs["png"].stat().st_size > 1000


def test_silverbox_init_records_norms_and_blowups(tmp_path):
    config = _config(tmp_path, {"silverbox_init": {"seeds": 1, "tol": 1e-4},
                                "silverbox_init_hbnode2021": {"seeds": 1, "tol": 1e-4,
                                                              "max_steps": 10}})
    summary = run_one(config, "silverbox_init", "gnesterovnode", 0, log=lambda _m: None)
    rows = _epochs(tmp_path, "silverbox_init", "gnesterovnode")
    assert summary["status"] == "completed"
    assert list(rows["t"]) == [float(t) for t in range(1, 64)]  # NesterovNODE: t = 1..63
    assert (rows["h_norm"] > 0).all() and (rows["exact_norm"] >= 0).all()
    blown = run_one(config, "silverbox_init_hbnode2021", "anode", 0, log=lambda _m: None)
    anode = _epochs(tmp_path, "silverbox_init_hbnode2021", "anode")
    assert anode["t"].iloc[0] == 0.0  # HBNODE: t = 0..63
    if blown["status"] == "diverged":  # a 10-step cap per unit time: the curve stops early
        assert anode["t"].iloc[-1] < 63
    outputs = build_experiment_report(tmp_path, "silverbox_init")
    assert "‖h(T)‖₂" in outputs["md"].read_text()
