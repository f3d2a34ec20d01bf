"""Snakemake end to end: a tiny config through data -> train -> aggregate -> table/figure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO
from tests.helpers import copy_workflow, snakemake

pytestmark = pytest.mark.slow

TINY = {
    "profile": "tiny",
    "results_dir": "results/tiny",
    "device": "cpu",
    "threads": 1,
    "offline": True,
    "experiments": {
        "pointcloud": {"setup": "hbnode2021", "models": ["node", "hbnode"], "seeds": 2,
                       "epochs": 3, "tol": 1.0e-3, "n_train": 20, "batch_size": 20},
        "cifar10_tolerance": {"models": ["hbnode"], "seeds": 1, "epochs": 1,
                              "standin_sizes": [16, 16], "standin_image_size": 6,
                              "batch_size": 16, "sweep": {"tol": [0.1, 0.01]}},
    },
}



@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory) -> Path:
    """The workflow files in a scratch folder, as a fresh clone has them."""
    return copy_workflow(tmp_path_factory.mktemp("workflow"), {"tiny": TINY})


@pytest.fixture(scope="module")
def tiny_run(workflow_copy) -> Path:
    result = snakemake(workflow_copy, "--cores", "2", "--configfile", "config/tiny.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    (workflow_copy / "tiny_run.out").write_text(result.stdout + result.stderr)
    return workflow_copy / "results" / "tiny"


def test_each_finished_training_job_prints_its_line_with_the_key_metric(tiny_run):
    lines = (tiny_run.parents[1] / "tiny_run.out").read_text().splitlines()
    finished = [line for line in lines if line.startswith("finished ")]
    assert len(finished) == 6, finished  # 2 models x 2 seeds + 2 tolerances
    for run in ("pointcloud/node seed 0", "pointcloud/hbnode seed 1",
                "cifar10_tolerance/hbnode@tol=0.1 seed 0"):
        line = next(line for line in finished if line.startswith(f"finished {run} in "))
        assert ": test acc 0." in line, line
    log = tiny_run / "logs" / "train" / "pointcloud" / "node" / "seed0.log"
    assert "finished pointcloud/node seed 0" in log.read_text()  # the job's log keeps it too


def test_tiny_config_produces_table_and_figure_with_one_row_per_model(tiny_run):
    table = pd.read_csv(tiny_run / "tables" / "pointcloud.csv")
    assert list(table["model"]) == ["node", "hbnode"]
    assert list(table["runs"]) == [2, 2]
    for column in ("final_loss_mean", "final_loss_std", "nfe_forward_mean",
                   "nfe_backward_mean", "seconds_per_epoch_mean"):
        assert table[column].notna().all(), column
    assert (table["nfe_backward_mean"] > 0).all()  # adjoint is the default
    markdown = (tiny_run / "tables" / "pointcloud.md").read_text()
    assert markdown.count("| node |") == 1 and markdown.count("| hbnode |") == 1
    for suffix in ("png", "pdf"):
        assert (tiny_run / "figures" / f"pointcloud.{suffix}").stat().st_size > 1000
    for model in ("node", "hbnode"):
        for seed in (0, 1):
            epochs = pd.read_csv(tiny_run / "runs" / "pointcloud" / model / f"seed{seed}" /
                                 "epochs.csv")
            assert list(epochs["epoch"]) == [1, 2, 3]
            for column in ("loss", "nfe_forward", "nfe_backward", "seconds"):
                assert column in epochs


def test_sweep_experiment_gets_a_row_per_setting_and_its_figure(tiny_run):
    table = pd.read_csv(tiny_run / "tables" / "cifar10_tolerance.csv")
    assert list(zip(table["model"], table["setting"], strict=True)) == [
        ("hbnode", "tol=0.01"), ("hbnode", "tol=0.1")]
    assert (tiny_run / "figures" / "cifar10_tolerance.png").stat().st_size > 1000
    assert (tiny_run / "runs" / "cifar10_tolerance" / "hbnode@tol=0.1" / "seed0" /
            "summary.json").is_file()


@pytest.mark.parametrize("profile, planned", [
    ("paper", "gnesterovnode@nesterov_factor=10"),
    ("paper_lite", "odetoode@env=HalfCheetah-v5/seed1"),
])
def test_paper_profiles_dry_run_plans_every_experiment(workflow_copy, profile, planned):
    result = snakemake(workflow_copy, "-n", "--configfile", f"config/{profile}.yaml")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    paper = yaml.safe_load((REPO / "config" / f"{profile}.yaml").read_text())
    for experiment in paper["experiments"]:
        assert f"results/{profile}/tables/{experiment}.csv" in result.stdout, experiment
    assert planned in result.stdout


def test_report_target_rebuilds_from_records_without_training(tiny_run, workflow_copy):
    for path in (tiny_run / "tables").iterdir():
        path.unlink()
    result = snakemake(workflow_copy, "report", "--cores", "1", "--configfile",
                        "config/tiny.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rule train" not in result.stdout + result.stderr
    table = pd.read_csv(tiny_run / "tables" / "pointcloud.csv")
    assert list(table["model"]) == ["node", "hbnode"]


def test_config_typo_fails_before_any_job_naming_the_key(workflow_copy):
    broken = {**TINY, "results_dir": "results/broken",
              "experiments": {"pointcloud": {**TINY["experiments"]["pointcloud"], "tolx": 1}}}
    (workflow_copy / "config" / "broken.yaml").write_text(yaml.safe_dump(broken))
    result = snakemake(workflow_copy, "--cores", "1", "--configfile", "config/broken.yaml")
    assert result.returncode != 0
    assert "'tolx' was unexpected" in result.stdout + result.stderr
    assert "config/broken.yaml: experiments.pointcloud: " in result.stderr
    assert len((result.stdout + result.stderr).strip().splitlines()) <= 2  # no schema dump
    assert not (workflow_copy / "results" / "broken").exists()


def test_aggregate_rule_reads_only_the_planned_runs(tiny_run, workflow_copy):
    stray = tiny_run / "runs" / "pointcloud" / "hbnode" / "seed7"  # trained by hand, unplanned
    shutil.copytree(tiny_run / "runs" / "pointcloud" / "hbnode" / "seed1", stray)
    try:
        result = snakemake(workflow_copy, "--cores", "1", "--configfile", "config/tiny.yaml",
                           "--forcerun", "aggregate", "results/tiny/tables/pointcloud.csv")
        assert result.returncode == 0, result.stderr[-3000:]
        log = (tiny_run / "logs" / "aggregate" / "pointcloud.log").read_text()
        assert "ignored 1 run folder(s) outside this config's plan: hbnode/seed7" in log
        runs = pd.read_csv(tiny_run / "aggregate" / "pointcloud_runs.csv")
        assert sorted(runs["seed"].unique()) == [0, 1]
    finally:
        shutil.rmtree(stray)


@pytest.mark.parametrize(("name", "experiments", "expected"), [
    ("empty", {}, "experiments: is empty; name at least one experiment"),
    ("sweeptypo", {"cifar10_tolerance": {**TINY["experiments"]["cifar10_tolerance"],
                                         "sweep": {"tolr": [0.1]}}},
     "unknown setting 'tolr'; valid:"),
])
def test_bad_plan_fails_before_any_job_in_one_line(workflow_copy, name, experiments, expected):
    broken = {**TINY, "results_dir": f"results/{name}", "experiments": experiments}
    (workflow_copy / "config" / f"{name}.yaml").write_text(yaml.safe_dump(broken))
    result = snakemake(workflow_copy, "-n", "--configfile", f"config/{name}.yaml")
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr
    assert not (workflow_copy / "results" / name).exists()


def test_unknown_model_fails_before_any_job_listing_valid_ones(workflow_copy):
    broken = {**TINY, "results_dir": "results/broken2",
              "experiments": {"pointcloud": {**TINY["experiments"]["pointcloud"],
                                             "models": ["node", "hbnod"]}}}
    (workflow_copy / "config" / "broken2.yaml").write_text(yaml.safe_dump(broken))
    result = snakemake(workflow_copy, "-n", "--configfile", "config/broken2.yaml")
    assert result.returncode != 0
    output = result.stdout + result.stderr  # Snakemake prints workflow errors to stdout
    assert "'hbnod'" in output and "valid: node" in output and "hbnode" in output


def test_default_config_dry_run_and_paper_config_do_not_mix(workflow_copy):
    result = snakemake(workflow_copy, "-n", "--cores", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "results/smoke/runs/pointcloud" in result.stdout
    paper = snakemake(workflow_copy, "results/paper/config.yaml", "--cores", "1",
                       "--configfile", "config/paper.yaml")
    assert paper.returncode == 0, paper.stderr[-3000:]
    resolved = yaml.safe_load((workflow_copy / "results/paper/config.yaml").read_text())
    smoke = yaml.safe_load((REPO / "config" / "smoke.yaml").read_text())
    paper_cfg = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    assert resolved["experiments"] == paper_cfg["experiments"]  # no smoke value leaked in
    assert resolved["experiments"] != smoke["experiments"]


def test_lint_has_no_findings(workflow_copy):
    result = snakemake(workflow_copy, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr
