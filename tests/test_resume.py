"""A job killed mid-training resumes from its checkpoint and ends with the same records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from odebench.config import load_config
from odebench.records import run_dir
from odebench.tasks.run import run_one
from tests.conftest import REPO, run_cli
from tests.helpers import write_config

EXPERIMENT = {"pointcloud": {"setup": "hbnode2021", "models": ["hbnode"], "seeds": 1,
                             "epochs": 25, "tol": 1.0e-3, "n_train": 30, "batch_size": 10,
                             "dtype": "float64"}}


def _records(results):
    folder = run_dir(results, "pointcloud", "hbnode", 0)
    epochs = pd.read_csv(folder / "epochs.csv").drop(columns=["seconds"])
    summary = json.loads((folder / "summary.json").read_text())
    final = {k: v for k, v in summary["final"].items() if "seconds" not in k}
    return epochs, final, summary["status"]


def _kill_after_rows(args: list[str], epochs_csv, rows: int) -> None:
    """Start the CLI ``args`` and SIGKILL it once ``epochs_csv`` holds more than ``rows``."""
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if epochs_csv.exists() and len(epochs_csv.read_text().splitlines()) > rows:
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the job ended before it could be killed"


def _assert_same_records(a, b):
    pd.testing.assert_frame_equal(a[0], b[0], check_exact=True)
    assert a[1] == b[1]
    assert a[2] == b[2] == "completed"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    config = load_config(write_config(folder, folder, EXPERIMENT))
    run_one(config, "pointcloud", "hbnode", 0, log=lambda _m: None)
    return _records(folder)


def test_interrupted_run_resumes_to_identical_records(tmp_path, reference):
    config = load_config(write_config(tmp_path, tmp_path, EXPERIMENT))

    def interrupt_after_epoch_7(message):
        if "epoch 7/" in message:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_one(config, "pointcloud", "hbnode", 0, log=interrupt_after_epoch_7)
    folder = run_dir(tmp_path, "pointcloud", "hbnode", 0)
    assert len(pd.read_csv(folder / "epochs.csv")) == 7
    assert not (folder / "summary.json").exists()
    messages = []
    run_one(config, "pointcloud", "hbnode", 0, log=messages.append)
    assert "resuming" in messages[0] and "after epoch 7" in messages[0]
    _assert_same_records(_records(tmp_path), reference)
    # The job time counts the first invocation's seven kept epochs; wall_seconds only the last.
    summary = json.loads((folder / "summary.json").read_text())
    earlier = pd.read_csv(folder / "epochs.csv")["seconds"].iloc[:7].sum()
    assert summary["job_seconds"] == pytest.approx(summary["wall_seconds"] + earlier, abs=2e-3)
    assert summary["job_seconds"] >= summary["final"]["total_seconds"] - 1e-3  # ms rounding


def test_killed_process_resumes_to_identical_records(tmp_path, reference):
    config_path = write_config(tmp_path, tmp_path, EXPERIMENT)
    args = [sys.executable, "-m", "odebench.cli", "train", "--config", str(config_path),
            "--experiment", "pointcloud", "--model", "hbnode", "--seed", "0"]
    epochs_csv = run_dir(tmp_path, "pointcloud", "hbnode", 0) / "epochs.csv"
    _kill_after_rows(args, epochs_csv, 4)
    killed_rows = len(pd.read_csv(epochs_csv))
    assert 4 <= killed_rows < 25
    result = run_cli("train", "--config", str(config_path), "--experiment", "pointcloud",
                     "--model", "hbnode", "--seed", "0")
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stdout
    _assert_same_records(_records(tmp_path), reference)


def test_killed_rl_process_resumes_to_identical_records(tmp_path):
    """kill -9 of an ES RL job mid-run, then a rerun: the records of an uninterrupted run."""
    entry = {"models": ["odetoode"], "seeds": 1, "iterations": 12, "perturbations": 4,
             "horizon": 20, "backend": "serial", "sweep": {"env": ["Swimmer-v5"]}}
    key = "odetoode@env=Swimmer-v5"
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for folder in (whole, killed):
        folder.mkdir()
    run_one(load_config(write_config(whole, whole, {"rl": entry}, offline=True)), "rl", key, 0,
            log=lambda _m: None)
    config_path = write_config(killed, killed, {"rl": entry}, offline=True)
    args = [sys.executable, "-m", "odebench.cli", "train", "--config", str(config_path),
            "--experiment", "rl", "--model", key, "--seed", "0"]
    epochs_csv = run_dir(killed, "rl", key, 0) / "epochs.csv"
    _kill_after_rows(args, epochs_csv, 3)
    assert 3 <= len(pd.read_csv(epochs_csv)) < 12
    result = run_cli("train", "--config", str(config_path), "--experiment", "rl",
                     "--model", key, "--seed", "0")
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stdout and "not resumed" not in result.stdout
    a = pd.read_csv(run_dir(whole, "rl", key, 0) / "epochs.csv")
    b = pd.read_csv(epochs_csv)
    columns = [c for c in a if c != "seconds"]
    pd.testing.assert_frame_equal(a[columns], b[columns], check_exact=True)
