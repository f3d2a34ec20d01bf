"""Work-precision benchmark of the ODE solvers, in the SciMLBenchmarks manner (a script).

Run ``.venv/bin/python benchmarks/work_precision.py`` on an idle machine. For each problem
(float64, no adjoint, 1 thread) and each method it solves at a sequence of tolerances
(adaptive: rtol = atol) or step sizes (fixed step) and records the error against a reference,
the wall time (median of repeats) and the NFE (:func:`odebench.solvers.count_nfe`):

* ``analytic``: y' = A y, A = [[-0.1, -1], [1, -0.1]] (rotation plus decay), y(0) = (1, 0),
  outputs at t = 0, 1, ..., 10; exact y(t) = e^{-0.1 t} (cos t, sin t).
* ``pointcloud``: the vector field of a ``nesterov2022`` HBNODE point-cloud model after a few
  Adam steps, from its initial state of 120 points on [1, 2]; the reference is a dopri8 solve
  at rtol = atol = 1e-13 (checked against rk4 at h = 2^-11), compared at t = 2.

The error is the max-norm error over the compared outputs, divided by the reference's max
norm. Methods: torchdiffeq dopri5, bosh3, rk4, euler and the lean backend's dopri5, rk4,
euler (the same steps as torchdiffeq, so the same error and NFE, in less time). It writes a
tidy CSV (``--out``), prints a table and draws the diagram next to the CSV (``.png``).
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

if __package__ in (None, ""):  # run as a script: make ``odebench`` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from odebench.records.atomic import atomic_write_text  # noqa: E402
from odebench.solvers import SolverSpec, count_nfe, solve  # noqa: E402

# (backend, method): every adaptive method of torchdiffeq we compare, lean where it has one.
ADAPTIVE = (("torchdiffeq", "dopri5"), ("lean", "dopri5"), ("torchdiffeq", "bosh3"))
FIXED = (("torchdiffeq", "rk4"), ("lean", "rk4"), ("torchdiffeq", "euler"), ("lean", "euler"))
# Field evaluations per step: torchdiffeq's 3/8-rule rk4 (lean copies it) and Euler.
EVALS_PER_STEP = {"rk4": 4, "euler": 1}
# A decade apart, as SciMLBenchmarks sweeps, from loose (1e-3, training-like) to tight (1e-9,
# where bosh3 already needs ~6000 NFE on the analytic problem); quick: every other decade.
TOLERANCES = tuple(10.0 ** -k for k in range(3, 10))
QUICK_TOLERANCES = (1e-3, 1e-5, 1e-7, 1e-9)
# Median of 5 timed solves shrugs off one or two hiccups of a shared machine; a point stops
# early once its timed solves add up to BUDGET_S (the slow tail: bosh3 at 1e-9, Euler at
# thousands of steps), and a first solve longer than WARM_S counts as a sample (warm-up is
# noise at that length), so the whole default run takes about half a minute on one core.
REPEATS = 5
BUDGET_S = 1.0
WARM_S = 0.25
# Fixed step sizes are spacing / 2^k (exact in binary, so every output time is a grid point
# and rk4/Euler need no interpolation), k >= 0 chosen so that their NFE lies in the NFE range
# the adaptive methods spanned on the same problem; MAX_HALVINGS only bounds the search.
MAX_HALVINGS = 16
# Point-cloud model: the nesterov2022 widths (Table 4), HBNODE, trained TRAIN_STEPS Adam steps
# (full batch, lr 0.01 and SmoothL1 to +-1 as the NesterovNODE code) through a loose dopri5
# solve, enough to move the field off its initialisation in about a second.
POINTCLOUD = ("nesterov2022", "hbnode")
TRAIN_STEPS = 50
TRAIN_SPEC = SolverSpec(method="dopri5", rtol=1e-5, atol=1e-5, adjoint=False)
# Measured on this field: dopri5 at rtol = atol = 1e-12 is off by ~5e-10, dopri8 at 1e-13 by
# ~5e-12 (against dopri8 at 1e-14 and rk4 at h = 2^-13, which agree to 7e-13), far below the
# smallest error scored (~1e-9); about 1.5 s, once. The check solve, an independent method, is
# printed with the problem so that a field on which the reference drifts shows.
REFERENCE = ("dopri8", {"rtol": 1e-13, "atol": 1e-13})
REFERENCE_CHECK = ("rk4", {"options": {"step_size": 2.0**-11}})
PROBLEMS = ("analytic", "pointcloud")
COLUMNS = ("problem", "method", "backend", "control", "tolerance_or_step", "error", "seconds",
           "nfe", "repeats")

Field = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Problem:
    """An initial-value problem and the values its solutions are scored against.

    ``target``: the exact or reference solution at ``t`` (``final_only``: at ``t[-1]``);
    ``spacing``: the output spacing, which fixed step sizes divide; ``note``: how the target
    was obtained (printed with the table).
    """

    name: str
    field: Field
    y0: torch.Tensor
    t: torch.Tensor
    target: torch.Tensor
    final_only: bool
    spacing: float
    note: str

    @property
    def span(self) -> float:
        return float(self.t[-1] - self.t[0])


def analytic_problem(decay: float = 0.1, omega: float = 1.0, end: int = 10) -> Problem:
    """y' = [[-decay, -omega], [omega, -decay]] y from (1, 0), outputs at t = 0, 1, ..., end."""
    matrix = torch.tensor([[-decay, -omega], [omega, -decay]], dtype=torch.float64)

    def field(t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return matrix @ y

    t = torch.arange(end + 1, dtype=torch.float64)
    exact = torch.exp(-decay * t)[:, None] * torch.stack((torch.cos(omega * t),
                                                          torch.sin(omega * t)), dim=1)
    return Problem("analytic", field, exact[0].clone(), t, exact, final_only=False, spacing=1.0,
                   note=f"exact y(t) = e^(-{decay:g} t) (cos {omega:g}t, sin {omega:g}t), "
                        f"compared at t = 0, 1, ..., {end}")


def trained_pointcloud_model(train_steps: int, seed: int) -> tuple[torch.nn.Module, torch.Tensor]:
    """The ``POINTCLOUD`` model (float64) after ``train_steps`` Adam steps, and its inputs."""
    from odebench.data.pointcloud import train_test_circles  # here: asv imports this module
    from odebench.models.pointcloud import build_pointcloud_model

    torch.manual_seed(seed)
    model = build_pointcloud_model(*POINTCLOUD, TRAIN_SPEC).to(torch.float64)
    (x, y), _ = train_test_circles(120, 10, seed)  # the NesterovNODE paper's 120 points
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    loss = torch.nn.SmoothL1Loss()
    for _ in range(train_steps):
        optimiser.zero_grad(set_to_none=True)
        loss(model(x), y).backward()
        optimiser.step()
    return model.eval(), x


def _final(field: Field, y0: torch.Tensor, t: torch.Tensor, method: str,
           settings: dict[str, Any]) -> tuple[torch.Tensor, int]:
    """The solution at ``t[-1]`` (torchdiffeq) and its NFE."""
    with torch.no_grad():
        solution = solve(field, y0, t, method=method, adjoint=False, **settings)
    return solution.ys[-1], solution.nfe.forward


def _describe(method: str, settings: dict[str, Any]) -> str:
    if "options" in settings:
        power = math.log2(settings["options"]["step_size"])
        return f"{method} h=2^{power:g}" if power.is_integer() else f"{method} h=2^{power:.2f}"
    return f"{method} rtol=atol={settings['rtol']:g}"


def pointcloud_problem(train_steps: int = TRAIN_STEPS, seed: int = 0) -> Problem:
    """A trained point-cloud model's field from ``model.initial(x)``, scored at t = T."""
    model, x = trained_pointcloud_model(train_steps, seed)
    with torch.no_grad():
        y0 = model.initial(x)
    t = model.t_span.to(torch.float64)
    target, nfe = _final(model.dynamics, y0, t, *REFERENCE)
    check, _ = _final(model.dynamics, y0, t, *REFERENCE_CHECK)
    gap = float((check - target).abs().max() / target.abs().max())
    note = (f"reference {_describe(*REFERENCE)} ({nfe} NFE), {gap:.1e} from "
            f"{_describe(*REFERENCE_CHECK)}; {POINTCLOUD[1]} ({POINTCLOUD[0]}) after "
            f"{train_steps} Adam steps, state {tuple(y0.shape)}")
    return Problem("pointcloud", model.dynamics, y0, t, target[None], final_only=True,
                   spacing=float(t[-1] - t[0]), note=note)


def build_problems(names: Sequence[str], train_steps: int = TRAIN_STEPS,
                   seed: int = 0) -> list[Problem]:
    builders = {"analytic": analytic_problem,
                "pointcloud": lambda: pointcloud_problem(train_steps, seed)}
    return [builders[name]() for name in names]


def solution_error(problem: Problem, ys: torch.Tensor) -> float:
    """Max-norm error at the compared outputs over the reference's max norm."""
    compared = ys[-1:] if problem.final_only else ys
    return float((compared - problem.target).abs().max() / problem.target.abs().max())


def median_seconds(work: Callable[[], Any], repeats: int, budget: float,
                   warm: float = WARM_S) -> tuple[Any, float, int]:
    """``work()``'s result, the median of its timed runs and their number: first an untimed
    warm-up (timed when it takes over ``warm`` s), then up to ``repeats`` samples, stopping
    once they add up to ``budget`` s (always at least one)."""
    start = time.perf_counter()
    result = work()
    first = time.perf_counter() - start
    samples = [first] if first > warm else []
    while not samples or (len(samples) < repeats and sum(samples) < budget):
        start = time.perf_counter()
        work()
        samples.append(time.perf_counter() - start)
    return result, statistics.median(samples), len(samples)


def measure_point(problem: Problem, backend: str, method: str, value: float,
                  repeats: int = REPEATS, budget: float = BUDGET_S) -> dict[str, Any]:
    """One row: ``value`` is rtol = atol (adaptive) or the step size (fixed step)."""
    fixed = method in EVALS_PER_STEP
    settings: dict[str, Any] = ({"options": {"step_size": value}} if fixed
                                else {"rtol": value, "atol": value})

    def work() -> tuple[torch.Tensor, int]:
        with torch.no_grad(), count_nfe() as meter:
            ys = solve(problem.field, problem.y0, problem.t, method=method, backend=backend,
                       adjoint=False, **settings).ys
        return ys, meter.forward

    (ys, nfe), seconds, count = median_seconds(work, repeats, budget)
    return {"problem": problem.name, "method": method, "backend": backend,
            "control": "step_size" if fixed else "rtol=atol", "tolerance_or_step": value,
            "error": solution_error(problem, ys), "seconds": seconds, "nfe": nfe,
            "repeats": count}


def fixed_step_sizes(problem: Problem, method: str, nfe_range: tuple[int, int]) -> list[float]:
    """``spacing / 2^k`` whose NFE (``EVALS_PER_STEP`` x steps) lies in ``nfe_range``; at
    least the two nearest above its lower end."""
    nfe_at_spacing = EVALS_PER_STEP[method] * problem.span / problem.spacing  # NFE at h = spacing
    low = max(0, math.ceil(math.log2(max(nfe_range[0], 1) / nfe_at_spacing)))
    high = math.floor(math.log2(max(nfe_range[1], 1) / nfe_at_spacing))
    high = min(max(high, low + 1), MAX_HALVINGS)
    return [problem.spacing / 2**k for k in range(low, high + 1)]


def measure_problem(problem: Problem, tolerances: Sequence[float] = TOLERANCES,
                    repeats: int = REPEATS, budget: float = BUDGET_S,
                    step_sizes: dict[str, Sequence[float]] | None = None) -> pd.DataFrame:
    """Every (backend, method) at every tolerance, then every fixed-step method at
    ``step_sizes[method]`` (default: :func:`fixed_step_sizes` over the adaptive NFE range)."""
    rows = [measure_point(problem, backend, method, tol, repeats, budget)
            for backend, method in ADAPTIVE for tol in tolerances]
    nfe_range = (min(r["nfe"] for r in rows), max(r["nfe"] for r in rows))
    for backend, method in FIXED:
        steps = (step_sizes or {}).get(method) or fixed_step_sizes(problem, method, nfe_range)
        rows += [measure_point(problem, backend, method, h, repeats, budget) for h in steps]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def lean_agreement(frame: pd.DataFrame) -> pd.DataFrame:
    """lean rows beside the torchdiffeq rows of the same point: NFE, errors and speed-up."""
    keys = ["problem", "method", "tolerance_or_step"]
    lean = frame[frame["backend"] == "lean"]
    reference = frame[frame["backend"] == "torchdiffeq"]
    pairs = lean.merge(reference, on=keys, suffixes=("_lean", "_tdq"))
    return pairs.assign(
        same_nfe=pairs["nfe_lean"] == pairs["nfe_tdq"],
        error_gap=(pairs["error_lean"] - pairs["error_tdq"]).abs() / pairs["error_tdq"],
        speedup=pairs["seconds_tdq"] / pairs["seconds_lean"])


def format_table(frame: pd.DataFrame) -> str:
    """The rows as a fixed-width table, lean's speed-up over torchdiffeq on its rows."""
    pairs = lean_agreement(frame)
    speedup = {(p.problem, p.method, p.tolerance_or_step): p.speedup
               for p in pairs.itertuples()}
    shown = frame.assign(
        ms=frame["seconds"] * 1e3,
        speedup=[speedup.get((r.problem, r.method, r.tolerance_or_step))
                 if r.backend == "lean" else None for r in frame.itertuples()])
    shown = shown[["problem", "method", "backend", "control", "tolerance_or_step", "nfe",
                   "error", "ms", "speedup"]]
    return shown.to_string(index=False, na_rep="", formatters={
        "tolerance_or_step": "{:.3g}".format, "error": "{:.2e}".format,
        "ms": "{:.2f}".format, "speedup": lambda v: "" if pd.isna(v) else f"{v:.2f}x"})


def write_outputs(frame: pd.DataFrame, out: Path, title: str) -> Path:
    """The CSV at ``out`` and the diagram beside it (``.png``), each written atomically."""
    from odebench.report.work_precision import work_precision_figure

    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    atomic_write_text(out, buffer.getvalue())
    figure = out.with_suffix(".png")
    temporary = figure.with_name(f".{figure.stem}.tmp.png")
    try:
        work_precision_figure(frame, [temporary], title=title)
        temporary.replace(figure)
    finally:
        temporary.unlink(missing_ok=True)
    return figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path("results/benchmarks/work_precision.csv"))
    parser.add_argument("--problems", nargs="+", choices=PROBLEMS, default=list(PROBLEMS))
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--budget", type=float, default=BUDGET_S,
                        help="seconds of timed solves after which a point stops repeating")
    parser.add_argument("--train-steps", type=int, default=TRAIN_STEPS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help=f"tolerances {', '.join(f'{t:g}' for t in QUICK_TOLERANCES)}, "
                             "3 repeats")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    tolerances = QUICK_TOLERANCES if args.quick else TOLERANCES
    repeats = min(args.repeats, 3) if args.quick else args.repeats
    frames = []
    for problem in build_problems(args.problems, args.train_steps, args.seed):
        print(f"{problem.name}: {problem.note}", flush=True)
        frames.append(measure_problem(problem, tolerances, repeats, args.budget))
    frame = pd.concat(frames, ignore_index=True)
    print(f"float64, no adjoint, 1 thread, median of up to {repeats} timed solves "
          f"(budget {args.budget:g} s per point); error: max-norm error / reference max norm")
    print(format_table(frame))
    pairs = lean_agreement(frame)
    print(f"lean vs torchdiffeq: {int(pairs['same_nfe'].sum())}/{len(pairs)} points with equal "
          f"NFE, largest relative error difference {pairs['error_gap'].max():.1e}, speed-up "
          f"{pairs['speedup'].min():.2f}x to {pairs['speedup'].max():.2f}x")
    figure = write_outputs(frame, args.out, "Work-precision (float64, 1 thread)")
    print(f"wrote {args.out} and {figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
