"""Structure-preserving families (Celledoni et al. review) and their NODE-budget sizing."""

from __future__ import annotations

import pytest
import torch

from odebench.models import (
    MODELS,
    ModelOptionError,
    UnknownModelError,
    count_parameters,
    model_options,
)
from odebench.models.base import FieldSpec
from odebench.models.defaults import sized_models, task_models
from odebench.models.images import build_image_model
from odebench.models.pointcloud import build_pointcloud_model, pointcloud_parameter_count
from odebench.models.silverbox import build_silverbox_model
from odebench.models.sizing import SizingError, largest_width
from odebench.models.structured import (
    AntisymmetricDynamics,
    CouplingDynamics,
    DampedHamiltonianDynamics,
    GradientFlowDynamics,
    HamiltonianDynamics,
    LipschitzDynamics,
)
from odebench.solvers import SolverSpec, solve

NEW = ("antisymnode", "gradnode", "hamnode", "hamhbnode", "couplingnode", "iresnode")
SETUPS = ("hbnode2021", "nesterov2022")
DT = torch.float64
T0 = torch.tensor(0.0, dtype=DT)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _state(batch: int, order: int, n: int) -> torch.Tensor:
    return torch.randn(batch, order, n, dtype=DT)


def test_antisymmetric_weight_is_skew_minus_gamma():
    dyn = AntisymmetricDynamics(5, gamma=0.01).double()
    a = dyn.weight()
    assert torch.equal(a + a.T, -0.02 * torch.eye(5, dtype=DT))
    assert dyn.structure == ("antisymmetric",)
    z = _state(4, 1, 5)
    assert torch.allclose(dyn(T0, z)[:, 0], torch.tanh(z[:, 0] @ a.T + dyn.b))


def test_antisymmetric_conv_kernel_is_skew_as_an_operator():
    dyn = AntisymmetricDynamics(3, conv=True, gamma=0.01).double()
    x, y = torch.randn(2, 3, 5, 5, dtype=DT), torch.randn(2, 3, 5, 5, dtype=DT)
    k = dyn.weight()
    ax = torch.nn.functional.conv2d(x, k, padding=1)
    ay = torch.nn.functional.conv2d(y, k, padding=1)
    # <Ax, y> + <x, Ay> = -2 gamma <x, y>
    lhs = (ax * y).sum() + (x * ay).sum()
    assert torch.allclose(lhs, -0.02 * (x * y).sum(), atol=1e-12)


def test_gradient_field_is_minus_grad_potential_and_contractive():
    dyn = GradientFlowDynamics(3, 7).double()
    z = _state(6, 1, 3).requires_grad_(True)
    (grad,) = torch.autograd.grad(dyn.potential(T0, z[:, 0]).sum(), z)
    assert torch.allclose(dyn(T0, z), -grad, atol=1e-12)
    # one-sided Lipschitz: -mu*^2 |x - y|^2 <= <f(x) - f(y), x - y> <= 0 (Theorem 2.1)
    x, y = torch.randn(200, 3, dtype=DT), torch.randn(200, 3, dtype=DT)
    fx, fy = dyn(T0, x.unsqueeze(1))[:, 0], dyn(T0, y.unsqueeze(1))[:, 0]
    inner = ((fx - fy) * (x - y)).sum(1)
    assert (inner <= 1e-12).all()
    a = dyn.affine.op.weight.detach()
    sigma_max = float(torch.linalg.matrix_norm(a, ord=2))
    assert (inner >= -(sigma_max ** 2) * ((x - y) ** 2).sum(1) - 1e-12).all()
    mu = dyn.min_singular_value()
    assert mu == pytest.approx(float(torch.linalg.svdvals(a).min()))
    # nu = max eig of the symmetric Jacobian -A^T D A (0 <= D <= I): -mu*^2 <= nu <= 0
    for z in torch.randn(10, 3, dtype=DT):
        jac = torch.autograd.functional.jacobian(lambda v: dyn(T0, v.reshape(1, 1, 3)).flatten(),
                                                 z)
        nu = float(torch.linalg.eigvalsh(0.5 * (jac + jac.T)).max())
        assert -mu ** 2 - 1e-12 <= nu <= 1e-12


