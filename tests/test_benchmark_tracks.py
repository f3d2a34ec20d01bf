"""Machine-independent asv tracks: bit-stable solver work and parameter counts
(``benchmarks/deterministic.py``) and within-call ratios (``benchmarks/ratios.py``)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import time

import pytest
import torch

from benchmarks import deterministic as det
from benchmarks import ratios
from odebench.solvers import lean_adjoint
from odebench.solvers.lean import LeanTrace
from tests.helpers import REPO


@pytest.fixture(scope="module")
def tracks() -> dict[str, int | float]:
    return det.deterministic_tracks()


# Another machine's kernels: ATen's scalar (non-SIMD) code path and MKL's CPU-independent one.
OTHER_KERNELS = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}


def test_tracks_are_bit_stable_across_calls_processes_and_cpu_kernels(tracks, tmp_path):
    assert det.deterministic_tracks() == tracks
    path = tmp_path / "tracks.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.deterministic", "--json", str(path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **OTHER_KERNELS})
    assert done.returncode == 0, done.stderr
    text = path.read_text()
    assert json.loads(text) == tracks
    assert list(json.loads(text)) == sorted(tracks)  # sorted keys


def test_tracks_do_not_depend_on_the_callers_thread_count(tracks):
    torch.set_num_threads(2)
    assert det.deterministic_tracks() == tracks
    assert torch.get_num_threads() == 2  # restored


def test_unknown_door_is_one_line_listing_the_valid_ones():
    with pytest.raises(ValueError, match="unknown door 'odeint'; valid: solve_with, solve"):
        ratios.door_ratio("node", "odeint")


def test_json_without_path_prints_sorted_json(monkeypatch, capsys):
    monkeypatch.setattr(det, "deterministic_tracks", lambda: {"b/x": 2, "a/y": 1})
    assert det.main(["--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == {"a/y": 1, "b/x": 2} and out.index('"a/y"') < out.index('"b/x"')


def test_json_into_a_missing_folder_is_one_line_naming_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(det, "deterministic_tracks", lambda: {"a": 1})
    target = tmp_path / "absent" / "tracks.json"
    assert det.main(["--json", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(target.parent) in err
    assert not target.parent.exists()


def test_names_cover_every_family_tolerance_count_and_task(tracks):
    for model in det.FAMILIES:
        for tol in det.TOLERANCES:
            for count in det.SOLVER_COUNTS:
                value = tracks[det.solver_name(count, model, tol)]
                assert isinstance(value, int) and value >= 0
    assert "nfe_forward/pointcloud/hbnode/tol=1e-05" in tracks
    assert set(det.FAMILIES) == {"node", "anode", "sonode", "hbnode", "ghbnode", "nesterovnode",
                                 "gnesterovnode"}
    tasks = {name.split("/")[1] for name in tracks if name.startswith("parameters/")}
    assert tasks == {"pointcloud", "mnist", "cifar10", "walker2d", "plane_vibration"}
    assert len(tracks) == 6 * 7 * 3 + len(det.parameter_cases())


def test_tighter_tolerance_never_takes_fewer_evaluations(tracks):
    for model in det.FAMILIES:
        for count in ("nfe_forward", "nfe_backward"):
            loose = tracks[det.solver_name(count, model, 1e-3)]
            tight = tracks[det.solver_name(count, model, 1e-7)]
            assert tight >= loose > 0, (model, count)


def test_counts_agree_with_the_training_step_and_the_papers(tracks):
    from benchmarks.fixtures import first_step_nfe

    # The 1e-5 tracks are the fixtures' first training iteration (PointCloudTrainStepNFE).
    assert (tracks[det.solver_name("nfe_forward", "hbnode", 1e-5)],
            tracks[det.solver_name("nfe_backward", "hbnode", 1e-5)]) == first_step_nfe(
                "pointcloud", "hbnode")
    assert tracks["parameters/pointcloud/hbnode2021/node"] == 525  # HBNODE Sec. 5.1
    assert tracks["parameters/mnist/nesterov2022/node"] == 85316  # NesterovNODE Table 1


def test_steps_that_do_not_account_for_the_nfe_are_refused():
    trace = LeanTrace("dopri5", steps=[(0.0, 0.5, True), (0.5, 0.5, True)], nfe=14)
    assert det._steps([trace], 14, "forward", "w") == (2, 0)
    with pytest.raises(RuntimeError, match=r"w: the backward lean traces .* its 20 NFE"):
        det._steps([trace], 20, "backward", "w")
    with pytest.raises(RuntimeError, match="0 solves"):
        det._steps([], 14, "forward", "w")


def test_a_solver_whose_steps_are_not_recorded_is_one_line_naming_the_track(monkeypatch,
                                                                           capsys):
    # As if the lean solver stopped building its LeanTrace where recorded_traces looks.
    monkeypatch.setattr(det, "recorded_traces", lambda: contextlib.nullcontext([]))
    assert det.main(["--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("benchmarks.deterministic: error: pointcloud/node/tol=1e-03: the "
                          "forward lean traces (0 solves, 0+0 steps) do not account for its 14 NFE")


def test_recorded_traces_restores_the_solver_modules():
    original = lean_adjoint.LeanTrace
    with pytest.raises(KeyError), det.recorded_traces():
        assert lean_adjoint.LeanTrace is not original
        raise KeyError("fault inside the block")
    assert lean_adjoint.LeanTrace is original


def test_asv_classes_read_the_cache_with_their_units(tracks):
    work = det.SolverWork()
    assert work.track_nfe_forward(tracks, "hbnode", "1e-05") == tracks[
        "nfe_forward/pointcloud/hbnode/tol=1e-05"]
    assert work.track_steps_rejected_backward(tracks, "ghbnode", "1e-07") == tracks[
        "steps_rejected_backward/pointcloud/ghbnode/tol=1e-07"]
    units = {name: getattr(det.SolverWork, name).unit for name in dir(det.SolverWork)
             if name.startswith("track_")}
    assert units == {f"track_{count}": "NFE" if count.startswith("nfe") else "steps"
                     for count in det.SOLVER_COUNTS}
    assert det.SolverWork.params[1] == ["1e-03", "1e-05", "1e-07"]
    counts = det.ParameterCount()
    for case in det.ParameterCount.params:
        assert counts.track_parameters(tracks, case) == tracks[f"parameters/{case}"]
    assert det.ParameterCount.track_parameters.unit == "parameters"


def test_interleaved_ratio_is_the_median_pair_ratio_in_alternating_order():
    calls: list[str] = []

    def side(name: str, values: list[float]):
        def measure() -> float:
            calls.append(name)
            return values[len([c for c in calls if c == name]) - 1]
        return measure

    # warm-up values (100, 100) are dropped; pair ratios 2, 3, 1.8 (the sides' medians: 3 / 1).
    ratio = ratios.interleaved_ratio(side("a", [100, 2, 3, 9]), side("b", [100, 1, 1, 5]), 3)
    assert ratio == 2.0
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    with pytest.raises(ValueError, match="repeats must be a positive integer, got 0"):
        ratios.interleaved_ratio(lambda: 1.0, lambda: 1.0, 0)


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_seconds_counts_this_threads_cpu_time_of_work_only():
    assert ratios.seconds(lambda: _burn(0.03))() >= 0.03
    assert ratios.seconds(lambda: None, before=lambda: _burn(0.03))() < 0.01  # untimed
    assert ratios.seconds(lambda: time.sleep(0.05))() < 0.01  # waiting (preempted) is free


def test_sides_that_compute_different_things_give_no_ratio():
    a = torch.zeros(3, dtype=torch.float64)
    ratios._check_equal(a, a.clone(), "same")
    with pytest.raises(RuntimeError, match=r"lean vs x: outputs differ \(largest difference 0.5"):
        ratios._check_equal(a, a + torch.tensor([0.0, 0.5, 0.0], dtype=torch.float64), "lean vs x")


@pytest.mark.parametrize("measure", [
    lambda: ratios.lean_ratio("hbnode", repeats=2, tol=1e-3),
    lambda: ratios.door_ratio("node", "solve_with", repeats=2),
    lambda: ratios.door_ratio("hbnode", "solve", repeats=1),
    lambda: ratios.train_step_ratio("node", "torchdiffeq", repeats=2),
    lambda: ratios.train_step_ratio("hbnode", "lean", repeats=1),
    lambda: ratios.es_ratio("Swimmer-v5", population=2, horizon=10, repeats=1),
], ids=["lean", "door-solve_with", "door-solve", "step-torchdiffeq", "step-lean", "es"])
def test_each_ratio_is_finite_and_positive_on_a_tiny_size(measure):
    value = measure()
    assert isinstance(value, float) and math.isfinite(value) and value > 0


def test_asv_ratio_classes_have_ratio_units_and_track_methods():
    for cls in (ratios.LeanVsTorchdiffeq, ratios.DoorVsRawSolve, ratios.TrainStepVsBare,
                ratios.ESRateVsBare):
        tracks = [name for name in dir(cls) if name.startswith("track_")]
        assert len(tracks) == 1 and cls.unit == "ratio", cls
