"""Ratios measured within one benchmark call (asv ``track_``, unit "ratio").

A machine's speed cancels in a ratio of two timings taken side by side, so these histories can
be compared across machines. Each ``track_`` call times both sides in ``repeats`` adjacent
pairs of calls, the order alternating (a-b, b-a, ...) after one warm-up call of each, and
returns the median over the pairs of one side / the other (:func:`interleaved_ratio`; one
torch thread). Solves and training steps are timed by the thread's CPU time (:func:`seconds`),
so other jobs on the machine move them little; the ES rates are wall-clock steps per second
(as ``benchmarks/rl_throughput.py`` measures them):

* ``LeanVsTorchdiffeq``: lean / torchdiffeq seconds of one forward solve of a ``nesterov2022``
  point-cloud model at initialisation (50 points, float64, dopri5 at rtol = atol = 1e-7, no
  gradients). Below 1: lean is faster.
* ``DoorVsRawSolve``: seconds of a forward solve through the solver door on the torchdiffeq
  backend inside ``count_nfe()`` (``odebench.solvers.solve_with``, as a model calls it, or
  the public ``solve``) / ``torchdiffeq.odeint`` called directly (``hbnode2021`` point cloud,
  1e-5). Near 1: the door's NFE counting and checks cost nothing.
* ``TrainStepVsBare``: seconds of the trainer's iteration (``TrainStepCase.step`` on the
  ``backend`` given) / the same iteration written against ``torchdiffeq.odeint_adjoint``
  (``benchmarks/step_overhead.py``'s bare step), ``nesterov2022`` point cloud at 1e-5.
* ``ESRateVsBare``: environment steps per second of ES iterations (``ES.ask``, a
  ``SerialBackend`` rollout of every candidate, ``ES.tell``) / steps per second of a bare
  ``env.step(action_space.sample())`` loop of as many steps (``rl_throughput.py``'s
  reference), linear policy. A rate ratio: higher is better; above 1 where ES's batched
  policy costs less than ``sample()`` does per step.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from benchmarks.fixtures import pointcloud_case, pointcloud_train_case
from benchmarks.step_overhead import bare_step, ours_step
from odebench.models.base import solver_for
from odebench.solvers import count_nfe, solve, solve_with

Measure = Callable[[], float]
LEAN_MODELS = ("node", "hbnode", "gnesterovnode")
DOOR_MODELS = ("node", "hbnode")
DOORS = ("solve_with", "solve")
STEP_MODELS = ("node", "hbnode")
STEP_BACKENDS = ("torchdiffeq", "lean")
LEAN_TOL = 1e-7
# Measurements of each side per asv call: a few seconds per call, so that a burst of load from
# other processes moves the medians little.
REPEATS = 31
SOLVE_REPEATS = 201  # a point-cloud forward solve: milliseconds
STEP_REPEATS = 101  # a point-cloud training iteration: about 10 ms
ES_REPEATS = 11  # an ES iteration of 8 x 250 steps and a bare loop as long: about 0.15 s each
ES_ENVS = ("Swimmer-v5",)
ES_POPULATION = 8  # candidates per ES iteration
ES_HORIZON = 250  # steps per episode (Swimmer never terminates early)


def seconds(work: Callable[[], object], before: Callable[[], object] | None = None) -> Measure:
    """A measurement: the CPU seconds of this thread one call of ``work`` takes (with one
    torch thread every op runs on it; time the process spends preempted by other jobs does
    not count). ``before`` runs first, untimed, with garbage collection off for both."""

    def measure() -> float:
        gc.disable()
        try:
            if before is not None:
                before()
            start = time.thread_time()
            work()
            return time.thread_time() - start
        finally:
            gc.enable()

    return measure


def interleaved_ratio(numerator: Measure, denominator: Measure, repeats: int = REPEATS) -> float:
    """The median over ``repeats`` pairs of calls of numerator / denominator.

    One warm-up call of each first; a pair's two calls are adjacent, their order alternating
    (a-b, b-a, ...). On a loaded machine a call is either undisturbed or preempted (several
    times slower): the median of per-pair ratios stays at the undisturbed ratio while fewer
    than half the pairs are hit, where the ratio of each side's median jumps once the slow
    calls reach half of one side.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    numerator(), denominator()
    pairs = []
    for index in range(repeats):
        if index % 2 == 0:
            top = numerator()
            bottom = denominator()
        else:
            bottom = denominator()
            top = numerator()
        pairs.append(top / bottom)
    return statistics.median(pairs)


def _one_thread() -> None:
    torch.set_num_threads(1)


def lean_ratio(model: str, repeats: int = SOLVE_REPEATS, tol: float = LEAN_TOL) -> float:
    """lean / torchdiffeq seconds of a forward solve of point-cloud ``model`` at ``tol``."""
    _one_thread()
    case = pointcloud_train_case(model)
    net, x = case.model, case.x
    spec = replace(net.solver, rtol=tol, atol=tol, adjoint=False)
    outputs = {}

    def solve_on(backend: str) -> Measure:
        def work() -> None:
            net.solver = replace(spec, backend=backend)
            with torch.no_grad():
                outputs[backend] = net.integrate(x)

        return seconds(work)

    ratio = interleaved_ratio(solve_on("lean"), solve_on("torchdiffeq"), repeats)
    _check_equal(outputs["lean"], outputs["torchdiffeq"], f"lean vs torchdiffeq ({model})")
    return ratio


