"""ODEtoODE flows and the MNIST-C flow baselines (odebench.models.odetoode / flow_baselines)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from odebench.models.base import count_parameters
from odebench.models.flow_baselines import (
    TABLE1_LABELS,
    TABLE1_MODELS,
    TABLE2_LABELS,
    TABLE2_MODELS,
    BaseODEFlow,
    DenseNet,
    HyperNetFlow,
    NANODEFlow,
    build_flow_classifier,
    display_label,
)
from odebench.models.odetoode import GatedGenerator, IsoGenerator, ODEtoODEFlow, WeightFlow
from odebench.solvers import haar_orthogonal, orthogonality_defect, skew

WIDTH = 8


@pytest.fixture(autouse=True)
def _float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def randomise(flow: WeightFlow, scale: float = 1.0) -> WeightFlow:
    """Every parameter drawn from N(0, scale^2 / width): a random instance, not the init."""
    with torch.no_grad():
        for param in flow.parameters():
            param.normal_(0.0, scale / flow.width**0.5)
    return flow


def iso_flow(T: float = 1.0, eta: float = 0.01, **options) -> ODEtoODEFlow:
    return ODEtoODEFlow(WIDTH, IsoGenerator(WIDTH), T=T, eta=eta, **options)


def gated_flow(T: float = 1.0, eta: float = 0.01, gates: int = 2, **options) -> ODEtoODEFlow:
    return ODEtoODEFlow(WIDTH, GatedGenerator(WIDTH, gates), T=T, eta=eta, **options)


# --- generators and the W-sequence ---


def test_iso_generator_is_skew():
    generator = randomise(iso_flow()).generator
    w = haar_orthogonal(WIDTH)
    b = generator(0.0, w).detach()
    assert float((b + b.T).abs().max()) <= 1e-12
    q, n = generator.symmetric_pair()
    assert torch.equal(q, q.T) and torch.equal(n, n.T)
    torch.testing.assert_close(b, w.T @ q @ w @ n - n @ w.T @ q @ w)


def test_gated_generator_is_the_gated_sum_of_skew_parts():
    generator = GatedGenerator(WIDTH, gates=3)
    gated = generator.gated
    t = 0.37
    expected = sum(gated.gates[i] * skew(gated.offsets[i] + t * gated.slopes[i])
                   for i in range(3))
    torch.testing.assert_close(generator(t), expected, rtol=0, atol=1e-14)
    times = torch.tensor([0.0, t])
    torch.testing.assert_close(generator(times)[1], expected, rtol=0, atol=1e-14)
    constant = GatedGenerator(WIDTH, gates=2, gate_input="constant")
    assert constant.gated.slopes is None
    assert torch.equal(constant(0.0), constant(0.9))


@pytest.mark.parametrize("make", [iso_flow, gated_flow], ids=["iso", "gated"])
@pytest.mark.parametrize("w_step", ["exp", "cayley"])
def test_weights_stay_orthogonal(make, w_step):
    flow = randomise(make(w_step=w_step), scale=2.0)  # w0 learned, P random: W_0 on O(n) too
    with torch.no_grad():
        weights = flow.weights()
        assert weights.shape == (flow.steps, WIDTH, WIDTH) == (100, WIDTH, WIDTH)
        assert float(orthogonality_defect(flow.initial_weight())) <= 1e-12
        assert float(orthogonality_defect(weights).max()) <= 1e-10


def test_euler_w_step_leaves_the_group():
    flow = randomise(iso_flow(w_step="euler"), scale=2.0)
    with torch.no_grad():
        assert float(orthogonality_defect(flow.weights()[-1])) > 1e-6


def test_eq5_ordering_uses_the_updated_w():
    """x_i = x_{i-1} + eta |W_i x_{i-1} + b| with W_i = W_{i-1} exp(eta b(W_{i-1})), N = 3."""
    w0 = haar_orthogonal(WIDTH)
    flow = randomise(iso_flow(T=0.3, eta=0.1, w0="haar", w0_matrix=w0))
    generator, bias, eta = flow.generator, flow.bias, 0.1
    x0 = torch.randn(4, WIDTH)
    w, x, x_lagged, w_previous = w0, x0, x0, w0
    for _ in range(3):
        w = w @ torch.linalg.matrix_exp(eta * generator(0.0, w))
        x = x + eta * torch.abs(x @ w.mT + bias)
        x_lagged = x_lagged + eta * torch.abs(x_lagged @ w_previous.mT + bias)
        w_previous = w
    with torch.no_grad():
        assert torch.equal(flow(x0), x)
        assert float((flow(x0) - x_lagged).abs().max()) > 1e-6  # the ordering matters


def test_gated_recurrence_by_hand():
    flow = randomise(gated_flow(T=0.3, eta=0.1, gates=2))
    generator, eta = flow.generator, 0.1
    w, expected = flow.initial_weight(), []
    for i in range(3):
        w = w @ torch.linalg.matrix_exp(eta * generator(i * eta))
        expected.append(w)
    torch.testing.assert_close(flow.weights(), torch.stack(expected), rtol=0, atol=1e-14)


@pytest.mark.parametrize("make", [iso_flow, gated_flow], ids=["iso", "gated"])
def test_weights_do_not_depend_on_x_and_per_sample_matches(make):
    flow = randomise(make(eta=0.04))
    with torch.no_grad():
        before = flow.weights()
        x1, x2 = torch.randn(5, WIDTH), 10.0 * torch.randn(3, WIDTH)
        out1 = flow(x1)
        flow(x2)
        assert torch.equal(flow.weights(), before)
        assert torch.equal(flow(x1, weights=before), out1)
        torch.testing.assert_close(flow.forward_per_sample(x1), out1, rtol=0, atol=1e-13)


def test_isospectrality():
    flow = randomise(iso_flow(), scale=2.0)
    q = flow.generator.q_matrix()
    spectrum = torch.linalg.eigvalsh(q)
    with torch.no_grad():
        for w in flow.weights():
            assert float((torch.linalg.eigvalsh(w.T @ q @ w) - spectrum).abs().max()) <= 1e-10


# --- gradient-ratio bounds (Lemma 4.1 at finite N, ODEtoODE Lemma 4.1) ---


def gradient_ratios(flow: WeightFlow, batch: int = 6, seed: int = 0) -> torch.Tensor:
    """``||dL/dx_i|| / ||dL/dx_N||`` per sample, shape ``[N + 1, batch]``."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, flow.width, generator=generator).requires_grad_()
    states = flow.trajectory(x)
    target = torch.randn(batch, flow.width, generator=generator)
    loss = ((states[-1] - target) ** 2).sum() + states[-1].sum()
    grads = torch.autograd.grad(loss, states)
    norms = torch.stack([g.norm(dim=1) for g in grads])
    return norms / norms[-1]


