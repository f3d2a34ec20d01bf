"""Cost of odebench's NFE counting versus calling torchdiffeq directly (a script, not asv).

Run ``.venv/bin/python benchmarks/overhead.py``. For the point-cloud NODE and HBNODE it times
one forward + adjoint backward pass (a) through ``torchdiffeq.odeint_adjoint`` and (b) through
``odebench.solvers.solve_with`` inside ``count_nfe()``. Each of ``--rounds`` rounds times
``--reps`` calls of each, interleaved call by call; a round keeps each variant's fastest call.
Reported: the median over rounds of those times and of the per-round ratio ours/bare.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torchdiffeq
from torch.nn import functional

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fixtures import MODELS, PointCloudCase, pointcloud_case  # noqa: E402
from odebench.solvers import count_nfe, solve_with  # noqa: E402

TARGET_RATIO = 1.03
Step = Callable[[], torch.Tensor]


def _loss(case: PointCloudCase, t: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    hidden = case.model.dynamics.readout(t[-1], ys[-1])
    return functional.mse_loss(case.model.head(hidden), case.y)


def make_steps(case: PointCloudCase) -> tuple[torch.Tensor, Step, Step]:
    """The initial state ``z0`` (a leaf) and the bare and counted forward+backward steps."""
    model = case.model
    z0 = model.initial(case.x).detach().requires_grad_(True)
    t = model.t_span.to(case.x.dtype)
    spec = model.solver
    params = tuple(model.dynamics.parameters())

    def bare() -> torch.Tensor:
        model.zero_grad(set_to_none=True)
        z0.grad = None
        ys = torchdiffeq.odeint_adjoint(model.dynamics, z0, t, rtol=spec.rtol, atol=spec.atol,
                                        method="dopri5", adjoint_params=params)
        loss = _loss(case, t, ys)
        loss.backward()
        return loss

    def ours() -> torch.Tensor:
        model.zero_grad(set_to_none=True)
        z0.grad = None
        with count_nfe():
            ys = solve_with(spec, model.dynamics, z0, t).ys
            loss = _loss(case, t, ys)
            loss.backward()
        return loss

    return z0, bare, ours


def check_same(case: PointCloudCase, z0: torch.Tensor, bare: Step, ours: Step) -> bool:
    """Both steps give bit-identical losses and gradients (same solver work)."""
    grads = []
    for step in (bare, ours):
        loss = step()
        grads.append([loss.detach().clone(), z0.grad.clone()]
                     + [p.grad.clone() for p in case.model.dynamics.parameters()])
    return all(torch.equal(a, b) for a, b in zip(*grads, strict=True))


def timed(step: Step) -> float:
    """Seconds taken by one call."""
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def compare(bare: Step, ours: Step, rounds: int, reps: int) -> tuple[float, float, float]:
    """Median over rounds of each variant's per-round minimum, and of the ratio ours/bare.

    Within a round the variants alternate call by call (bare-ours, then ours-bare), so drift
    and load from other processes hit both alike; the minimum discards calls slowed down.
    """
    for _ in range(3):  # warm-up
        bare()
        ours()
    bare_mins, our_mins = [], []
    for _ in range(rounds):
        gc.collect()
        bare_times, our_times = [], []
        for index in range(reps):
            if index % 2 == 0:
                bare_times.append(timed(bare))
                our_times.append(timed(ours))
            else:
                our_times.append(timed(ours))
                bare_times.append(timed(bare))
        bare_mins.append(min(bare_times))
        our_mins.append(min(our_times))
    ratios = [o / b for o, b in zip(our_mins, bare_mins, strict=True)]
    return statistics.median(bare_mins), statistics.median(our_mins), statistics.median(ratios)


def nfe_of(ours: Step) -> tuple[int, int]:
    with count_nfe() as meter:
        ours()
    return meter.forward, meter.backward


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    parser.add_argument("--reps", type=int, default=10, help="calls of each variant per round")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, torchdiffeq {torchdiffeq.__version__}, 1 thread; "
          f"{args.rounds} rounds x {args.reps} calls per variant")
    worst = 0.0
    for name in MODELS:
        case = pointcloud_case(name)
        z0, bare, ours = make_steps(case)
        same = check_same(case, z0, bare, ours)
        forward_nfe, backward_nfe = nfe_of(ours)
        bare_s, ours_s, ratio = compare(bare, ours, args.rounds, args.reps)
        worst = max(worst, ratio)
        print(f"{name:>7}: NFE fwd {forward_nfe} bwd {backward_nfe}, identical grads {same} | "
              f"bare {bare_s * 1e3:.2f} ms/call, ours {ours_s * 1e3:.2f} ms/call, "
              f"ratio ours/bare {ratio:.3f}")
    verdict = "met" if worst <= TARGET_RATIO else "NOT met"
    print(f"worst ratio ours/bare {worst:.3f} (target <= {TARGET_RATIO}: {verdict})")


if __name__ == "__main__":
    main()
