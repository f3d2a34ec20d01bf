"""NesterovNODE / GNesterovNODE: the change of variables, read-out, adjoint (Prop. 2) and the
official-code variant (NesterovNODE paper Eqs. 9-18, spec paper-nesterov.md Sec. 5 item 1)."""

from __future__ import annotations

import pytest
import torch

from odebench.models import model_options
from odebench.models.fields import MLPField
from odebench.models.nesterov import NesterovNODEDynamics, nesterov_factor
from odebench.models.pointcloud import build_pointcloud_model
from odebench.solvers import SolverSpec, solve

TIGHT = dict(rtol=1e-11, atol=1e-11)
F64 = torch.float64


def _derivatives(r: float):
    t = torch.linspace(0.5, 6.0, 23, dtype=F64, requires_grad=True)
    k = nesterov_factor(t, r)
    (k1,) = torch.autograd.grad(k.sum(), t, create_graph=True)
    (k2,) = torch.autograd.grad(k1.sum(), t)
    return t.detach(), k.detach(), k1.detach(), k2


@pytest.mark.parametrize("r", [3.0, 5.0, 10.0])
def test_factor_satisfies_2k_prime_plus_r_over_t_k_equals_k(r):
    t, k, k1, _ = _derivatives(r)
    assert torch.allclose(2 * k1 + (r / t) * k, k, rtol=1e-12, atol=0)


def test_eq13_coefficient_and_rescaled_gradient_term():
    """Eq. 13: (k'' + (3/t)k')/k x = 1/4 (t^2-3) t^(-1/2) e^(-t/2) h with h = kx, and the
    grad-F coefficient 1/k = t^(3/2) e^(-t/2)."""
    t, k, k1, k2 = _derivatives(3.0)
    assert torch.allclose((k2 + 3 / t * k1) / k, (t**2 - 3) / (4 * t**2), rtol=1e-10, atol=1e-13)
    x = torch.linspace(-2.0, 2.0, t.numel(), dtype=F64)
    h = k * x
    expected = 0.25 * (t**2 - 3) * t.pow(-0.5) * torch.exp(-t / 2) * h
    assert torch.allclose((k2 + 3 / t * k1) / k * x, expected, rtol=1e-10, atol=1e-13)
    assert torch.allclose(1 / k, t.pow(1.5) * torch.exp(-t / 2), rtol=1e-13, atol=0)


