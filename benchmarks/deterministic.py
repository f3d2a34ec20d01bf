"""Numbers that mean the same on every machine: solver work and parameter counts (asv tracks).

:func:`deterministic_tracks` returns, under stable names, the forward and backward NFE and the
accepted and rejected dopri5 steps of the first training iteration of each ``nesterov2022``
point-cloud family (the 50-point batch of ``benchmarks/fixtures.py``, seed 0, float64, lean
backend, adjoint) at rtol = atol = 1e-3, 1e-5 and 1e-7, and the parameter count of every model
of the cheap-to-build tasks (point cloud, MNIST, CIFAR10, Walker2D, plane vibration, both
setups where a paper ran them). Everything runs on one thread in float64 from fixed seeds, so
the values do not depend on the machine's speed or core count; they are also unchanged under
ATen's scalar kernels and MKL's CPU-independent path (``ATEN_CPU_CAPABILITY=default
MKL_CBWR=COMPATIBLE``, tests/test_benchmark_tracks.py), as on a CPU without AVX-512.

Steps come from the lean solver's :class:`~odebench.solvers.lean.LeanTrace` of each solve
(:func:`recorded_traces`); each solve's steps must account for its NFE (2 + 6 per attempted
dopri5 step), else the count is refused with an error naming the track.

ODEtoODE has no adaptive solve (its flows are explicit fixed-step loops), so it has no
tolerance tracks.

``python -m benchmarks.deterministic`` prints ``name value`` lines; ``--json [PATH]`` prints
(or writes to PATH) the same as JSON with sorted keys.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fixtures import SOLVER, TRAIN_MODELS, pointcloud_train_case  # noqa: E402
from odebench.models import count_parameters  # noqa: E402
from odebench.models.images import build_image_model  # noqa: E402
from odebench.models.pointcloud import build_pointcloud_model  # noqa: E402
from odebench.models.sequence_models import build_ode_rnn, sequence_models  # noqa: E402
from odebench.models.tables import SETUP_NAMES, task_models  # noqa: E402
from odebench.solvers import SolverSpec, lean, lean_adjoint  # noqa: E402
from odebench.solvers.lean import LeanTrace  # noqa: E402
from odebench.tasks import sequences as sequence_task  # noqa: E402

FAMILIES = TRAIN_MODELS  # the seven nesterov2022 point-cloud families
TOLERANCES = (1e-3, 1e-5, 1e-7)
SOLVER_COUNTS = ("nfe_forward", "nfe_backward", "steps_accepted_forward",
                 "steps_rejected_forward", "steps_accepted_backward", "steps_rejected_backward")
IMAGE_TASKS = ("mnist", "cifar10")
SEQUENCE_TASKS = ("walker2d", "plane_vibration")
COUNT_SOLVER = SolverSpec(method="dopri5", rtol=1e-3, atol=1e-3)  # counts ignore the solver
DOPRI5_START_NFE = 2  # f(t0, y0) and the initial-step probe
DOPRI5_STEP_NFE = 6  # evaluations per attempted step (first-same-as-last)


def tol_name(tol: float) -> str:
    """``1e-05`` for 1e-5: the tolerance as it appears in track names."""
    return f"{tol:.0e}"


def solver_name(count: str, model: str, tol: float) -> str:
    """``nfe_forward/pointcloud/hbnode/tol=1e-05``."""
    return f"{count}/pointcloud/{model}/tol={tol_name(tol)}"


def parameter_name(task: str, setup: str, model: str) -> str:
    """``parameters/mnist/nesterov2022/hbnode``."""
    return f"parameters/{task}/{setup}/{model}"


class _RecordedTraces:
    """The :class:`LeanTrace` of every lean solve while :func:`recorded_traces` is open."""

    def __init__(self) -> None:
        self.traces: list[LeanTrace] = []

    def factory(self, *args, **kwargs) -> LeanTrace:
        trace = LeanTrace(*args, **kwargs)
        self.traces.append(trace)
        return trace


@contextlib.contextmanager
def recorded_traces() -> Iterator[list[LeanTrace]]:
    """Collect the step traces the lean solver and its adjoint create (forward solve, then one
    per adjoint interval), in order; the solver modules are restored on exit."""
    recorder = _RecordedTraces()
    modules = (lean, lean_adjoint)
    saved = [module.LeanTrace for module in modules]
    for module in modules:
        module.LeanTrace = recorder.factory
    try:
        yield recorder.traces
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.LeanTrace = original


def _steps(traces: list[LeanTrace], nfe: int, phase: str, where: str) -> tuple[int, int]:
    """Accepted and rejected steps of ``traces``, checked against the meter's ``nfe``."""
    accepted = sum(trace.n_accepted for trace in traces)
    rejected = sum(trace.n_rejected for trace in traces)
    expected = len(traces) * DOPRI5_START_NFE + DOPRI5_STEP_NFE * (accepted + rejected)
    if not traces or sum(trace.nfe for trace in traces) != nfe or expected != nfe:
        raise RuntimeError(f"{where}: the {phase} lean traces ({len(traces)} solves, "
                           f"{accepted}+{rejected} steps) do not account for its {nfe} NFE; "
                           "check how odebench.solvers.lean_adjoint builds its LeanTrace")
    return accepted, rejected


