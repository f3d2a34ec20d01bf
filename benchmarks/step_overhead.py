"""Cost of odebench's training step versus a bare torchdiffeq step (a script, not asv).

Run ``.venv/bin/python benchmarks/step_overhead.py``. For the seven ``nesterov2022`` point-cloud
models (50 points, float64, dopri5 at rtol = atol = 1e-5, adjoint) and for NODE and HBNODE
on the 1-batch MNIST slice (``benchmarks/mnist_slice.py``: rtol = atol = 1e-3) it times one
training iteration two ways, on deep copies of one seeded model:

* ours: what ``odebench.tasks.trainer.train`` does per iteration (``TrainStepCase.step``):
  zero_grad; inside ``count_nfe()`` the model's own forward (``solve_with`` with NFE
  counting), loss, finiteness check, backward; the gradient norm (kept, as the trainer
  does) and gradient clipping with it if the setup clips; Adam.
* bare: zero_grad; ``torchdiffeq.odeint_adjoint(model.dynamics, model.initial(x), t_span,
  ..., options=<solver_for's options>, adjoint_params=dynamics parameters)``; readout at T,
  head, loss, backward; the same clipping; Adam. No meters, no wrappers.

Before every timed call the variant's copy gets the initial parameters back and an empty
Adam state, so each call is the same first iteration. One call of each is checked first:
bit-identical loss, gradients and updated parameters, and equal vector-field call counts.
Each of ``--rounds`` rounds runs ``--reps`` pairs of calls (``--image-reps`` for MNIST),
interleaved call by call with the order alternating (bare-ours, ours-bare). Reported per
model: the median per-call time of each variant, the median ratio ours/bare over the pairs
with its interquartile range and a bootstrap 95% interval, and the ratio of the per-round
minima (the estimator of ``benchmarks/overhead.py``) as a cross-check. ``--control`` runs
the same measurement with the bare step in both slots (an A/A test): its ratios show the
noise floor of the machine at the time.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchdiffeq
from torch import nn

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fixtures import (  # noqa: E402
    IMAGE_BATCH,
    IMAGE_BATCH_OVERRIDES,
    TRAIN_CASES,
    TRAIN_MODELS,
    TrainStepCase,
)
from odebench.models.base import solver_for  # noqa: E402

TARGET_RATIO = 1.05
IMAGE_MODELS_COMPARED = ("node", "hbnode")
Probe = Callable[[], None] | None
Step = Callable[[Probe], torch.Tensor]


def ours_step(case: TrainStepCase) -> Step:
    """The trainer's iteration (model forward through ``solve_with`` inside ``count_nfe``)."""

    def step(probe: Probe = None) -> torch.Tensor:
        return case.step(probe)[0]

    return step


def bare_step(case: TrainStepCase) -> Step:
    """The same iteration written directly against ``torchdiffeq.odeint_adjoint``."""
    model, optimizer, x, y = case.model, case.optimizer, case.x, case.y
    dynamics, loss_fn, clip = model.dynamics, case.loss_fn, case.grad_clip
    t = model.t_span.to(x.dtype)
    spec = solver_for(model.solver, dynamics, model.t_span)
    assert spec.method == "dopri5" and spec.adjoint
    options = spec.options
    params = tuple(dynamics.parameters())

    def step(probe: Probe = None) -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        z = torchdiffeq.odeint_adjoint(dynamics, model.initial(x), t, rtol=spec.rtol,
                                       atol=spec.atol, method="dopri5", options=options,
                                       adjoint_params=params)
        loss = loss_fn(model.head(dynamics.readout(t[-1], z[-1])), y)
        if probe is not None:
            probe()
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        return loss

    return step


def field_calls(case: TrainStepCase, step: Step) -> tuple[torch.Tensor, int, int]:
    """Run one step from reset state; the loss and the vector-field calls before and
    after the loss (forward solve / adjoint solve), counted by a hook on the dynamics."""
    calls = [0]
    at_loss = []
    handle = case.model.dynamics.register_forward_hook(
        lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        case.reset()
        loss = step(lambda: at_loss.append(calls[0]))
    finally:
        handle.remove()
    return loss.detach().clone(), at_loss[0], calls[0] - at_loss[0]


def check_same(ours: TrainStepCase, bare: TrainStepCase) -> tuple[bool, tuple[int, int]]:
    """One step of each from the same state: bit-identical loss, gradients and updated
    parameters, and the same forward/backward field calls, equal to our meter's NFE."""
    meters = []

    def ours_metered(probe: Probe = None) -> torch.Tensor:
        loss, meter = ours.step(probe)
        meters.append(meter)
        return loss

    loss_o, fwd_o, bwd_o = field_calls(ours, ours_metered)
    loss_b, fwd_b, bwd_b = field_calls(bare, bare_step(bare))
    same = (torch.equal(loss_o, loss_b)
            and (fwd_o, bwd_o) == (fwd_b, bwd_b) == (meters[0].forward, meters[0].backward))
    for p_o, p_b in zip(ours.model.parameters(), bare.model.parameters(), strict=True):
        grads_same = (p_o.grad is None and p_b.grad is None) or (
            p_o.grad is not None and p_b.grad is not None and torch.equal(p_o.grad, p_b.grad))
        same = same and grads_same and torch.equal(p_o, p_b)
    return same, (fwd_o, bwd_o)


def timed(case: TrainStepCase, step: Step) -> float:
    """Seconds taken by one step from reset state (garbage collection off, as timeit)."""
    case.reset()
    gc.disable()
    try:
        start = time.perf_counter()
        step(None)
        return time.perf_counter() - start
    finally:
        gc.enable()


@dataclass
class Comparison:
    bare_s: float  # median per-call seconds
    ours_s: float
    ratio: float  # median over pairs of ours/bare
    ratio_q1: float
    ratio_q3: float
    ci_low: float  # bootstrap 95% interval of the median pair ratio
    ci_high: float
    min_ratio: float  # median over rounds of min(ours)/min(bare)
    calls: int


def bootstrap_median(values: list[float], draws: int = 2000, seed: int = 0) -> tuple[float, float]:
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values)))
                     for _ in range(draws))
    return medians[int(0.025 * draws)], medians[int(0.975 * draws) - 1]


