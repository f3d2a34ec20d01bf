"""Only planned runs reach aggregates, tables and claims: a folder outside the config's plan
(a by-hand seed, a sweep value since removed) is ignored, with one line saying so."""

from __future__ import annotations

import shutil

import pandas as pd

from odebench.cli import main
from odebench.config import load_config
from odebench.records import run_dir
from odebench.report.build import aggregate
from odebench.report.claims import load_records
from odebench.tasks.run import run_one
from tests.helpers import write_config

POINTCLOUD = {"setup": "hbnode2021", "models": ["hbnode"], "seeds": 1, "epochs": 2,
              "tol": 1.0e-3, "n_train": 12, "batch_size": 12}


def test_aggregate_reads_the_plan_and_names_what_it_ignores(tmp_path, capsys):
    path = write_config(tmp_path, tmp_path, {"pointcloud": POINTCLOUD})
    config = load_config(path)
    for seed in (0, 5):  # seed 5: trained by hand, outside `seeds: 1`
        run_one(config, "pointcloud", "hbnode", seed, log=lambda _m: None)
    stray = run_dir(tmp_path, "pointcloud", "node@tol=0.1", 0)  # an old sweep's folder
    shutil.copytree(run_dir(tmp_path, "pointcloud", "hbnode", 0), stray)
    capsys.readouterr()
    assert main(["aggregate", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "ignored" in line]
    assert "ignored 2 run folder(s) outside this config's plan" in line
    assert "hbnode/seed5" in line and "node@tol=0.1/seed0" in line
    runs = pd.read_csv(tmp_path / "aggregate" / "pointcloud_runs.csv")
    epochs = pd.read_csv(tmp_path / "aggregate" / "pointcloud_epochs.csv")
    assert list(runs["seed"]) == [0] and set(epochs["seed"]) == {0}
    assert set(runs["model"]) == {"hbnode"}


def test_explicit_runs_list_is_what_the_workflow_passes(tmp_path, capsys):
    path = write_config(tmp_path, tmp_path, {"pointcloud": {**POINTCLOUD, "seeds": 2}})
    config = load_config(path)
    for seed in (0, 1):
        run_one(config, "pointcloud", "hbnode", seed, log=lambda _m: None)
    assert main(["aggregate", "--config", str(path), "--experiment", "pointcloud",
                 "--runs", "hbnode/seed1"]) == 0
    assert "ignored 1 run folder(s)" in capsys.readouterr().out
    assert list(pd.read_csv(tmp_path / "aggregate" / "pointcloud_runs.csv")["seed"]) == [1]


def test_claims_leave_out_rows_of_unplanned_runs(tmp_path):
    path = write_config(tmp_path, tmp_path, {"pointcloud": POINTCLOUD})
    config = load_config(path)
    for seed in (0, 5):
        run_one(config, "pointcloud", "hbnode", seed, log=lambda _m: None)
    aggregate(tmp_path, "pointcloud")  # every folder, as an older aggregate may hold
    everything, _ = load_records(tmp_path, "pointcloud")
    planned, _ = load_records(tmp_path, "pointcloud", ["hbnode/seed0"])
    assert set(everything["seed"]) == {0, 5} and set(planned["seed"]) == {0}
    assert load_records(tmp_path, "pointcloud", ["node/seed0"]) is None


def test_report_goes_on_past_an_experiment_without_runs(tmp_path, capsys):
    path = write_config(tmp_path, tmp_path, {
        "pointcloud": POINTCLOUD, "pointcloud_hbnode2021": {**POINTCLOUD}})
    run_one(load_config(path), "pointcloud_hbnode2021", "hbnode", 0, log=lambda _m: None)
    capsys.readouterr()
    assert main(["report", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "pointcloud: skipped: no run records" in out
    assert out.strip().splitlines()[-1] == ("report: built 1 of 2 experiments; skipped for "
                                            "lack of runs: pointcloud")
    assert (tmp_path / "tables" / "pointcloud_hbnode2021.md").is_file()