def ratio_bounds(flow: WeightFlow) -> tuple[torch.Tensor, torch.Tensor]:
    """``(1 -+ eta)^{(T - t_i)/eta}`` for i = 0..N, as a column ``[N + 1, 1]``."""
    remaining = torch.arange(flow.steps, -1, -1, dtype=torch.float64)[:, None]
    return (1 - flow.eta) ** remaining, (1 + flow.eta) ** remaining


@pytest.mark.parametrize("make", [iso_flow, gated_flow], ids=["iso", "gated"])
@pytest.mark.parametrize("steps", [10, 25, 100])
@pytest.mark.parametrize("horizon", [1.0, 2.0])
def test_odetoode_gradient_ratios_within_finite_n_bounds(make, steps, horizon):
    for instance in range(3):
        torch.manual_seed(instance)
        flow = randomise(make(T=horizon, eta=horizon / steps), scale=1.0 + instance)
        ratios = gradient_ratios(flow, seed=instance)
        lower, upper = ratio_bounds(flow)
        assert ratios.shape == (steps + 1, 6)
        assert bool((ratios >= lower * (1 - 1e-12)).all())
        assert bool((ratios <= upper * (1 + 1e-12)).all())


def test_gradient_ratio_bounds_are_attained():
    """W_t = I with W x + b > 0 attains the upper bound, W_t = -I the lower one."""
    eye = torch.eye(WIDTH)
    for w0, bound_index in ((eye, 1), (-eye, 0)):
        flow = gated_flow(T=2.0, eta=0.08, w0="haar", w0_matrix=w0)
        with torch.no_grad():
            flow.generator.gated.gates.zero_()  # b_psi = 0: W_t = W_0
            flow.bias.fill_(20.0)
        ratios = gradient_ratios(flow)
        torch.testing.assert_close(ratios, ratio_bounds(flow)[bound_index].expand_as(ratios),
                                   rtol=1e-12, atol=0)


