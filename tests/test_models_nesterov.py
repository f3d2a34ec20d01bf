"""NesterovNODE / GNesterovNODE: the change of variables, read-out, adjoint (Prop. 2) and the
official-code variant (NesterovNODE paper Eqs. 9-18, docs/PAPERS.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torchdiffeq

from odebench.models import model_options
from odebench.models.base import solver_for
from odebench.models.fields import MLPField
from odebench.models.nesterov import NesterovNODEDynamics, nesterov_factor
from odebench.models.pointcloud import build_pointcloud_model
from odebench.solvers import SolverSpec, solve, solve_with

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


# --- the official point-cloud NesterovNODE field and the official-code solve ---------------

def _official_pointcloud_field(t, z, fc1, fc2, fc3, modelname, xi=None, actv=None):
    """``point_cloud/ode_functions.py`` ``NesterovNODEfunc.forward`` (time_dependent=True) as the
    official code has it: the state is ``[h; dh]`` stacked along dim 0, t is concatenated
    before h, and both gates test the model name."""
    actv = torch.nn.Tanh() if actv is None else actv  # the constructor's default actv
    res = 0.0 if xi is None else xi
    elu, identity = torch.nn.ELU(inplace=False), torch.nn.Identity()
    cutoff = int(len(z) / 2)
    h = z[:cutoff]
    dh = z[cutoff:]
    k_reciprocal = torch.pow(t, 3 / 2) * torch.exp(-t / 2)
    m = (3 / 2 * torch.pow(t, 1 / 2) * torch.exp(-t / 2) - 1 / 2 * k_reciprocal) * h \
        + k_reciprocal * dh
    t_vec = torch.ones(h.shape[0], 1, dtype=h.dtype) * t
    out = fc3(elu(fc2(elu(fc1(torch.cat([t_vec, h], 1))))))
    actv_df = actv if modelname == "GNesterovNODE" else identity
    out = actv_df(out)
    dm = - m - out - res * h
    if modelname in ("GNesterovNODE"):  # a string, not a tuple: a substring test
        actv_v = actv
    else:
        actv_v = identity
    return torch.cat((actv_v(m), dm))


def _official_layers(field):
    """fc1, fc2, fc3 of the official field holding our MLPField's weights (t column first)."""
    first, second, third = field.net[0], field.net[2], field.net[4]
    fc1 = torch.nn.Linear(first.in_features, first.out_features).double()
    with torch.no_grad():
        fc1.weight.copy_(torch.cat((first.weight[:, -1:], first.weight[:, :-1]), dim=1))
        fc1.bias.copy_(first.bias)
    return fc1, second, third


def _stacked(z):  # ours [batch, 2, n] -> the official [h; dh] of shape [2 batch, n]
    return torch.cat((z[:, 0], z[:, 1]))


OFFICIAL_POINTCLOUD = [  # (model, the script's NesterovNODEfunc / ODEBlock arguments)
    ("nesterovnode", dict(modelname="NesterovNODE"), torch.nn.Identity()),
    ("gnesterovnode", dict(modelname="GNesterovNODE", xi=0.5, actv=torch.nn.Hardtanh(-5, 5)),
     torch.nn.Hardtanh(-5, 5)),
]


@pytest.mark.parametrize("model,kwargs,actv_k", OFFICIAL_POINTCLOUD)
def test_official_code_pointcloud_models_compute_the_official_field(model, kwargs, actv_k):
    """nested_n_spheres.py: NesterovNODEfunc(data_dim, nhid, modelname="NesterovNODE") gets
    x' = tanh(m) (substring test), no sigma on f, xi = 0, read-out k(T) x(T); GNesterovNODE
    gets HardTanh(-5, 5) on m, f and k with --xi 0.5. Equal weights and inputs give equal
    derivatives, solutions and outputs."""
    torch.manual_seed(5)
    spec = SolverSpec(adjoint=False, rtol=1e-9, atol=1e-9)
    ours = build_pointcloud_model("nesterov2022", model, spec, head="hardtanh",
                                  variant="official_code").double()
    fc1, fc2, fc3 = _official_layers(ours.dynamics.field)

    def official(t, z):
        return _official_pointcloud_field(t, z, fc1, fc2, fc3, **kwargs)

    x = torch.randn(7, 2, dtype=F64)
    with torch.no_grad():
        for t in (1.0, 1.37, 2.0, 2.4):  # 2.4: dopri5 steps past T
            t = torch.tensor(t, dtype=F64)
            z = 2 * torch.randn(7, 2, 2, dtype=F64)
            assert torch.allclose(_stacked(ours.dynamics(t, z)), official(t, _stacked(z)),
                                  rtol=1e-12, atol=1e-13)
        z0 = ours.initial(x)
        times = torch.tensor([1.0, 2.0], dtype=F64)
        z_official = torchdiffeq.odeint(official, _stacked(z0), times, rtol=1e-9, atol=1e-9,
                                        method="dopri5")[1]
        z_ours = ours.integrate(x)[-1]
        assert torch.allclose(_stacked(z_ours), z_official, rtol=1e-9, atol=1e-11)
        # ODEBlock.calc_algebraic_factor: h = x k(T) with k = actv_k(T^(-3/2) e^(T/2))
        k = actv_k(torch.pow(times[-1], -3 / 2) * torch.exp(times[-1] / 2))
        h_official = z_official[:7] * k
        assert torch.allclose(ours.hidden(x), h_official, rtol=1e-9, atol=1e-11)
        decoder = ours.head  # Decoder: Linear(n, 1) -> HardTanh(-1, 1)
        assert torch.allclose(ours(x), decoder(h_official), rtol=1e-9, atol=1e-11)


