"""Work-precision benchmark: its measurement on the analytic problem, the CSV check, the figure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks.work_precision import (
    COLUMNS,
    analytic_problem,
    fixed_step_sizes,
    measure_problem,
    write_outputs,
)
from odebench.report.work_precision import (
    REQUIRED_COLUMNS,
    load_work_precision,
    work_precision_figure,
)

TOLERANCES = (1e-4, 1e-8)


@pytest.fixture(scope="module")
def analytic_rows() -> pd.DataFrame:
    """The analytic problem at two tolerances and two step sizes per fixed-step method."""
    steps = {"rk4": (0.25, 0.125), "euler": (0.0625, 0.03125)}
    return measure_problem(analytic_problem(), TOLERANCES, repeats=1, budget=0.0,
                           step_sizes=steps)


def _synthetic() -> pd.DataFrame:
    rows = []
    for problem in ("analytic", "pointcloud"):
        for backend, method, scale in (("torchdiffeq", "dopri5", 1.0), ("lean", "dopri5", 0.4),
                                       ("torchdiffeq", "rk4", 0.8)):
            for k, tol in enumerate((1e-3, 1e-6, 1e-9)):
                rows.append({"problem": problem, "method": method, "backend": backend,
                             "tolerance_or_step": tol, "error": tol * 3,
                             "seconds": scale * 1e-3 * 2**k, "nfe": 20 * 2**k})
    return pd.DataFrame(rows)


def test_errors_fall_with_tighter_tolerance_or_smaller_step(analytic_rows):
    assert list(analytic_rows.columns) == list(COLUMNS)
    for _, line in analytic_rows.groupby(["backend", "method"]):
        line = line.sort_values("tolerance_or_step", ascending=False)
        assert len(line) == 2
        assert line["error"].iloc[1] < line["error"].iloc[0]
        assert line["nfe"].iloc[1] > line["nfe"].iloc[0]


def test_lean_matches_torchdiffeq(analytic_rows):
    keys = ["method", "tolerance_or_step"]
    lean = analytic_rows[analytic_rows["backend"] == "lean"].set_index(keys)
    tdq = analytic_rows[analytic_rows["backend"] == "torchdiffeq"].set_index(keys).loc[lean.index]
    assert set(lean.index.get_level_values("method")) == {"dopri5", "rk4", "euler"}
    assert (lean["nfe"] == tdq["nfe"]).all()
    assert ((lean["error"] - tdq["error"]).abs() <= 1e-10 * tdq["error"]).all()


def test_dopri5_reaches_the_exact_solution(analytic_rows):
    tight = analytic_rows[(analytic_rows["method"] == "dopri5")
                          & (analytic_rows["tolerance_or_step"] == 1e-8)]
    assert len(tight) == 2 and (tight["error"] < 1e-6).all()
    assert (analytic_rows["seconds"] > 0).all() and (analytic_rows["repeats"] == 1).all()


def test_fixed_steps_divide_the_output_spacing_and_cover_the_nfe_range():
    problem = analytic_problem()  # t = 0..10, spacing 1: rk4 takes 40 evaluations at h = 1
    assert fixed_step_sizes(problem, "rk4", (62, 6314)) == [0.5, 0.25, 0.125, 0.0625, 0.03125,
                                                             0.015625, 0.0078125]
    assert fixed_step_sizes(problem, "euler", (100, 150)) == [0.0625, 0.03125]  # at least two


def test_figure_writes_a_png(tmp_path: Path):
    path = tmp_path / "wp.png"
    work_precision_figure(_synthetic(), [path], title="synthetic")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_outputs_round_trip(tmp_path: Path):
    out = tmp_path / "wp.csv"
    figure = write_outputs(_synthetic(), out, "synthetic")
    assert figure == tmp_path / "wp.png" and figure.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wp.csv", "wp.png"]  # no temp files
    assert len(load_work_precision(out)) == len(_synthetic())


@pytest.mark.parametrize("column", ["nfe", "error"])
def test_missing_column_is_named(tmp_path: Path, column: str):
    path = tmp_path / "wp.csv"
    _synthetic().drop(columns=column).to_csv(path, index=False)
    with pytest.raises(ValueError, match=rf"missing column\(s\) {column};") as error:
        load_work_precision(path)
    assert str(path) in str(error.value)
    with pytest.raises(ValueError, match=column):
        work_precision_figure(_synthetic().drop(columns=column), [tmp_path / "x.png"])
    assert set(REQUIRED_COLUMNS) <= set(COLUMNS)
