"""Aggregate run records, then build tables (.csv, .md) and figures (.png, .pdf) from them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from odebench.records.atomic import atomic_write_text
from odebench.records.run_record import read_epochs, read_summaries
from odebench.report.figures import curves_figure
from odebench.report.tables import model_table, to_markdown


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
    return pd.read_csv(paths["epochs"]), runs


def build_table(results_dir: str | Path, experiment: str,
                model_order: Sequence[str] | None = None) -> dict[str, Path]:
    """``tables/<experiment>.csv`` (tidy, one row per model) and ``.md`` (readable)."""
    results_dir = Path(results_dir)
    epochs, runs = _load_aggregate(results_dir, experiment)
    table = model_table(epochs, runs, model_order)
    folder = results_dir / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {"csv": folder / f"{experiment}.csv", "md": folder / f"{experiment}.md"}
    _write_csv(table, outputs["csv"])
    atomic_write_text(outputs["md"], to_markdown(table, experiment))
    return outputs


def build_figure(results_dir: str | Path, experiment: str,
                 model_order: Sequence[str] | None = None) -> dict[str, Path]:
    """``figures/<experiment>.png`` and ``.pdf``: NFE and loss vs epoch, bands over seeds."""
    results_dir = Path(results_dir)
    epochs, _ = _load_aggregate(results_dir, experiment)
    folder = results_dir / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {"png": folder / f"{experiment}.png", "pdf": folder / f"{experiment}.pdf"}
    temporary = [p.with_name(f".{p.stem}.tmp{p.suffix}") for p in outputs.values()]
    curves_figure(epochs, temporary, title=experiment, model_order=model_order)
    for tmp, final in zip(temporary, outputs.values(), strict=True):
        tmp.replace(final)
    return outputs


def build_experiment_report(results_dir: str | Path, experiment: str,
                            model_order: Sequence[str] | None = None) -> dict[str, Path]:
    """Aggregate, table and figure in one go (the ``report`` target)."""
    return {**aggregate(results_dir, experiment),
            **build_table(results_dir, experiment, model_order),
            **build_figure(results_dir, experiment, model_order)}