def test_official_code_plain_nesterovnode_gates_m_only():
    paper = model_options("nesterov2022", "pointcloud", "nesterovnode")
    code = model_options("nesterov2022", "pointcloud", "nesterovnode", variant="official_code")
    assert (paper["sigma"], paper["xi"]) == ("identity", 0.0)
    assert (code["sigma"], code["sigma_on_f"], code["sigma_on_k"], code["xi"]) == (
        "tanh", False, False, 0.0)
    for task in ("mnist", "cifar10", "silverbox"):  # the substring test is point-cloud code
        assert model_options("nesterov2022", task, "nesterovnode",
                             variant="official_code")["sigma"] == "identity"
    dyn = _nesterov_model("nesterovnode", variant="official_code").dynamics
    assert isinstance(dyn.sigma, torch.nn.Tanh) and not dyn.sigma_on_f and not dyn.sigma_on_k
    t, z = torch.tensor(2.0, dtype=F64), torch.randn(4, 2, 2, dtype=F64)
    assert torch.equal(dyn.readout(t, z), nesterov_factor(t) * z[:, 0])  # no tanh(k)


@pytest.mark.parametrize("on_f,on_k", [(True, False), (False, True), (False, False)])
def test_sigma_on_f_and_on_k_switch_the_gates_off(on_f, on_k):
    torch.manual_seed(9)
    field = MLPField(2, 6, 2, act="tanh", time_dependent=True).double()
    dyn = NesterovNODEDynamics(field, sigma="tanh", sigma_on_f=on_f, sigma_on_k=on_k)
    z, t = 3 * torch.randn(3, 2, 2, dtype=F64), torch.tensor(1.3, dtype=F64)
    k = nesterov_factor(t)
    scale = torch.tanh(k) if on_k else k
    h = scale * z[:, 0]
    f = field(t, h)
    expected_dm = -z[:, 1] - (torch.tanh(f) if on_f else f)
    assert torch.allclose(dyn(t, z), torch.stack((torch.tanh(z[:, 1]), expected_dm), dim=1))
    assert torch.allclose(dyn.readout(t, z), scale * z[:, 0])


def _times_seen(model, x):
    """Forward NFE and every time at which the vector field was evaluated in ``model(x)``."""
    seen = []
    hook = model.dynamics.field.register_forward_pre_hook(
        lambda _module, args: seen.append(float(args[0].detach())))
    try:
        model(x)
    finally:
        hook.remove()
    return model.last_nfe.forward, seen


def test_official_code_solve_has_no_step_t_and_steps_past_the_end():
    """The official code calls odeint(..., rtol=tol, atol=tol, method='dopri5') with no options:
    dopri5 may step past T = 2 and interpolate back. The paper form keeps step_t."""
    spec = SolverSpec(adjoint=False, rtol=1e-7, atol=1e-7)
    times = torch.tensor([1.0, 2.0], dtype=F64)
    x = torch.randn(8, 2, dtype=F64, generator=torch.Generator().manual_seed(3))
    nfe_differs = []
    for seed in range(3):
        torch.manual_seed(seed)
        paper = build_pointcloud_model("nesterov2022", "nesterovnode", spec).double()
        torch.manual_seed(seed)
        code = build_pointcloud_model("nesterov2022", "nesterovnode", spec,
                                      variant="official_code").double()
        assert paper.dynamics.stays_in_interval and not code.dynamics.stays_in_interval
        assert solver_for(spec, code.dynamics, times) == spec  # options passed unchanged
        assert torch.equal(solver_for(spec, paper.dynamics, times).options["step_t"], times)
        _, seen_paper = _times_seen(paper, x)
        nfe_code, seen_code = _times_seen(code, x)
        assert min(seen_paper) == 1.0 and max(seen_paper) <= 2.0
        assert min(seen_code) == 1.0 and max(seen_code) > 2.0
        # the same official-code dynamics solved with step_t takes other steps
        with_step_t = replace(spec, options={"step_t": times})
        solution = solve_with(with_step_t, code.dynamics, code.initial(x), times)
        nfe_differs.append(solution.nfe.forward != nfe_code)
    assert any(nfe_differs)
