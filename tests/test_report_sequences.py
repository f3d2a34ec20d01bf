"""Sequence-task reports: MSE table, NFE/loss/MSE/grad-norm curves, adjoint-norm figure,
official-log references (synthetic run records, no training)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from odebench.records import RunRecord, run_dir
from odebench.report import build, figures
from odebench.report.figures import (
    GRAD_NORM_PANEL,
    IMAGE_PANELS,
    PANELS,
    SEQUENCE_PANELS,
    NoAdjointProfileError,
    adjoint_columns,
    curves_figure,
)
from odebench.report.tables import KIND_STATISTICS, model_table, per_run, to_markdown
from odebench.report.targets import adjoint_experiments, one_of, records_adjoint_profile

EXPERIMENT = "walker2d_hbnode2021"
STEPS = 4  # window length T of the synthetic adjoint profile
NAN = float("nan")


def _row(epoch: int, seed: int, scale: float) -> dict[str, float]:
    """One epoch of a Walker run: test every 2nd epoch, adjoint norms growing with T - t."""
    tested = epoch % 2 == 0
    row = {"epoch": epoch, "iterations": 3, "loss": scale / epoch, "mse": scale / epoch,
           "valid_loss": scale / epoch, "valid_mse": [3.0, 1.0, 2.0][epoch - 1] * scale + seed,
           "nfe_valid": 50.0, "test_loss": scale if tested else NAN,
           "test_mse": (2.0 + seed) * scale if tested else NAN,
           "nfe_test": 60.0 + seed if tested else NAN,
           "nfe_forward": 100.0 + epoch, "nfe_backward": 200.0 + epoch, "seconds": 1.0 + seed,
           "lr": 1e-3, "grad_norm_mean": 10.0 ** (1.5 * (epoch - 1)) * scale,
           "grad_norm_max": 1e3, "clip_fraction": 0.5}
    row.update({f"adjoint_norm_{k}": scale * epoch * 10.0 ** k for k in range(STEPS)})
    return row


def _write_run(results, experiment: str, task: str, model: str, seed: int,
               rows: list[dict[str, float]]) -> None:
    folder = run_dir(results, experiment, model, seed)
    folder.mkdir(parents=True)
    record = RunRecord(folder, experiment, model, seed)
    for row in rows:
        record.append(row)
    record.write_summary(status="completed", final={}, config={"task": task}, device="cpu")


@pytest.fixture
def walker(tmp_path):
    """Three models x two seeds x three epochs of a Walker2D experiment."""
    for scale, model in enumerate(("node", "anode", "hbnode"), start=1):
        for seed in (0, 1):
            _write_run(tmp_path, EXPERIMENT, "walker2d", model, seed,
                       [_row(epoch, seed, scale) for epoch in (1, 2, 3)])
    build.aggregate(tmp_path, EXPERIMENT)
    return tmp_path


@pytest.fixture
def captured(monkeypatch):
    """The figures drawn, kept open for inspection; the first file (if any) rendered at low dpi
    (fast), the others copies of it."""
    drawn: list[plt.Figure] = []

    def save(fig, paths):
        for path in paths:
            if path == paths[0]:
                fig.savefig(path, dpi=30, format="png")
            else:
                path.write_bytes(paths[0].read_bytes())
        drawn.append(fig)

    monkeypatch.setattr(figures, "save_figure", save)
    yield drawn
    for fig in drawn:
        plt.close(fig)


def test_sequence_table_final_best_and_last_tested_values(walker):
    outputs = build.build_table(walker, EXPERIMENT, model_order=["node", "anode", "hbnode"])
    table = pd.read_csv(outputs["csv"]).set_index("model")
    expected = {f"{name}_mean" for name in KIND_STATISTICS["sequences"]}
    assert expected <= set(table.columns)
    assert "final_loss_mean" not in table  # the kind narrows the statistics
    node = table.loc["node"]
    assert node["final_train_mse_mean"] == pytest.approx(1 / 3)
    assert node["final_valid_mse_mean"] == pytest.approx(2.5)  # 2 + seed, seeds 0 and 1
    assert node["best_valid_mse_mean"] == pytest.approx(1.5)  # the minimum, at epoch 2
    assert node["final_test_mse_mean"] == pytest.approx(2.5)  # epoch 2: epoch 3 is NaN
    assert node["nfe_test_mean"] == pytest.approx(60.5)
    assert node["nfe_forward_last_mean"] == pytest.approx(103.0)
    assert node["nfe_backward_last_mean"] == pytest.approx(203.0)
    assert node["grad_norm_last_mean"] == pytest.approx(1000.0)
    assert node["total_seconds_mean"] == pytest.approx(4.5)  # 3 x 1 s and 3 x 2 s
    assert table.loc["hbnode", "official_logs_test_mse"] == pytest.approx(1.1683)
    assert table.loc["anode", "grad_norm_last_std"] == pytest.approx(0.0)  # same per seed


def test_sequence_markdown_labels_references_as_official_logs(walker):
    markdown = build.build_table(walker, EXPERIMENT)["md"].read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| model"))
    assert "official logs (not in the paper)" in header
    assert "best valid. MSE" in header and "‖∇θ‖ (last epoch)" in header
    assert "official HBNODE repository's logs" in markdown and "epoch 500" in markdown
    node = next(line for line in markdown.splitlines() if line.startswith("| node |"))
    assert node.rstrip().endswith("| 2.47 | 2 completed |")
    anode = next(line for line in markdown.splitlines() if line.startswith("| anode |"))
    assert "| 2.344 |" in anode


def test_per_run_min_reduction_skips_nan():
    epochs = pd.DataFrame({"model": "node", "seed": 0, "epoch": [1, 2, 3],
                           "valid_mse": [3.0, NAN, 2.0], "test_mse": [1.0, 0.5, NAN]})
    run = per_run(epochs).iloc[0]
    assert run["best_valid_mse"] == 2.0 and run["final_valid_mse"] == 2.0
    assert run["final_test_mse"] == 0.5


@pytest.mark.parametrize("kind", ["pointcloud", "images", "sequences"])
def test_grad_norm_column_in_every_training_kind(kind):
    epochs = pd.DataFrame({"model": "node", "seed": [0, 0], "epoch": [1, 2], "loss": 1.0,
                           "nfe_forward": 1.0, "nfe_backward": 1.0, "seconds": 1.0,
                           "grad_norm_mean": [4.0, 2.0]})
    table = model_table(epochs, pd.DataFrame(), kind=kind)
    assert table.loc[0, "grad_norm_last_mean"] == 2.0
    assert "‖∇θ‖ (last epoch)" in to_markdown(table, kind)


@pytest.mark.parametrize("panels", [PANELS, IMAGE_PANELS, SEQUENCE_PANELS])
def test_curves_have_grad_norm_panel_log_scaled_when_wide(captured, panels):
    epochs = pd.DataFrame([{**_row(epoch, 0, 1.0), "model": "node", "seed": 0,
                            "test_accuracy": 0.5} for epoch in (1, 2, 3)])
    curves_figure(epochs, [], "t", panels=panels)
    axes = {ax.get_ylabel(): ax for ax in captured[-1].axes if ax.get_visible()}
    assert GRAD_NORM_PANEL[1] in axes
    assert axes[GRAD_NORM_PANEL[1]].get_yscale() == "log"  # 1 ... 1000
    assert len(axes) == len(panels)


def test_grad_norm_panel_stays_linear_within_two_decades(captured):
    epochs = pd.DataFrame({"model": "node", "seed": 0, "epoch": [1, 2], "loss": 1.0,
                           "grad_norm_mean": [1.0, 50.0]})
    curves_figure(epochs, [], "t")
    axes = {ax.get_ylabel(): ax for ax in captured[-1].axes}
    assert axes[GRAD_NORM_PANEL[1]].get_yscale() == "linear"


def test_sequence_figure_plots_test_mse_only_where_tested(walker, captured):
    outputs = build.build_figure(walker, EXPERIMENT, model_order=["node", "anode", "hbnode"])
    assert set(outputs) == {"png", "pdf", "adjoint_png", "adjoint_pdf"}
    main = captured[0]
    labels = [ax.get_ylabel() for ax in main.axes if ax.get_visible()]
    assert labels == [label for _, label in SEQUENCE_PANELS]
    test_ax = next(ax for ax in main.axes if ax.get_ylabel() == "test MSE")
    assert [list(line.get_xdata()) for line in test_ax.get_lines()] == [[2]] * 3


def test_adjoint_figure_written_atomically_with_one_heat_map_per_model(walker, captured):
    outputs = build.build_adjoint_figure(walker, EXPERIMENT, ["hbnode", "node", "anode"])
    assert set(outputs) == {"adjoint_png", "adjoint_pdf"}
    assert outputs["adjoint_png"].name == f"{EXPERIMENT}_adjoint.png"
    for path in outputs.values():
        assert path.stat().st_size > 500
    assert not list(outputs["adjoint_png"].parent.glob(".*tmp*"))  # no temp file left
    fig = captured[0]
    heat_axes = [ax for ax in fig.axes if ax.get_images()]
    assert [ax.get_title() for ax in heat_axes] == ["(b) hbnode", "(b) node", "(b) anode"]
    norms = {id(ax.get_images()[0].norm) for ax in heat_axes}
    assert len(norms) == 1  # one colour scale for every model
    image = heat_axes[1].get_images()[0].get_array()
    assert image.shape == (3, STEPS)  # epochs x (T - t)
    assert image[0, 0] == pytest.approx(1.0)  # node, epoch 1, T - t = 0
    curves = next(ax for ax in fig.axes if ax.get_yscale() == "log" and not ax.get_images())
    last_node = curves.get_lines()[2]  # hbnode: solid, dashed; node: solid
    assert np.allclose(last_node.get_ydata(), [3.0 * 10.0 ** k for k in range(STEPS)])


def test_adjoint_figure_without_profile_is_an_error_and_skipped_by_build_figure(tmp_path,
                                                                               captured):
    for seed in (0, 1):
        _write_run(tmp_path, "pointcloud", "pointcloud", "node", seed,
                   [{"epoch": 1, "iterations": 1, "loss": 1.0, "nfe_forward": 2.0,
                     "nfe_backward": 4.0, "seconds": 0.1, "grad_norm_mean": 1.0}])
    outputs = build.build_experiment_report(tmp_path, "pointcloud")
    assert "adjoint_png" not in outputs
    assert not (tmp_path / "figures" / "pointcloud_adjoint.png").exists()
    with pytest.raises(NoAdjointProfileError, match="no adjoint_norm_<k> columns"):
        build.build_adjoint_figure(tmp_path, "pointcloud")
    with pytest.raises(NoAdjointProfileError):
        build.build_figure(tmp_path, "pointcloud", adjoint=True)
    assert not list((tmp_path / "figures").glob("*adjoint*"))


def test_adjoint_columns_sorted_by_steps_before_the_end():
    frame = pd.DataFrame({"adjoint_norm_10": [1.0], "adjoint_norm_2": [1.0],
                          "adjoint_norm_x": [1.0], "adjoint_norm_3": [NAN]})
    assert adjoint_columns(frame) == ["adjoint_norm_2", "adjoint_norm_10"]


def test_adjoint_targets_only_for_sequence_experiments_recording_the_profile():
    assert records_adjoint_profile("walker2d", {"adjoint_profile": True})
    assert not records_adjoint_profile("plane_vibration", {"adjoint_profile": False})
    assert not records_adjoint_profile("pointcloud", {})
    config = {"experiments": {"pointcloud": {}, "walker2d": {},
                              "plane_vibration": {"adjoint_profile": False}}}
    assert adjoint_experiments(config, list(config["experiments"])) == ["walker2d"]
    pattern = one_of(["walker2d", "walker2d_hbnode2021"])
    assert pattern == "walker2d|walker2d_hbnode2021"
    assert one_of([]) == "(?!)"
