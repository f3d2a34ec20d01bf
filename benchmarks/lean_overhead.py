"""Solver overhead of the torchdiffeq and lean backends, measured in one run (a script).

Run ``nice -n 5 .venv/bin/python benchmarks/lean_overhead.py``. For point-cloud models at
initialisation (nesterov2022 widths, 120 points, dopri5 at rtol = atol = 1e-7) it times a forward
solve (``--mode forward``, no adjoint) or a forward solve plus the adjoint backward pass of
``sum(z(T)^2)`` (``--mode adjoint``) with each backend, the two backends taking turns at every
repeat; counts the NFE; times one bare evaluation of the vector field (median of many); and
prints solve time / (NFE x field time) per backend (medians), the speed-up torchdiffeq / lean
(the median of the per-repeat ratios, ``benchmarks.ratios.interleaved_ratio``; issue target
>= 2) and the largest absolute difference between the two backends' solutions (and gradients).

Times are the thread's CPU time by default (``--clock cpu``; one torch thread, so on an idle
machine the wall time): on a machine shared with other jobs the wall time mostly measures the
time slices the scheduler hands out. ``--clock wall`` measures wall time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make ``odebench`` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ratios import interleaved_ratio  # noqa: E402
from odebench.data.pointcloud import train_test_circles  # noqa: E402
from odebench.models.base import ContinuousDepthModel  # noqa: E402
from odebench.models.pointcloud import build_pointcloud_model  # noqa: E402
from odebench.solvers import SolverSpec, count_nfe  # noqa: E402

BACKENDS = ("torchdiffeq", "lean")
MODES = ("forward", "adjoint")
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.thread_time, "wall": time.perf_counter}


def median_seconds(work: Callable[[], object], repeats: int,
                   clock: Callable[[], float] = time.thread_time) -> float:
    """Median time of ``work`` over ``repeats`` calls after one warm-up call."""
    work()
    samples = []
    for _ in range(repeats):
        start = clock()
        work()
        samples.append(clock() - start)
    return statistics.median(samples)


def clocked(work: Callable[[], object],
            clock: Callable[[], float] = time.thread_time) -> Callable[[], float]:
    """A measurement: the seconds (by ``clock``) one call of ``work`` takes."""

    def measure() -> float:
        start = clock()
        work()
        return clock() - start

    return measure


def speedup_and_times(measures: dict[str, Callable[[], float]],
                      repeats: int) -> tuple[float, dict[str, list[float]]]:
    """``interleaved_ratio`` of torchdiffeq over lean (the median of the per-pair ratios) and
    each backend's times (without the warm-up call)."""
    samples: dict[str, list[float]] = {backend: [] for backend in BACKENDS}

    def recording(backend: str) -> Callable[[], float]:
        def measure() -> float:
            seconds = measures[backend]()
            samples[backend].append(seconds)
            return seconds

        return measure

    ratio = interleaved_ratio(recording("torchdiffeq"), recording("lean"), repeats)
    return ratio, {backend: times[1:] for backend, times in samples.items()}


@dataclass
class PointCloudPair:
    """One point-cloud model, its batch and the solve each backend times."""

    model: ContinuousDepthModel
    spec: SolverSpec
    x: torch.Tensor
    adjoint: bool

    def run(self, backend: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The solution z(t) and, with the adjoint, the parameters' gradients."""
        self.model.solver = replace(self.spec, backend=backend)
        if not self.adjoint:
            with torch.no_grad():
                return self.model.integrate(self.x), []
        self.model.zero_grad(set_to_none=True)
        z = self.model.integrate(self.x)
        z[-1].square().sum().backward()
        return z.detach(), [p.grad for p in self.model.parameters() if p.grad is not None]

    def measures(self, clock: Callable[[], float] = time.thread_time,
                 ) -> dict[str, Callable[[], float]]:
        return {backend: clocked(lambda b=backend: self.run(b), clock) for backend in BACKENDS}

    def nfe(self, backend: str) -> tuple[int, int]:
        with count_nfe() as meter:
            self.run(backend)
        return meter.forward, meter.backward

    def largest_difference(self) -> float:
        """max |torchdiffeq - lean| over the solution and the gradients."""
        z_ref, g_ref = self.run("torchdiffeq")
        g_ref = [g.clone() for g in g_ref]
        z, grads = self.run("lean")
        pairs = zip([z_ref, *g_ref], [z, *grads], strict=True)
        return max((a - b).abs().max().item() for a, b in pairs)


def pointcloud_pair(name: str, dtype: torch.dtype, adjoint: bool) -> PointCloudPair:
    """The ``nesterov2022`` point-cloud ``name`` at initialisation (seed 0) in ``dtype``."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        torch.manual_seed(0)
        spec = SolverSpec(method="dopri5", rtol=1e-7, atol=1e-7, adjoint=adjoint)
        model = build_pointcloud_model("nesterov2022", name, spec).eval()
        (x, _), _ = train_test_circles(120, 10, 0, dtype=dtype)
    finally:
        torch.set_default_dtype(previous)
    return PointCloudPair(model, spec, x, adjoint)


def measure(name: str, dtype: torch.dtype, mode: str, repeats: int,
            clock: Callable[[], float] = time.thread_time) -> str:
    """One table row: NFE, field time, each backend's time and ratio, speed-up, difference."""
    pair = pointcloud_pair(name, dtype, mode == "adjoint")
    with torch.no_grad():
        z0 = pair.model.initial(pair.x)
        t0 = pair.model.t_span.to(dtype)[0]
        field_time = median_seconds(lambda: pair.model.dynamics(t0, z0), repeats * 20, clock)
    nfe = {backend: pair.nfe(backend) for backend in BACKENDS}
    ratio, samples = speedup_and_times(pair.measures(clock), repeats)
    tdq, lean = (statistics.median(samples[b]) for b in BACKENDS)
    bare = sum(nfe["torchdiffeq"]) * field_time
    note = "" if nfe["torchdiffeq"] == nfe["lean"] else f"  (NFE differ: lean {nfe['lean']})"
    fwd, bwd = nfe["torchdiffeq"]
    return (f"{name:<14} {fwd:>5}/{bwd:<5} {field_time * 1e6:>8.1f} {tdq * 1e3:>15.2f} "
            f"{tdq / bare:>6.2f} {lean * 1e3:>8.2f} {lean / bare:>6.2f} "
            f"{ratio:>9.2f} {pair.largest_difference():>10.1e}{note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["node", "hbnode", "gnesterovnode"])
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--mode", choices=MODES, default="forward",
                        help="forward: a solve without the adjoint; adjoint: solve + backward")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--clock", choices=list(CLOCKS), default="cpu",
                        help="cpu: the thread's CPU time (default); wall: wall time")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    dtype = getattr(torch, args.dtype)
    print(f"point cloud, 120 points, dopri5 rtol = atol = 1e-7, {args.dtype}, {args.mode}, "
          f"1 thread, {args.clock} time, median of {args.repeats} (backends alternating)")
    print(f"{'model':<14} {'NFE f/b':>11} {'field us':>8} {'torchdiffeq ms':>15} {'ratio':>6} "
          f"{'lean ms':>8} {'ratio':>6} {'speed-up':>9} {'max |diff|':>10}")
    for name in args.models:
        print(measure(name, dtype, args.mode, args.repeats, CLOCKS[args.clock]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
