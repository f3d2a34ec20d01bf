"""The SLURM profile (workflow/profiles/slurm): it loads, gives every job-running rule cluster
resources, plans the paper DAG, and names the plugin to install when the plugin is missing.

Resume after a re-queue: tests/test_resume.py (an interrupted and a SIGKILLed training job
resume from checkpoint.pt to identical records); here, that checkpoint.pt is no declared
output (Snakemake would delete it) and that a job resumes after Snakemake removed the
outputs of its incomplete attempt."""

from __future__ import annotations

import re
import sys
from importlib.util import find_spec
from pathlib import Path

import pandas as pd
import pytest
import yaml

from odebench.config import load_config
from odebench.records import run_dir
from odebench.tasks.run import run_one
from tests.conftest import REPO
from tests.helpers import copy_workflow, snakemake, write_config

PROFILE = REPO / "workflow" / "profiles" / "slurm"
PLUGIN = "snakemake-executor-plugin-slurm"
HAVE_PLUGIN = find_spec("snakemake_executor_plugin_slurm") is not None
REQUIRED = ("runtime", "mem_mb", "cpus_per_task")
ACTIONS = ("shell", "run", "script", "notebook", "wrapper", "cwl")


def _rule_blocks() -> dict[str, str]:
    """{rule name: its block of directives} from the Snakefile and workflow/rules/*.smk."""
    blocks = {}
    for path in [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]:
        chunks = re.split(r"^rule\s+", path.read_text(), flags=re.M)[1:]
        for chunk in chunks:
            name, _, body = chunk.partition(":")
            # the rule's block: indented lines up to the next top-level statement
            blocks[name.strip()] = re.split(r"^(?=[^\s#])", body.partition("\n")[2],
                                            flags=re.M)[0]
    return blocks


def _rules() -> dict[str, bool]:
    """{rule name: whether it runs a job (has shell/run/script/...)}."""
    action = re.compile(rf"^\s+({'|'.join(ACTIONS)}):", flags=re.M)
    return {name: bool(action.search(block)) for name, block in _rule_blocks().items()}


def _parsed_profile(monkeypatch) -> dict:
    """The profile as Snakemake reads it (YTE processed), as if `--executor` were given."""
    from snakemake.profiles import ProfileConfigFileParser

    monkeypatch.setattr(sys, "argv", ["snakemake", "--executor", "dryrun"])
    with open(PROFILE / "config.yaml") as stream:
        return ProfileConfigFileParser().parse(stream)



@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory) -> Path:
    """The workflow in a scratch folder (a dry run may write .snakemake/ there, not here)."""
    return copy_workflow(tmp_path_factory.mktemp("slurm_workflow"))


def test_rule_scan_finds_the_workflow_rules():
    rules = _rules()
    assert {"train", "rl_train", "data", "aggregate", "table", "figure", "report"} <= set(rules)
    assert rules["train"] and rules["resolved_config"] and not rules["all"]


def test_checkpoints_are_not_declared_outputs():
    """Snakemake deletes the outputs of a failed or incomplete job before it reruns it; the
    checkpoint a requeued job resumes from must not be one of them."""
    blocks = _rule_blocks()
    for rule in ("train", "rl_train"):
        output = re.search(r"^    output:\n(.*?)^    \w", blocks[rule], flags=re.M | re.S)
        assert output and "summary.json" in output.group(1), rule
        assert "checkpoint" not in blocks[rule], rule


def test_job_resumes_after_snakemake_removed_its_outputs(tmp_path):
    experiment = {"pointcloud": {"setup": "hbnode2021", "models": ["hbnode"], "seeds": 1,
                                 "epochs": 6, "tol": 1.0e-3, "n_train": 20, "batch_size": 10,
                                 "dtype": "float64"}}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    whole = load_config(write_config(tmp_path / "a", tmp_path / "a", experiment))
    run_one(whole, "pointcloud", "hbnode", 0, log=lambda _m: None)
    config = load_config(write_config(tmp_path / "b", tmp_path / "b", experiment))

    def time_limit_after_epoch_3(message):
        if "epoch 3/" in message:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_one(config, "pointcloud", "hbnode", 0, log=time_limit_after_epoch_3)
    folder = run_dir(tmp_path / "b", "pointcloud", "hbnode", 0)
    (folder / "epochs.csv").unlink()  # what Snakemake removes before the retry
    assert (folder / "checkpoint.pt").is_file()
    messages = []
    run_one(config, "pointcloud", "hbnode", 0, log=messages.append)
    assert "resuming" in messages[0] and "after epoch 3" in messages[0]
    reference = run_dir(tmp_path / "a", "pointcloud", "hbnode", 0) / "epochs.csv"
    pd.testing.assert_frame_equal(pd.read_csv(folder / "epochs.csv").drop(columns="seconds"),
                                  pd.read_csv(reference).drop(columns="seconds"),
                                  check_exact=True)


