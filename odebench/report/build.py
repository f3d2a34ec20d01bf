"""Aggregate run records, then build tables (.csv, .md, .tex) and figures (.png, .pdf) from
them."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from odebench.records.atomic import atomic_write_text
from odebench.records.run_record import (
    planned_rows,
    read_epochs,
    read_summaries,
    unplanned_runs,
)
from odebench.report import notes
from odebench.report.claims import experiment_verdicts
from odebench.report.figures import (
    IMAGE_PANELS,
    PANELS,
    SEQUENCE_PANELS,
    NoAdjointProfileError,
    adjoint_columns,
    adjoint_figure,
    curves_figure,
    norm_figure,
    tolerance_scatter,
)
from odebench.report.formatting import fixed, value
from odebench.report.latex import markdown_to_latex
from odebench.report.odetoode import (
    integrator_table,
    mnistc_figure,
    mnistc_markdown,
    mnistc_table,
    theory_figure,
    theory_markdown,
    theory_table,
)
from odebench.report.optim_flows import optim_markdown, optim_summary, plot_optim_figure
from odebench.report.outcomes import with_outcome
from odebench.report.reference import REFERENCES
from odebench.report.rl import rl_figure, rl_markdown, rl_table
from odebench.report.scope import (
    Scope,
    experiment_scope,
    paper_column_header,
    paper_why,
    scope_line,
)
from odebench.report.size_ablation import select_sizes, sizes_note
from odebench.report.structure import structure_figure, structure_markdown, structure_table
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


def aggregate(results_dir: str | Path, experiment: str, runs: Sequence[str] | None = None,
              log: Callable[[str], None] = print) -> dict[str, Path]:
    """Collect the run records of ``experiment`` into two tidy CSV files.

    ``runs``: the planned ``<run>/seed<k>`` folders (what the CLI and the workflow pass); any
    other folder under ``runs/<experiment>/`` is ignored, with one line saying so. None reads
    every folder (library use on a results folder of one plan)."""
    results_dir = Path(results_dir)
    if runs is not None:
        ignored = unplanned_runs(results_dir, experiment, runs)
        if ignored:
            shown = ", ".join(ignored[:3]) + (f" and {len(ignored) - 3} more"
                                              if len(ignored) > 3 else "")
            log(f"{experiment}: ignored {len(ignored)} run folder(s) outside this config's "
                f"plan: {shown}")
    epochs = read_epochs(results_dir, experiment, runs)
    if epochs.empty:
        raise NoRunsError(f"no run records for experiment {experiment!r} under "
                          f"{results_dir / 'runs' / experiment}")
    paths = aggregate_paths(results_dir, experiment)
    paths["epochs"].parent.mkdir(parents=True, exist_ok=True)
    _write_csv(epochs, paths["epochs"])
    _write_csv(read_summaries(results_dir, experiment, runs), paths["runs"])
    return paths


def _load_aggregate(results_dir: Path, experiment: str,
                    planned: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The aggregate frames (only the rows of the ``planned`` ``<run>/seed<k>`` folders, when
    given), a size ablation's runs reduced to the best size per (model, setting)."""
    paths = aggregate_paths(results_dir, experiment)
    for path in paths.values():
        if not path.is_file():
            raise NoRunsError(f"aggregate file missing: {path} (run the aggregate step first)")
    runs = pd.read_csv(paths["runs"]) if paths["runs"].stat().st_size > 1 else pd.DataFrame()
    epochs = with_setting(pd.read_csv(paths["epochs"]))
    if planned is not None:
        epochs, runs = planned_rows(epochs, planned), planned_rows(runs, planned)
    return select_sizes(epochs, runs)


def experiment_kind(runs: pd.DataFrame) -> str | None:
    """pointcloud, images, silverbox or sequences, from the task in the runs' summaries."""
    if runs.empty or "task" not in runs:
        return None
    tasks = runs["task"].dropna().unique()
    return TASK_KIND.get(tasks[0]) if len(tasks) else None


def _recorded(runs: pd.DataFrame, column: str) -> float | None:
    """The largest value of ``column`` over the runs (they share one test set), or None."""
    if column not in runs:
        return None
    values = runs[column].dropna()
    return float(values.max()) if len(values) else None


def reference_levels(runs: pd.DataFrame, percent: bool = False) -> list[str]:
    """Sentences stating what a model that learns nothing scores on the runs' test set: the
    majority class (classification), or the training mean and the held last value
    (sequences; test MSE). Empty when the runs recorded neither. ``percent``: the chance
    accuracy in % (for a table in %)."""
    levels = []
    chance = _recorded(runs, "chance_accuracy")  # the test set's majority class
    if chance is not None:
        shown = f"{fixed(100 * chance, 1)} %" if percent else fixed(chance, 3)
        levels.append(f"Chance level (always the test set's majority class): accuracy "
                      f"{shown}.")
    mean = _recorded(runs, "baseline_mse_train_mean")
    held = _recorded(runs, "baseline_mse_persistence")
    if mean is not None and held is not None:
        levels.append(f"Predictors that learn nothing, on the same test windows: the training "
                      f"mean, test MSE {value(mean)}; the last observed value held, test MSE "
                      f"{value(held)}.")
    return levels


def build_table(results_dir: str | Path, experiment: str,
                model_order: Sequence[str] | None = None) -> dict[str, Path]:
    """``tables/<experiment>.csv`` (tidy, one row per model), ``.md`` (readable) and ``.tex``
    (the same tables in LaTeX booktabs form, :func:`~odebench.report.latex.markdown_to_latex`),
    each written atomically."""
    results_dir = Path(results_dir)
    epochs, runs = _load_aggregate(results_dir, experiment)
    kind = experiment_kind(runs)
    scope = experiment_scope(results_dir, experiment, runs, kind)
    folder = results_dir / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {"csv": folder / f"{experiment}.csv", "md": folder / f"{experiment}.md",
               "tex": folder / f"{experiment}.tex"}
    if kind == "mnistc":  # ODEtoODE Tables 1-2: corruption rows x model columns
        table = mnistc_table(runs, _setup_of(runs), model_order)
        text = mnistc_markdown(table, experiment, _setup_of(runs),
                               reference_levels(runs, percent=True), scope.matches_paper,
                               paper_why(scope))
    elif kind == "rl":  # final returns per (env, policy), then the paper's claims
        table = rl_table(epochs, runs, model_order)
        text = rl_markdown(table, experiment_verdicts(epochs, runs, experiment, kind),
                           experiment)
    elif kind == "optim":  # final losses per (figure, problem, method)
        table = optim_summary(epochs.sort_values(["model", "epoch"]))
        text = optim_markdown(table, experiment)
    elif kind == "structure":  # property x model (review Sec. 4)
        table = structure_table(epochs, model_order)
        text = structure_markdown(table, experiment, _labels(runs))
    elif kind == "theory":  # ratios per (model, phase, T, N), then the W-flow integrators
        ratios, integrators = theory_table(epochs), integrator_table(epochs)
        table = pd.concat([ratios.assign(section="ratios"),
                           integrators.assign(section="integrators")], ignore_index=True)
        text = theory_markdown(ratios, integrators, experiment)
    else:
        reference = REFERENCES.get(experiment)
        if reference is not None:
            reference = replace(reference, header=paper_column_header(scope, reference.header))
        table = model_table(epochs, runs, model_order, kind=kind, reference=reference)
        text = to_markdown(table, experiment, reference, reference_levels(runs))
    text = with_scope_line(text, scope, notes.reproduces(experiment))
    _write_csv(table, outputs["csv"])
    atomic_write_text(outputs["md"], text)
    atomic_write_text(outputs["tex"], markdown_to_latex(text, label=experiment,
                                                        source=outputs["md"].name))
    return outputs


