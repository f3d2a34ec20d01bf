"""The ES RL task end to end at toy size: records per iteration, parameter matching, resume
after a kill gives the records of an uninterrupted run, bad settings named."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from odebench.records import read_epochs, read_summaries
from odebench.report.rl import rl_table
from odebench.rl.envs import dm_control_available
from odebench.rl.es import ES
from odebench.rl.rollout import rollout_batch
from odebench.tasks import rl as rl_task
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
    assert {"numpy", "scipy", "mujoco", "gymnasium", "dm_control", "cpu_model"} <= set(
        summary["environment"])
    epochs = pd.read_csv(tmp_path / f"runs/rl/{policy}@env=Swimmer-v5/seed0/epochs.csv")
    assert list(epochs["iteration"]) == [0, 1, 2, 3]  # θ0 evaluated at iteration 0
    assert epochs["env_steps"].is_monotonic_increasing
    assert list(epochs["env_steps"]) == [0, 4 * 20, 2 * 4 * 20, 3 * 4 * 20]  # training only
    assert list(epochs["eval_env_steps"]) == [5 * 20 * i for i in (1, 2, 3, 4)]  # 5 episodes
    assert epochs["eval_return"].notna().all() and (epochs["eval_return_std"] > 0).all()
    assert list(epochs["nonfinite_candidates"].iloc[1:]) == [0, 0, 0]
    assert summary["final"]["eval_env_steps"] == 4 * 5 * 20
    assert summary["final"]["initial_eval_return"] == epochs["eval_return"].iloc[0]
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
    summary = json.loads((part / "runs/rl/odetoode@env=Swimmer-v5/seed0/summary.json").read_text())
    kept = b.loc[b["iteration"] <= 2, "seconds"].sum()  # the first invocation's rows
    assert summary["job_seconds"] == pytest.approx(summary["wall_seconds"] + kept, abs=2e-3)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="backend"):
        experiment_task({"experiments": {"rl": {"backend": "threads"}}}, "rl")
    with pytest.raises(ValueError, match="ray_address"):
        experiment_task({"experiments": {"rl": {"backend": "ray"}}}, "rl")


@pytest.mark.parametrize(("entry", "message"), [
    ({"estimator": "central"}, "estimator: 'central' is not one of ['forward', 'antithetic', "
                               "'orthogonal_antithetic']"),
    ({"return_normalisation": "median"}, "return_normalisation: 'median' is not one of "
                                         "['none', 'mean', 'std', 'zscore', 'ranks']"),
    ({"perturbations": 7}, "perturbations must be even with estimator orthogonal_antithetic"),
    ({"perturbations": 7, "estimator": "antithetic"}, "perturbations must be even with "
                                                      "estimator antithetic"),
    ({"eval_episodes": 0}, "eval_episodes: 0 is less than the minimum of 1"),
    ({"antithetic": True}, "unknown setting 'antithetic'; valid: .*estimator"),
])
def test_bad_es_settings_are_one_line_before_any_rollout(entry, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")) \
            as error:
        experiment_task({"experiments": {"rl": entry}}, "rl")
    assert "\n" not in str(error.value)
    assert experiment_task({"experiments": {"rl": {"perturbations": 7, "estimator": "forward"}}},
                           "rl")[1]["perturbations"] == 7


def test_resolve_names_bad_values_of_a_config_built_in_code():
    """Without the schema (a task called directly) the task's own checks name the key."""
    with pytest.raises(ValueError, match=r"^eval_episodes must be an integer >= 1 .*got 0$"):
        rl_task.resolve("odetoode2020", {"eval_episodes": 0})
    with pytest.raises(ValueError, match="ES estimator must be one of forward, antithetic, "
                                         "orthogonal_antithetic, got 'central'"):
        rl_task.resolve("odetoode2020", {"estimator": "central"})


# --- evaluation, seeds and faults ----------------------------------------------------------

def _run(tmp_path, **entry):
    config = _config(tmp_path, models=["odetoode"], **entry)
    summary = run_one(config, "rl", "odetoode@env=Swimmer-v5", 0, log=lambda _: None)
    folder = tmp_path / "runs/rl/odetoode@env=Swimmer-v5/seed0"
    return summary, pd.read_csv(folder / "epochs.csv"), folder


def test_theta0_is_evaluated_at_iteration_0_as_the_mean_of_its_episodes(tmp_path):
    summary, epochs, _ = _run(tmp_path, eval_episodes=3, iterations=1)
    seeds = rl_task.derive_seeds(0)
    assert summary["seeds"] == {"run": 0, **seeds} and len(set(seeds.values())) == 3
    cfg = rl_task.resolve("odetoode2020", {"env": "Swimmer-v5"})
    policy = rl_task.build_policy(cfg, "odetoode", "Swimmer-v5")
    theta0 = policy.initial(np.random.default_rng(seeds["init"]))
    resets = np.random.default_rng(seeds["env"]).integers(0, 2**31 - 1, size=3)
    episodes = rollout_batch(policy, np.repeat(theta0[None], 3, axis=0), "Swimmer-v5", 20,
                             resets).returns
    first = epochs.iloc[0]
    assert first["iteration"] == 0 and first["env_steps"] == 0 and first["eval_env_steps"] == 60
    assert first["eval_return"] == pytest.approx(episodes.mean(), rel=1e-12)
    assert first["eval_return_std"] == pytest.approx(episodes.std(), rel=1e-12)
    assert episodes.std() > 0  # three different resets
    assert summary["final"]["initial_eval_return"] == first["eval_return"]