def test_conv_forces_are_minus_grad_of_their_potentials():
    dyn = HamiltonianDynamics(2, 3, conv=True).double()
    z = torch.randn(2, 2, 2, 5, 5, dtype=DT, requires_grad=True)
    (grad,) = torch.autograd.grad(dyn.energy(T0, z).sum(), z)
    assert torch.allclose(dyn(T0, z)[:, 1], -grad[:, 0], atol=1e-12)
    flow = GradientFlowDynamics(2, 3, conv=True).double()
    h = torch.randn(2, 1, 2, 5, 5, dtype=DT, requires_grad=True)
    (grad,) = torch.autograd.grad(flow.potential(T0, h[:, 0]).sum(), h)
    assert torch.allclose(flow(T0, h), -grad, atol=1e-12)


def test_hamiltonian_force_is_minus_grad_v_and_energy_is_conserved():
    dyn = HamiltonianDynamics(3, 8).double()
    z = _state(5, 2, 3).requires_grad_(True)
    (grad,) = torch.autograd.grad(dyn.energy(T0, z).sum(), z)
    out = dyn(T0, z)
    assert torch.allclose(out[:, 1], -grad[:, 0], atol=1e-12)  # p' = -dH/dz
    assert torch.allclose(out[:, 0], grad[:, 1], atol=1e-12)  # z' = dH/dp
    grad_t, grad_v = dyn.separable()
    assert torch.allclose(grad_v(T0, z[:, 0]), grad[:, 0]) and torch.equal(grad_t(T0, z[:, 1]),
                                                                           z[:, 1])
    with torch.no_grad():
        times = torch.linspace(0.0, 1.0, 6, dtype=DT)
        ys = solve(dyn, z.detach(), times, rtol=1e-10, atol=1e-10, adjoint=False).ys
        energies = torch.stack([dyn.energy(t, y) for t, y in zip(times, ys, strict=True)])
    assert torch.allclose(energies, energies[0].expand_as(energies), rtol=1e-8, atol=1e-9)
    assert (ys[-1] - ys[0]).abs().max() > 1e-2  # the state did move


def test_damped_hamiltonian_energy_decreases():
    dyn = DampedHamiltonianDynamics(3, 8).double()
    assert dyn.structure == ("damped_hamiltonian",)
    gamma0 = float(torch.sigmoid(torch.tensor(-3.0)))
    assert float(dyn.damping_rate().detach()) == pytest.approx(gamma0)
    z = _state(5, 2, 3)
    with torch.no_grad():
        times = torch.linspace(0.0, 2.0, 9, dtype=DT)
        ys = solve(dyn, z, times, rtol=1e-10, atol=1e-10, adjoint=False).ys
        energies = torch.stack([dyn.energy(t, y) for t, y in zip(times, ys, strict=True)])
    assert (energies[1:] < energies[:-1]).all()


def test_coupling_field_is_divergence_free_with_shear_blocks():
    dyn = CouplingDynamics(3, 6).double()
    z = _state(1, 2, 3)[0]
    jac = torch.autograd.functional.jacobian(
        lambda v: dyn(T0, v.reshape(1, 2, 3)).flatten(), z.flatten())
    assert abs(float(torch.trace(jac))) < 1e-14
    assert float(jac.abs().sum()) > 0
    f1, f2 = dyn.shear_blocks()
    assert torch.equal(dyn(T0, z.unsqueeze(0))[0, 0], f1(T0, z[1:2])[0])
    assert torch.equal(dyn(T0, z.unsqueeze(0))[0, 1], f2(T0, z[0:1])[0])


def test_ires_field_is_c_lipschitz_on_random_pairs():
    dyn = LipschitzDynamics(4, 16, c=0.9).double()
    for _ in range(20):  # power iterations converge in training mode
        dyn(T0, _state(2, 1, 4))
    dyn.eval()
    assert dyn.lipschitz_bound() == 0.9
    x, y = 3 * _state(500, 1, 4), 3 * _state(500, 1, 4)
    with torch.no_grad():
        ratio = (dyn(T0, x) - dyn(T0, y)).flatten(1).norm(dim=1) / (x - y).flatten(1).norm(dim=1)
    assert float(ratio.max()) <= 0.9 * (1 + 1e-6)
    assert float(ratio.max()) > 0.05


# --- sizing -------------------------------------------------------------------------------

def test_largest_width_bisects_and_names_the_budget():
    assert largest_width(lambda k: k * k, 50) == 7
    assert largest_width(lambda k: 3 * k, 3000, high=16) == 16
    assert largest_width(lambda k: k + 10, 11) == 1
    with pytest.raises(SizingError, match="budget of 10"):
        largest_width(lambda k: k + 10, 10)


