"""What an experiment's results were run on: profile, seeds, epochs or iterations, data (real,
stand-in or generated) and device, as one line for every table header and figure subtitle.

The facts come from the run summaries (profile, device, epochs completed, seeds) and the data
manifest ``data/<experiment>.json`` that the ``data`` step writes (its ``source`` sentence).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# What one row of epochs.csv is, per experiment kind (report.tables.TASK_KIND); epochs otherwise.
STEP_UNITS = {"pointcloud": "iterations", "rl": "iterations", "optim": "steps",
              "theory": "steps", "silverbox": "solves", "structure": "iterations"}
# The only profile whose settings are the papers' (config/paper.yaml).
PAPER_PROFILE = "paper"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Scope:
    """What an experiment's runs were: the facts a reader needs beside any number of it."""

    profile: str
    seeds: tuple[int, ...]
    steps: int | None          # the most epochs/iterations any run completed
    step_unit: str             # "epochs", "iterations", ...
    data: str                  # the data manifest's ``source`` sentence
    stand_in: bool             # an offline substitute for a paper's real dataset
    device: str

    @property
    def matches_paper(self) -> bool:
        """Run at the papers' settings on the papers' data: only then do our numbers and the
        papers' share a column."""
        return self.profile == PAPER_PROFILE and not self.stand_in


def _distinct(frame: pd.DataFrame, column: str) -> list:
    if frame.empty or column not in frame:
        return []
    return sorted(frame[column].dropna().unique().tolist())


def _summary_profile(results_dir: Path, experiment: str, runs: pd.DataFrame) -> str | None:
    """The ``profile`` recorded in the first readable summary.json of the runs."""
    if runs.empty or not {"model", "seed"} <= set(runs):
        return None
    settings = (runs["setting"].astype(object) if "setting" in runs
                else pd.Series("", index=runs.index, dtype=object))
    settings = settings.where(settings.notna(), "")
    for model, setting, seed in zip(runs["model"], settings, runs["seed"], strict=True):
        key = f"{model}@{setting}" if setting else str(model)
        path = results_dir / "runs" / experiment / key / f"seed{int(seed)}" / "summary.json"
        try:
            profile = json.loads(path.read_text()).get("config", {}).get("profile")
        except (OSError, ValueError):
            continue
        if profile:
            return str(profile)
    return None


def data_source(results_dir: Path, experiment: str) -> str:
    """The ``source`` sentence of ``data/<experiment>.json``, or ``unknown``."""
    try:
        manifest = json.loads((results_dir / "data" / f"{experiment}.json").read_text())
    except (OSError, ValueError):
        return UNKNOWN
    return str(manifest.get("source") or UNKNOWN)


def is_stand_in(source: str) -> bool:
    """The data manifests call an offline substitute for a real dataset a stand-in."""
    return "stand-in" in source.lower() or "standin" in source.lower()


def experiment_scope(results_dir: str | Path, experiment: str, runs: pd.DataFrame,
                     kind: str | None = None, profile: str | None = None) -> Scope:
    """The scope of ``experiment``'s planned ``runs`` (the aggregate's runs frame);
    ``profile`` overrides the one the summaries recorded."""
    results_dir = Path(results_dir)
    completed = _distinct(runs, "epochs_completed")
    devices = [str(d) for d in _distinct(runs, "device")]
    source = data_source(results_dir, experiment)
    return Scope(
        profile=profile or _summary_profile(results_dir, experiment, runs) or UNKNOWN,
        seeds=tuple(int(s) for s in _distinct(runs, "seed")),
        steps=int(max(completed)) if completed else None,
        step_unit=STEP_UNITS.get(kind or "", "epochs"),
        data=source, stand_in=is_stand_in(source),
        device=", ".join(devices) if devices else UNKNOWN)


def _seeds_text(seeds: tuple[int, ...]) -> str:
    if not seeds:
        return "no seeds"
    shown = ", ".join(str(s) for s in seeds[:6]) + (", …" if len(seeds) > 6 else "")
    return f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} ({shown})"


def scope_line(scope: Scope) -> str:
    """``profile smoke · 1 seed (0) · 3 epochs · data: … (stand-in) · device cpu``."""
    steps = (f"up to {scope.steps} {scope.step_unit}" if scope.steps is not None
             else f"{scope.step_unit}: unknown")
    data = f"data: {scope.data}"
    if scope.stand_in and "stand-in" not in scope.data.lower():
        data += " (stand-in)"
    return " · ".join([f"profile {scope.profile}", _seeds_text(scope.seeds), steps, data,
                       f"device {scope.device}"])


def paper_why(scope: Scope) -> str:
    """Why the paper's numbers are not ours to compare: ``different data`` (a stand-in) or
    ``different settings`` (a profile other than the papers')."""
    return "different data" if scope.stand_in else "different settings"


def paper_column_header(scope: Scope, header: str) -> str:
    """The header of a column of the paper's numbers: as given where our runs match the paper's
    setting, else marked as from different data or different settings."""
    if scope.matches_paper:
        return header
    why = paper_why(scope)
    source, colon, rest = header.partition(": ")
    return f"{source} ({why}): {rest}" if colon else f"{header} ({why})"