def test_unconstrained_large_w_violates_the_upper_bound():
    """BaseODE with W = 3 I (and W x + b > 0) grows like (1 + 3 eta)^{N - i}; a random
    large-norm W also leaves the ODEtoODE bound."""
    flow = BaseODEFlow(WIDTH, T=2.0, eta=0.02)
    with torch.no_grad():
        flow.weight.copy_(3.0 * torch.eye(WIDTH))
        flow.bias.fill_(20.0)
    ratios = gradient_ratios(flow)
    _, upper = ratio_bounds(flow)
    remaining = torch.arange(flow.steps, -1, -1, dtype=torch.float64)[:, None]
    torch.testing.assert_close(ratios, (1 + 3 * flow.eta) ** remaining.expand_as(ratios),
                               rtol=1e-12, atol=0)
    assert float((ratios / upper).max()) > 40.0  # (1.06 / 1.02)^100 = 46.8
    random_flow = BaseODEFlow(WIDTH, T=2.0, eta=0.02)
    with torch.no_grad():
        random_flow.weight.normal_(0.0, 2.0)
    assert float((gradient_ratios(random_flow) / upper).max()) > 1.0


# --- bad input ---


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"eta=0\.03 does not divide horizon T=1"):
        iso_flow(eta=0.03)
    with pytest.raises(ValueError, match="w0 is not orthogonal"):
        iso_flow(w0_matrix=2.0 * torch.eye(WIDTH))
    with pytest.raises(ValueError, match="w0 must be a square matrix"):
        iso_flow(w0_matrix=torch.zeros(WIDTH, WIDTH - 1))
    with pytest.raises(ValueError, match="w0 has size 4"):
        iso_flow(w0_matrix=torch.eye(4))
    with pytest.raises(ValueError, match="unknown w0 'random'"):
        iso_flow(w0="random")
    with pytest.raises(ValueError, match="unknown w_step 'rk4'"):
        iso_flow(w_step="rk4")
    with pytest.raises(ValueError, match="generator size 4 != width 8"):
        ODEtoODEFlow(WIDTH, IsoGenerator(4))
    with pytest.raises(ValueError, match="unknown gate_input 'space'"):
        GatedGenerator(WIDTH, gate_input="space")
    with pytest.raises(ValueError, match="unknown activation 'sine'"):
        iso_flow(activation="sine")
    for name in ("resnet", "odetoode-0", "dense", "node-2", "ODEtoODE-1"):
        with pytest.raises(ValueError, match=r"unknown flow model.*dense-<k>, node, nanode-<k>"):
            build_flow_classifier(name, 12, WIDTH, dropout=0.0, eta=0.1)
    with pytest.raises(ValueError, match="eta=0.3 does not divide"):
        build_flow_classifier("node", 12, WIDTH, dropout=0.0, eta=0.3)


# --- classifiers ---

ALL_MODELS = sorted(set(TABLE1_MODELS) | set(TABLE2_MODELS)) + ["odetoode_iso"]


def test_table_models_and_labels():
    assert TABLE1_LABELS == ["Dense-1", "Dense-10", "NODE", "NANODE-1", "NANODE-10",
                             "HyperNet-1", "HyperNet-10", "ODEtoODE-1", "ODEtoODE-10"]
    assert len(TABLE2_MODELS) == 13 and TABLE2_LABELS[-1] == "ODEtoODE-4"
    assert display_label("odetoode_iso") == "ISO-ODEtoODE"


@pytest.mark.parametrize("name", ["dense-2", "node", "odetoode-1"])
def test_one_option_set_serves_every_model(name):
    model = build_flow_classifier(name, 12, WIDTH, dropout=0.0, eta=0.5, T=2.0,
                                  activation="tanh")
    assert model(torch.randn(3, 12)).shape == (3, 10)
    if name != "dense-2":
        assert model.block.T == 2.0 and model.block.steps == 4


