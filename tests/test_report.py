"""Tables and figures from run records."""

from __future__ import annotations

import pandas as pd
import pytest

from odebench.records import RunRecord, run_dir
from odebench.report.build import build_experiment_report


def _fake_run(results, model, seed, losses, nfe, config=None):
    folder = run_dir(results, "pointcloud", model, seed)
    folder.mkdir(parents=True)
    record = RunRecord(folder, "pointcloud", model, seed)
    for epoch, loss in enumerate(losses, start=1):
        record.append({"epoch": epoch, "iterations": 1, "loss": loss, "nfe_forward": nfe,
                       "nfe_backward": 2 * nfe, "seconds": 0.5, "test_accuracy": 0.5 + seed / 10,
                       "grad_norm_mean": 10 * loss, "grad_norm_max": 20 * loss,
                       "clip_fraction": 0.0})
    record.write_summary(status="completed", final={"loss": losses[-1]}, config=config or {},
                         device="cpu")


def test_table_has_mean_and_std_per_model(tmp_path):
    _fake_run(tmp_path, "node", 0, [1.0, 0.6], 20)
    _fake_run(tmp_path, "node", 1, [1.0, 0.4], 30)
    _fake_run(tmp_path, "hbnode", 0, [0.9, 0.1], 14)
    outputs = build_experiment_report(tmp_path, "pointcloud", model_order=["node", "hbnode"])
    table = pd.read_csv(outputs["csv"])
    assert list(table["model"]) == ["node", "hbnode"]
    node = table.set_index("model").loc["node"]
    assert node["runs"] == 2
    assert node["final_loss_mean"] == pytest.approx(0.5)
    assert node["final_loss_std"] == pytest.approx(0.1414213, rel=1e-5)
    assert node["nfe_forward_mean"] == pytest.approx(25.0)
    assert node["nfe_backward_mean"] == pytest.approx(50.0)
    assert node["best_test_accuracy_mean"] == pytest.approx(0.55)
    assert node["status"] == "2 completed"
    markdown = outputs["md"].read_text()
    assert "| node | 2 | 0.5 ± 0.1 |" in markdown  # rounded to the std's first digit
    assert outputs["png"].stat().st_size > 1000 and outputs["pdf"].stat().st_size > 1000


def test_pointcloud_table_reports_last_epoch_gradient_norm(tmp_path):
    for seed, last in ((0, 0.6), (1, 0.4)):
        _fake_run(tmp_path, "node", seed, [1.0, last], 20, config={"task": "pointcloud"})
    build_experiment_report(tmp_path, "pointcloud")
    table = pd.read_csv(tmp_path / "tables" / "pointcloud.csv")
    assert "best_test_accuracy_mean" not in table  # the pointcloud kind's statistics only
    assert table.loc[0, "grad_norm_last_mean"] == pytest.approx(5.0)
    assert "‖∇θ‖ (last epoch)" in (tmp_path / "tables" / "pointcloud.md").read_text()
    assert not (tmp_path / "figures" / "pointcloud_adjoint.png").exists()


def test_classification_tables_state_the_chance_level(tmp_path):
    for seed in (0, 1):
        folder = run_dir(tmp_path, "pointcloud", "node", seed)
        folder.mkdir(parents=True)
        record = RunRecord(folder, "pointcloud", "node", seed)
        record.append({"epoch": 1, "iterations": 1, "loss": 0.5, "nfe_forward": 20,
                       "nfe_backward": 20, "seconds": 0.5, "test_accuracy": 0.9})
        record.write_summary(status="completed", final={"loss": 0.5},
                             config={"task": "pointcloud"}, device="cpu",
                             extra={"chance_accuracy": 2 / 3})
    outputs = build_experiment_report(tmp_path, "pointcloud")
    assert "Chance level (always the test set's majority class): accuracy 0.667." \
        in outputs["md"].read_text()
    _fake_run(tmp_path / "other", "node", 0, [1.0, 0.5], 20)  # no chance recorded: no line
    assert "Chance level" not in build_experiment_report(tmp_path / "other",
                                                         "pointcloud")["md"].read_text()


def test_sequence_tables_state_what_learning_nothing_scores(tmp_path):
    folder = run_dir(tmp_path, "walker2d", "node", 0)
    folder.mkdir(parents=True)
    record = RunRecord(folder, "walker2d", "node", 0)
    record.append({"epoch": 1, "iterations": 1, "loss": 0.5, "nfe_forward": 20,
                   "nfe_backward": 20, "seconds": 0.5, "test_mse": 0.3})
    record.write_summary(status="completed", final={"loss": 0.5, "test_mse": 0.3},
                         config={"task": "walker2d"}, device="cpu",
                         extra={"baseline_mse": {"train_mean": 1.0234, "persistence": 0.0567}})
    markdown = build_experiment_report(tmp_path, "walker2d")["md"].read_text()
    assert ("the training mean, test MSE 1.023; the last observed value held, test MSE "
            "0.0567.") in markdown