def compare(ours: TrainStepCase, bare: TrainStepCase, rounds: int, reps: int,
            control: bool = False) -> Comparison:
    """Interleaved pairs of calls, order alternating; see the module docstring.
    ``control``: the bare step in the "ours" slot too (A/A)."""
    step_o, step_b = (bare_step if control else ours_step)(ours), bare_step(bare)
    for _ in range(2):  # warm-up
        timed(bare, step_b)
        timed(ours, step_o)
    times_b, times_o, ratios, min_ratios = [], [], [], []
    for _ in range(rounds):
        gc.collect()
        round_b, round_o = [], []
        for index in range(reps):
            if index % 2 == 0:
                t_b = timed(bare, step_b)
                t_o = timed(ours, step_o)
            else:
                t_o = timed(ours, step_o)
                t_b = timed(bare, step_b)
            round_b.append(t_b)
            round_o.append(t_o)
            ratios.append(t_o / t_b)
        times_b += round_b
        times_o += round_o
        min_ratios.append(min(round_o) / min(round_b))
    q1, _, q3 = (statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1
                 else (ratios[0],) * 3)
    low, high = bootstrap_median(ratios)
    return Comparison(statistics.median(times_b), statistics.median(times_o),
                      statistics.median(ratios), q1, q3, low, high,
                      statistics.median(min_ratios), len(ratios))


def load() -> str:
    try:
        return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - platform without getloadavg
        return "load average n/a"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per model")
    parser.add_argument("--reps", type=int, default=10,
                        help="pairs of calls per round (point cloud)")
    parser.add_argument("--image-reps", type=int, default=2,
                        help="pairs of calls per round (MNIST slice, ~1 s a call)")
    parser.add_argument("--control", action="store_true",
                        help="A/A noise check: time the bare step against itself")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, torchdiffeq {torchdiffeq.__version__}, 1 thread, "
          f"{os.cpu_count()} CPUs; {args.rounds} rounds x {args.reps} pairs (point cloud) / "
          f"{args.image_reps} pairs (MNIST) per model; {load()}")
    if args.control:
        print("CONTROL (A/A): 'ours' below is a second copy of the bare step")
    print("per-call medians; ratio = median over interleaved pairs of ours/bare [IQR] "
          "(bootstrap 95% CI); min-ratio = median over rounds of min(ours)/min(bare)")
    runs = [("pointcloud", name, args.reps) for name in TRAIN_MODELS]
    runs += [("mnist", name, args.image_reps) for name in IMAGE_MODELS_COMPARED]
    results = []
    started = time.perf_counter()
    for task, name, reps in runs:
        base = TRAIN_CASES[task](name)
        ours, bare = base.copy(), base.copy()
        same, (fwd, bwd) = check_same(ours, bare)
        result = compare(ours, bare, args.rounds, reps, control=args.control)
        results.append(result.ratio)
        label = f"{task}/{name}"
        if task == "mnist":
            label += f" (batch {IMAGE_BATCH_OVERRIDES.get(name, IMAGE_BATCH)})"
        print(f"{label:<27} NFE {fwd:>2}/{bwd:<2} identical {str(same):<5} | "
              f"bare {result.bare_s * 1e3:7.1f} ms  ours {result.ours_s * 1e3:7.1f} ms | "
              f"ratio {result.ratio:.3f} [{result.ratio_q1:.3f}, {result.ratio_q3:.3f}] "
              f"({result.ci_low:.3f}-{result.ci_high:.3f}) min-ratio {result.min_ratio:.3f} "
              f"n={result.calls}", flush=True)
    worst = max(results)
    verdict = "met" if worst <= TARGET_RATIO else "NOT met"
    print(f"worst median ratio ours/bare {worst:.3f} (target <= {TARGET_RATIO}: {verdict}); "
          f"{time.perf_counter() - started:.0f} s; {load()}")


if __name__ == "__main__":
    main()
