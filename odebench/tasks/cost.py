"""Measured cost of a profile: every job of an experiment runs short slices of its length
(epochs, ES iterations, ...) on this machine, is timed, and the time is extrapolated to the
configured length, seeds and cores.

The extrapolation fits the two longest slices with ``one-off + per unit x length``, so a
job's set-up and final evaluation are counted once (a structure job spends most of a 1-step
slice on its final measurements). Adaptive solvers usually need more steps as a model trains,
which the first units understate: the result is an estimate to size a run with, not a
measurement of the whole run.
"""

from __future__ import annotations

import copy
import csv
import io
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from odebench.config import seeds_of
from odebench.records import atomic_write_text, run_dir
from odebench.tasks.run import experiment_jobs, experiment_task, prepare_data, run_one

# The setting that sets a task's run length; tasks not listed run in full when measured.
LENGTH_KEYS: dict[str, str] = {
    "pointcloud": "epochs", "mnist": "epochs", "cifar10": "epochs",
    "plane_vibration": "epochs", "walker2d": "epochs", "mnistc": "epochs",
    "rl": "iterations", "odetoode_theory": "train_epochs", "structure": "train_steps",
}


@dataclass(frozen=True)
class JobCost:
    """One job key (model or model@setting=value) measured on seed 0."""

    experiment: str
    key: str
    seeds: int
    threads: int
    length_key: str
    length: int | None          # configured length (None: the task has no length setting)
    measured_length: int | None
    measured_seconds: float
    seconds_per_seed: float     # extrapolated to the configured length
    one_off_seconds: float = 0.0  # fitted set-up and final-evaluation time per run

    @property
    def core_seconds(self) -> float:
        return self.seconds_per_seed * self.seeds * self.threads


def _sliced_config(config: dict[str, Any], experiment: str, key: str | None,
                   value: int | None) -> dict[str, Any]:
    sliced = copy.deepcopy(config)
    entry = dict(sliced["experiments"][experiment] or {})
    if key is not None and value is not None:
        entry[key] = value
    sliced["experiments"][experiment] = entry
    return sliced


def _timed_slice(config: dict[str, Any], experiment: str, key: str, length_key: str | None,
                 measured: int | None, workdir: Path, threads: int) -> float:
    """Seconds one fresh seed-0 run of ``key`` takes at ``measured`` length units."""
    folder = run_dir(workdir, experiment, key, 0)
    shutil.rmtree(folder, ignore_errors=True)  # never resume an earlier slice's checkpoint
    sliced = _sliced_config(config, experiment, length_key, measured)
    start = time.perf_counter()
    run_one(sliced, experiment, key, 0, results_dir=workdir, threads=threads,
            log=lambda _msg: None)
    return time.perf_counter() - start


def extrapolate(slices: list[tuple[int, float]], length: int) -> tuple[float, float]:
    """``(one-off seconds, seconds per run of length units)`` from timed ``slices``
    ``[(units, seconds), ...]``, fitting the two longest with ``one-off + per unit x units``.

    A slice as long as the run is the answer itself. With one slice, or when the fit's slope
    is not positive (timer noise dominates), or its intercept is negative (later units cost
    more than early ones), the longest slice is scaled linearly (no one-off part), except that
    a non-positive slope means the run costs about what its longest slice did."""
    if not slices:
        raise ValueError("no timed slices to extrapolate from")
    ordered = sorted(slices)
    units, seconds = ordered[-1]
    if units >= length:
        return 0.0, seconds
    if len(ordered) == 1 or ordered[-2][0] == units:
        return 0.0, seconds * length / units
    short_units, short_seconds = ordered[-2]
    per_unit = (seconds - short_seconds) / (units - short_units)
    if per_unit <= 0:
        return seconds, seconds
    one_off = seconds - per_unit * units
    if one_off < 0:
        return 0.0, seconds * length / units
    return one_off, one_off + per_unit * length


def _timed_slices(config: dict[str, Any], experiment: str, key: str, length_key: str | None,
                  length: int | None, slice_length: int, min_seconds: float, workdir: Path,
                  threads: int) -> list[tuple[int | None, float]]:
    """``[(units, seconds), ...]`` of ``key``, longest last: ``slice_length`` units, rerun
    longer while a slice takes under ``min_seconds``, and at twice the length if timed once."""
    def timed(units: int | None) -> tuple[int | None, float]:
        return units, _timed_slice(config, experiment, key, length_key, units, workdir, threads)

    if not length:
        return [timed(None)]
    slices = [timed(min(slice_length, length))]
    while slices[-1][0] < length and slices[-1][1] < min_seconds:
        grow = min(4, max(2, math.ceil(min_seconds / max(slices[-1][1], 1e-3))))
        slices.append(timed(min(length, slices[-1][0] * grow)))
    if len(slices) == 1 and slices[0][0] < length:
        slices.append(timed(min(length, 2 * slices[0][0])))
    return slices


