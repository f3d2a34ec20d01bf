"""Cost of recording the gradient norm in the training step (a script, not asv).

Run ``.venv/bin/python benchmarks/gradnorm_overhead.py``. The trainer now computes, every
iteration, the global L2 norm of the parameter gradients before clipping
(``trainer.gradient_norm``: ``get_total_norm``, a 0-d tensor, no host sync), keeps it in a list
and clips with it (``clip_grads_with_norm_``) when the setup clips. This times one training
iteration (``TrainStepCase.step``) of the seven ``nesterov2022`` point-cloud models (50 points,
float64, dopri5 at rtol = atol = 1e-5, adjoint; the setup does not clip) two ways, on deep
copies of one seeded model:

* new: ``record_grad_norm=True``, what the trainer does now;
* old: ``record_grad_norm=False``, no norm (``clip_grad_norm_`` when clipping).

NODE and HBNODE also run with ``grad_clip=1.0`` so the clip path is covered (their norms at
initialisation are below 1, so the clip multiplies by 1.0; the multiplication runs either way).

Before timing, one step of each path from the same state must give the same loss, NFE,
gradients and updated parameters, bit for bit (also with ``grad_clip=0.1``, which scales).
Each of ``--rounds`` rounds runs ``--reps`` pairs of calls, interleaved call by call with the
order alternating (old-new, new-old); every call starts from the initial parameters and an
empty Adam state. Reported per case: the per-call medians, the median ratio new/old over the
pairs with its interquartile range, the worst (largest) pair ratio, and PASS/FAIL of the
median ratio against ``TARGET_RATIO``. The exit status is 0 either way. ``--control`` puts
the old path in both slots (an A/A test: the noise floor of the machine at the time).

The difference is far below the noise of a whole step on a shared CPU, so the part that
differs is also timed on its own (``TrainStepCase.norm_and_clip``, the code between
``backward()`` and the Adam step, on the gradients of one step; ``--tail-reps`` interleaved
pairs): its median per call in each path and the step ratio it implies,
1 + (new tail - old tail) / old step.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fixtures import TRAIN_MODELS, TrainStepCase, pointcloud_train_case  # noqa: E402
from benchmarks.step_overhead import load, timed  # noqa: E402

TARGET_RATIO = 1.02
CLIPPED_MODELS = ("node", "hbnode")
CLIP = 1.0
CHECK_CLIP = 0.1  # below the initial norms: the identity check also covers a real rescale


def step_fn(case: TrainStepCase):
    def step(probe=None) -> torch.Tensor:
        return case.step(probe)[0]

    return step


def identical(new: TrainStepCase, old: TrainStepCase) -> tuple[bool, float]:
    """One step of each from reset state: same loss, NFE, gradients and parameters (bitwise).
    Also returns the recorded norm."""
    new.reset()
    old.reset()
    loss_n, meter_n = new.step()
    loss_o, meter_o = old.step()
    same = (torch.equal(loss_n, loss_o)
            and (meter_n.forward, meter_n.backward) == (meter_o.forward, meter_o.backward)
            and len(new.grad_norms) == 1 and new.grad_norms[0].dim() == 0
            and not old.grad_norms)
    for p_n, p_o in zip(new.model.parameters(), old.model.parameters(), strict=True):
        grads = (p_n.grad is None and p_o.grad is None) or (
            p_n.grad is not None and p_o.grad is not None and torch.equal(p_n.grad, p_o.grad))
        same = same and grads and torch.equal(p_n, p_o)
    return same, float(new.grad_norms[0]) if new.grad_norms else float("nan")


def tail_us(new: TrainStepCase, old: TrainStepCase, reps: int) -> tuple[float, float]:
    """Median microseconds of ``norm_and_clip`` (new, old path), interleaved, on the gradients
    left by one step (a clip at a norm above the threshold rescales them in place each call;
    the cost is the same)."""
    for case in (new, old):
        case.reset()
        case.step()
    times_n, times_o = [], []
    gc.disable()
    try:
        for index in range(reps):
            for case, times in ((new, times_n), (old, times_o))[::1 if index % 2 else -1]:
                start = time.perf_counter()
                case.norm_and_clip()
                times.append(time.perf_counter() - start)
    finally:
        gc.enable()
    new.grad_norms.clear()
    return statistics.median(times_n) * 1e6, statistics.median(times_o) * 1e6


@dataclass
class Comparison:
    old_s: float  # median per-call seconds
    new_s: float
    ratio: float  # median over pairs of new/old
    q1: float
    q3: float
    worst: float  # largest pair ratio
    calls: int


def compare(new: TrainStepCase, old: TrainStepCase, rounds: int, reps: int) -> Comparison:
    step_n, step_o = step_fn(new), step_fn(old)
    for _ in range(2):  # warm-up
        timed(old, step_o)
        timed(new, step_n)
    times_o, times_n, ratios = [], [], []
    for _ in range(rounds):
        gc.collect()
        for index in range(reps):
            if index % 2 == 0:
                t_o = timed(old, step_o)
                t_n = timed(new, step_n)
            else:
                t_n = timed(new, step_n)
                t_o = timed(old, step_o)
            times_o.append(t_o)
            times_n.append(t_n)
            ratios.append(t_n / t_o)
    q1, _, q3 = (statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1
                 else (ratios[0],) * 3)
    return Comparison(statistics.median(times_o), statistics.median(times_n),
                      statistics.median(ratios), q1, q3, max(ratios), len(ratios))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds per case")
    parser.add_argument("--reps", type=int, default=12, help="pairs of calls per round")
    parser.add_argument("--tail-reps", type=int, default=400,
                        help="interleaved pairs of the isolated norm/clip timing")
    parser.add_argument("--control", action="store_true",
                        help="A/A noise check: the old path in both slots")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; {args.rounds} rounds x {args.reps} pairs per "
          f"case; {load()}")
    if args.control:
        print("CONTROL (A/A): 'new' below is a second copy of the old path")
    print("per-call medians; ratio = median over interleaved pairs of new/old [IQR]; "
          "worst = largest pair ratio; tail = norm_and_clip alone (new/old us) and the step "
          "ratio it implies")
    cases = [(name, None) for name in TRAIN_MODELS] + [(name, CLIP) for name in CLIPPED_MODELS]
    started = time.perf_counter()
    medians = []
    for name, clip in cases:
        base = pointcloud_train_case(name).copy(grad_clip=clip)
        same, norm = identical(base.copy(record_grad_norm=True),
                               base.copy(record_grad_norm=False))
        same_scaled, _ = identical(base.copy(record_grad_norm=True, grad_clip=CHECK_CLIP),
                                   base.copy(record_grad_norm=False, grad_clip=CHECK_CLIP))
        new = base.copy(record_grad_norm=not args.control)
        old = base.copy(record_grad_norm=False)
        result = compare(new, old, args.rounds, args.reps)
        tail_new, tail_old = tail_us(new, old, args.tail_reps)
        implied = 1 + (tail_new - tail_old) * 1e-6 / result.old_s
        medians.append(result.ratio)
        verdict = "PASS" if result.ratio <= TARGET_RATIO else "FAIL"
        label = f"{name}" + (f" clip {clip:g}" if clip is not None else "")
        print(f"{label:<19} |g| {norm:.3f} identical {str(same and same_scaled):<5} | "
              f"old {result.old_s * 1e3:6.1f} ms  new {result.new_s * 1e3:6.1f} ms | "
              f"ratio {result.ratio:.4f} [{result.q1:.4f}, {result.q3:.4f}] "
              f"worst {result.worst:.3f} n={result.calls} | {verdict} (<= {TARGET_RATIO}) | "
              f"tail {tail_new:.0f}/{tail_old:.0f} us -> {implied:.4f}",
              flush=True)
    print(f"worst median ratio new/old {max(medians):.4f} (target <= {TARGET_RATIO}); "
          f"{time.perf_counter() - started:.0f} s; {load()}")


if __name__ == "__main__":
    main()