class _NesterovRHS(torch.nn.Module):
    """f(h, t) of Eq. 13 for F(h) = sum(log cosh h) + |h|^2/4, i.e. grad F = tanh h + h/2."""

    @staticmethod
    def grad_f(h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(h) + 0.5 * h

    def forward(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        coef = 0.25 * (t**2 - 3) * t.pow(-0.5) * torch.exp(-t / 2)
        return coef * h + t.pow(1.5) * torch.exp(-t / 2) * self.grad_f(h)


def test_paper_form_is_the_nesterov_ode_after_the_change_of_variables():
    """Eq. 15 with Eq. 13's f gives h = k x solving h'' + (3/t) h' + grad F(h) = 0 (Eq. 9)."""
    dynamics = NesterovNODEDynamics(_NesterovRHS(), r=3.0, variant="paper")
    x0, m0 = torch.tensor([[0.8, -1.3]], dtype=F64), torch.tensor([[0.4, 0.2]], dtype=F64)
    times = torch.tensor([1.0, 1.5, 2.5], dtype=F64)
    z = solve(dynamics, torch.stack((x0, m0), dim=1), times, adjoint=False, **TIGHT).ys
    h_ours = torch.stack([dynamics.readout(t, zt) for t, zt in zip(times, z, strict=True)])

    def eq11(t, y):  # h' = v, v' = -(3/t) v - grad F(h)
        return torch.stack((y[:, 1], -3 / t * y[:, 1] - _NesterovRHS.grad_f(y[:, 0])), dim=1)

    t0 = times[0].clone().requires_grad_(True)
    (k1_0,) = torch.autograd.grad(nesterov_factor(t0), t0)
    k0 = nesterov_factor(times[0])
    y0 = torch.stack((k0 * x0, k1_0 * x0 + k0 * m0), dim=1)
    h_direct = solve(eq11, y0, times, adjoint=False, **TIGHT).ys[:, :, 0]
    assert torch.allclose(h_ours, h_direct, rtol=1e-8, atol=1e-10)


def _nesterov_model(model: str, **options):
    torch.manual_seed(7)
    spec = SolverSpec(adjoint=False, rtol=1e-9, atol=1e-9)
    return build_pointcloud_model("nesterov2022", model, spec, **options).double()


def test_readout_is_k_times_x_and_sigma_k_for_the_generalized_model():
    x = torch.randn(5, 2, dtype=F64)
    times = torch.tensor([1.0, 1.4, 2.0], dtype=F64)
    plain = _nesterov_model("nesterovnode")
    z = plain.integrate(x, times)
    for t, zt in zip(times, z, strict=True):
        assert torch.equal(plain.dynamics.readout(t, zt), nesterov_factor(t) * zt[:, 0])
    k_end = torch.tensor(2.0, dtype=F64).pow(-1.5) * torch.exp(torch.tensor(1.0, dtype=F64))
    assert torch.allclose(plain.hidden(x), k_end * plain.integrate(x)[-1][:, 0])
    clipped = _nesterov_model("gnesterovnode", sigma="hardtanh:0.5")
    z_end = clipped.integrate(x)[-1]
    assert torch.allclose(clipped.hidden(x), 0.5 * z_end[:, 0])  # sigma(k(2) = 0.961) = 0.5


def _adjoint_at(dynamics, z0, s, leaf_h=False, t0=1.0, t_end=2.0):
    """(z(s), dL/d[x, m](s)) or, with ``leaf_h``, dL/dh(s) with x(s) = h(s)/k(s)."""
    with torch.no_grad():
        z_s = solve(dynamics, z0, [t0, s], adjoint=False, **TIGHT).ys[-1]
    k_s = nesterov_factor(torch.tensor(s, dtype=F64))
    leaf = (k_s * z_s[:, 0] if leaf_h else z_s).clone().requires_grad_(True)
    start = torch.stack((leaf / k_s, z_s[:, 1]), dim=1) if leaf_h else leaf
    z_end = solve(dynamics, start, [s, t_end], adjoint=False, **TIGHT).ys[-1]
    h_end = dynamics.readout(torch.tensor(t_end, dtype=F64), z_end)
    loss = (h_end**2).sum() + (h_end * z_end[:, 1]).sum()
    (a,) = torch.autograd.grad(loss, leaf)
    return z_s, a


@pytest.mark.parametrize("s", [1.3, 1.7])
def test_prop2_adjoint_relations(s):
    """Prop. 2 (r = 3): a_h = t^(3/2) e^(-t/2) a_x, a_x' = k a_m df/dh, a_m' = a_m - a_x."""
    torch.manual_seed(11)
    field = MLPField(2, 10, 2, act="tanh", time_dependent=True).double()
    dynamics = NesterovNODEDynamics(field, r=3.0, variant="paper")
    z0 = torch.randn(4, 2, 2, dtype=F64)
    z_s, a = _adjoint_at(dynamics, z0, s)
    _, a_h = _adjoint_at(dynamics, z0, s, leaf_h=True)
    t = torch.tensor(s, dtype=F64)
    assert torch.allclose(a_h, t.pow(1.5) * torch.exp(-t / 2) * a[:, 0], rtol=1e-9, atol=1e-12)
    delta = 1e-4
    rate = (_adjoint_at(dynamics, z0, s + delta)[1] - _adjoint_at(dynamics, z0, s - delta)[1])
    rate = rate / (2 * delta)
    k = nesterov_factor(t)
    h = (k * z_s[:, 0]).requires_grad_(True)
    (vjp,) = torch.autograd.grad(field(t, h), h, grad_outputs=a[:, 1])
    for actual, expected in ((rate[:, 0], k * vjp), (rate[:, 1], a[:, 1] - a[:, 0])):
        assert float((actual - expected).norm() / expected.norm()) < 1e-5


def test_official_code_variant_differs_from_the_paper_form_and_both_train():
    x = torch.randn(8, 2, dtype=F64)
    paper = _nesterov_model("nesterovnode")
    code = _nesterov_model("nesterovnode", variant="official_code")
    code.load_state_dict(paper.state_dict())
    assert (paper.dynamics.variant, code.dynamics.variant) == ("paper", "official_code")
    outputs = []
    for model in (paper, code):
        out = model(x)
        out.sum().backward()
        assert torch.isfinite(out).all()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters())
        outputs.append(out.detach())
    assert (outputs[0] - outputs[1]).abs().max() > 1e-3


def test_official_code_field_reads_the_state_as_h_and_h_prime():
    """Spec Sec. 5 item 1: m~ = c(t) z1 + z2/k, c = (r/(2t) - 1/2) t^(r/2) e^(-t/2)."""
    torch.manual_seed(2)
    field = MLPField(2, 6, 2, act="tanh", time_dependent=True).double()
    dyn = NesterovNODEDynamics(field, r=5.0, variant="official_code", sigma="tanh", xi=0.5)
    z, t = torch.randn(3, 2, 2, dtype=F64), torch.tensor(1.3, dtype=F64)
    inv_k = t.pow(2.5) * torch.exp(-t / 2)
    m = (5 / (2 * t) - 0.5) * inv_k * z[:, 0] + inv_k * z[:, 1]
    expected_dm = -m - torch.tanh(field(t, z[:, 0])) - 0.5 * z[:, 0]
    assert torch.allclose(dyn(t, z), torch.stack((torch.tanh(m), expected_dm), dim=1))


def test_generalized_variants_differ_for_equal_weights_and_gates():
    x = torch.randn(6, 2, dtype=F64)
    same = dict(sigma="hardtanh:5", xi=2.0)
    paper = _nesterov_model("gnesterovnode", **same)
    code = _nesterov_model("gnesterovnode", variant="official_code", **same)
    code.load_state_dict(paper.state_dict())
    assert not torch.allclose(paper(x), code(x))


def test_variant_switch_selects_the_code_defaults():
    paper = model_options("nesterov2022", "pointcloud", "gnesterovnode")
    code = model_options("nesterov2022", "pointcloud", "gnesterovnode", variant="official_code")
    assert (paper["xi"], code["xi"]) == (2.0, 0.5)  # Table 6 vs the code's --xi default
    assert paper["r"] == code["r"] == 3.0


@pytest.mark.parametrize("in_field", [True, False])
def test_generalized_paper_field_eq18(in_field):
    """Eq. 18: x' = sigma(m), m' = -m - sigma(f(h, t)) - xi h with h = sigma(k) x as printed
    (``sigma_k_in_field=False``: the App. B proof's h = k x)."""
    torch.manual_seed(4)
    field = MLPField(2, 6, 2, act="tanh", time_dependent=True).double()
    dyn = NesterovNODEDynamics(field, sigma="hardtanh:0.5", xi=1.5, sigma_k_in_field=in_field)
    z, t = 3 * torch.randn(3, 2, 2, dtype=F64), torch.tensor(1.2, dtype=F64)
    k = nesterov_factor(t)
    h = (0.5 if in_field else k) * z[:, 0]  # k(1.2) = 1.52 is clipped to 0.5
    clip = torch.nn.Hardtanh(-0.5, 0.5)
    expected_dm = -z[:, 1] - clip(field(t, h)) - 1.5 * h
    assert torch.allclose(dyn(t, z), torch.stack((clip(z[:, 1]), expected_dm), dim=1))
    assert torch.allclose(dyn.readout(t, z), 0.5 * z[:, 0])