def measure_experiment(config: dict[str, Any], experiment: str, slice_length: int,
                       workdir: Path, log: Callable[[str], None] = print,
                       min_seconds: float = 0.0) -> list[JobCost]:
    """Run every job key of ``experiment`` on seed 0 for ``slice_length`` length units; a
    slice that took under ``min_seconds`` is rerun longer (up to the whole length), and a job
    timed on one slice only is timed again on twice its length, so that :func:`extrapolate`
    can separate one-off work from the time per unit."""
    if slice_length < 1:
        raise ValueError(f"slice_length must be a positive integer, got {slice_length}")
    task, resolved = experiment_task(config, experiment)
    length_key = LENGTH_KEYS.get(task.NAME)
    length = int(resolved[length_key]) if length_key else None
    threads = int(resolved.get("workers", config.get("threads", 1)) or 1)
    seeds = len(seeds_of(resolved["seeds"]))
    workdir.mkdir(parents=True, exist_ok=True)
    prepare_data(_sliced_config(config, experiment, length_key, 1 if length else None),
                 experiment, workdir)
    keys = list(dict.fromkeys(job.key for job in experiment_jobs(config, experiment)))
    costs = []
    for index, key in enumerate(keys, 1):
        slices = _timed_slices(config, experiment, key, length_key, length, slice_length,
                               min_seconds, workdir, threads)
        measured, seconds = slices[-1]
        one_off, per_seed = extrapolate(slices, length) if length else (0.0, seconds)
        costs.append(JobCost(experiment, key, seeds, threads, length_key or "", length,
                             measured, seconds, per_seed, one_off))
        done = (f"{measured} of {length} {length_key}" if length else "in full")
        log(f"[{index}/{len(keys)}] {experiment}/{key}: {done} in {seconds:.1f} s -> "
            f"{per_seed:.0f} s per run ({one_off:.0f} s one-off) x {seeds} seed(s)")
    return costs


def wall_seconds(costs: list[JobCost], cores: int) -> float:
    """Wall time on ``cores`` cores with one job per ``threads`` cores: at least the total
    core time shared out, and at least the longest job."""
    if cores < 1:
        raise ValueError(f"cores must be a positive integer, got {cores}")
    if not costs:
        return 0.0
    return max(sum(c.core_seconds for c in costs) / cores,
               max(c.seconds_per_seed for c in costs))


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f}"


def cost_table(costs: list[JobCost], cores: int) -> str:
    """Markdown: one row per experiment (jobs, slice measured, core-hours, the longest single
    job, wall hours on ``cores`` cores) and a total row."""
    experiments = list(dict.fromkeys(c.experiment for c in costs))
    lines = [f"| experiment | jobs | measured slice | core-hours | longest job (h) "
             f"| wall hours on {cores} cores |", "|---|---:|---|---:|---:|---:|"]

    def longest(rows: list[JobCost]) -> str:
        return _hours(max((c.seconds_per_seed for c in rows), default=0.0))

    for experiment in experiments:
        rows = [c for c in costs if c.experiment == experiment]
        first = rows[0]
        jobs = sum(c.seeds for c in rows)
        low = min(c.measured_length or 0 for c in rows)
        high = max(c.measured_length or 0 for c in rows)
        span = str(low) if low == high else f"{low}–{high}"
        measured = (f"{span} of {first.length} {first.length_key}" if first.length
                    else "whole run")
        lines.append(f"| {experiment} | {jobs} | {measured}, "
                     f"{sum(c.measured_seconds for c in rows):.0f} s | "
                     f"{_hours(sum(c.core_seconds for c in rows))} | {longest(rows)} | "
                     f"{_hours(wall_seconds(rows, cores))} |")
    total_core = sum(c.core_seconds for c in costs)
    lines.append(f"| **all** | {sum(c.seeds for c in costs)} | "
                 f"{sum(c.measured_seconds for c in costs):.0f} s | {_hours(total_core)} | "
                 f"{longest(costs)} | {_hours(wall_seconds(costs, cores))} |")
    return "\n".join(lines) + "\n"


def cost_csv(costs: list[JobCost]) -> str:
    buffer = io.StringIO()
    fields = [*asdict(costs[0]), "core_seconds"] if costs else ["experiment"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for cost in costs:
        writer.writerow({**asdict(cost), "core_seconds": cost.core_seconds})
    return buffer.getvalue()


def measure_profile(config: dict[str, Any], experiments: list[str], slice_length: int,
                    cores: int, out_dir: Path, log: Callable[[str], None] = print,
                    min_seconds: float = 0.0) -> dict[str, Path]:
    """Measure ``experiments`` and write ``cost.csv`` and ``cost.md`` into ``out_dir``."""
    if cores < 1:
        raise ValueError(f"cores must be a positive integer, got {cores}")
    out_dir.mkdir(parents=True, exist_ok=True)
    costs: list[JobCost] = []
    with tempfile.TemporaryDirectory(prefix="odebench-cost-") as scratch:
        for experiment in experiments:
            costs += measure_experiment(config, experiment, slice_length,
                                        Path(scratch) / experiment, log, min_seconds)
    header = (f"# Estimated cost of profile `{config.get('profile', '?')}`\n\n"
              f"Each job measured on seed 0 for a slice of its length (from {slice_length} "
              f"units, longer until a slice took {min_seconds:g} s, and at twice that length when "
              f"timed once), extrapolated to the configured length and seeds by fitting "
              f"one-off + per-unit time to the two longest slices. "
              f"Wall hours assume one job per core ({cores} cores; an ES job takes its "
              f"`workers` cores). Measured on this machine with "
              f"{config.get('threads', 1)} torch thread(s) per job.\n\n")
    paths = {"csv": out_dir / "cost.csv", "md": out_dir / "cost.md"}
    atomic_write_text(paths["csv"], cost_csv(costs))
    atomic_write_text(paths["md"], header + cost_table(costs, cores))
    return paths
