"""Reference pieces: a profile's jobs split into named targets, each recorded with its machine,
versions and wall time when done (odebench/tasks/pieces.py, workflow/rules/reference.smk)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from odebench.cli import main
from odebench.config import ConfigError, load_config
from odebench.records.run_record import uncommitted_code_changes
from odebench.tasks.pieces import (
    check_pieces,
    piece_jobs,
    piece_record,
    piece_summaries,
)
from odebench.tasks.run import run_one
from tests.helpers import REPO, copy_workflow, snakemake, write_config

POINTCLOUD = {"setup": "hbnode2021", "models": ["node", "hbnode"], "seeds": 3, "epochs": 2,
              "tol": 1.0e-3, "n_train": 20, "batch_size": 20, "dtype": "float64"}


def _config(tmp_path, pieces):
    return load_config(write_config(tmp_path, tmp_path / "results",
                                    {"pointcloud": POINTCLOUD}, pieces=pieces))


def test_pieces_select_their_seeds(tmp_path):
    config = _config(tmp_path, {"a": {"pointcloud": [0, 1]}, "b": {"pointcloud": [2]}})
    check_pieces(config)
    assert [(j.key, j.seed) for j in piece_jobs(config, "a")["pointcloud"]] == [
        ("node", 0), ("node", 1), ("hbnode", 0), ("hbnode", 1)]
    assert len(piece_summaries(config, "b", tmp_path)) == 2


@pytest.mark.parametrize("pieces, message", [
    ({"a": {"pointcloud": [0, 1]}, "b": {"pointcloud": [1, 2]}},
     "pointcloud/node/seed1 is in both 'a' and 'b'"),
    ({"a": {"pointcloud": [0]}}, "4 job(s) of 'pointcloud' are in no piece"),
    ({"a": {"pointcloud": [0, 1, 2, 7]}}, "seed(s) [7] are not among the experiment's seeds"),
    ({"a": {"pointcloud": "all", "mnist": "all"}}, "experiment 'mnist' is not configured"),
])
def test_a_bad_piece_is_one_line_naming_it(tmp_path, pieces, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_pieces(_config(tmp_path, pieces))


def test_unknown_piece_lists_the_pieces(tmp_path):
    config = _config(tmp_path, {"a": {"pointcloud": "all"}})
    with pytest.raises(ConfigError, match="no piece 'z'; valid: a"):
        piece_jobs(config, "z")


def test_piece_values_are_checked_by_the_schema(tmp_path):
    with pytest.raises(ConfigError, match="pieces"):
        _config(tmp_path, {"a": {"pointcloud": "some"}})


def test_piece_record_holds_runs_machine_versions_and_wall_time(tmp_path, capsys):
    path = write_config(tmp_path, tmp_path / "results", {"pointcloud": {**POINTCLOUD, "seeds": 1}},
                        pieces={"only": {"pointcloud": "all"}})
    config = load_config(path)
    with pytest.raises(ConfigError, match="run the piece first"):
        piece_record(config, "only", tmp_path / "results")
    for model in ("node", "hbnode"):
        run_one(config, "pointcloud", model, 0, log=lambda _m: None)
    assert main(["piece", "--config", str(path), "--name", "only"]) == 0
    assert capsys.readouterr().out.startswith("piece only: 2 runs {'completed': 2}, span ")
    record = json.loads((tmp_path / "results/pieces/only.json").read_text())
    assert record["runs"] == 2 and record["statuses"] == {"completed": 2}
    walls = [r["wall_seconds"] for r in record["run_list"]]
    assert all(w > 0 for w in walls)
    assert record["job_seconds"] == pytest.approx(sum(r["job_seconds"] for r in record["run_list"]),
                                                  abs=1e-3)
    assert [r["job_seconds"] for r in record["run_list"]] == walls  # neither run was resumed
    assert record["job_seconds"] <= record["span_seconds"] + 1.0
    assert record["machine"]["cores"] >= 1 and record["versions"]["torch"]
    assert record["commit"] is None or isinstance(record["uncommitted_code_changes"], list)
    assert [r["run"] for r in record["run_list"]] == ["pointcloud/node/seed0",
                                                      "pointcloud/hbnode/seed0"]


def test_a_resumed_run_without_job_seconds_counts_its_summed_epoch_times(tmp_path):
    """Records made before job_seconds existed: a resumed run's wall_seconds covers only its
    last invocation, so the piece counts the larger of it and the summed epoch times."""
    path = write_config(tmp_path, tmp_path / "results", {"pointcloud": {**POINTCLOUD, "seeds": 1}},
                        pieces={"only": {"pointcloud": "all"}})
    config = load_config(path)
    times = {"node": (200.0, 849.0), "hbnode": (30.0, 12.0)}  # (wall, summed epochs)
    for model, (wall, total) in times.items():
        folder = tmp_path / "results/runs/pointcloud" / model / "seed0"
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps(
            {"status": "completed", "wall_seconds": wall, "final": {"total_seconds": total}}))
    record = piece_record(config, "only", tmp_path / "results")
    assert [r["job_seconds"] for r in record["run_list"]] == [849.0, 30.0]
    assert record["job_seconds"] == 879.0


def test_uncommitted_code_changes_name_code_and_configs_but_not_results(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    assert uncommitted_code_changes(tmp_path) is None  # not a checkout
    for name in ("odebench/model.py", "config/reference.yaml", "results/reference/x.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("a\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    assert uncommitted_code_changes(tmp_path / "odebench") == []
    for name in ("odebench/model.py", "config/reference.yaml", "results/reference/x.json"):
        (tmp_path / name).write_text("b\n")
    (tmp_path / "odebench/new.py").write_text("untracked\n")
    assert uncommitted_code_changes(tmp_path) == ["config/reference.yaml", "odebench/model.py"]


@pytest.mark.slow
def test_a_piece_is_a_snakemake_target_that_trains_only_its_runs(tmp_path):
    config = yaml.safe_load(write_config(tmp_path, "results/test", {"pointcloud": POINTCLOUD},
                                         pieces={"first": {"pointcloud": [0]},
                                                 "rest": {"pointcloud": [1, 2]}}).read_text())
    (tmp_path / "wf").mkdir()
    work = copy_workflow(tmp_path / "wf", {"pieces": config})
    done = snakemake(work, "--cores", "2", "results/test/pieces/first.json",
                     "--configfile", "config/pieces.yaml")
    assert done.returncode == 0, done.stderr[-3000:]
    runs = sorted(p.parent.name + "/" + p.name for p in (work / "results/test/runs/pointcloud")
                  .glob("*/seed*"))
    assert runs == ["hbnode/seed0", "node/seed0"]
    record = json.loads((work / "results/test/pieces/first.json").read_text())
    assert record["runs"] == 2 and record["piece"] == "first"
    assert "piece first: 2 runs" in done.stdout + done.stderr
    # A fresh clone checks runs/ out after pieces/: summaries newer than the record must not
    # make Snakemake rewrite the record with this machine's details.
    written = (work / "results/test/pieces/first.json").read_text()
    shutil.rmtree(work / ".snakemake")
    for summary in (work / "results/test/runs").rglob("summary.json"):
        summary.touch()
    again = snakemake(work, "-n", "--cores", "2", "results/test/pieces/first.json",
                      "--configfile", "config/pieces.yaml")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]
    assert (work / "results/test/pieces/first.json").read_text() == written
    (work / "results/test/runs/pointcloud/node/seed0/summary.json").unlink()
    (work / "results/test/pieces/first.json").unlink()
    rerun = snakemake(work, "-n", "--cores", "2", "results/test/pieces/first.json",
                      "--configfile", "config/pieces.yaml")
    assert re.search(r"piece\s+1", rerun.stdout) and re.search(r"train\s+1", rerun.stdout), \
        rerun.stdout[-3000:]


def test_reference_config_assigns_every_job_to_one_piece():
    check_pieces(load_config(REPO / "config" / "reference.yaml"))


def test_piece_record_refuses_a_run_another_config_made(tmp_path):
    """A run folder trained with other settings (e.g. a committed resolved config from an
    older commit) is named with the differing setting, never counted in the piece."""
    path = write_config(tmp_path, tmp_path / "results", {"pointcloud": {**POINTCLOUD, "seeds": 1}},
                        pieces={"only": {"pointcloud": "all"}})
    config = load_config(path)
    for model in ("node", "hbnode"):
        run_one(config, "pointcloud", model, 0, log=lambda _m: None)
    assert piece_record(config, "only", tmp_path / "results")["runs"] == 2
    longer = load_config(write_config(
        tmp_path, tmp_path / "results", {"pointcloud": {**POINTCLOUD, "seeds": 1, "epochs": 3}},
        pieces={"only": {"pointcloud": "all"}}))
    with pytest.raises(ConfigError, match=r"pointcloud/node/seed0 was not made with this config "
                                          r"\(epochs: 2 in the run, 3 in the config\); remove"):
        piece_record(longer, "only", tmp_path / "results")


def test_a_stale_resolved_config_is_written_anew_before_any_job(tmp_path):
    """A fresh clone holds the results folder's config.yaml as committed; where it differs from
    the config given, the workflow drops it and writes it anew (no job reads stale settings)."""
    config = yaml.safe_load(write_config(tmp_path, "results/test", {"pointcloud": POINTCLOUD},
                                         pieces={"all": {"pointcloud": "all"}}).read_text())
    (tmp_path / "wf").mkdir()
    work = copy_workflow(tmp_path / "wf", {"pieces": config})
    resolved = work / "results/test/config.yaml"
    resolved.parent.mkdir(parents=True)
    stale = {**config, "experiments": {"pointcloud": {**POINTCLOUD, "epochs": 30}}}
    resolved.write_text(yaml.safe_dump(stale, sort_keys=False))
    plan = snakemake(work, "-n", "--cores", "1", "results/test/pieces/all.json",
                     "--configfile", "config/pieces.yaml")
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "differs from the config given: it is written anew" in plan.stderr
    assert "resolved_config" in plan.stdout + plan.stderr and not resolved.exists()
    done = snakemake(work, "--cores", "1", "results/test/config.yaml",
                     "--configfile", "config/pieces.yaml")
    assert done.returncode == 0, done.stderr[-3000:]
    assert yaml.safe_load(resolved.read_text())["experiments"]["pointcloud"]["epochs"] == 2
    again = snakemake(work, "-n", "--cores", "1", "results/test/config.yaml",
                      "--configfile", "config/pieces.yaml")
    assert "differs" not in again.stderr and resolved.exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_reference_writes_a_piece_to_the_folder_named():
    """`make reference PIECE=... REFERENCE_DIR=<folder>` trains into that folder (the committed
    one has the piece done already), and `make reference-report` rebuilds that folder."""
    folder = "results/mine"
    piece = subprocess.run(["make", "-n", "reference", "PIECE=pv_a", f"REFERENCE_DIR={folder}"],
                           cwd=REPO, capture_output=True, text=True)
    assert piece.returncode == 0, piece.stderr
    assert f"{folder}/pieces/pv_a.json" in piece.stdout
    assert f"--config results_dir={folder}" in piece.stdout
    report = subprocess.run(["make", "-n", "reference-report", f"REFERENCE_DIR={folder}"],
                            cwd=REPO, capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
    assert report.stdout.count(f"--results-dir {folder}") == 3, report.stdout
