"""W-sequence reuse in the ISO-ODEtoODE flow: once per parameter update vs per sample (a script,
not asv).

Run ``.venv/bin/python benchmarks/odetoode_weights_reuse.py``. The matrix flow
``W_i = W_{i-1} exp(eta [W_{i-1}^T Q W_{i-1}, N])`` does not see x (Eq. 6), so W_1..W_N can
be computed once per parameter vector and reused for every input (ODEtoODE Eq. 2). For a
seeded ISO flow (f = |x|, T = 1, learned W_0, float32, 1 CPU thread) and a batch of 32
standard-normal states this times one forward pass (no autograd) two ways:

* reuse: ``flow(x)``, the W-sequence computed once for the batch;
* per sample: ``flow.forward_per_sample(x)``, the W-sequence recomputed for each of the 32
  samples (what a policy that re-solves the nested ODE per input would pay).

A first, untimed pair (the warm-up) must give the same outputs (to float32 rounding). Then
``--repeats`` pairs of calls per case, interleaved with the order alternating; reported: the
median time of each and the median over pairs of per-sample / reuse, against
``TARGET_RATIO``. About 50 s on a loaded 2-core machine with the default 3 repeats.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.step_overhead import load  # noqa: E402
from odebench.models.odetoode import IsoGenerator, ODEtoODEFlow  # noqa: E402

TARGET_RATIO = 5.0
WIDTHS = (64, 128)
ETAS = (0.04, 0.01)  # RL (N = 25, Sec. 5.1.2) and supervised (N = 100, Sec. 5.2.2) steps
BATCH = 32
SEED = 0


def build(width: int, eta: float) -> tuple[ODEtoODEFlow, torch.Tensor]:
    torch.manual_seed(SEED)
    flow = ODEtoODEFlow(width, IsoGenerator(width), eta=eta)
    with torch.no_grad():  # a random bias, so |W x + b| is not symmetric about the origin
        flow.bias.normal_()
    return flow, torch.randn(BATCH, width, generator=torch.Generator().manual_seed(SEED))


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def same_outputs(flow: ODEtoODEFlow, x: torch.Tensor) -> bool:
    """One untimed call of each (the warm-up): equal outputs up to float32 rounding."""
    return torch.allclose(flow(x), flow.forward_per_sample(x), rtol=1e-5, atol=1e-5)


def compare(flow: ODEtoODEFlow, x: torch.Tensor, repeats: int) -> tuple[float, float, float]:
    """Median reuse and per-sample seconds, and the median pair ratio per-sample / reuse."""
    reuse, per_sample = (lambda: flow(x)), (lambda: flow.forward_per_sample(x))
    times_reuse, times_sample, ratios = [], [], []
    for index in range(repeats):
        if index % 2 == 0:
            t_reuse, t_sample = timed(reuse), timed(per_sample)
        else:
            t_sample, t_reuse = timed(per_sample), timed(reuse)
        times_reuse.append(t_reuse)
        times_sample.append(t_sample)
        ratios.append(t_sample / t_reuse)
    return statistics.median(times_reuse), statistics.median(times_sample), \
        statistics.median(ratios)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved pairs per case")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, ISO flow, batch {BATCH}, float32, no autograd; "
          f"{args.repeats} interleaved pairs per case; {load()}")
    started = time.perf_counter()
    ratios = []
    with torch.no_grad():
        for width in WIDTHS:
            for eta in ETAS:
                flow, x = build(width, eta)
                same = same_outputs(flow, x)
                reuse_s, sample_s, ratio = compare(flow, x, args.repeats)
                ratios.append(ratio)
                verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
                print(f"width {width:>3} eta {eta:<4} (N = {flow.steps:>3}) same {str(same):<5} | "
                      f"reuse {reuse_s * 1e3:7.1f} ms  per-sample {sample_s * 1e3:8.1f} ms | "
                      f"ratio {ratio:5.1f} | {verdict} (>= {TARGET_RATIO:g})", flush=True)
    print(f"smallest ratio per-sample/reuse {min(ratios):.1f} (target >= {TARGET_RATIO:g}); "
          f"{time.perf_counter() - started:.0f} s; {load()}")


if __name__ == "__main__":
    main()
