"""Energy drift of symplectic versus Runge-Kutta integrators (a script, not asv).

Run ``.venv/bin/python benchmarks/energy_drift.py``. Float64, h = 0.1, one thread. For

* (a) the pendulum ``H = p²/2 - cos z`` (3 initial states), and
* (b) a random Hamiltonian network ``H = |p|²/2 + Σ log cosh(A z + b)``, A 6×6 and b
  standard normal from seed 0 (4 initial states from seed 1),

it prints ``max_k |H_k - H_0|`` (max over the batch too) after 10², 10³ and 10⁴ steps for
symplectic Euler, Störmer-Verlet, RK4 (torchdiffeq through :func:`odebench.solvers.solve`,
fixed step h) and dopri5 (rtol = atol = 1e-6, output on the same grid). Each method runs
10⁴ steps once; the shorter horizons are prefixes of that run. For the damped field
``ṗ = -∂V - γ p`` (γ = 0.1) it prints the max residual of the energy law
``H(t) - H(0) + γ ∫ |p|² dt = 0`` (trapezoid rule on the grid) for conformal Verlet and RK4.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as a script: make ``odebench`` importable from the repo
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from odebench.solvers import SYMPLECTIC_METHODS, energy_drift, solve  # noqa: E402

DTYPE = torch.float64
H_STEP = 0.1
HORIZONS = (100, 1_000, 10_000)
GAMMA = 0.1

Tensor = torch.Tensor


@dataclass
class System:
    """A separable Hamiltonian with T = |p|²/2 and a batch of initial states."""

    name: str
    grad_V: Callable[[Tensor, Tensor], Tensor]
    V: Callable[[Tensor], Tensor]
    z0: Tensor
    p0: Tensor

    def H(self, t: Tensor, z: Tensor, p: Tensor) -> Tensor:
        return 0.5 * p.pow(2).sum(-1) + self.V(z)


def grad_T(t: Tensor, p: Tensor) -> Tensor:
    return p


def pendulum() -> System:
    z0 = torch.tensor([[1.0], [2.0], [2.5]], dtype=DTYPE)
    p0 = torch.tensor([[0.0], [0.5], [0.0]], dtype=DTYPE)
    return System("pendulum", lambda t, z: torch.sin(z), lambda z: -torch.cos(z).sum(-1),
                  z0, p0)


def logcosh_network(n: int = 6) -> System:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g, dtype=DTYPE)
    b = torch.randn(n, generator=g, dtype=DTYPE)

    def V(z: Tensor) -> Tensor:
        u = z @ a.T + b
        return (u + torch.nn.functional.softplus(-2.0 * u) - math.log(2.0)).sum(-1)

    g0 = torch.Generator().manual_seed(1)
    z0 = torch.randn(4, n, generator=g0, dtype=DTYPE)
    p0 = torch.randn(4, n, generator=g0, dtype=DTYPE)
    return System("logcosh-net", lambda t, z: torch.tanh(z @ a.T + b) @ a, V, z0, p0)


def grid(steps: int) -> Tensor:
    return torch.arange(steps + 1, dtype=DTYPE) * H_STEP


def torchdiffeq_run(system: System, method: str, gamma: float = 0.0) -> tuple[Tensor, Tensor]:
    def field(t: Tensor, y: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        z, p = y
        return grad_T(t, p), -system.grad_V(t, z) - gamma * p

    if method == "dopri5":
        kwargs = {"rtol": 1e-6, "atol": 1e-6}
    else:
        kwargs = {"options": {"step_size": H_STEP}}
    sol = solve(field, (system.z0, system.p0), grid(HORIZONS[-1]), method=method,
                adjoint=False, **kwargs)
    return sol.ys


def symplectic_run(system: System, method: str, gamma: float = 0.0) -> tuple[Tensor, Tensor]:
    return SYMPLECTIC_METHODS[method](grad_T, system.grad_V, system.z0, system.p0, H_STEP,
                                      HORIZONS[-1], gamma=gamma)


def drifts(system: System, zs: Tensor, ps: Tensor) -> list[float]:
    ts = grid(HORIZONS[-1])
    return [energy_drift(system.H, zs[: n + 1], ps[: n + 1], ts[: n + 1]) for n in HORIZONS]


def law_residuals(system: System, zs: Tensor, ps: Tensor, gamma: float) -> list[float]:
    """Prefix maxima of ``|H_k - H_0 + γ ∫_0^{t_k} |p|² dt|`` (trapezoid rule)."""
    ts = grid(HORIZONS[-1])
    energy = torch.stack([system.H(t, z, p) for t, z, p in zip(ts, zs, ps, strict=True)])
    speed2 = ps.pow(2).sum(-1)
    integral = torch.cat([torch.zeros_like(speed2[:1]),
                          torch.cumsum(0.5 * H_STEP * (speed2[1:] + speed2[:-1]), 0)])
    residual = (energy - energy[0] + gamma * integral).abs().amax(-1)
    return [float(residual[: n + 1].max()) for n in HORIZONS]


def row(system: str, method: str, values: list[float], seconds: float) -> str:
    cells = "".join(f"{v:>13.3e}" for v in values)
    return f"{system:<13}{method:<20}{cells}{seconds:>9.2f}"


def header(title: str) -> str:
    cols = "".join(f"{f'n={n}':>13}" for n in HORIZONS)
    return f"{title}\n{'system':<13}{'method':<20}{cols}{'wall s':>9}"


def timed(fn: Callable[[], tuple[Tensor, Tensor]]) -> tuple[tuple[Tensor, Tensor], float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(1)
    systems = (pendulum(), logcosh_network())
    runs = {
        "symplectic_euler": lambda s: symplectic_run(s, "symplectic_euler"),
        "verlet": lambda s: symplectic_run(s, "verlet"),
        "rk4": lambda s: torchdiffeq_run(s, "rk4"),
        "dopri5 (1e-6)": lambda s: torchdiffeq_run(s, "dopri5"),
    }
    print(header(f"max |H_k - H_0| after n steps, h = {H_STEP}"))
    for system in systems:
        for name, run in runs.items():
            (zs, ps), seconds = timed(lambda run=run, system=system: run(system))
            print(row(system.name, name, drifts(system, zs, ps), seconds))
    print()
    print(header(f"damped, gamma = {GAMMA}: max |H_k - H_0 + gamma int |p|^2 dt|"))
    damped = {
        "conformal_verlet": lambda s: symplectic_run(s, "conformal_verlet", GAMMA),
        "rk4": lambda s: torchdiffeq_run(s, "rk4", GAMMA),
    }
    for system in systems:
        for name, run in damped.items():
            (zs, ps), seconds = timed(lambda run=run, system=system: run(system))
            print(row(system.name, name, law_residuals(system, zs, ps, GAMMA), seconds))


if __name__ == "__main__":
    main()
