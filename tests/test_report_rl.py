"""ES RL report on synthetic records: final returns over seeds, and the paper's claims in the
table tested by the ledger's rule (holds / contradicted / inconclusive / not run)."""

from __future__ import annotations

import pandas as pd
import pytest

from odebench.report.claims import experiment_verdicts
from odebench.report.rl import rl_markdown, rl_table


def _epochs(curves: dict[tuple[str, str], list[list[float]]]) -> pd.DataFrame:
    """(env, policy) -> per-seed eval-return curves -> an aggregate epochs frame."""
    rows = []
    for (env, policy), seeds in curves.items():
        for seed, curve in enumerate(seeds):
            for i, value in enumerate(curve, start=1):
                rows.append({"experiment": "rl", "model": policy, "setting": f"env={env}",
                             "seed": seed, "epoch": i, "iteration": i, "env_steps": 100 * i,
                             "eval_return": value, "reward_mean": value, "seconds": 0.5})
    return pd.DataFrame(rows)


def _summaries(epochs: pd.DataFrame, status: str = "completed") -> pd.DataFrame:
    """One summary row per run of ``epochs``, every run with ``status``."""
    runs = epochs[["model", "setting", "seed"]].drop_duplicates()
    return runs.assign(status=status, n_params=10)


def _claims(epochs: pd.DataFrame, runs: pd.DataFrame) -> dict[str, str]:
    frame = experiment_verdicts(epochs, runs, "rl", "rl")
    return dict(zip(frame["id"], frame["verdict"], strict=True))


def test_table_means_gains():
    epochs = _epochs({("HalfCheetah-v5", "odetoode"): [[0, 5, 10], [0, 7, 12]],
                      ("HalfCheetah-v5", "deepnet"): [[0, 0, 1], [0, -1, -2]]})
    table = rl_table(epochs, _summaries(epochs), ["odetoode", "deepnet"])
    ode = table[table["policy"] == "odetoode"].iloc[0]
    assert ode["final_return_mean"] == pytest.approx(11.0)
    assert ode["gain_mean"] == pytest.approx(11.0) and ode["env_steps_mean"] == 300


def test_claims_hold_when_odetoode_leads_and_baselines_fail_somewhere():
    epochs = _epochs({
        ("HalfCheetah-v5", "odetoode"): [[0, 10], [0, 12], [0, 11]],
        ("HalfCheetah-v5", "deepnet"): [[0, 5], [0, 6], [0, 5.5]],
        ("Swimmer-v5", "odetoode"): [[0, 8], [0, 9], [0, 8.5]],
        ("Swimmer-v5", "deepnet"): [[0, -2], [0, -2.1], [0, -1.9]],  # got worse on Swimmer
    })
    verdicts = _claims(epochs, _summaries(epochs))
    assert verdicts["O2O-F2-top-two"] == "holds"     # Swimmer: not one of the four named
    assert verdicts["O2O-F2-sole-best"] == "not run"  # needs all four named tasks
    assert verdicts["O2O-F2-others-fail"] == "holds"
    assert verdicts["O2O-F2-learns"] == "holds"


def test_claims_are_contradicted_when_a_baseline_wins():
    epochs = _epochs({
        ("HalfCheetah-v5", "odetoode"): [[0, 1], [0, 2], [0, 1.5]],
        ("HalfCheetah-v5", "baseode"): [[0, 10], [0, 11], [0, 10.5]],
        ("Swimmer-v5", "odetoode"): [[0, 1], [0, 1.2], [0, 1.1]],
        ("Swimmer-v5", "baseode"): [[0, 10], [0, 12], [0, 11]],
        ("Swimmer-v5", "deepnet"): [[0, 5], [0, 6], [0, 5.5]],
    })
    runs = _summaries(epochs)
    verdicts = _claims(epochs, runs)
    assert verdicts["O2O-F2-top-two"] == "contradicted"  # third of three on Swimmer
    # BaseODE learned on both tasks run: a failure on a task not run is not ruled out
    assert verdicts["O2O-F2-others-fail"] == "inconclusive"
    table = rl_table(epochs, runs)
    text = rl_markdown(table, experiment_verdicts(epochs, runs, "rl", "rl"), "rl")
    assert "| HalfCheetah-v5 | BaseODE | 3 |" in text and "| O2O-F2-top-two |" in text
    assert "contradicted" in text


def test_one_seed_leaves_the_comparisons_inconclusive():
    epochs = _epochs({("Swimmer-v5", "odetoode"): [[0, 10]],
                      ("Swimmer-v5", "deepnet"): [[0, 1]],
                      ("Swimmer-v5", "baseode"): [[0, 5]]})
    verdicts = _claims(epochs, _summaries(epochs))
    assert verdicts["O2O-F2-top-two"] == "inconclusive"
    assert verdicts["O2O-F2-learns"] == "inconclusive"


def test_initial_return_is_theta0s_and_its_row_is_not_an_iteration():
    """Records with an iteration-0 row (θ0's evaluation, no ES step): the initial return is
    that row's, the time per iteration leaves it out."""
    epochs = _epochs({("Swimmer-v5", "odetoode"): [[5.0, 8.0]]})
    theta0 = {"experiment": "rl", "model": "odetoode", "setting": "env=Swimmer-v5", "seed": 0,
              "epoch": 0, "iteration": 0, "env_steps": 0, "eval_return": -3.0,
              "seconds": 9.0}
    epochs = pd.concat([epochs, pd.DataFrame([theta0])], ignore_index=True)
    row = rl_table(epochs, _summaries(epochs)).iloc[0]
    assert row["initial_return_mean"] == -3.0 and row["final_return_mean"] == 8.0
    assert row["gain_mean"] == 11.0 and row["seconds_per_iteration_mean"] == 0.5