def test_profile_gives_every_job_rule_runtime_memory_and_cpus(monkeypatch):
    parsed = _parsed_profile(monkeypatch)
    resources: dict[str, dict[str, str]] = {}
    for entry in parsed["set-resources"]:
        rule, _, assignment = entry.partition(":")
        name, _, value = assignment.partition("=")
        resources.setdefault(rule, {})[name] = value
    job_rules = {name for name, runs in _rules().items() if runs}
    missing = {rule: names for rule in sorted(job_rules)
               if (names := [r for r in REQUIRED if r not in resources.get(rule, {})])}
    assert not missing, f"add to workflow/profiles/slurm/config.yaml set-resources: {missing}"
    assert not set(resources) - set(_rules()), "set-resources names a rule that does not exist"
    assert "gpu" in resources["train"]
    assert parsed["rerun-incomplete"] == "True" and int(parsed["retries"]) >= 1
    if HAVE_PLUGIN:
        assert parsed["executor"] == "slurm" and parsed["slurm-requeue"] == "True"
    else:  # plugin options are left out, so that --executor local|dryrun still parses
        assert "executor" not in parsed and "slurm-requeue" not in parsed


def test_train_table_covers_every_experiment_id():
    raw = yaml.safe_load((PROFILE / "config.yaml").read_text())
    table = raw["__variables__"]["TRAIN"]
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    experiments = set(schema["properties"]["experiments"]["properties"])
    rl = {"rl"}  # rule rl_train: resources from its threads (workers)
    assert set(table) == experiments - rl
    for name, row in table.items():
        assert set(row) == {"minutes", "mem", "gpu"}, name
        assert row["minutes"] > 0 and row["mem"] > 0 and row["gpu"] in (0, 1), name


def _planned_jobs(stdout: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(rule, wildcards, resources) of every job a dry run prints."""
    jobs = []
    for rule, body in re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", stdout, flags=re.M | re.S):
        fields = dict(re.findall(r"^\s+(\w+): (.*)$", body, flags=re.M))
        wildcards = dict(item.split("=", 1) for item in fields.get("wildcards", "").split(", ")
                         if "=" in item)
        resources = dict(item.split("=", 1) for item in fields.get("resources", "").split(", ")
                         if "=" in item)
        jobs.append((rule, wildcards, resources))
    return jobs


@pytest.mark.slow
def test_dry_run_with_the_profile_plans_the_paper_dag_with_its_resources(workflow_copy):
    command = ["-n", "--profile", "workflow/profiles/slurm", "--configfile", "config/paper.yaml"]
    if not HAVE_PLUGIN:  # the profile's resources, Snakemake's own dry-run executor
        command += ["--executor", "dryrun"]
    result = snakemake(workflow_copy, *command)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = _planned_jobs(result.stdout)
    by_rule = {rule for rule, _, _ in jobs}
    assert {"train", "rl_train", "data", "aggregate", "table"} <= by_rule
    job_rules = {name for name, runs in _rules().items() if runs}
    for rule, wildcards, resources in jobs:
        if rule in job_rules:
            for name in REQUIRED:
                assert int(resources[name]) >= 1, (rule, wildcards, name)
    train = {w["experiment"]: r for rule, w, r in jobs if rule == "train"}
    assert train["cifar10"]["gpu"] == "1" and train["mnist"]["gpu"] == "1"
    assert train["pointcloud"]["gpu"] == "0" and train["structure"]["gpu"] == "0"
    assert int(train["cifar10"]["runtime"]) > int(train["pointcloud"]["runtime"])
    rl = [r for rule, _, r in jobs if rule == "rl_train"]
    assert rl and all(int(r["runtime"]) >= 120 for r in rl)


@pytest.mark.slow
@pytest.mark.skipif(HAVE_PLUGIN, reason=f"{PLUGIN} is installed: the README command plans")
def test_without_the_plugin_the_readme_command_names_the_plugin(workflow_copy):
    result = snakemake(workflow_copy, "-n", "--profile", "workflow/profiles/slurm",
                        "--configfile", "config/paper.yaml", timeout=60)
    assert result.returncode != 0
    assert PLUGIN in result.stderr and "odebench[cluster]" in result.stderr
    assert "usage:" not in result.stderr  # the message, not Snakemake's 100-line usage
