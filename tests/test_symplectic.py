"""Symplectic and conformal symplectic integrators (odebench.solvers.symplectic)."""

from __future__ import annotations

import math

import pytest
import torch

from odebench.solvers import (
    SYMPLECTIC_METHODS,
    conformal_symplectic,
    conformal_symplecticity_defect,
    energy_drift,
    solve,
    stormer_verlet,
    symplectic_euler,
    symplecticity_defect,
)

DTYPE = torch.float64
LOG2 = math.log(2.0)


def grad_T(t: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """T = |p|^2 / 2."""
    return p


def kinetic(p: torch.Tensor) -> torch.Tensor:
    return 0.5 * p.pow(2).sum(-1)


def pendulum_grad_V(t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return torch.sin(z)


def pendulum_H(t: torch.Tensor, z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return kinetic(p) - torch.cos(z).sum(-1)


class LogCosh:
    """V = Σ log cosh(A z + b), so grad_V = Aᵀ tanh(A z + b); A, b random (seeded)."""

    def __init__(self, n: int, seed: int, requires_grad: bool = False) -> None:
        g = torch.Generator().manual_seed(seed)
        self.A = torch.randn(n, n, generator=g, dtype=DTYPE) / math.sqrt(n)
        self.b = torch.randn(n, generator=g, dtype=DTYPE)
        self.A.requires_grad_(requires_grad)

    def grad_V(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z @ self.A.T + self.b) @ self.A

    def V(self, z: torch.Tensor) -> torch.Tensor:
        u = z @ self.A.T + self.b
        return (u + torch.nn.functional.softplus(-2.0 * u) - LOG2).sum(-1)

    def H(self, t: torch.Tensor, z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return kinetic(p) + self.V(z)


def randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DTYPE)


def last(traj: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return traj[0][-1], traj[1][-1]


def times(steps: int, h: float) -> torch.Tensor:
    return torch.arange(steps + 1, dtype=DTYPE) * h


# --------------------------------------------------------------------------- 1. order


def _oscillator_error(scheme, h: float, t_end: float = 1.0) -> float:
    z0, p0 = randn(3, 2, seed=1), randn(3, 2, seed=2)
    z, p = last(scheme(grad_T, lambda t, z: z, z0, p0, h, round(t_end / h)))
    exact_z = z0 * math.cos(t_end) + p0 * math.sin(t_end)
    exact_p = -z0 * math.sin(t_end) + p0 * math.cos(t_end)
    return float(torch.cat([z - exact_z, p - exact_p]).abs().max())


@pytest.mark.parametrize(("scheme", "low", "high"), [
    (stormer_verlet, 3.5, 4.5),
    (symplectic_euler, 1.8, 2.2),
    (lambda *a: symplectic_euler(*a, p_first=True), 1.8, 2.2),
])
def test_order_on_harmonic_oscillator(scheme, low, high) -> None:
    ratio = _oscillator_error(scheme, 0.02) / _oscillator_error(scheme, 0.01)
    assert low <= ratio <= high


def test_trajectory_shape_batching_and_times() -> None:
    z0, p0 = randn(2, 3, 4, seed=3), randn(2, 3, 4, seed=4)
    seen: list[torch.Tensor] = []

    def recording_grad_T(t: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        seen.append(t)
        return p

    zs, ps = stormer_verlet(recording_grad_T, pendulum_grad_V, z0, p0, 0.1, 5, t0=1.0)
    assert zs.shape == ps.shape == (6, 2, 3, 4)
    assert torch.equal(zs[0], z0) and torch.equal(ps[0], p0)
    assert all(t.dim() == 0 and t.dtype == DTYPE for t in seen)
    assert torch.allclose(torch.stack(seen), 1.0 + 0.1 * (torch.arange(5, dtype=DTYPE) + 0.5))
    single = stormer_verlet(grad_T, pendulum_grad_V, z0[1, 2], p0[1, 2], 0.1, 5)
    assert torch.allclose(single[0], zs[:, 1, 2], atol=1e-14)


# --------------------------------------------------------------------------- 2-3. symplecticity


def _one_step(method: str, system: LogCosh, h: float, gamma: float = 0.0):
    def step(z: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return last(SYMPLECTIC_METHODS[method](grad_T, system.grad_V, z, p, h, 1, gamma=gamma))

    return step


@pytest.mark.parametrize("method", ["symplectic_euler", "verlet"])
def test_symplectic_schemes_have_round_off_defect(method: str) -> None:
    system = LogCosh(5, seed=0)
    z, p = randn(5, seed=5), randn(5, seed=6)
    assert symplecticity_defect(_one_step(method, system, 0.1), z, p) < 1e-12


def test_forward_euler_is_not_symplectic() -> None:
    system = LogCosh(5, seed=0)
    z, p = randn(5, seed=5), randn(5, seed=6)

    def forward_euler(z: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z + 0.1 * grad_T(None, p), p - 0.1 * system.grad_V(None, z)

    assert symplecticity_defect(forward_euler, z, p) > 1e-4


@pytest.mark.parametrize("method", ["conformal_verlet", "conformal_symplectic_euler"])
def test_conformal_symplectic_defect(method: str) -> None:
    system, gamma, h = LogCosh(5, seed=0), 0.5, 0.1
    z, p = randn(5, seed=7), randn(5, seed=8)
    step = _one_step(method, system, h, gamma)
    assert conformal_symplecticity_defect(step, z, p, math.exp(-gamma * h)) < 1e-12
    assert conformal_symplecticity_defect(step, z, p, 1.0) > 1e-6


# --------------------------------------------------------------------------- 4. energy


def test_verlet_energy_bounded_while_rk4_drifts() -> None:
    # Pendulum, h = 0.1, 10^4 steps. RK4 is far more accurate than Verlet at 10^3 steps
    # (~2e-5 against ~3e-3 here), but its energy error grows ~linearly in time while
    # Verlet's stays bounded; the test checks the growth, not the size.
    h, steps = 0.1, 10_000
    z0, p0 = torch.tensor([[1.0], [2.0], [2.5]], dtype=DTYPE), torch.tensor(
        [[0.0], [0.5], [0.0]], dtype=DTYPE)
    ts = times(steps, h)
    zs, ps = stormer_verlet(grad_T, pendulum_grad_V, z0, p0, h, steps)
    verlet_1k = energy_drift(pendulum_H, zs[:1001], ps[:1001], ts[:1001])
    verlet_10k = energy_drift(pendulum_H, zs, ps, ts)
    assert verlet_10k < 1.5 * verlet_1k
    assert verlet_10k < 1e-2

    def field(t: torch.Tensor, y: tuple[torch.Tensor, torch.Tensor]):
        return grad_T(t, y[1]), -pendulum_grad_V(t, y[0])

    sol = solve(field, (z0, p0), ts, method="rk4", options={"step_size": h}, adjoint=False)
    rz, rp = sol.ys
    rk4_1k = energy_drift(pendulum_H, rz[:1001], rp[:1001], ts[:1001])
    rk4_10k = energy_drift(pendulum_H, rz, rp, ts)
    assert rk4_10k > 3.0 * rk4_1k


# --------------------------------------------------------------------------- 5. damped law


def _energy_law_residual(h: float, gamma: float = 0.3, t_end: float = 5.0) -> float:
    system = LogCosh(4, seed=1)
    z0, p0 = randn(3, 4, seed=9), randn(3, 4, seed=10)
    steps = round(t_end / h)
    zs, ps = SYMPLECTIC_METHODS["conformal_verlet"](grad_T, system.grad_V, z0, p0, h, steps,
                                                    gamma=gamma)
    ts = times(steps, h)
    energy = torch.stack([system.H(t, z, p) for t, z, p in zip(ts, zs, ps, strict=True)])
    speed2 = ps.pow(2).sum(-1)
    integral = torch.cat([torch.zeros_like(speed2[:1]),
                          torch.cumsum(0.5 * h * (speed2[1:] + speed2[:-1]), 0)])
    return float((energy - energy[0] + gamma * integral).abs().max())


def test_damped_energy_law_is_second_order() -> None:
    coarse, fine = _energy_law_residual(0.1), _energy_law_residual(0.05)
    assert coarse < 1e-2
    assert 3.0 <= coarse / fine <= 5.0


# --------------------------------------------------------------------------- 6. heavy ball


def test_conformal_p_first_euler_is_heavy_ball() -> None:
    # Strang splitting merges the two half-dampings of consecutive steps, so with
    # v_k = h e^{γh/2} p_k the scheme is exactly v ← βv − ε∇E, θ ← θ + v with β = e^{−γh},
    # ε = h² (v = h·p measured between the two half-dampings).
    system, gamma, h, steps = LogCosh(4, seed=2), 0.7, 0.1, 30
    z0, p0 = randn(2, 4, seed=11), randn(2, 4, seed=12)
    zs, ps = conformal_symplectic(grad_T, system.grad_V, z0, p0, h, steps, gamma,
                                  inner="symplectic_euler_p_first")
    beta, eps = math.exp(-gamma * h), h * h
    theta, v = z0, h * math.exp(0.5 * gamma * h) * p0
    for k in range(steps):
        v = beta * v - eps * system.grad_V(None, theta)
        theta = theta + v
        assert torch.allclose(theta, zs[k + 1], rtol=0, atol=1e-12)
        assert torch.allclose(v, h * math.exp(0.5 * gamma * h) * ps[k + 1], rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- 7. errors, grads


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"steps": 0}, r"steps.*0"),
    ({"steps": 2.5}, r"steps.*2\.5"),
    ({"h": 0.0}, r"h must.*0\.0"),
    ({"h": -0.1}, r"h must.*-0\.1"),
    ({"h": float("nan")}, r"h must.*nan"),
    ({"h": float("inf")}, r"h must.*inf"),
    ({"p0": torch.zeros(3, dtype=DTYPE)}, r"z0.*p0.*\(2,\).*\(3,\)"),
    ({"inner": "rk4"}, r"inner.*'rk4'"),
    ({"gamma": float("nan")}, r"gamma.*nan"),
])
def test_bad_inputs_raise(kwargs: dict, pattern: str) -> None:
    args = {"z0": torch.zeros(2, dtype=DTYPE), "p0": torch.zeros(2, dtype=DTYPE), "h": 0.1,
            "steps": 3, "gamma": 0.1, "inner": "verlet"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=pattern):
        conformal_symplectic(grad_T, pendulum_grad_V, **args)


@pytest.mark.parametrize("method", ["symplectic_euler", "verlet"])
def test_undamped_methods_reject_gamma(method: str) -> None:
    z = torch.zeros(2, dtype=DTYPE)
    with pytest.raises(ValueError, match=rf"{method}.*gamma.*0\.5"):
        SYMPLECTIC_METHODS[method](grad_T, pendulum_grad_V, z, z, 0.1, 3, gamma=0.5)
    zs, _ = SYMPLECTIC_METHODS[method](grad_T, pendulum_grad_V, z, z, 0.1, 3, gamma=0.0)
    assert zs.shape == (4, 2)


def test_gradients_flow_to_gamma_and_field_parameters() -> None:
    system = LogCosh(3, seed=3, requires_grad=True)
    gamma = torch.tensor(0.4, dtype=DTYPE, requires_grad=True)
    z0, p0 = randn(2, 3, seed=13), randn(2, 3, seed=14)
    zs, ps = SYMPLECTIC_METHODS["conformal_verlet"](grad_T, system.grad_V, z0, p0, 0.1, 20,
                                                    gamma=gamma)
    system.H(None, zs[-1], ps[-1]).sum().backward()
    assert gamma.grad is not None and torch.isfinite(gamma.grad) and gamma.grad != 0
    assert system.A.grad is not None and system.A.grad.abs().sum() > 0

    def final_energy(g: torch.Tensor) -> torch.Tensor:
        zs, ps = conformal_symplectic(grad_T, system.grad_V, z0, p0, 0.1, 5, g)
        return system.H(None, zs[-1], ps[-1]).sum()

    assert torch.autograd.gradcheck(final_energy, (gamma.detach().requires_grad_(),))