def door_ratio(model: str, door: str = "solve_with", repeats: int = SOLVE_REPEATS) -> float:
    """Door / raw ``torchdiffeq.odeint`` seconds of a forward solve (``hbnode2021`` case).

    ``door``: ``solve_with`` (a prevalidated spec, as models call it) or ``solve`` (the
    public entry point, which validates its settings on every call).
    """
    import torchdiffeq

    if door not in DOORS:
        raise ValueError(f"unknown door {door!r}; valid: {', '.join(DOORS)}")
    _one_thread()
    case = pointcloud_case(model)
    net = case.model
    dynamics, t = net.dynamics, net.t_span.to(case.x.dtype)
    spec = replace(solver_for(net.solver, dynamics, net.t_span), backend="torchdiffeq",
                   adjoint=False)
    outputs = {}
    with torch.no_grad():
        z0 = net.initial(case.x)

    def through_door() -> None:
        with torch.no_grad(), count_nfe():
            if door == "solve":
                outputs["door"] = solve(dynamics, z0, t, method=spec.method, rtol=spec.rtol,
                                        atol=spec.atol, options=spec.options, adjoint=False,
                                        backend="torchdiffeq").ys
            else:
                outputs["door"] = solve_with(spec, dynamics, z0, t).ys

    def raw() -> None:
        with torch.no_grad():
            outputs["raw"] = torchdiffeq.odeint(dynamics, z0, t, rtol=spec.rtol, atol=spec.atol,
                                                method=spec.method, options=spec.options)

    ratio = interleaved_ratio(seconds(through_door), seconds(raw), repeats)
    _check_equal(outputs["door"], outputs["raw"], f"solver door {door} vs torchdiffeq ({model})")
    return ratio


def train_step_ratio(model: str, backend: str, repeats: int = STEP_REPEATS) -> float:
    """Trainer iteration (on ``backend``) / bare torchdiffeq iteration, seconds."""
    _one_thread()
    base = pointcloud_train_case(model)
    base.model.solver = replace(base.model.solver, backend=backend)
    ours, bare = base.copy(), base.copy()
    step_ours, step_bare = ours_step(ours), bare_step(bare)
    return interleaved_ratio(seconds(step_ours, before=ours.reset),
                             seconds(step_bare, before=bare.reset), repeats)


def es_ratio(env_id: str, population: int = ES_POPULATION, horizon: int = ES_HORIZON,
             repeats: int = ES_REPEATS) -> float:
    """ES iteration steps/s over bare ``env.step(sample())`` steps/s (linear policy)."""
    from benchmarks.rl_throughput import bare_loop
    from odebench.rl.backends import SerialBackend
    from odebench.rl.envs import env_dims
    from odebench.rl.es import ES, ESConfig
    from odebench.rl.linear_policy import LinearPolicy

    policy = LinearPolicy(*env_dims(env_id))
    es = ES(policy.layout(), ESConfig(perturbations=population), seed=0)
    rng = np.random.default_rng(0)
    state = {"theta": policy.initial(rng)}
    backend = SerialBackend(policy, env_id, horizon)

    def es_rate() -> float:
        start = time.perf_counter()
        eps, candidates = es.ask(state["theta"])
        result = backend.evaluate(candidates, rng.integers(0, 2**31 - 1, size=len(candidates)))
        state["theta"] = es.tell(state["theta"], eps, result.returns)
        return float(result.steps.sum()) / (time.perf_counter() - start)

    try:
        return interleaved_ratio(es_rate, lambda: bare_loop(env_id, population * horizon,
                                                            horizon), repeats)
    finally:
        backend.close()


def _check_equal(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    """Both sides must compute the same thing, or their ratio means nothing."""
    if not torch.equal(a, b):
        largest = (a - b).abs().max().item()
        raise RuntimeError(f"{what}: outputs differ (largest difference {largest:.3g}); the "
                           "two sides no longer do the same work, so the ratio is not shown")


# --- asv -----------------------------------------------------------------------------------


class LeanVsTorchdiffeq:
    """lean / torchdiffeq seconds of a point-cloud forward solve at 1e-7 (below 1: faster)."""

    params = list(LEAN_MODELS)
    param_names = ["model"]
    unit = "ratio"
    timeout = 120.0

    def track_lean_over_torchdiffeq_time(self, model: str) -> float:
        return lean_ratio(model)


class DoorVsRawSolve:
    """Solver door / raw ``torchdiffeq.odeint`` seconds of a forward solve (torchdiffeq
    backend on both sides; 1 means the door costs nothing)."""

    params = (list(DOOR_MODELS), list(DOORS))
    param_names = ["model", "door"]
    unit = "ratio"
    timeout = 120.0

    def track_door_over_raw_time(self, model: str, door: str) -> float:
        return door_ratio(model, door)


class TrainStepVsBare:
    """Trainer iteration / bare torchdiffeq iteration seconds (point cloud, 1e-5, adjoint);
    ``backend`` is the trainer side's solver backend (the bare side is torchdiffeq)."""

    params = (list(STEP_MODELS), list(STEP_BACKENDS))
    param_names = ["model", "backend"]
    unit = "ratio"
    timeout = 120.0

    def track_train_step_over_bare_time(self, model: str, backend: str) -> float:
        return train_step_ratio(model, backend)


class ESRateVsBare:
    """ES iteration / bare gymnasium loop, environment steps per second (higher is better)."""

    params = list(ES_ENVS)
    param_names = ["env"]
    unit = "ratio"
    timeout = 120.0

    def track_es_over_bare_rate(self, env_id: str) -> float:
        return es_ratio(env_id)
