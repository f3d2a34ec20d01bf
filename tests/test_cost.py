"""`odebench cost`: a profile's jobs timed on a slice of their length and scaled."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from odebench.config import load_config
from odebench.tasks.cost import (
    JobCost,
    cost_table,
    extrapolate,
    measure_experiment,
    wall_seconds,
)
from tests.helpers import write_config


def _cost(key: str, seconds: float, seeds: int = 1, threads: int = 1,
          experiment: str = "e") -> JobCost:
    return JobCost(experiment, key, seeds, threads, "epochs", 10, 1, seconds / 10, seconds)


def test_wall_time_is_the_shared_core_time_or_the_longest_job() -> None:
    costs = [_cost("a", 100.0, seeds=4), _cost("b", 50.0, seeds=4)]  # 600 core-s
    assert wall_seconds(costs, cores=2) == pytest.approx(300.0)
    assert wall_seconds(costs, cores=100) == pytest.approx(100.0)  # the longest job
    rl = [_cost("p", 10.0, seeds=2, threads=4)]  # an ES job holds its workers' cores
    assert wall_seconds(rl, cores=4) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="cores"):
        wall_seconds(costs, cores=0)


def test_table_sums_each_experiment_and_all() -> None:
    costs = [_cost("a", 3600.0, seeds=2), _cost("b", 1800.0, seeds=2, experiment="f")]
    table = cost_table(costs, cores=4)
    assert "| e | 2 | 1 of 10 epochs, 360 s | 2.00 | 1.00 | 1.00 |" in table
    assert "| f | 2 | 1 of 10 epochs, 180 s | 1.00 | 0.50 | 0.50 |" in table
    assert "| **all** | 4 | 540 s | 3.00 | 1.00 | 1.00 |" in table
    assert "longest job (h)" in table.splitlines()[0]


def test_extrapolation_counts_one_off_work_once() -> None:
    # 20 s of set-up and evaluation plus 2 s per unit: a 1-unit slice alone would say 2,200 s
    assert extrapolate([(1, 22.0), (2, 24.0)], 100) == pytest.approx((20.0, 220.0))
    assert extrapolate([(2, 24.0), (1, 22.0), (8, 36.0)], 100) == pytest.approx((20.0, 220.0))
    assert extrapolate([(3, 7.0)], 3) == (0.0, 7.0)              # the whole run was timed
    assert extrapolate([(4, 9.0)], 12) == pytest.approx((0.0, 27.0))  # one slice: linear
    assert extrapolate([(1, 10.0), (2, 9.5)], 50) == (9.5, 9.5)      # noise: no per-unit cost
    # later units dearer than the first (intercept below zero): linear through the longest
    assert extrapolate([(1, 1.0), (2, 4.0)], 10) == pytest.approx((0.0, 20.0))
    with pytest.raises(ValueError, match="no timed slices"):
        extrapolate([], 10)


def test_measures_every_model_on_two_slices_and_extrapolates(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, tmp_path / "results"))
    lines: list[str] = []
    costs = measure_experiment(config, "pointcloud", 1, tmp_path / "scratch", lines.append)
    assert [c.key for c in costs] == ["node", "hbnode"]
    for cost in costs:
        # timed on 1 epoch, then on 2 to separate one-off work from the time per epoch
        assert (cost.length, cost.measured_length, cost.seeds) == (4, 2, 2)
        assert 0.0 <= cost.one_off_seconds <= cost.measured_seconds
        assert cost.seconds_per_seed >= cost.measured_seconds
        assert cost.core_seconds == pytest.approx(cost.seconds_per_seed * 2)
    # the last slice ran from scratch for two epochs, on seed 0 only
    runs = tmp_path / "scratch" / "runs" / "pointcloud"
    assert sorted(p.name for p in (runs / "node").iterdir()) == ["seed0"]
    epochs = list(csv.DictReader((runs / "node" / "seed0" / "epochs.csv").open()))
    assert [int(r["epoch"]) for r in epochs] == [1, 2]
    assert lines[0].startswith("[1/2] pointcloud/node: 2 of 4 epochs in ")
    assert "s one-off) x 2 seed(s)" in lines[0]


def test_a_slice_shorter_than_min_seconds_is_rerun_longer_from_scratch(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, tmp_path / "results"))
    config["experiments"]["pointcloud"]["models"] = ["node"]
    (cost,) = measure_experiment(config, "pointcloud", 1, tmp_path / "scratch", lambda _: None,
                                 min_seconds=1e6)  # never reached: grows to the whole length
    assert (cost.measured_length, cost.length) == (4, 4)
    assert cost.seconds_per_seed == pytest.approx(cost.measured_seconds)
    epochs = tmp_path / "scratch" / "runs" / "pointcloud" / "node" / "seed0" / "epochs.csv"
    assert [int(r["epoch"]) for r in csv.DictReader(epochs.open())] == [1, 2, 3, 4]


def test_rejects_a_slice_below_one(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, tmp_path / "results"))
    with pytest.raises(ValueError, match="slice_length"):
        measure_experiment(config, "pointcloud", 0, tmp_path / "scratch")


def test_cli_writes_cost_files_and_names_an_unknown_experiment(tmp_path: Path) -> None:
    results = tmp_path / "results"
    path = write_config(tmp_path, results)
    config = yaml.safe_load(path.read_text())
    config["experiments"]["pointcloud"]["models"] = ["node"]
    path.write_text(yaml.safe_dump(config))
    cli = [sys.executable, "-m", "odebench.cli", "cost", "--config", str(path)]
    done = subprocess.run([*cli, "--slice", "2", "--min-seconds", "0", "--cores", "8"],
                          capture_output=True,
                          text=True, check=True)
    assert "wall hours on 8 cores" in (results / "cost.md").read_text()
    rows = list(csv.DictReader((results / "cost.csv").open()))
    # a 2-epoch slice, then twice that: the whole 4-epoch run
    assert [(r["key"], r["measured_length"], r["length"]) for r in rows] == [("node", "4", "4")]
    assert float(rows[0]["one_off_seconds"]) == 0.0
    assert "cost:" in done.stdout
    failed = subprocess.run([*cli, "--experiment", "nope"], capture_output=True, text=True)
    assert failed.returncode != 0 and "'nope'" in failed.stderr
