"""Size ablation of the ES baselines (ODEtoODE Sec. 5.1.2): each widened baseline runs at
several parameter budgets, and tables, figures and claims keep the best size per env."""

from __future__ import annotations

import pandas as pd
import pytest

from odebench.report.build import aggregate, build_figure, build_table
from odebench.report.claims import load_records
from odebench.report.size_ablation import select_sizes, sizes_note
from odebench.tasks import rl
from odebench.tasks.run import UnknownNameError, experiment_jobs, run_one

TINY = {"seeds": 1, "iterations": 2, "perturbations": 4, "horizon": 10, "backend": "serial",
        "sweep": {"env": ["Swimmer-v5"]}}


def _config(tmp_path, **entry) -> dict:
    return {"profile": "test", "results_dir": str(tmp_path), "device": "cpu", "threads": 1,
            "offline": True, "experiments": {"rl": {**TINY, **entry}}}


def test_widened_baselines_get_one_job_per_size_and_odetoode_and_hypernet_one(tmp_path):
    config = _config(tmp_path, size_ablation=[1, 1.5],
                     models=["odetoode", "deepnet", "nanode", "hypernet"])
    keys = [job.key for job in experiment_jobs(config, "rl")]
    assert keys == ["odetoode@env=Swimmer-v5", "deepnet+p1@env=Swimmer-v5",
                    "deepnet+p1.5@env=Swimmer-v5", "nanode+p1@env=Swimmer-v5",
                    "nanode+p1.5@env=Swimmer-v5", "hypernet@env=Swimmer-v5"]
    plain = _config(tmp_path, models=["deepnet"])
    assert [job.key for job in experiment_jobs(plain, "rl")] == ["deepnet@env=Swimmer-v5"]


def test_each_size_has_at_least_its_share_of_odetoodes_parameters(tmp_path):
    config = _config(tmp_path, size_ablation=[1, 2], models=["odetoode", "deepresnet"])
    ode = run_one(config, "rl", "odetoode@env=Swimmer-v5", 0, log=lambda _m: None)
    one = run_one(config, "rl", "deepresnet+p1@env=Swimmer-v5", 0, log=lambda _m: None)
    two = run_one(config, "rl", "deepresnet+p2@env=Swimmer-v5", 0, log=lambda _m: None)
    assert ode["n_params"] <= one["n_params"] < 2 * ode["n_params"] <= two["n_params"]
    assert one["model"] == two["model"] == "deepresnet"
    assert two["config"]["param_ratio"] == 2.0


def test_bad_sizes_and_unknown_variants_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"size_ablation\.0: 0\.5 is less than the minimum"):
        experiment_jobs(_config(tmp_path, size_ablation=[0.5]), "rl")
    with pytest.raises(ValueError, match=r"size_ablation must be a list .* got \[1, 1\]"):
        rl.resolve("odetoode2020", {"size_ablation": [1, 1]})  # the task's own check
    config = _config(tmp_path, size_ablation=[1, 2], models=["deepnet"])
    with pytest.raises(UnknownNameError, match=r"no variant 'p3' here \(valid: p1, p2\)"):
        run_one(config, "rl", "deepnet+p3@env=Swimmer-v5", 0, log=lambda _m: None)
    assert not (tmp_path / "runs").exists()


def _frames(finals: dict[tuple[str, int], float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aggregate-like frames: one two-row run per (model, seed) ending at ``finals``."""
    epochs, runs = [], []
    for (model, seed), final in finals.items():
        for iteration, value in ((0, 0.0), (1, final)):
            epochs.append({"experiment": "rl", "model": model, "setting": "env=Swimmer-v5",
                           "seed": seed, "iteration": iteration, "eval_return": value})
        runs.append({"experiment": "rl", "model": model, "setting": "env=Swimmer-v5",
                     "seed": seed, "status": "completed"})
    return pd.DataFrame(epochs), pd.DataFrame(runs)


def test_the_best_mean_final_return_is_kept_and_named_by_the_policy():
    epochs, runs = _frames({("deepnet+p1", 0): 10.0, ("deepnet+p1", 1): 30.0,
                            ("deepnet+p2", 0): 25.0, ("deepnet+p2", 1): 25.0,
                            ("odetoode", 0): 5.0})
    kept, kept_runs = select_sizes(epochs, runs)
    assert set(kept["model"]) == {"deepnet", "odetoode"}
    assert kept.loc[kept["model"] == "deepnet", "eval_return"].max() == 25.0  # p2: mean 25 > 20
    assert list(kept_runs.loc[kept_runs["model"] == "deepnet", "size"]) == ["p2 of 2 sizes"] * 2
    assert kept_runs.loc[kept_runs["model"] == "odetoode", "size"].isna().all()
    assert "deepnet p2 (Swimmer-v5)" in sizes_note(kept_runs)


def test_a_tie_keeps_the_smaller_size_and_no_ablation_changes_nothing():
    epochs, runs = _frames({("nanode+p2", 0): 7.0, ("nanode+p1", 0): 7.0})
    _, kept_runs = select_sizes(epochs, runs)
    assert list(kept_runs["size"]) == ["p1 of 2 sizes"]
    plain, plain_runs = _frames({("nanode", 0): 7.0})
    same, same_runs = select_sizes(plain, plain_runs)
    pd.testing.assert_frame_equal(same, plain)
    assert "size" not in same_runs and sizes_note(same_runs) == ""


def test_table_figure_and_claims_show_the_chosen_size(tmp_path):
    config = _config(tmp_path, size_ablation=[1, 2], models=["odetoode", "baseode"])
    jobs = experiment_jobs(config, "rl")
    for job in jobs:
        run_one(config, "rl", job.key, job.seed, log=lambda _m: None)
    planned = [f"{job.key}/seed{job.seed}" for job in jobs]
    aggregate(tmp_path, "rl", planned, log=lambda _m: None)
    markdown = build_table(tmp_path, "rl")["md"].read_text()
    assert "of 2 sizes)" in markdown and "+p" not in markdown
    assert build_figure(tmp_path, "rl")["png"].stat().st_size > 0
    records, _ = load_records(tmp_path, "rl", planned)
    assert set(records["model"]) == {"odetoode", "baseode"}
