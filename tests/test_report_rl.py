"""ES RL report on synthetic records: final returns over seeds, the learned criterion, and the
paper's ordinal claims checked claim by claim (holds / does not hold / not checked)."""

from __future__ import annotations

import pandas as pd
import pytest

from odebench.report.rl import check_claims, learned, rl_markdown, rl_table


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


def _claims(table: pd.DataFrame) -> dict[str, str]:
    frame = check_claims(table)
    return dict(zip(frame["claim"], frame["verdict"], strict=True))


def test_table_means_gains_and_learned():
    epochs = _epochs({("HalfCheetah-v5", "odetoode"): [[0, 5, 10], [0, 7, 12]],
                      ("HalfCheetah-v5", "deepnet"): [[0, 0, 1], [0, -1, -2]]})
    table = rl_table(epochs, _summaries(epochs), ["odetoode", "deepnet"])
    ode = table[table["policy"] == "odetoode"].iloc[0]
    assert ode["final_return_mean"] == pytest.approx(11.0)
    assert ode["gain_mean"] == pytest.approx(11.0) and ode["env_steps_mean"] == 300
    assert learned(ode)
    assert not learned(table[table["policy"] == "deepnet"].iloc[0])  # gain -0.5


def test_claims_hold_when_odetoode_leads_and_baselines_fail_somewhere():
    epochs = _epochs({
        ("HalfCheetah-v5", "odetoode"): [[0, 10], [0, 12]],
        ("HalfCheetah-v5", "deepnet"): [[0, 5], [0, 6]],
        ("Swimmer-v5", "odetoode"): [[0, 8], [0, 9]],
        ("Swimmer-v5", "deepnet"): [[0, 0], [0, 0.1]],   # does not learn on Swimmer
    })
    verdicts = _claims(rl_table(epochs, _summaries(epochs)))
    assert verdicts["ODEtoODE is solely the best on Humanoid, HalfCheetah, Humanoid_Stand "
                    "and Swimmer_15"] == "holds"
    assert verdicts["ODEtoODE is one of the two best policies on the remaining tasks"] == \
        "holds"
    assert verdicts["ODEtoODE is the only policy that learns good policies for Humanoid"] == \
        "not checked"
    assert verdicts["every other policy class fails on at least one task"] == "holds"


def test_claims_fail_when_a_baseline_wins():
    epochs = _epochs({
        ("HalfCheetah-v5", "odetoode"): [[0, 1], [0, 2]],
        ("HalfCheetah-v5", "baseode"): [[0, 10], [0, 11]],
        ("Swimmer-v5", "odetoode"): [[0, 1], [0, 1]],
        ("Swimmer-v5", "baseode"): [[0, 10], [0, 12]],
    })
    table = rl_table(epochs, _summaries(epochs))
    verdicts = _claims(table)
    assert verdicts["ODEtoODE is solely the best on Humanoid, HalfCheetah, Humanoid_Stand "
                    "and Swimmer_15"] == "does not hold"
    assert verdicts["every other policy class fails on at least one task"] == "does not hold"
    text = rl_markdown(table, check_claims(table), "rl")
    assert "| HalfCheetah-v5 | BaseODE | 2 |" in text and "does not hold" in text


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