def test_the_noise_seed_does_not_move_theta0(tmp_path, monkeypatch):
    _, base, _ = _run(tmp_path / "a")
    derive = rl_task.derive_seeds
    monkeypatch.setattr(rl_task, "derive_seeds",
                        lambda seed: {**derive(seed), "noise": derive(seed)["noise"] + 1})
    _, moved, _ = _run(tmp_path / "b")
    assert moved["eval_return"].iloc[0] == base["eval_return"].iloc[0]   # same θ0, same resets
    assert moved["reward_mean"].iloc[1] != base["reward_mean"].iloc[1]   # other perturbations


def test_a_nan_candidate_is_counted_and_the_run_goes_on(tmp_path, monkeypatch):
    """A candidate whose parameters are NaN really rolls out (NaN actions, NaN return)."""
    perturb = ES.perturb

    def one_nan_candidate(self, theta, eps):
        candidates = perturb(self, theta, eps)
        candidates[1] = np.nan
        return candidates

    monkeypatch.setattr(ES, "perturb", one_nan_candidate)
    summary, epochs, _ = _run(tmp_path, obs_norm=True)
    assert summary["status"] == "completed"
    assert list(epochs["iteration"]) == [0, 1, 2, 3]
    assert list(epochs["nonfinite_candidates"].iloc[1:]) == [1, 1, 1]
    assert np.isfinite(epochs[["reward_mean", "reward_min", "eval_return"]].iloc[1:]).all().all()


def _poison_backend(monkeypatch, poison):
    """Backends whose ``evaluate`` results pass through ``poison(call, flat, result)``."""
    from odebench.rl import backends

    make = backends.make_backend

    class Poisoned:
        def __init__(self, inner):
            self.inner, self.calls = inner, 0

        def evaluate(self, flat, seeds, norm=None):
            result = self.inner.evaluate(flat, seeds, norm)
            self.calls += 1
            poison(self.calls, flat, result)
            return result

        def close(self):
            self.inner.close()

    monkeypatch.setattr(backends, "make_backend", lambda *a, **k: Poisoned(make(*a, **k)))


def test_all_candidates_non_finite_skips_the_update(tmp_path, monkeypatch):
    def all_training_returns_nan(call, flat, result):
        if call == 2:                      # iteration 1's candidates (call 1: θ0's evaluation)
            result.returns[:] = np.nan

    _poison_backend(monkeypatch, all_training_returns_nan)
    summary, epochs, folder = _run(tmp_path)
    assert summary["status"] == "completed"
    assert list(epochs["nonfinite_candidates"].iloc[1:]) == [4, 0, 0]
    assert pd.isna(epochs["reward_mean"].iloc[1]) and epochs["eval_return"].notna().all()
    checkpoint = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert checkpoint["iteration"] == 3 and checkpoint["es"]["iteration"] == 2  # one skipped


@pytest.mark.parametrize("fault", ["theta", "evaluation"])
def test_a_non_finite_theta_ends_diverged_with_the_last_good_checkpoint(tmp_path, monkeypatch,
                                                                        fault):
    if fault == "theta":
        update = ES.update

        def nan_at_second_update(self, theta, grad):
            new = update(self, theta, grad)
            return new * np.nan if self.iteration == 2 else new

        monkeypatch.setattr(ES, "update", nan_at_second_update)
    else:
        def every_episode_nan(call, flat, result):
            if call == 5:                  # θ's evaluation after update 2
                result.returns[:] = np.nan

        _poison_backend(monkeypatch, every_episode_nan)
    summary, epochs, folder = _run(tmp_path, iterations=4)
    assert summary["status"] == "diverged"
    assert list(epochs["iteration"]) == [0, 1, 2]
    assert pd.isna(epochs["eval_return"].iloc[2])
    checkpoint = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert checkpoint["iteration"] == 1 and torch.isfinite(checkpoint["theta"]).all()
    assert [row["iteration"] for row in checkpoint["rows"]] == [0, 1]


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


def test_theta0_without_a_finite_return_ends_diverged_without_a_checkpoint(tmp_path,
                                                                           monkeypatch):
    def theta0_nan(call, flat, result):
        if call == 1:
            result.returns[:] = np.nan

    _poison_backend(monkeypatch, theta0_nan)
    messages: list[str] = []
    config = _config(tmp_path, models=["odetoode"])
    summary = run_one(config, "rl", "odetoode@env=Swimmer-v5", 0, log=messages.append)
    folder = tmp_path / "runs/rl/odetoode@env=Swimmer-v5/seed0"
    assert summary["status"] == "diverged"
    epochs = pd.read_csv(folder / "epochs.csv")
    assert list(epochs["iteration"]) == [0] and epochs["eval_nonfinite"].iloc[0] == 5
    assert not (folder / "checkpoint.pt").exists()
    assert any("θ0 itself has no finite return: no checkpoint" in m for m in messages)
