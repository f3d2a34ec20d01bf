"""Aggregate run records, then build tables (.csv, .md) and figures (.png, .pdf) from them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from odebench.records.atomic import atomic_write_text
from odebench.records.run_record import read_epochs, read_summaries
from odebench.report.figures import (
    IMAGE_PANELS,
    PANELS,
    curves_figure,
    norm_figure,
    tolerance_scatter,
)
from odebench.report.reference import REFERENCES
from odebench.report.tables import TASK_KIND, model_table, to_markdown, with_setting


class NoRunsError(RuntimeError):
    """No run record exists for an experiment that a report was asked for."""


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    atomic_write_text(path, buffer.getvalue())


def aggregate_paths(results_dir: Path, experiment: str) -> dict[str, Path]:
    folder = Path(results_dir) / "aggregate"
    return {"epochs": folder / f"{experiment}_epochs.csv",
            "runs": folder / f"{experiment}_runs.csv"}


def aggregate(results_dir: str | Path, experiment: str) -> dict[str, Path]:
    """Collect every run record of ``experiment`` into two tidy CSV files."""
    results_dir = Path(results_dir)
    epochs = read_epochs(results_dir, experiment)
    if epochs.empty:
        raise NoRunsError(f"no run records for experiment {experiment!r} under "
                          f"{results_dir / 'runs' / experiment}")
    paths = aggregate_paths(results_dir, experiment)
    paths["epochs"].parent.mkdir(parents=True, exist_ok=True)
    _write_csv(epochs, paths["epochs"])
    _write_csv(read_summaries(results_dir, experiment), paths["runs"])
    return paths


def _load_aggregate(results_dir: Path, experiment: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    paths = aggregate_paths(results_dir, experiment)
    for path in paths.values():
        if not path.is_file():
            raise NoRunsError(f"aggregate file missing: {path} (run the aggregate step first)")
    runs = pd.read_csv(paths["runs"]) if paths["runs"].stat().st_size > 1 else pd.DataFrame()
    return with_setting(pd.read_csv(paths["epochs"])), runs


def experiment_kind(runs: pd.DataFrame) -> str | None:
    """pointcloud, images or silverbox, from the task recorded in the runs' summaries."""
    if runs.empty or "task" not in runs:
        return None
    tasks = runs["task"].dropna().unique()
    return TASK_KIND.get(tasks[0]) if len(tasks) else None


def build_table(results_dir: str | Path, experiment: str,
                model_order: Sequence[str] | None = None) -> dict[str, Path]:
    """``tables/<experiment>.csv`` (tidy, one row per model) and ``.md`` (readable)."""
    results_dir = Path(results_dir)
    epochs, runs = _load_aggregate(results_dir, experiment)
    reference = REFERENCES.get(experiment)
    table = model_table(epochs, runs, model_order, kind=experiment_kind(runs),
                        reference=reference)
    folder = results_dir / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {"csv": folder / f"{experiment}.csv", "md": folder / f"{experiment}.md"}
    _write_csv(table, outputs["csv"])
    atomic_write_text(outputs["md"], to_markdown(table, experiment, reference))
    return outputs


def build_figure(results_dir: str | Path, experiment: str,
                 model_order: Sequence[str] | None = None) -> dict[str, Path]:
    """``figures/<experiment>.png`` and ``.pdf`` in the papers' forms.

    Point cloud: NFE and loss vs iteration; images: NFE, time, loss and accuracy vs epoch
    (a tolerance sweep: forward vs backward NFE coloured by tolerance); Silverbox: ||h(t)||.
    """
    results_dir = Path(results_dir)
    epochs, runs = _load_aggregate(results_dir, experiment)
    kind = experiment_kind(runs)
    folder = results_dir / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {"png": folder / f"{experiment}.png", "pdf": folder / f"{experiment}.pdf"}
    temporary = [p.with_name(f".{p.stem}.tmp{p.suffix}") for p in outputs.values()]
    if kind == "silverbox":
        norm_figure(epochs, temporary, title=experiment, model_order=model_order)
    elif kind == "images" and epochs["setting"].str.startswith("tol=").any():
        tolerance_scatter(epochs, temporary, title=experiment, model_order=model_order)
    else:
        panels = IMAGE_PANELS if kind == "images" else PANELS
        curves_figure(epochs, temporary, title=experiment, model_order=model_order,
                      panels=panels)
    for tmp, final in zip(temporary, outputs.values(), strict=True):
        tmp.replace(final)
    return outputs


def build_experiment_report(results_dir: str | Path, experiment: str,
                            model_order: Sequence[str] | None = None) -> dict[str, Path]:
    """Aggregate, table and figure in one go (the ``report`` target)."""
    return {**aggregate(results_dir, experiment),
            **build_table(results_dir, experiment, model_order),
            **build_figure(results_dir, experiment, model_order)}
