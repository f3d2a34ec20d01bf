"""Run records: atomic writes, summary contents, tidy readers."""

from __future__ import annotations

import json
import os
import stat

import pandas as pd
import pytest

from odebench.records import (
    RunRecord,
    atomic_open,
    atomic_write_text,
    read_epochs,
    read_summaries,
    run_dir,
)


def test_atomic_write_leaves_old_file_and_no_temp_on_failure(tmp_path):
    target = tmp_path / "epochs.csv"
    atomic_write_text(target, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half a fi")
            raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["epochs.csv"]


def test_atomic_write_names_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="output directory does not exist: .*nowhere"):
        atomic_write_text(tmp_path / "nowhere" / "x.json", "{}")


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_write_gives_new_files_the_umask_mode(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "summary.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "summary.json").stat().st_mode) == mode


def test_atomic_rewrite_keeps_the_files_mode(tmp_path):
    target = tmp_path / "epochs.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    atomic_write_text(target, "new\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_text() == "new\n"


def test_atomic_write_names_a_parent_that_is_a_file(tmp_path):
    (tmp_path / "results").write_text("")
    with pytest.raises(NotADirectoryError, match="results"):
        atomic_write_text(tmp_path / "results" / "x.json", "{}")


def _record(results, experiment, model, seed, losses, status="completed"):
    folder = run_dir(results, experiment, model, seed)
    folder.mkdir(parents=True)
    record = RunRecord(folder, experiment, model, seed)
    for epoch, loss in enumerate(losses, start=1):
        record.append({"epoch": epoch, "loss": loss, "nfe_forward": 20 + epoch,
                       "nfe_backward": 30 + epoch, "seconds": 0.1})
    record.write_summary(status=status, final={"loss": losses[-1]},
                         config={"lr": 0.01, "seed": seed}, device="cpu",
                         extra={"n_params": 525})
    return record


def test_summary_holds_config_seed_and_environment(tmp_path):
    record = _record(tmp_path, "pointcloud", "node", 3, [1.0, 0.5])
    summary = json.loads(record.summary_path.read_text())
    assert summary["seed"] == 3 and summary["status"] == "completed"
    assert summary["config"] == {"lr": 0.01, "seed": 3}
    assert summary["final"] == {"loss": 0.5}
    environment = summary["environment"]
    for key in ("python", "torch", "torchdiffeq", "device", "git_commit"):
        assert key in environment
    assert environment["device"] == "cpu"
    assert environment["torchdiffeq"]


def test_non_finite_values_stay_strict_json(tmp_path):
    record = _record(tmp_path, "pointcloud", "node", 0, [1.0, float("nan")], status="diverged")
    summary = json.loads(record.summary_path.read_text())  # strict parser: no NaN literal
    assert summary["final"]["loss"] == "nan"


def test_readers_return_one_tidy_frame_over_many_runs(tmp_path):
    _record(tmp_path, "pointcloud", "node", 0, [1.0, 0.5])
    _record(tmp_path, "pointcloud", "node", 1, [0.9, 0.4, 0.2])
    _record(tmp_path, "pointcloud", "hbnode", 0, [0.8])
    _record(tmp_path, "other", "hbnode", 0, [0.7])
    epochs = read_epochs(tmp_path, "pointcloud")
    assert list(epochs.columns[:4]) == ["experiment", "model", "setting", "seed"]
    assert len(epochs) == 6
    assert set(epochs["experiment"]) == {"pointcloud"}
    assert epochs.groupby(["model", "seed"]).size().to_dict() == {
        ("hbnode", 0): 1, ("node", 0): 2, ("node", 1): 3}
    assert len(read_epochs(tmp_path)) == 7
    summaries = read_summaries(tmp_path, "pointcloud")
    assert sorted(summaries["final_loss"]) == [0.2, 0.5, 0.8]
    assert set(summaries["n_params"]) == {525}


def test_readers_on_empty_results_return_empty_frames(tmp_path):
    assert read_epochs(tmp_path).empty
    assert read_summaries(tmp_path).empty
    assert isinstance(read_epochs(tmp_path), pd.DataFrame)
