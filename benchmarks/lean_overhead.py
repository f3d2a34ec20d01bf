"""Solver overhead of the torchdiffeq and lean backends, measured in one run (a script).

Run ``.venv/bin/python benchmarks/lean_overhead.py`` on an idle machine. For point-cloud
models at initialisation (nesterov2022 widths, 120 points, dopri5 at rtol = atol = 1e-7,
no adjoint) it times a forward solve with each backend (median of ``--repeats``), counts the
NFE, times one bare evaluation of the vector field (median of many), and prints
solve time / (NFE x field time) per backend (issue target: lean <= 1.3, torchdiffeq 3-5) and
the end-to-end speed-up torchdiffeq / lean at identical NFE.
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

from odebench.data.pointcloud import train_test_circles  # noqa: E402
from odebench.models.pointcloud import build_pointcloud_model  # noqa: E402
from odebench.solvers import SolverSpec, count_nfe  # noqa: E402


def median_seconds(work, repeats: int) -> float:
    work()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(name: str, x: torch.Tensor, dtype: torch.dtype, repeats: int) -> str:
    """One table row: NFE, field time, each backend's solve time and ratio, the speed-up."""
    torch.manual_seed(0)
    spec = SolverSpec(method="dopri5", rtol=1e-7, atol=1e-7, adjoint=False)
    model = build_pointcloud_model("nesterov2022", name, spec).eval()
    with torch.no_grad():
        z0 = model.initial(x)
        t = model.t_span.to(dtype)
        field_time = median_seconds(lambda: model.dynamics(t[0], z0), repeats * 20)
        row = []
        for backend in ("torchdiffeq", "lean"):
            model.solver = replace(spec, backend=backend)
            with count_nfe() as meter:
                model.integrate(x)
            row.append((meter.forward, median_seconds(lambda: model.integrate(x), repeats)))
    (nfe, tdq), (nfe_lean, lean) = row
    bare = nfe * field_time
    note = "" if nfe == nfe_lean else f"  (NFE differ: lean {nfe_lean})"
    return (f"{name:<14} {nfe:>4} {field_time * 1e6:>9.1f} {tdq * 1e3:>15.2f} "
            f"{tdq / bare:>6.2f} {lean * 1e3:>8.2f} {lean / bare:>6.2f} {tdq / lean:>9.2f}{note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["node", "hbnode", "gnesterovnode"])
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    dtype = getattr(torch, args.dtype)
    torch.set_default_dtype(dtype)
    (x, _), _ = train_test_circles(120, 10, 0, dtype=dtype)
    print(f"point cloud, 120 points, dopri5 rtol = atol = 1e-7, {args.dtype}, 1 thread, "
          f"median of {args.repeats}")
    print(f"{'model':<14} {'NFE':>4} {'field us':>9} {'torchdiffeq ms':>15} {'ratio':>6} "
          f"{'lean ms':>8} {'ratio':>6} {'speed-up':>9}")
    for name in args.models:
        print(measure(name, x, dtype, args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
