"""Snakemake-side user errors: a few lines naming the file, the key and a hint, no schema
dump and no traceback (those only under ``--verbose`` or ODEBENCH_DEBUG=1); and the line
each finished job prints (``odebench done-line``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from odebench.config import ConfigError, load_config
from odebench.records.done_line import done_line
from odebench.records.run_record import RunRecord
from tests.helpers import REPO, copy_workflow, snakemake

POINTCLOUD = {"setup": "hbnode2021", "models": ["node", "hbnode"], "seeds": 1, "epochs": 1,
              "tol": 1.0e-3, "n_train": 20, "batch_size": 20}
TINY = {"profile": "tiny", "results_dir": "results/tiny", "device": "cpu", "threads": 1,
        "offline": True, "experiments": {"pointcloud": POINTCLOUD}}


def _with(**entry) -> dict:
    """TINY with the pointcloud entry updated by ``entry``."""
    return {**TINY, "experiments": {"pointcloud": {**POINTCLOUD, **entry}}}


@pytest.fixture(scope="module")
def workflow(tmp_path_factory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("workflow"), {
        "tiny": TINY,
        "typo": _with(tolx=1.0e-3),
        "seeds0": _with(seeds=0),
        "badmodel": _with(models=["node", "hbnod"]),
        "noprofile": {k: v for k, v in TINY.items() if k != "profile"},
    })


def _output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def _assert_short_and_clean(result: subprocess.CompletedProcess, at_most: int = 2) -> str:
    """A failed run whose output is at most ``at_most`` lines, without schema or traceback."""
    output = _output(result)
    assert result.returncode == 1, output
    lines = output.strip().splitlines()
    assert len(lines) <= at_most, output
    assert lines[0].startswith("odebench: error: "), output
    for noise in ("Traceback", 'File "', "Failed validating", "WorkflowError", "$defs"):
        assert noise not in output, output
    return output


def test_config_typo_is_one_line_naming_file_key_and_the_close_key(workflow):
    output = _assert_short_and_clean(snakemake(workflow, "-n", "--configfile",
                                               "config/typo.yaml"))
    first = output.splitlines()[0]
    assert "config/typo.yaml: experiments.pointcloud: " in first
    assert "'tolx' was unexpected" in first and "did you mean tol?" in first
    assert "valid: task, setup, models" in first
    assert "--verbose" in output.splitlines()[1]
    assert not (workflow / "results" / "tiny").exists()


def test_config_override_typo_names_the_smoke_profile_and_config_flag(workflow):
    output = _assert_short_and_clean(snakemake(workflow, "-n", "--config", "resultsdir=x"))
    assert "config/smoke.yaml + --config: <top level>: " in output
    assert "did you mean results_dir?" in output


def test_bad_value_names_the_key_and_why_each_form_fails(workflow):
    output = _assert_short_and_clean(snakemake(workflow, "-n", "--configfile",
                                               "config/seeds0.yaml"))
    assert "config/seeds0.yaml: experiments.pointcloud.seeds: 0 is not valid" in output
    assert "0 is less than the minimum of 1; 0 is not of type 'array'" in output


def test_config_file_without_profile_is_not_merged_into_the_smoke_profile(workflow):
    output = _assert_short_and_clean(snakemake(workflow, "-n", "--configfile",
                                               "config/noprofile.yaml"))
    assert "config/noprofile.yaml: <top level>: 'profile' is a required property" in output


def test_unknown_model_is_one_line_naming_the_file(workflow):
    output = _assert_short_and_clean(snakemake(workflow, "-n", "--configfile",
                                               "config/badmodel.yaml"), at_most=1)
    assert "config/badmodel.yaml: experiment 'pointcloud'" in output
    assert "unknown model 'hbnod'; valid: node" in output


def test_verbose_keeps_snakemakes_schema_report(workflow):
    result = snakemake(workflow, "-n", "--verbose", "--configfile", "config/typo.yaml")
    assert result.returncode == 1
    assert "Failed validating 'additionalProperties'" in _output(result)


def test_report_before_any_run_is_two_lines_without_traceback_frames(workflow):
    result = snakemake(workflow, "--report", "report.html", "--configfile", "config/tiny.yaml")
    output = _assert_short_and_clean(result)
    assert "cannot build the report: no run of profile 'tiny' exists yet" in output
    assert "snakemake --cores all --configfile config/tiny.yaml" in output
    assert not (workflow / "report.html").exists()


def test_debug_variable_shows_the_traceback_frames_of_the_report_error(workflow):
    env = {**os.environ, "ODEBENCH_DEBUG": "1"}
    result = subprocess.run([sys.executable, "-m", "snakemake", "--report", "report.html",
                             "--configfile", "config/tiny.yaml"], cwd=workflow, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "cannot build the report" in _output(result)
    assert 'File "' in _output(result) and "check_report_inputs" in _output(result)


def test_missing_smoke_profile_without_configfile_is_one_line(tmp_path):
    workflow = copy_workflow(tmp_path)
    (workflow / "config" / "smoke.yaml").unlink()
    output = _assert_short_and_clean(snakemake(workflow, "-n"), at_most=1)
    assert "config/smoke.yaml is missing; pass one with --configfile <file>" in output


def test_missing_configfile_is_snakemakes_own_error_naming_the_file(workflow):
    """Snakemake reads --configfile before the Snakefile runs: its traceback is not ours to
    shorten (docs/FAULTS.md documents it); its last line names the file."""
    result = snakemake(workflow, "-n", "--configfile", "config/nope.yaml")
    assert result.returncode == 1
    last = _output(result).strip().splitlines()[-1]
    assert last == "FileNotFoundError: [Errno 2] No such file or directory: 'config/nope.yaml'"


def test_load_config_names_the_close_key_too(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump({**TINY, "resluts_dir": "x"}))
    with pytest.raises(ConfigError, match=r"'resluts_dir' was unexpected\); did you mean "
                                          r"results_dir\? valid: profile, results_dir"):
        load_config(path)


def _write_run(folder: Path, final: dict, status: str = "completed",
               extra: dict | None = None) -> Path:
    folder.mkdir(parents=True)
    record = RunRecord(folder, "pointcloud", "hbnode", 0)
    record.write_summary(status=status, final=final,
                         config={"run": "hbnode@tol=0.1", "model": "hbnode"}, extra=extra)
    return folder


def test_done_line_names_the_run_time_and_key_metric(tmp_path):
    folder = _write_run(tmp_path / "run", {"test_accuracy": 0.93, "nfe_forward": 26,
                                           "total_seconds": 12.34})
    assert done_line(folder) == ("finished pointcloud/hbnode@tol=0.1 seed 0 in 12.3 s: "
                                 "test acc 0.930, forward NFE 26")
    assert done_line(folder / "summary.json") == done_line(folder)


def test_done_line_shows_the_job_wall_time_when_recorded(tmp_path):
    folder = _write_run(tmp_path / "run", {"test_accuracy": 0.93, "total_seconds": 0.01},
                        extra={"wall_seconds": 75.0})
    assert done_line(folder).startswith("finished pointcloud/hbnode@tol=0.1 seed 0 in 1m15s:")


def test_done_line_of_an_unreadable_summary_says_so_and_exits_zero(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "summary.json").write_text("{not json")
    result = subprocess.run([sys.executable, "-m", "odebench.cli", "done-line", str(folder)],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr  # a finished job's outputs are kept
    assert result.stdout.startswith(f"finished {folder}: no result line (JSONDecodeError")
    assert result.stdout.count("\n") == 1
