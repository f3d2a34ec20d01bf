"""Keys are checked before any job: every experiment setting, the sweep key and every sweep
value; a by-hand job of a sweep experiment names its setting; an empty plan is an error."""

from __future__ import annotations

import pytest
import yaml

from odebench.cli import main
from odebench.config import ConfigError, load_config
from odebench.tasks.run import UnknownNameError, experiment_jobs, run_one
from tests.helpers import write_config

TOLERANCE = {"models": ["hbnode"], "seeds": 1, "epochs": 1, "standin_sizes": [16, 16],
             "standin_image_size": 6, "batch_size": 16, "sweep": {"tol": [0.1, 0.01]}}


def _config(tmp_path, experiment: str, entry: dict) -> dict:
    return {"profile": "test", "results_dir": str(tmp_path), "device": "cpu", "threads": 1,
            "offline": True, "experiments": {experiment: entry}}


@pytest.mark.parametrize(("experiment", "sweep", "valid"), [
    ("cifar10_tolerance", {"tolr": [0.1]}, "tol"),
    ("rl", {"evn": ["Swimmer-v5"]}, "env"),
])
def test_unknown_sweep_key_is_named_with_the_valid_ones(tmp_path, experiment, sweep, valid):
    config = _config(tmp_path, experiment, {"seeds": 1, "sweep": sweep})
    with pytest.raises(ConfigError) as error:
        experiment_jobs(config, experiment)
    message = str(error.value)
    assert repr(next(iter(sweep))) in message and "valid:" in message
    assert f" {valid}," in message or message.endswith(f" {valid}")


def test_unknown_setting_is_named_even_without_the_file_schema(tmp_path):
    config = _config(tmp_path, "pointcloud", {"seeds": 1, "lr_rate": 0.1})
    with pytest.raises(ConfigError, match=r"unknown setting 'lr_rate'; valid: .*\blr\b"):
        experiment_jobs(config, "pointcloud")


def test_sweep_values_are_typed_like_the_setting(tmp_path):
    config = _config(tmp_path, "cifar10_tolerance", {**TOLERANCE, "sweep": {"tol": [0.1, -1]}})
    with pytest.raises(ConfigError, match=r"sweep\.tol: value -1"):
        experiment_jobs(config, "cifar10_tolerance")


def test_sweep_setting_that_cannot_vary_is_refused(tmp_path):
    config = _config(tmp_path, "pointcloud", {"sweep": {"seeds": [1, 2]}})
    with pytest.raises(ConfigError, match="sweep: unknown setting 'seeds'"):
        experiment_jobs(config, "pointcloud")


def test_train_on_a_sweep_experiment_without_its_setting_lists_the_forms(tmp_path):
    config = _config(tmp_path, "cifar10_tolerance", TOLERANCE)
    with pytest.raises(UnknownNameError) as error:
        run_one(config, "cifar10_tolerance", "hbnode", 0, log=lambda _m: None)
    assert "hbnode@tol=0.1, hbnode@tol=0.01" in str(error.value)
    assert not (tmp_path / "runs").exists()


def test_empty_experiments_is_an_error_naming_the_key(tmp_path, capsys):
    path = tmp_path / "empty.yaml"
    path.write_text(yaml.safe_dump({"profile": "t", "results_dir": str(tmp_path),
                                    "experiments": {}}))
    with pytest.raises(ConfigError, match="experiments: is empty; name at least one"):
        load_config(path)
    assert main(["plan", "--config", str(path)]) == 2
    assert "experiments: is empty" in capsys.readouterr().err


def test_claims_without_any_runs_exits_non_zero_naming_what_to_run(tmp_path, capsys):
    config = write_config(tmp_path, tmp_path, {"pointcloud": {"setup": "hbnode2021",
                                                              "seeds": 1}})
    assert main(["claims", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "no aggregated run records" in err and "snakemake --cores all" in err
    assert not (tmp_path / "claims.md").exists()


def test_a_bad_base_setting_is_not_blamed_on_a_sweep_value(tmp_path):
    config = _config(tmp_path, "rl", {"seeds": 1, "perturbations": 7,
                                      "sweep": {"env": ["Swimmer-v5"]}})
    with pytest.raises(ValueError) as error:
        experiment_jobs(config, "rl")
    assert "sweep" not in str(error.value) and "got 7" in str(error.value)
