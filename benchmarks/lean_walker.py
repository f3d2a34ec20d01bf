"""One Walker2D training batch with the torchdiffeq and the lean backend, in one run (a script).

Run ``nice -n 5 .venv/bin/python benchmarks/lean_walker.py``. For the ``nesterov2022`` Walker2D
ODE-RNNs at initialisation (``benchmarks.fixtures.walker_train_case``: float32, dopri5 at the
papers' rtol = atol = 1e-7 with the adjoint, MSE, clipping, Adam) it times one training
iteration with each backend, the backends taking turns at every repeat (each from the same
initial parameters), checks that both made the same forward and backward NFE, and prints the
speed-up torchdiffeq / lean (median of the per-repeat ratios; issue target: >= 1.5 on the
paper's batch, ``--size 256x64``) and the largest absolute difference between the two
backends' losses and gradients. Times are the thread's CPU time unless ``--clock wall`` (see
``benchmarks/lean_overhead.py``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make ``odebench`` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fixtures import (  # noqa: E402
    WALKER_MODELS,
    WALKER_SIZES,
    WALKER_SMALL,
    walker_train_case,
)
from benchmarks.lean_overhead import BACKENDS, CLOCKS, speedup_and_times  # noqa: E402


def step_seconds(case, backend: str,
                 clock: Callable[[], float] = time.thread_time) -> tuple[float, tuple[int, int]]:
    """Seconds of one training iteration from the initial parameters, and its NFE."""
    case.model.solver = replace(case.model.solver, backend=backend)
    case.reset()
    start = clock()
    _, meter = case.step()
    return clock() - start, (meter.forward, meter.backward)


def loss_and_gradients(case, backend: str) -> list[torch.Tensor]:
    """The loss and the parameters' gradients (before clipping) of the first iteration."""
    case.model.solver = replace(case.model.solver, backend=backend)
    case.reset()
    loss = case.loss_fn(case.model(case.x), case.y)
    loss.backward()
    return [loss.detach()] + [p.grad.clone() for p in case.parameters if p.grad is not None]


def largest_difference(case) -> float:
    """max |torchdiffeq - lean| over the loss and the gradients."""
    pairs = zip(*(loss_and_gradients(case, b) for b in BACKENDS), strict=True)
    return max((a - b).abs().max().item() for a, b in pairs)


def compare(case, repeats: int, clock: Callable[[], float] = time.thread_time,
            ) -> tuple[float, dict[str, list[float]], dict[str, tuple[int, int]]]:
    """The speed-up torchdiffeq / lean (the backends taking turns, one warm-up each; the median
    of the per-repeat ratios), each backend's times and its NFE."""
    nfe: dict[str, tuple[int, int]] = {}

    def measure(backend: str) -> Callable[[], float]:
        def run() -> float:
            seconds, nfe[backend] = step_seconds(case, backend, clock)
            return seconds

        return run

    ratio, samples = speedup_and_times({b: measure(b) for b in BACKENDS}, repeats)
    return ratio, samples, nfe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(WALKER_MODELS))
    parser.add_argument("--size", choices=list(WALKER_SIZES), default=WALKER_SMALL,
                        help="windows x steps (256x64: the paper's batch, seconds per step)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", choices=list(CLOCKS), default="cpu",
                        help="cpu: the thread's CPU time (default); wall: wall time")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"Walker2D training batch {args.size} (windows x steps), float32, dopri5 rtol = atol "
          f"= 1e-7, adjoint, {args.threads} thread(s), {args.clock} time, median of {args.repeats}")
    print(f"{'model':<14} {'NFE fwd/bwd':>12} {'torchdiffeq s':>14} {'lean s':>8} "
          f"{'speed-up':>9} {'max |diff|':>10}")
    ratios = []
    for name in args.models:
        case = walker_train_case(name, args.size)
        ratio, samples, nfe = compare(case, args.repeats, CLOCKS[args.clock])
        tdq, lean = (statistics.median(samples[b]) for b in BACKENDS)
        ratios.append(ratio)
        fwd, bwd = nfe["torchdiffeq"]
        note = "" if nfe["torchdiffeq"] == nfe["lean"] else f"  (NFE differ: lean {nfe['lean']})"
        print(f"{name:<14} {fwd:>5}/{bwd:<6} {tdq:>14.3f} {lean:>8.3f} {ratio:>9.2f} "
              f"{largest_difference(case):>10.1e}{note}")
    print(f"speed-up range {min(ratios):.2f}-{max(ratios):.2f} (target >= 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
