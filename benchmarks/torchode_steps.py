"""Does torchode take torchdiffeq's steps? NFE and evaluation times side by side (a script).

Run ``.venv/bin/python benchmarks/torchode_steps.py`` (needs ``pip install torchode``; it is
not a project dependency and the script says so without it). For a Van der Pol oscillator
(mu = 5, t in [0, 5]) and the point-cloud HBNODE field at initialisation (120 points), both
solved with dopri5 at rtol = atol in {1e-5, 1e-7, 1e-9}, it prints each library's NFE and the
index of the first vector-field evaluation whose time differs. torchode runs with its
IntegralController on the whole batch as one instance (one shared step size, as torchdiffeq);
its default solves every sample with its own step size.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make ``odebench`` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

Field = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def van_der_pol(t: torch.Tensor, y: torch.Tensor, mu: float = 5.0) -> torch.Tensor:
    return torch.stack((y[..., 1], mu * (1 - y[..., 0] ** 2) * y[..., 1] - y[..., 0]), -1)


def pointcloud_field() -> tuple[Field, torch.Tensor, torch.Tensor]:
    from odebench.data.pointcloud import train_test_circles
    from odebench.models.pointcloud import build_pointcloud_model
    from odebench.solvers import SolverSpec

    torch.manual_seed(0)
    (x, _), _ = train_test_circles(120, 10, 0)
    model = build_pointcloud_model("nesterov2022", "hbnode",
                                   SolverSpec(method="dopri5", adjoint=False))
    z0 = model.initial(x).detach()

    def field(t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return model.dynamics(t, z.reshape(z0.shape)).reshape(1, -1)

    return field, z0.reshape(1, -1), torch.tensor([1.0, 2.0])


def evaluation_times(field: Field, y0: torch.Tensor, t: torch.Tensor, tol: float,
                     library: str) -> list[float]:
    import torchode
    from torchdiffeq import odeint

    times: list[float] = []

    def recorded(tt: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        times.append(float(tt.reshape(-1)[0]))
        return field(tt.reshape(-1)[0], y)

    with torch.no_grad():
        if library == "torchdiffeq":
            odeint(recorded, y0, t, rtol=tol, atol=tol, method="dopri5")
        else:
            term = torchode.ODETerm(recorded)
            solver = torchode.AutoDiffAdjoint(
                torchode.Dopri5(term=term),
                torchode.IntegralController(atol=tol, rtol=tol, term=term))
            solver.solve(torchode.InitialValueProblem(y0=y0, t_eval=t[None]))
    return times


def main() -> int:
    if importlib.util.find_spec("torchode") is None:
        print("skipped: needs torchode (pip install torchode); not a project dependency")
        return 0
    torch.set_default_dtype(torch.float64)
    problems = {"van der pol mu=5": (van_der_pol, torch.tensor([[2.0, 0.0]]),
                                     torch.tensor([0.0, 5.0])),
                "hbnode point cloud": pointcloud_field()}
    print(f"{'problem':<20} {'tol':>6} {'NFE torchdiffeq':>16} {'NFE torchode':>13}  "
          "first differing evaluation")
    for name, (field, y0, t) in problems.items():
        for tol in (1e-5, 1e-7, 1e-9):
            ours = evaluation_times(field, y0, t, tol, "torchdiffeq")
            theirs = evaluation_times(field, y0, t, tol, "torchode")
            first = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False))
                          if abs(a - b) > 1e-15), None)
            if first is None and len(ours) != len(theirs):
                first = min(len(ours), len(theirs))
            print(f"{name:<20} {tol:>6g} {len(ours):>16} {len(theirs):>13}  "
                  f"{'none (identical)' if first is None else f'#{first}'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
