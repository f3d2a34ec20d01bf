"""One Walker2D training batch with the torchdiffeq and the lean backend, in one run (a script).

Run ``.venv/bin/python benchmarks/lean_walker.py`` on an idle machine. For the ``nesterov2022``
Walker2D ODE-RNNs at initialisation (``benchmarks.fixtures.walker_train_case``: float32, dopri5
at the papers' rtol = atol = 1e-7 with the adjoint, MSE, clipping, Adam) it times one training
iteration with each backend (median of ``--repeats``, each from the same initial parameters),
checks that both made the same forward and backward NFE, and prints the speed-up torchdiffeq /
lean (issue target: >= 1.8 on the paper's batch, ``--size 256x64``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
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


def step_seconds(case, backend: str, repeats: int) -> tuple[float, int, int]:
    """Median seconds of one training iteration from the initial parameters, and its NFE."""
    case.model.solver = replace(case.model.solver, backend=backend)
    samples, nfe = [], (0, 0)
    for _ in range(repeats + 1):  # the first is a warm-up
        case.reset()
        start = time.perf_counter()
        _, meter = case.step()
        samples.append(time.perf_counter() - start)
        nfe = (meter.forward, meter.backward)
    return statistics.median(samples[1:]), *nfe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(WALKER_MODELS))
    parser.add_argument("--size", choices=list(WALKER_SIZES), default=WALKER_SMALL,
                        help="windows x steps (256x64: the paper's batch, seconds per step)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"Walker2D training batch {args.size} (windows x steps), float32, dopri5 rtol = atol "
          f"= 1e-7, adjoint, {args.threads} thread(s), median of {args.repeats}")
    print(f"{'model':<14} {'NFE fwd/bwd':>12} {'torchdiffeq s':>14} {'lean s':>8} "
          f"{'speed-up':>9}")
    ratios = []
    for name in args.models:
        case = walker_train_case(name, args.size)
        tdq, *nfe_tdq = step_seconds(case, "torchdiffeq", args.repeats)
        lean, *nfe_lean = step_seconds(case, "lean", args.repeats)
        note = "" if nfe_tdq == nfe_lean else f"  (NFE differ: lean {nfe_lean})"
        ratios.append(tdq / lean)
        print(f"{name:<14} {nfe_tdq[0]:>5}/{nfe_tdq[1]:<6} {tdq:>14.3f} {lean:>8.3f} "
              f"{tdq / lean:>9.2f}{note}")
    print(f"speed-up range {min(ratios):.2f}-{max(ratios):.2f} (target >= 1.8)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
