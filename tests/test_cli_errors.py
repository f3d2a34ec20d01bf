"""Bad input: one clear error line naming what is wrong (and the valid choices)."""

from __future__ import annotations

import pytest

from odebench.cli import main
from tests.helpers import write_config

POINTCLOUD = {"setup": "hbnode2021", "models": ["node", "hbnode"], "seeds": 1, "epochs": 1,
              "tol": 1.0e-3, "n_train": 12, "batch_size": 12}


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("odebench: error: ")
    return err[0]


def _train(config, model="node", experiment="pointcloud", *extra):
    return main(["train", "--config", str(config), "--experiment", experiment,
                 "--model", model, "--seed", "0", "--quiet", *extra])


def test_unknown_experiment_lists_valid_ones(tmp_path, capsys):
    config = write_config(tmp_path, tmp_path, {"pointcloud": POINTCLOUD})
    assert _train(config, experiment="pointclod") == 2
    line = _error_line(capsys)
    assert "'pointclod'" in line and "valid: pointcloud" in line
    assert not (tmp_path / "runs").exists()


def test_unknown_model_lists_valid_ones(tmp_path, capsys):
    config = write_config(tmp_path, tmp_path, {"pointcloud": POINTCLOUD})
    assert _train(config, model="hbnod") == 2
    line = _error_line(capsys)
    assert "'hbnod'" in line and "node" in line and "hbnode" in line
    assert not (tmp_path / "runs").exists()


def test_model_not_run_by_setup_is_rejected_in_config(tmp_path, capsys):
    experiments = {"pointcloud": {**POINTCLOUD, "models": ["node", "transformer"]}}
    config = write_config(tmp_path, tmp_path, experiments)
    assert main(["plan", "--config", str(config)]) == 2
    line = _error_line(capsys)
    assert "'transformer'" in line and "valid: node" in line and "hbnode" in line


@pytest.mark.parametrize("override,needles", [
    ({"tolx": 1e-3}, ["experiments.pointcloud", "'tolx' was unexpected"]),
    ({"tol": -1e-3}, ["experiments.pointcloud.tol", "-0.001"]),
    ({"tol": "tight"}, ["experiments.pointcloud.tol", "'tight'"]),
    ({"method": "dopri6"}, ["experiments.pointcloud.method", "'dopri6'", "dopri5"]),
    ({"setup": "xia2021"}, ["experiments.pointcloud.setup", "hbnode2021", "nesterov2022"]),
])
def test_config_errors_name_the_key(tmp_path, capsys, override, needles):
    config = write_config(tmp_path, tmp_path, {"pointcloud": {**POINTCLOUD, **override}})
    assert _train(config) == 2
    line = _error_line(capsys)
    for needle in needles:
        assert needle in line
    assert str(config) in line
    assert not (tmp_path / "runs").exists()


def test_unknown_top_level_key_and_unknown_experiment_key(tmp_path, capsys):
    config = write_config(tmp_path, tmp_path, {"pointcloud": POINTCLOUD}, resluts_dir="x")
    assert main(["plan", "--config", str(config)]) == 2
    assert "'resluts_dir' was unexpected" in _error_line(capsys)
    config = write_config(tmp_path, tmp_path, {"pointcloud": POINTCLOUD, "mnits": {}})
    assert main(["plan", "--config", str(config)]) == 2
    assert "'mnits' was unexpected" in _error_line(capsys)


def test_negative_seed_is_rejected_before_anything_is_written(tmp_path, capsys):
    config = write_config(tmp_path, tmp_path, {"pointcloud": POINTCLOUD})
    assert main(["train", "--config", str(config), "--experiment", "pointcloud",
                 "--model", "node", "--seed", "-1", "--quiet"]) == 2
    line = _error_line(capsys)
    assert "--seed" in line and "-1" in line
    assert not (tmp_path / "runs").exists()


def test_missing_config_file_is_named(tmp_path, capsys):
    assert _train(tmp_path / "nope.yaml") == 2
    assert "config file not found" in _error_line(capsys)


def test_missing_results_directory_is_created(tmp_path, capsys):
    # README's by-hand `train` on a fresh clone, before any smoke run made results/smoke
    missing = tmp_path / "does" / "not" / "exist"
    config = write_config(tmp_path, missing, {"pointcloud": POINTCLOUD})
    assert _train(config) == 0
    assert (missing / "runs" / "pointcloud" / "node" / "seed0" / "summary.json").is_file()


def test_report_without_runs_is_a_clear_error(tmp_path, capsys):
    config = write_config(tmp_path, tmp_path, {"pointcloud": POINTCLOUD})
    assert main(["report", "--config", str(config)]) == 2
    assert "no run records for experiment 'pointcloud'" in _error_line(capsys)
    assert not (tmp_path / "tables").exists()


def test_successful_train_writes_a_complete_record(tmp_path, capsys):
    config = write_config(tmp_path, tmp_path, {"pointcloud": POINTCLOUD})
    assert _train(config, "hbnode") == 0
    assert "pointcloud/hbnode/seed0: completed" in capsys.readouterr().out
    folder = tmp_path / "runs" / "pointcloud" / "hbnode" / "seed0"
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint.pt", "epochs.csv",
                                                       "identity.json", "summary.json"]


def test_default_config_is_found_outside_the_checkout_and_shown_in_help(tmp_path):
    from tests.conftest import run_cli

    done = run_cli("plan", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pointcloud (task pointcloud")
    help_text = run_cli("train", "--help", cwd=tmp_path).stdout
    assert "config/smoke.yaml" in help_text and "model@setting=value" in help_text
    assert "``" not in run_cli("--help", cwd=tmp_path).stdout