def with_scope_line(text: str, scope: Scope, source: str = "") -> str:
    """``text`` (a table's Markdown) with the line saying what was run right under its title
    (at the top when it has none), and the paper figure or table it reproduces (``source``)."""
    line = f"*Run on:* {scope_line(scope)}." + (f" *Reproduces:* {source}." if source else "")
    first, newline, rest = text.partition("\n")
    if first.startswith("# "):
        return f"{first}\n\n{line}\n{newline}{rest}"
    return f"{line}\n\n{text}"


def _labels(runs: pd.DataFrame) -> dict[str, str]:
    """Model name -> label from the runs' summaries (the registry's label where recorded)."""
    if runs.empty or "label" not in runs:
        return {}
    return {str(m): str(lab) for m, lab in zip(runs["model"], runs["label"], strict=True)
            if isinstance(lab, str)}


def _setup_of(runs: pd.DataFrame) -> str:
    setups = runs["setup"].dropna().unique() if "setup" in runs else []
    return str(setups[0]) if len(setups) else ""


def figure_paths(results_dir: str | Path, experiment: str,
                 suffix: str = "") -> dict[str, Path]:
    """``figures/<experiment><suffix>.png`` and ``.pdf`` (suffix ``_adjoint``: the
    adjoint-norm figure)."""
    folder = Path(results_dir) / "figures"
    stem = f"{experiment}{suffix}"
    key = suffix.removeprefix("_") + "_" if suffix else ""
    return {f"{key}png": folder / f"{stem}.png", f"{key}pdf": folder / f"{stem}.pdf"}


def _write_figure(outputs: dict[str, Path], draw: Callable[[list[Path]], None]) -> None:
    """``draw`` into temp files beside ``outputs``, then rename them onto the outputs, so
    that a failed or interrupted draw never leaves a partial figure."""
    next(iter(outputs.values())).parent.mkdir(parents=True, exist_ok=True)
    temporary = [p.with_name(f".{p.stem}.tmp{p.suffix}") for p in outputs.values()]
    try:
        draw(temporary)
        for tmp, final in zip(temporary, outputs.values(), strict=True):
            tmp.replace(final)
    finally:
        for tmp in temporary:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _main_figure(epochs: pd.DataFrame, kind: str | None, title: str,
                 model_order: Sequence[str] | None,
                 runs: pd.DataFrame | None = None) -> Callable[[list[Path]], None]:
    """The drawing of an experiment's main figure, chosen by its kind."""
    if kind == "mnistc":
        table = mnistc_table(runs if runs is not None else pd.DataFrame(), _setup_of(runs),
                             model_order)
        chance = _recorded(runs if runs is not None else pd.DataFrame(), "chance_accuracy")
        return lambda paths: mnistc_figure(table, paths, title=title, chance=chance)
    if kind == "rl":
        title += sizes_note(runs)
        return lambda paths: rl_figure(epochs, paths, title=title, model_order=model_order)
    if kind == "optim":
        frame = epochs.sort_values(["model", "epoch"])
        return lambda paths: [plot_optim_figure(frame, path, title=title) for path in paths]
    if kind == "structure":
        return lambda paths: structure_figure(epochs, paths, title=title,
                                              model_order=model_order)
    if kind == "theory":
        return lambda paths: theory_figure(epochs, paths, title=title, model_order=model_order)
    if kind == "silverbox":
        return lambda paths: norm_figure(epochs, paths, title=title, model_order=model_order)
    if kind == "images" and epochs["setting"].str.startswith("tol=").any():
        return lambda paths: tolerance_scatter(epochs, paths, title=title,
                                               model_order=model_order)
    panels = {"images": IMAGE_PANELS, "sequences": SEQUENCE_PANELS}.get(kind or "", PANELS)
    chance = _recorded(runs, "chance_accuracy") if runs is not None else None
    return lambda paths: curves_figure(epochs, paths, title=title, model_order=model_order,
                                       panels=panels, chance=chance)


