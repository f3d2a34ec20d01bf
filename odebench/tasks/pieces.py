"""Reference pieces: a profile's ``pieces:`` split its jobs into named Snakemake targets that
each finish within a budget (about 2 hours on 2 cores), so a long reference run can be resumed
and committed piece by piece. A finished piece writes ``pieces/<name>.json``: its runs, the
machine, the versions and its wall time, read back from the runs' summaries."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime
from pathlib import Path
from typing import Any

from odebench.config import ConfigError, seeds_of
from odebench.records.atomic import atomic_write_text
from odebench.records.run_record import cpu_model, git_commit, uncommitted_code_changes
from odebench.tasks.run import Job, experiment_jobs, experiment_task, stale_settings

PIECES_DIR = "pieces"


def piece_names(config: dict[str, Any]) -> list[str]:
    return list(config.get("pieces") or {})


def piece_jobs(config: dict[str, Any], name: str) -> dict[str, list[Job]]:
    """{experiment: its jobs in piece ``name``}; a piece, experiment or seed the config does
    not plan is a :class:`ConfigError` naming it and the valid ones."""
    pieces = config.get("pieces") or {}
    if name not in pieces:
        raise ConfigError(f"pieces: no piece {name!r}; valid: "
                          f"{', '.join(pieces) or '(this config defines none)'}")
    chosen = {}
    for experiment, seeds in pieces[name].items():
        if experiment not in config.get("experiments", {}):
            raise ConfigError(f"pieces.{name}: experiment {experiment!r} is not configured; "
                              f"valid: {', '.join(config.get('experiments', {}))}")
        _, resolved = experiment_task(config, experiment)
        planned = seeds_of(resolved["seeds"])
        wanted = planned if seeds == "all" else list(seeds)
        outside = [s for s in wanted if s not in planned]
        if outside:
            raise ConfigError(f"pieces.{name}.{experiment}: seed(s) {outside} are not among "
                              f"the experiment's seeds {planned}")
        chosen[experiment] = [j for j in experiment_jobs(config, experiment) if j.seed in wanted]
    return chosen


def check_pieces(config: dict[str, Any]) -> None:
    """Every planned job of a config with pieces lies in exactly one piece."""
    if not config.get("pieces"):
        return
    owner: dict[tuple[str, str, int], str] = {}
    for name in piece_names(config):
        for experiment, jobs in piece_jobs(config, name).items():
            for job in jobs:
                key = (experiment, job.key, job.seed)
                if key in owner:
                    raise ConfigError(f"pieces: {experiment}/{job.key}/seed{job.seed} is in "
                                      f"both {owner[key]!r} and {name!r}")
                owner[key] = name
    for experiment in config.get("experiments", {}):
        left = [j for j in experiment_jobs(config, experiment)
                if (experiment, j.key, j.seed) not in owner]
        if left:
            raise ConfigError(f"pieces: {len(left)} job(s) of {experiment!r} are in no piece "
                              f"(e.g. {left[0].key}/seed{left[0].seed}); add them to one")


def _piece_runs(config: dict[str, Any], name: str,
                results_dir: str | Path) -> list[tuple[str, Job, Path]]:
    base = Path(results_dir) / "runs"
    return [(experiment, job, base / experiment / job.key / f"seed{job.seed}" / "summary.json")
            for experiment, jobs in piece_jobs(config, name).items() for job in jobs]


def piece_summaries(config: dict[str, Any], name: str, results_dir: str | Path) -> list[Path]:
    """The ``summary.json`` path of every run of piece ``name``."""
    return [path for _, _, path in _piece_runs(config, name, results_dir)]


PACKAGE_DIR = Path(__file__).resolve().parent


def _versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in ("odebench", "torch", "torchdiffeq", "numpy", "scipy", "pandas",
                    "gymnasium", "mujoco", "snakemake"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _short_commit() -> str | None:
    commit = git_commit(PACKAGE_DIR)
    return commit[:7] if commit else None


def _job_seconds(summary: dict[str, Any]) -> float | None:
    """A run's time over all its invocations: ``job_seconds``, or for records without it the
    larger of the last invocation's wall time and the summed epoch times (a resumed run's
    ``wall_seconds`` covers only its last invocation)."""
    if isinstance(summary.get("job_seconds"), int | float):
        return summary["job_seconds"]
    times = [summary.get("wall_seconds"), (summary.get("final") or {}).get("total_seconds")]
    times = [t for t in times if isinstance(t, int | float)]
    return max(times) if times else None


def piece_record(config: dict[str, Any], name: str, results_dir: str | Path) -> dict[str, Any]:
    """The record of a finished piece: its runs (status, last invocation's wall seconds, job
    seconds over all invocations), the span from the first run's start to the last run's end,
    the summed job time, machine, versions and commit (with uncommitted code changes). A run
    whose record another config made (other settings, data or device) is a ConfigError."""
    runs, starts, ends = [], [], []
    for experiment, job, path in _piece_runs(config, name, results_dir):
        try:
            summary = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ConfigError(f"piece {name!r}: cannot read {path} ({error}); run the piece "
                              "first") from error
        stale = stale_settings(config, experiment, job.key, job.seed, summary)
        if stale:
            raise ConfigError(f"piece {name!r}: {path.parent} was not made with this config "
                              f"({stale}); remove that run folder and run the piece again")
        runs.append({"run": str(path.parent.relative_to(Path(results_dir) / "runs")),
                     "status": summary.get("status"),
                     "wall_seconds": summary.get("wall_seconds"),
                     "job_seconds": _job_seconds(summary)})
        if summary.get("started_at"):
            starts.append(datetime.fromisoformat(summary["started_at"]))
        if summary.get("written_at"):
            ends.append(datetime.fromisoformat(summary["written_at"]))
    jobs = [r["job_seconds"] for r in runs if r["job_seconds"] is not None]
    span = (max(ends) - min(starts)).total_seconds() if starts and ends else None
    return {
        "piece": name, "profile": config.get("profile"), "runs": len(runs),
        "statuses": {s: sum(r["status"] == s for r in runs) for s in {r["status"] for r in runs}},
        "first_start": min(starts).isoformat() if starts else None,
        "last_end": max(ends).isoformat() if ends else None,
        "span_seconds": round(span, 3) if span is not None else None,
        "span_hours": round(span / 3600, 3) if span is not None else None,
        "job_seconds": round(sum(jobs), 3), "job_hours": round(sum(jobs) / 3600, 3),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(),
                    "system": f"{platform.system()} {platform.release()}"},
        "versions": _versions(), "commit": _short_commit(),
        "uncommitted_code_changes": uncommitted_code_changes(), "run_list": runs}


def write_piece_record(config: dict[str, Any], name: str, results_dir: str | Path,
                       out: str | Path | None = None) -> Path:
    path = Path(out) if out else Path(results_dir) / PIECES_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(piece_record(config, name, results_dir), indent=2) + "\n")
    return path
