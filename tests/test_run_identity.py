"""Run identity: a run folder resumes only under the settings that made it; a folder of other
settings is moved aside and the run starts afresh (one line says so)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from odebench.records import run_dir
from odebench.records.identity import IDENTITY_FILE, fingerprint
from odebench.tasks.run import run_one

POINTCLOUD = {"setup": "hbnode2021", "models": ["hbnode"], "seeds": 1, "epochs": 6,
              "tol": 1.0e-3, "n_train": 12, "batch_size": 12, "dtype": "float64"}
RL = {"models": ["odetoode"], "seeds": 1, "iterations": 3, "perturbations": 4, "horizon": 10,
      "backend": "serial", "sweep": {"env": ["Swimmer-v5"]}}
RL_KEY = "odetoode@env=Swimmer-v5"


def _config(tmp_path, experiment: str, entry: dict) -> dict:
    return {"profile": "test", "results_dir": str(tmp_path), "device": "cpu", "threads": 1,
            "offline": True, "experiments": {experiment: entry}}


def _interrupt_after(iteration: int):
    def log(message: str) -> None:
        if f"epoch {iteration}/" in message or f"iteration {iteration}/" in message:
            raise KeyboardInterrupt
    return log


def _train(tmp_path, experiment, key, entry, log=None):
    messages: list[str] = []
    summary = run_one(_config(tmp_path, experiment, entry), experiment, key, 0,
                      log=log or messages.append)
    return summary, messages


CASES = [("pointcloud", "hbnode", POINTCLOUD, {"lr": 0.002}),
         ("rl", RL_KEY, RL, {"sigma": 0.05})]


@pytest.mark.parametrize(("experiment", "key", "entry", "change"), CASES,
                         ids=["supervised", "rl"])
def test_equal_identity_resumes_the_interrupted_run(tmp_path, experiment, key, entry, change):
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, experiment, key, entry, log=_interrupt_after(2))
    folder = run_dir(tmp_path, experiment, key, 0)
    assert len(pd.read_csv(folder / "epochs.csv")) == 2 + (experiment == "rl")  # rl: θ0's row
    summary, messages = _train(tmp_path, experiment, key, entry)
    assert any("resum" in m for m in messages), messages
    assert not any("not resumed" in m for m in messages)
    assert not (tmp_path / "replaced").exists()
    recorded = json.loads((folder / IDENTITY_FILE).read_text())
    assert recorded["fingerprint"] == summary["fingerprint"] == fingerprint(recorded["identity"])


@pytest.mark.parametrize(("experiment", "key", "entry", "change"), CASES,
                         ids=["supervised", "rl"])
def test_changed_setting_moves_the_old_folder_aside_and_starts_afresh(tmp_path, experiment,
                                                                        key, entry, change):
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, experiment, key, entry, log=_interrupt_after(2))
    folder = run_dir(tmp_path, experiment, key, 0)
    old_rows = (folder / "epochs.csv").read_text()
    summary, messages = _train(tmp_path, experiment, key, {**entry, **change})
    [line] = [m for m in messages if "not resumed" in m]
    name = next(iter(change))
    assert str(folder) in line and f"{name}:" in line and "starting afresh" in line
    assert not any("resuming" in m for m in messages)
    [moved] = (tmp_path / "replaced" / experiment / key).iterdir()
    assert moved.name.startswith("seed0-") and str(moved) in line
    assert (moved / "epochs.csv").read_text() == old_rows  # nothing of the old run is lost
    rows = pd.read_csv(folder / "epochs.csv")
    assert len(rows) == entry.get("epochs", entry.get("iterations")) + (experiment == "rl")
    assert summary["config"][name] == change[name] and summary["status"] == "completed"


def test_folder_without_identity_is_not_resumed(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, "pointcloud", "hbnode", POINTCLOUD, log=_interrupt_after(2))
    folder = run_dir(tmp_path, "pointcloud", "hbnode", 0)
    (folder / IDENTITY_FILE).unlink()  # as an older odebench left it
    _, messages = _train(tmp_path, "pointcloud", "hbnode", POINTCLOUD)
    assert any("no readable identity.json" in m for m in messages), messages
    assert len(pd.read_csv(folder / "epochs.csv")) == POINTCLOUD["epochs"]


def test_execution_only_settings_do_not_change_the_identity(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, "rl", RL_KEY, {**RL, "checkpoint_every": 1}, log=_interrupt_after(2))
    _, messages = _train(tmp_path, "rl", RL_KEY, {**RL, "backend": "pool", "workers": 2})
    assert not any("not resumed" in m for m in messages), messages
    assert any("resum" in m for m in messages)


def test_seed_outside_the_plan_is_said_and_recorded(tmp_path):
    messages: list[str] = []
    config = _config(tmp_path, "pointcloud", {**POINTCLOUD, "epochs": 1})
    run_one(config, "pointcloud", "hbnode", 5, log=messages.append)
    assert "seed 5 is not among this config's seeds [0]" in messages[0]
    assert (run_dir(tmp_path, "pointcloud", "hbnode", 5) / "summary.json").is_file()


def test_a_failed_start_leaves_no_run_folder(tmp_path):
    entry = {**POINTCLOUD, "model_options": {"hbnode": {"no_such_option": 1}}}
    with pytest.raises(ValueError, match="no_such_option"):
        _train(tmp_path, "pointcloud", "hbnode", entry)
    assert not (tmp_path / "runs").exists()


def test_quiet_train_still_says_that_a_folder_was_moved_aside(tmp_path, capsys):
    from odebench.cli import main
    from tests.helpers import write_config

    entry = {**POINTCLOUD, "epochs": 1}
    args = ["train", "--experiment", "pointcloud", "--model", "hbnode", "--seed", "0", "--quiet"]
    assert main([*args, "--config", str(write_config(tmp_path, tmp_path,
                                                     {"pointcloud": entry}))]) == 0
    changed = write_config(tmp_path, tmp_path, {"pointcloud": {**entry, "lr": 0.002}})
    capsys.readouterr()
    assert main([*args, "--config", str(changed)]) == 0
    out = capsys.readouterr().out
    assert "not resumed" in out and "settings.lr: 0.01 -> 0.002" in out