def solver_counts(model: str, tol: float) -> dict[str, int]:
    """NFE and steps of the first training iteration of point-cloud ``model`` at ``tol``."""
    case = pointcloud_train_case(model)
    case.model.solver = replace(SOLVER, rtol=tol, atol=tol, backend="lean")
    where = f"pointcloud/{model}/tol={tol_name(tol)}"
    with recorded_traces() as traces:
        boundary: list[int] = []
        _, meter = case.step(probe=lambda: boundary.append(len(traces)))
    forward, backward = traces[:boundary[0]], traces[boundary[0]:]
    fwd_acc, fwd_rej = _steps(forward, meter.forward, "forward", where)
    bwd_acc, bwd_rej = _steps(backward, meter.backward, "backward", where)
    values = (meter.forward, meter.backward, fwd_acc, fwd_rej, bwd_acc, bwd_rej)
    return {solver_name(count, model, tol): value
            for count, value in zip(SOLVER_COUNTS, values, strict=True)}


def solver_tracks() -> dict[str, int]:
    """:func:`solver_counts` of every family at every tolerance (float64, one thread)."""
    tracks: dict[str, int] = {}
    with single_thread():
        for model in FAMILIES:
            for tol in TOLERANCES:
                tracks.update(solver_counts(model, tol))
    return tracks


def _sequence_model(setup: str, task: str, model: str) -> torch.nn.Module:
    cfg = sequence_task.resolve(task, setup, {})
    return build_ode_rnn(setup, task, model, COUNT_SOLVER, cfg["seq_len"],
                         forecast_len=cfg["forecast_len"], variant=cfg["variant"],
                         alignment=cfg["alignment"])


def parameter_cases() -> list[tuple[str, str, str]]:
    """Every (task, setup, model) whose parameters are counted."""
    cases = [(task, setup, model) for task in ("pointcloud", *IMAGE_TASKS)
             for setup in SETUP_NAMES for model in task_models(setup, task)]
    cases += [(task, setup, model) for task in SEQUENCE_TASKS
              for setup in sequence_task.SETUPS[task] for model in sequence_models(setup, task)]
    return cases


def build_for_count(task: str, setup: str, model: str) -> torch.nn.Module:
    """The model the task would train (papers' widths and image sizes, 64-step windows)."""
    torch.manual_seed(0)
    if task == "pointcloud":
        return build_pointcloud_model(setup, model, COUNT_SOLVER)
    if task in IMAGE_TASKS:
        return build_image_model(setup, task, model, COUNT_SOLVER)
    return _sequence_model(setup, task, model)


