"""The ES RL task end to end at toy size: records per iteration, parameter matching, resume
after a kill gives the records of an uninterrupted run, bad settings named."""

from __future__ import annotations

import pandas as pd
import pytest

from odebench.records import read_epochs, read_summaries
from odebench.report.rl import rl_table
from odebench.rl.envs import dm_control_available
from odebench.tasks.run import experiment_jobs, experiment_task, run_one

TINY = {"seeds": 1, "iterations": 3, "perturbations": 4, "horizon": 20, "backend": "serial",
        "sweep": {"env": ["Swimmer-v5"]}}


def _config(tmp_path, **entry):
    return {"profile": "test", "results_dir": str(tmp_path), "device": "cpu", "threads": 1,
            "offline": True, "experiments": {"rl": {**TINY, **entry}}}


def test_jobs_are_policy_at_env_per_seed():
    config = {"experiments": {"rl": {"seeds": 2, "sweep": {
        "env": ["Swimmer-v5", "HalfCheetah-v5"]}}}}
    keys = {(j.key, j.seed) for j in experiment_jobs(config, "rl")}
    assert len(keys) == 6 * 2 * 2
    assert ("odetoode@env=HalfCheetah-v5", 1) in keys


@pytest.mark.parametrize("policy", ["odetoode", "deepnet"])
def test_iterations_write_rows_with_returns_steps_and_residuals(tmp_path, policy):
    config = _config(tmp_path, models=[policy])
    summary = run_one(config, "rl", f"{policy}@env=Swimmer-v5", 0, log=lambda _: None)
    assert summary["status"] == "completed"
    assert summary["env"] == "Swimmer-v5" and "gymnasium" in summary["env_versions"]
    epochs = pd.read_csv(tmp_path / f"runs/rl/{policy}@env=Swimmer-v5/seed0/epochs.csv")
    assert list(epochs["iteration"]) == [1, 2, 3]
    assert epochs["env_steps"].is_monotonic_increasing
    assert epochs["env_steps"].iloc[-1] == 3 * 4 * 20  # training rollouts (not evaluations)
    assert epochs["eval_return"].notna().all()
    if policy == "odetoode":
        residuals = [c for c in epochs if c.startswith("residual_")]
        assert residuals and (epochs[residuals] < 1e-10).all().all()


@pytest.mark.skipif(not dm_control_available(), reason="dm_control is not installed")
def test_a_deepmind_control_task_runs_and_records_its_versions(tmp_path):
    env = "dm_control/swimmer-swimmer15"
    config = _config(tmp_path, models=["odetoode"], iterations=1, sweep={"env": [env]})
    [job] = experiment_jobs(config, "rl")
    assert job.key == "odetoode@env=dm_control.swimmer-swimmer15"   # one folder per run
    summary = run_one(config, "rl", job.key, 0, log=lambda _: None)
    assert summary["status"] == "completed" and summary["env"] == env
    assert summary["env_versions"]["dm_control"].startswith("1.")
    epochs = read_epochs(tmp_path, "rl")
    assert epochs["env_steps"].iloc[-1] == 4 * 20
    assert list(rl_table(epochs, read_summaries(tmp_path, "rl"))["env"]) == [env]


def test_baselines_are_not_smaller_than_odetoode(tmp_path):
    config = _config(tmp_path, models=["odetoode", "deepresnet"])
    ode = run_one(config, "rl", "odetoode@env=Swimmer-v5", 0, log=lambda _: None)
    deep = run_one(config, "rl", "deepresnet@env=Swimmer-v5", 0, log=lambda _: None)
    assert deep["n_params"] >= ode["n_params"]


def test_resume_after_a_partial_run_matches_an_uninterrupted_run(tmp_path):
    whole, part = tmp_path / "whole", tmp_path / "part"
    whole.mkdir()
    part.mkdir()
    run_one(_config(whole, models=["odetoode"]), "rl", "odetoode@env=Swimmer-v5", 0,
            log=lambda _: None)

    def stop_after_iteration_2(message: str) -> None:
        if "iteration 2/" in message:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_one(_config(part, models=["odetoode"]), "rl", "odetoode@env=Swimmer-v5", 0,
                log=stop_after_iteration_2)
    messages: list[str] = []
    run_one(_config(part, models=["odetoode"]), "rl", "odetoode@env=Swimmer-v5", 0,
            log=messages.append)
    assert "resuming" in messages[0] and "after iteration 2" in messages[0]
    a = pd.read_csv(whole / "runs/rl/odetoode@env=Swimmer-v5/seed0/epochs.csv")
    b = pd.read_csv(part / "runs/rl/odetoode@env=Swimmer-v5/seed0/epochs.csv")
    columns = [c for c in a if c != "seconds"]
    pd.testing.assert_frame_equal(a[columns], b[columns])


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="backend"):
        experiment_task({"experiments": {"rl": {"backend": "threads"}}}, "rl")
    with pytest.raises(ValueError, match="ray_address"):
        experiment_task({"experiments": {"rl": {"backend": "ray"}}}, "rl")


def test_rl_params_command_prints_matched_widths_and_names_bad_envs():
    from tests.conftest import run_cli

    done = run_cli("rl-params", "--env", "HalfCheetah-v5")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    params = {row[3]: int(row[5]) for row in rows}
    assert params["odetoode"] == 1152  # n·d + m·n + n + 3n² with d = 17, m = 6, n = 16
    assert all(params[p] >= 1152 for p in ("deepnet", "deepresnet", "baseode", "nanode"))
    bad = run_cli("rl-params", "--env", "Nope-v1")
    assert bad.returncode == 2 and "unknown environment 'Nope-v1'" in bad.stderr