@pytest.mark.parametrize("name", ALL_MODELS)
def test_classifier_shapes_and_gradients_reach_every_parameter(name):
    model = build_flow_classifier(name, 12, WIDTH, dropout=0.1, eta=0.1, classes=5)
    images = torch.randn(7, 3, 2, 2)  # flattened to 12 features
    logits = model(images)
    assert logits.shape == (7, 5)
    nn.functional.cross_entropy(logits, torch.arange(7) % 5).backward()
    for param_name, param in model.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all() and float(param.grad.norm()) > 0, param_name


# Shared by every model at in = 12, w = 8, 10 classes: Linear(12, 8) + Linear(8, 10).
SHARED = 12 * 8 + 8 + 8 * 10 + 10
PARAMETER_COUNTS = {
    ("dense-1", ()): SHARED,
    ("dense-3", ()): SHARED + 2 * (64 + 8),
    ("node", ()): SHARED + 64 + 8,
    ("nanode-2", ()): SHARED + 64 * (1 + 2 * 2) + 8,
    ("hypernet-2", ()): SHARED + 2 + 2 * 2 * 64 + 64 + 8,  # gates, A/B, W_0, b
    ("odetoode-2", ()): SHARED + 2 + 2 * 2 * 64 + 64 + 8,  # gates, A/B, P of W_0, b
    ("odetoode-1", (("gate_input", "constant"), ("w0", "haar"))): SHARED + 1 + 64 + 8,
    ("odetoode_iso", ()): SHARED + 2 * 64 + 64 + 8,  # P_Q, P_N, P of W_0, b
    ("odetoode_iso", (("bias", False),)): SHARED + 2 * 64 + 64,
}


@pytest.mark.parametrize(("name", "options"), list(PARAMETER_COUNTS))
def test_parameter_counts_by_hand(name, options):
    model = build_flow_classifier(name, 12, WIDTH, dropout=0.0, eta=0.1, **dict(options))
    assert count_parameters(model) == PARAMETER_COUNTS[name, options]


def test_nanode_weights_are_the_trig_polynomial():
    flow = randomise(NANODEFlow(WIDTH, degree=2, T=2.0, eta=0.5, trig_bias=True))
    t = 1.5  # the left end of step 4
    angle = 2 * torch.pi * t / 2.0
    expected = flow.weight + sum(flow.cos_weights[j] * torch.cos(torch.tensor((j + 1) * angle))
                                 + flow.sin_weights[j] * torch.sin(torch.tensor((j + 1) * angle))
                                 for j in range(2))
    torch.testing.assert_close(flow.weights()[3], expected, rtol=0, atol=1e-14)
    expected_bias = flow.bias + sum(
        flow.cos_biases[j] * torch.cos(torch.tensor((j + 1) * angle))
        + flow.sin_biases[j] * torch.sin(torch.tensor((j + 1) * angle)) for j in range(2))
    torch.testing.assert_close(flow.biases()[3], expected_bias, rtol=0, atol=1e-14)


def test_hypernet_is_the_unconstrained_additive_recurrence():
    flow = randomise(HyperNetFlow(WIDTH, gates=3, T=0.4, eta=0.1))
    w, expected = flow.w0, []
    for i in range(4):
        w = w + 0.1 * flow.gated(i * 0.1)
        expected.append(w)
    torch.testing.assert_close(flow.weights(), torch.stack(expected), rtol=0, atol=1e-14)
    with torch.no_grad():
        assert float(orthogonality_defect(flow.weights()[-1])) > 1e-3  # not on O(n)


def test_trajectories_and_nfe():
    flow = iso_flow(eta=0.04)
    states = flow.trajectory(torch.randn(2, WIDTH))
    assert flow.nfe == 25 and len(states) == 26
    assert all(state.requires_grad for state in states[1:])
    dense = DenseNet(WIDTH, depth=3)
    assert len(dense.trajectory(torch.randn(2, WIDTH))) == 4
    assert BaseODEFlow(WIDTH, eta=0.1).nfe == 10
