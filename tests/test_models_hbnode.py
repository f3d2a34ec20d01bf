"""HBNODE / GHBNODE adjoint properties (HBNODE paper Props. 1-4, Eqs. 13, 14, 16, 77-80)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from odebench.models.fields import MLPField
from odebench.models.pointcloud import build_pointcloud_model
from odebench.solvers import SolverSpec, solve

TIGHT = dict(rtol=1e-11, atol=1e-11)


def _model(name: str, adjoint: bool, **options):
    """The hbnode2021 point-cloud model with its ELU field swapped for a tanh one.

    ELU (the papers' choice) has a jump in f'' at 0; an adaptive solver stepping over it
    caps the agreement of adjoint and backprop gradients near 1e-6, which would blur the
    property under test. A smooth field of the same shape isolates it.
    """
    torch.manual_seed(3)
    spec = SolverSpec(adjoint=adjoint, **TIGHT)
    model = build_pointcloud_model("hbnode2021", name, spec, **options)
    model.dynamics.field = MLPField(2, 14, 2, act="tanh")
    return model.double()


def _grads(model, x):
    model.zero_grad()
    (model(x) ** 2).sum().backward()
    return {name: p.grad.clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize("name,options", [
    ("hbnode", {}),
    ("ghbnode", {"sigma": "tanh", "xi_learnable": True}),
    ("ghbnode", {"sigma": "tanh", "sigma_on_f": True, "xi": 0.7}),
])
def test_adjoint_gradients_equal_backprop_gradients(name, options):
    """Props. 1-3: the generic adjoint of the stacked system is Eq. 13 / 16, so odeint_adjoint
    gradients equal backpropagation through the solver up to the solver tolerance."""
    x = torch.randn(6, 2, dtype=torch.float64)
    backprop = _model(name, adjoint=False, **options)
    adjoint = _model(name, adjoint=True, **options)
    adjoint.load_state_dict(backprop.state_dict())
    g_bp, g_adj = _grads(backprop, x), _grads(adjoint, x)
    assert g_bp.keys() == g_adj.keys() and "dynamics.damping.omega" in g_bp
    if options.get("xi_learnable"):
        assert "dynamics.coupling.chi" in g_bp
    for key in g_bp:
        error = (g_adj[key] - g_bp[key]).norm() / g_bp[key].norm()
        assert error <= 1e-6, (key, float(error))


def _adjoint_at(dynamics, z0: torch.Tensor, s: float, t0: float = 0.0, t_end: float = 1.0):
    """(z(s), a(s) = dL/dz(s)) for L = sum(h(T)^2) + sum(h(T) m(T)), by autograd."""
    with torch.no_grad():
        z_s = solve(dynamics, z0, [t0, s], adjoint=False, **TIGHT).ys[-1]
    z_s = z_s.clone().requires_grad_(True)
    z_end = solve(dynamics, z_s, [s, t_end], adjoint=False, **TIGHT).ys[-1]
    loss = (z_end[:, 0] ** 2).sum() + (z_end[:, 0] * z_end[:, 1]).sum()
    (a,) = torch.autograd.grad(loss, z_s)
    return z_s.detach(), a


def _adjoint_and_rate(dynamics, z0, s, delta=1e-4):
    z_s, a = _adjoint_at(dynamics, z0, s)
    _, a_plus = _adjoint_at(dynamics, z0, s + delta)
    _, a_minus = _adjoint_at(dynamics, z0, s - delta)
    return z_s, a, (a_plus - a_minus) / (2 * delta)


def _vjp_field(dynamics, s: float, h: torch.Tensor, a_m: torch.Tensor) -> torch.Tensor:
    """a_m df/dh at (h, s)."""
    h = h.clone().requires_grad_(True)
    f = dynamics.field(torch.tensor(s, dtype=h.dtype), h)
    (vjp,) = torch.autograd.grad(f, h, grad_outputs=a_m)
    return vjp


def _close(actual, expected, rel=1e-5):
    return float((actual - expected).norm() / expected.norm()) <= rel


@pytest.mark.parametrize("s", [0.3, 0.7])
def test_hbnode_adjoint_follows_eq_13(s):
    """Eq. 13: da_h/dt = -a_m df/dh, da_m/dt = -a_h + gamma a_m; i.e. (Remark 2)
    a_h = gamma a_m - da_m/dt, along the trajectory (finite differences in t)."""
    model = _model("hbnode", adjoint=False)
    z0 = model.initial(torch.randn(4, 2, dtype=torch.float64)).detach()
    with torch.no_grad():
        gamma = model.dynamics.damping()
    z_s, a, rate = _adjoint_and_rate(model.dynamics, z0, s)
    a_h, a_m = a[:, 0], a[:, 1]
    assert _close(gamma * a_m - rate[:, 1], a_h)
    assert _close(rate[:, 0], -_vjp_field(model.dynamics, s, z_s[:, 0], a_m))


@pytest.mark.parametrize("s", [0.4])
def test_ghbnode_adjoint_follows_eq_16(s):
    """Prop. 3: da_h/dt = -a_m (df/dh - xi I), da_m/dt = -a_h sigma'(m) + gamma a_m."""
    model = _model("ghbnode", adjoint=False, sigma="tanh", xi=0.9)
    z0 = model.initial(torch.randn(4, 2, dtype=torch.float64)).detach()
    with torch.no_grad():
        gamma, xi = model.dynamics.damping(), model.dynamics.coupling()
    z_s, a, rate = _adjoint_and_rate(model.dynamics, z0, s)
    a_h, a_m = a[:, 0], a[:, 1]
    sigma_prime = 1 - torch.tanh(z_s[:, 1]) ** 2
    assert _close(rate[:, 1], -a_h * sigma_prime + gamma * a_m)
    assert _close(rate[:, 0], -(_vjp_field(model.dynamics, s, z_s[:, 0], a_m) - xi * a_m))


@pytest.mark.parametrize("seed", range(5))
def test_prop4_eigenvalues_pair_up_with_sum_minus_gamma(seed):
    """Prop. 4 / App. D: eig([[0, J], [F, -gamma I]]) are the roots of
    lambda (lambda + gamma) = mu_i for the eigenvalues mu_i of JF; each pair sums to -gamma."""
    rng = np.random.default_rng(seed)
    n, gamma = 5, float(rng.uniform(0.05, 2.0))
    jac_m, jac_h = rng.normal(size=(n, n)), rng.normal(size=(n, n))
    big = np.block([[np.zeros((n, n)), jac_m], [jac_h, -gamma * np.eye(n)]])
    eig = np.linalg.eigvals(big)
    expected = []
    for mu in np.linalg.eigvals(jac_m @ jac_h):
        root = np.sqrt(complex(gamma**2 + 4 * mu))
        pair = ((-gamma + root) / 2, (-gamma - root) / 2)
        assert abs(sum(pair) + gamma) < 1e-12
        expected.extend(pair)
    remaining = list(eig)
    for value in expected:  # match each predicted root to one eigenvalue of H
        i = int(np.argmin([abs(value - e) for e in remaining]))
        assert abs(value - remaining.pop(i)) < 1e-8
    for value in eig:  # -gamma - lambda is an eigenvalue too
        assert np.min(np.abs(eig - (-gamma - value))) < 1e-8