def _adjoint_outputs(results_dir: Path, experiment: str, epochs: pd.DataFrame,
                     model_order: Sequence[str] | None,
                     runs: pd.DataFrame | None = None) -> dict[str, Path]:
    if not adjoint_columns(epochs):
        raise NoAdjointProfileError(
            f"experiment {experiment!r} has no adjoint_norm_<k> columns in "
            f"{aggregate_paths(results_dir, experiment)['epochs']}: only sequence tasks with "
            "adjoint_profile: true record the adjoint-norm profile")
    outputs = figure_paths(results_dir, experiment, "_adjoint")
    runs = pd.DataFrame() if runs is None else runs
    scope = experiment_scope(results_dir, experiment, runs, experiment_kind(runs))
    title = figure_title(experiment, scope, "adjoint norm ‖∂L_last/∂z_t‖")
    _write_figure(outputs, lambda paths: adjoint_figure(epochs, paths, title=title,
                                                        model_order=model_order))
    return outputs


def figure_title(experiment: str, scope: Scope, what: str = "") -> str:
    """A figure's title: the experiment (and ``what`` it shows) on the first line, the scope
    line (:func:`~odebench.report.scope.scope_line`) as the subtitle on the second."""
    head = f"{experiment}: {what}" if what else experiment
    return f"{head}\n{scope_line(scope)}"


def build_figure(results_dir: str | Path, experiment: str,
                 model_order: Sequence[str] | None = None,
                 adjoint: bool | None = None) -> dict[str, Path]:
    """``figures/<experiment>.png`` and ``.pdf`` in the papers' forms, plus
    ``figures/<experiment>_adjoint.png``/``.pdf`` (keys ``adjoint_png``/``adjoint_pdf``) when
    ``adjoint`` is true, or when it is None and the epochs carry ``adjoint_norm_*`` columns.

    Point cloud: NFE, loss and gradient norm vs iteration; images: NFE, time, loss, accuracy
    and gradient norm vs epoch (a tolerance sweep: forward vs backward NFE coloured by
    tolerance); sequences: forward/backward/test NFE, train loss, validation and test MSE,
    gradient norm vs epoch; Silverbox: ||h(t)||.
    """
    results_dir = Path(results_dir)
    epochs, runs = _load_aggregate(results_dir, experiment)
    outputs = figure_paths(results_dir, experiment)
    drawn = with_outcome(epochs, runs) if "seed" in epochs else epochs
    kind = experiment_kind(runs)
    title = figure_title(experiment, experiment_scope(results_dir, experiment, runs, kind),
                         notes.what(experiment))
    _write_figure(outputs, _main_figure(drawn, kind, title, model_order, runs))
    if adjoint is None:
        adjoint = bool(adjoint_columns(epochs))
    if adjoint:
        outputs.update(_adjoint_outputs(results_dir, experiment, epochs, model_order, runs))
    return outputs


def build_adjoint_figure(results_dir: str | Path, experiment: str,
                         model_order: Sequence[str] | None = None) -> dict[str, Path]:
    """``figures/<experiment>_adjoint.png`` and ``.pdf`` alone (HBNODE Fig. 4, NesterovNODE
    Fig. 2 right); :class:`NoAdjointProfileError` when no run recorded the profile."""
    results_dir = Path(results_dir)
    epochs, runs = _load_aggregate(results_dir, experiment)
    return _adjoint_outputs(results_dir, experiment, epochs, model_order, runs)


def build_experiment_report(results_dir: str | Path, experiment: str,
                            model_order: Sequence[str] | None = None,
                            runs: Sequence[str] | None = None,
                            log: Callable[[str], None] = print) -> dict[str, Path]:
    """Aggregate (the planned ``runs``, see :func:`aggregate`), table and figure(s) in one go
    (the ``report`` target); the adjoint-norm figure too where the runs recorded the
    profile."""
    return {**aggregate(results_dir, experiment, runs, log),
            **build_table(results_dir, experiment, model_order),
            **build_figure(results_dir, experiment, model_order)}