def parameter_tracks() -> dict[str, int]:
    """Parameter count of every :func:`parameter_cases` model."""
    with single_thread():
        return {parameter_name(*case): count_parameters(build_for_count(*case))
                for case in parameter_cases()}


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """One torch thread inside the block (the thread count is restored after)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def deterministic_tracks() -> dict[str, int | float]:
    """Every machine-independent value, by name (see the module docstring)."""
    return {**solver_tracks(), **parameter_tracks()}


# --- asv -----------------------------------------------------------------------------------


class SolverWork:
    """Forward/backward NFE and accepted/rejected dopri5 steps of the first point-cloud
    training iteration (nesterov2022, 50 points, seed 0, float64, adjoint), per family and
    tolerance; computed once per asv run (``setup_cache``)."""

    params = (list(FAMILIES), [tol_name(tol) for tol in TOLERANCES])
    param_names = ["model", "tol"]
    timeout = 120.0

    def setup_cache(self) -> dict[str, int]:
        return solver_tracks()

    def _get(self, tracks: dict[str, int], count: str, model: str, tol: str) -> int:
        return tracks[solver_name(count, model, float(tol))]

    def track_nfe_forward(self, tracks: dict[str, int], model: str, tol: str) -> int:
        """Vector-field calls of the forward solve."""
        return self._get(tracks, "nfe_forward", model, tol)

    def track_nfe_backward(self, tracks: dict[str, int], model: str, tol: str) -> int:
        """Vector-field calls of the adjoint solve."""
        return self._get(tracks, "nfe_backward", model, tol)

    def track_steps_accepted_forward(self, tracks: dict[str, int], model: str, tol: str) -> int:
        """Accepted steps of the forward solve."""
        return self._get(tracks, "steps_accepted_forward", model, tol)

    def track_steps_rejected_forward(self, tracks: dict[str, int], model: str, tol: str) -> int:
        """Rejected steps of the forward solve."""
        return self._get(tracks, "steps_rejected_forward", model, tol)

    def track_steps_accepted_backward(self, tracks: dict[str, int], model: str, tol: str) -> int:
        """Accepted steps of the adjoint solve."""
        return self._get(tracks, "steps_accepted_backward", model, tol)

    def track_steps_rejected_backward(self, tracks: dict[str, int], model: str, tol: str) -> int:
        """Rejected steps of the adjoint solve."""
        return self._get(tracks, "steps_rejected_backward", model, tol)

    track_nfe_forward.unit = "NFE"
    track_nfe_backward.unit = "NFE"
    track_steps_accepted_forward.unit = "steps"
    track_steps_rejected_forward.unit = "steps"
    track_steps_accepted_backward.unit = "steps"
    track_steps_rejected_backward.unit = "steps"


class ParameterCount:
    """Parameters (trainable or frozen) of each model of each cheap-to-build task."""

    params = ["/".join(case) for case in parameter_cases()]
    param_names = ["task/setup/model"]
    timeout = 120.0

    def setup_cache(self) -> dict[str, int]:
        return parameter_tracks()

    def track_parameters(self, tracks: dict[str, int], case: str) -> int:
        return tracks[parameter_name(*case.split("/"))]

    track_parameters.unit = "parameters"


# --- command line --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.deterministic",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                        help="JSON with sorted keys, to PATH (or stdout without PATH)")
    args = parser.parse_args(argv)
    from odebench.errors import error_line

    try:
        tracks = deterministic_tracks()
    except RuntimeError as exc:  # the solver's step traces no longer match its NFE
        print(f"benchmarks.deterministic: error: {error_line(exc)}", file=sys.stderr)
        return 2
    if args.json is None:
        width = max(map(len, tracks))
        print("\n".join(f"{name:<{width}}  {tracks[name]}" for name in sorted(tracks)))
        return 0
    text = json.dumps(tracks, sort_keys=True, indent=1) + "\n"
    if args.json == "-":
        sys.stdout.write(text)
        return 0
    from odebench.records.atomic import atomic_write_text

    try:
        atomic_write_text(args.json, text)
    except OSError as exc:
        print(f"benchmarks.deterministic: error: {error_line(exc)}", file=sys.stderr)
        return 2
    print(f"wrote {len(tracks)} tracks to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