@pytest.mark.parametrize("setup", SETUPS)
@pytest.mark.parametrize("model", NEW)
def test_sized_pointcloud_model_fits_the_node_budget(setup, model):
    opts = model_options(setup, "pointcloud", model)
    node = build_pointcloud_model(setup, "node", SolverSpec())
    budget = count_parameters(node)
    assert opts["budget"] == budget and opts["sized_from"] == "node"
    assert opts["label"] == MODELS[model].label and opts["p"] == opts["n"] - 2
    built = build_pointcloud_model(setup, model, SolverSpec())
    assert count_parameters(built) <= budget
    n, h = opts["n"], opts["h"]
    bigger = (n + 1, h) if opts["size_knob"] == "n" else (n, h + 1)
    assert pointcloud_parameter_count(setup, model, *bigger) > budget


def test_sizing_does_not_move_the_seed_and_paper_models_are_unchanged():
    torch.manual_seed(3)
    a = build_pointcloud_model("hbnode2021", "hamnode", SolverSpec())
    torch.manual_seed(3)
    b = build_pointcloud_model("hbnode2021", "hamnode", SolverSpec())
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert "budget" not in model_options("hbnode2021", "pointcloud", "hbnode")
    for setup in SETUPS:
        assert not set(NEW) & set(task_models(setup, "pointcloud"))
        assert sized_models(setup, "pointcloud") == list(NEW)


@pytest.mark.parametrize("model", NEW)
def test_pointcloud_model_runs_forward_and_backward(model):
    net = build_pointcloud_model("nesterov2022", model, SolverSpec(rtol=1e-4, atol=1e-4,
                                                                 adjoint=False)).double()
    x = torch.randn(7, 2, dtype=DT)
    out = net(x)
    assert out.shape == (7, 1) and torch.isfinite(out).all()
    out.sum().backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("model", ["antisymnode", "gradnode", "hamhbnode", "couplingnode"])
def test_image_model_runs_forward(model):
    net = build_image_model("hbnode2021", "mnist", model, SolverSpec(method="rk4",
                            options={"step_size": 0.5}), image_shape=(1, 6, 6))
    out = net(torch.randn(2, 1, 6, 6))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_unknown_and_unavailable_models_give_clear_errors():
    with pytest.raises(UnknownModelError, match="valid: node, anode, sonode, hbnode, ghbnode$"):
        build_pointcloud_model("hbnode2021", "lstm", SolverSpec())
    with pytest.raises(UnknownModelError, match="valid: node, anode"):
        model_options("hbnode2021", "pointcloud", "nesterovnode")  # a paper row, not sized
    with pytest.raises(ModelOptionError, match="gradnode is not available on task silverbox"):
        build_silverbox_model("hbnode2021", "gradnode", SolverSpec(), v1=lambda t: t)
    with pytest.raises(ModelOptionError, match="iresnode is not available on task mnist"):
        build_image_model("hbnode2021", "mnist", "iresnode", SolverSpec())
    with pytest.raises(ModelOptionError, match="do not apply"):
        model_options("hbnode2021", "pointcloud", "gradnode", xi=1.0)


def test_a_new_family_is_one_function_and_one_registry_entry(monkeypatch):
    from odebench.models.node import NODEDynamics
    from odebench.models.registry import ModelFamily

    class Linear(NODEDynamics):
        def __init__(self, spec: FieldSpec):
            super().__init__(torch.nn.Identity())
            self.fc = torch.nn.Linear(spec.n, spec.n)

        def forward(self, t, z):
            return self.fc(z[:, 0]).unsqueeze(1)

    monkeypatch.setitem(MODELS, "mylinear", ModelFamily("mylinear", "MyLinear", Linear,
                                                         order=1, size_knob="n",
                                                         builds_field=True, kinds=("mlp",)))
    opts = model_options("hbnode2021", "pointcloud", "mylinear")
    assert opts["n"] == 21  # (n^2 + n) + (n + 1) <= 525
    assert count_parameters(build_pointcloud_model("hbnode2021", "mylinear",
                                                   SolverSpec())) <= opts["budget"]


def test_sized_image_models_fit_the_node_budget():
    from odebench.models.images import image_parameter_count

    budget = image_parameter_count("hbnode2021", "mnist", "node", 1, 92)  # HBNODE Table 3 row
    for model in ("antisymnode", "gradnode", "hamnode", "hamhbnode", "couplingnode"):
        opts = model_options("hbnode2021", "mnist", model)
        assert opts["budget"] == budget
        n, h = opts["n"], opts["h"]
        assert image_parameter_count("hbnode2021", "mnist", model, n, h) <= budget
        bigger = (n + 1, h) if opts["size_knob"] == "n" else (n, h + 1)
        assert image_parameter_count("hbnode2021", "mnist", model, *bigger) > budget
