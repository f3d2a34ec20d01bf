"""Rebuild one experiment's table (.csv, .md) and figure (.png, .pdf) from its run records."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from odebench.records.atomic import atomic_write_text
from odebench.records.run_record import read_epochs, read_summaries
from odebench.report.figures import curves_figure
from odebench.report.tables import model_table, to_markdown


class NoRunsError(RuntimeError):
    """No run record exists for an experiment that a report was asked for."""


def build_experiment_report(results_dir: str | Path, experiment: str,
                            model_order: Sequence[str] | None = None) -> dict[str, Path]:
    """Write ``tables/<experiment>.{csv,md}`` and ``figures/<experiment>.{png,pdf}``."""
    results_dir = Path(results_dir)
    epochs = read_epochs(results_dir, experiment)
    if epochs.empty:
        raise NoRunsError(f"no run records for experiment {experiment!r} under "
                          f"{results_dir / 'runs' / experiment}")
    summaries = read_summaries(results_dir, experiment)
    table = model_table(epochs, summaries, model_order)
    tables, figures = results_dir / "tables", results_dir / "figures"
    tables.mkdir(parents=True, exist_ok=True)
    figures.mkdir(parents=True, exist_ok=True)
    outputs = {"csv": tables / f"{experiment}.csv", "md": tables / f"{experiment}.md",
               "png": figures / f"{experiment}.png", "pdf": figures / f"{experiment}.pdf"}
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    atomic_write_text(outputs["csv"], buffer.getvalue())
    atomic_write_text(outputs["md"], to_markdown(table, experiment))
    tmp_png = outputs["png"].with_name(f".{experiment}.tmp.png")
    tmp_pdf = outputs["pdf"].with_name(f".{experiment}.tmp.pdf")
    curves_figure(epochs, [tmp_png, tmp_pdf], title=experiment, model_order=model_order)
    tmp_png.replace(outputs["png"])
    tmp_pdf.replace(outputs["pdf"])
    return outputs
