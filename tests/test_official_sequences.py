"""``variant: official_code`` on the sequence tasks: what the official scripts compute, rebuilt
on equal weights and inputs (weight shrink, batch order, test epochs, float32 xi, the adjoint's
stale gap scale and the unused last solve)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from odebench.models.ode_rnn import ODERNN
from odebench.models.sequence_models import build_ode_rnn
from odebench.records import RunRecord
from odebench.solvers import SolverSpec, count_nfe
from odebench.tasks.sequences import SWITCH_DEFAULTS, resolve, shrink_parameters
from odebench.tasks.trainer import TrainSettings, train

ADJOINT = SolverSpec(rtol=1e-6, atol=1e-6, adjoint=True, backend="torchdiffeq")
LEAN = SolverSpec(rtol=1e-6, atol=1e-6, adjoint=True, backend="lean")


def _pv(model: str, variant: str, window: int = 4, forecast_len: int = 3) -> ODERNN:
    torch.manual_seed(0)
    return build_ode_rnn("hbnode2021", "plane_vibration", model, LEAN, window,
                         forecast_len=forecast_len, variant=variant)


# --- (a) weight shrink ----------------------------------------------------------------------

class _CodeModel(nn.Module):
    """The PV scripts' module layout: cell, rnn and ic registered on MODEL and again inside
    ``ode_rnn`` (plane_vibration/*_rnn_pv.py ``MODEL.__init__``), outlayer once."""

    def __init__(self, ours: ODERNN):
        super().__init__()
        self.cell, self.rnn, self.ic = ours.dynamics, ours.jump, ours.initial
        self.ode_rnn = nn.Module()
        self.ode_rnn.ode, self.ode_rnn.rnn, self.ode_rnn.ic = self.cell, self.rnn, self.ic
        self.outlayer = ours.output


def _code_shrink(model: nn.Module, ratio: float) -> None:
    """misc.py ``shrink_parameters``: every state_dict entry multiplied in place."""
    entries = model.state_dict()
    for key in entries:
        entries[key] *= ratio
    model.load_state_dict(entries)


def test_official_shrink_equals_the_codes_state_dict_loop():
    code, ours, paper = _pv("hbnode", "official_code"), _pv("hbnode", "official_code"), \
        _pv("hbnode", "paper")
    before = {name: p.detach().clone() for name, p in ours.named_parameters()}
    _code_shrink(_CodeModel(code), 0.01)
    shrink_parameters(ours, 0.01, twice=True)
    shrink_parameters(paper, 0.01)
    for (name, mine), theirs in zip(ours.named_parameters(), code.parameters(), strict=True):
        assert torch.equal(mine, theirs), name  # bit for bit, float32 as in the code
    field = "dynamics.field.net.0.weight"
    ratio = float((ours.state_dict()[field] / before[field]).mean())
    assert ratio == pytest.approx(1e-4, rel=1e-5)  # ODE cell: two visits
    assert float((paper.state_dict()[field] / before[field]).mean()) == pytest.approx(1e-2)
    shrunk = ours.state_dict()
    for name, factor in (("output.weight", 1e-2), ("initial.dense.weight", 1e-4),
                         ("jump.inputs.weight", 1e-4)):
        assert float((shrunk[name] / before[name]).mean()) == pytest.approx(factor, rel=1e-5)
    assert float(shrunk["dynamics.damping.omega"]) == pytest.approx(-3e-4)  # gamma_0 ~ 1/2


def test_official_plane_vibration_config_shrinks_twice_and_keeps_data_order():
    official = resolve("plane_vibration", "hbnode2021", {"variant": "official_code"})
    paper = resolve("plane_vibration", "hbnode2021", {})
    assert (official["param_shrink_twice"], official["shuffle"]) == (True, False)
    # paper: the defaults, recorded in the resolved config like every other setting
    assert {k: paper[k] for k in SWITCH_DEFAULTS} == SWITCH_DEFAULTS
    assert SWITCH_DEFAULTS == {"shuffle": True, "eval_first": False,
                               "param_shrink_twice": False}


# --- (b) batch order, (c) test epochs ---------------------------------------------------------

class _Recorder(nn.Module):
    """A linear map that records the first feature of every training batch it sees."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.seen: list[list[int]] = []

    def forward(self, x):
        if self.training:
            self.seen.append([int(v) for v in x[:, 0]])
        return self.linear(x)


def _train_recorder(tmp_path, **settings):
    torch.manual_seed(0)
    model = _Recorder()
    x = torch.arange(10.0).unsqueeze(1)
    tmp_path.mkdir(parents=True, exist_ok=True)
    record = RunRecord(tmp_path, "walker2d", "node", 0)
    base = {"epochs": 1, "lr": 1e-3, "batch_size": 4, "checkpoint_every": 1000}
    outcome = train(model, (x, x.clone()), (x, x.clone()), nn.MSELoss(),
                    TrainSettings(**{**base, **settings}), record, log=lambda _m: None)
    return model, outcome


@pytest.mark.parametrize("setup", ["hbnode2021", "nesterov2022"])
def test_official_walker_config_keeps_data_order_and_tests_after_epoch_one(setup):
    cfg = resolve("walker2d", setup, {"variant": "official_code"})
    assert (cfg["shuffle"], cfg["eval_first"], cfg["eval_every"]) == (False, True, 20)


def test_unshuffled_batches_come_in_data_order(tmp_path):
    model, _ = _train_recorder(tmp_path / "a", epochs=2, shuffle=False)
    assert model.seen == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] * 2
    shuffled, _ = _train_recorder(tmp_path / "b", epochs=2)
    assert sorted(sum(shuffled.seen, [])) == sorted(list(range(10)) * 2)
    assert shuffled.seen != model.seen


@pytest.mark.parametrize("eval_first,tested", [(True, [1, 20, 40]), (False, [20, 40])])
def test_eval_first_adds_a_test_after_epoch_one(tmp_path, eval_first, tested):
    _, outcome = _train_recorder(tmp_path, epochs=40, eval_every=20, eval_first=eval_first,
                                 shuffle=False)
    assert [row["epoch"] for row in outcome.rows if "test_loss" in row] == tested
    assert all("valid_loss" not in row for row in outcome.rows)  # no valid data given


# --- (e) xi in float32 ------------------------------------------------------------------------

@pytest.mark.parametrize("setup", ["hbnode2021", "nesterov2022"])
def test_official_walker_hbnode_xi_is_ln2_rounded_to_float32(setup):
    """base.py: softplus of the frozen float32 Parameter([0]); a float64 run keeps that."""
    model = build_ode_rnn(setup, "walker2d", "hbnode", LEAN, 4,
                          variant="official_code").double()
    code_xi = nn.functional.softplus(torch.zeros(1, dtype=torch.float32)).double()
    xi = model.dynamics.coupling()
    assert xi.dtype == torch.float64 and torch.equal(xi, code_xi)
    assert float(xi) != math.log(2.0)  # not ln 2 in float64


# --- (f) the adjoint's stale gap scale, (g) the unused last solve ------------------------------

class _CodeNODE(nn.Module):
    """base.py ``NODE``: the gap scale is state, set by ``update`` before each solve."""

    def __init__(self, f: nn.Module):
        super().__init__()
        self.f, self.elem_t, self.nfe = f, None, 0

    def forward(self, t, h):
        self.nfe += 1
        return self.elem_t * self.f(h)

    def update(self, elem_t):
        self.elem_t = elem_t.view(*elem_t.shape, 1)


def _code_node_rnn(model: ODERNN, times, x):
    """The Walker NODE-RNN script (rnn_out=True) on our weights: h_ode[i] = odeint_adjoint(
    flow of h_rnn[i]); h_rnn[i+1] = rnn(h_ode[i], x_i); output outlayer(h_rnn)[:-1]."""
    from torchdiffeq import odeint_adjoint

    cell = _CodeNODE(model.dynamics.field.net)
    span = torch.tensor([0.0, 1.0], dtype=torch.float64)
    h_rnn = [torch.zeros(x.shape[0], 24, dtype=torch.float64)]
    for i in range(x.shape[1]):
        cell.update(times[:, i] / 64.0)
        h_ode = odeint_adjoint(cell, h_rnn[i], span, rtol=1e-6, atol=1e-6)[-1]
        h_rnn.append(model.jump.net(torch.cat((h_ode, x[:, i]), dim=1)))
    return model.output(torch.stack(h_rnn))[:-1].transpose(0, 1), cell


def _gradients(model: nn.Module, run):
    """(flat parameter gradient, forward NFE, backward NFE) of MSE(run(), y)."""
    model.zero_grad()
    with count_nfe() as meter:
        loss = run()
        loss.backward()
    flat = torch.cat([p.grad.reshape(-1) for p in model.parameters() if p.grad is not None])
    return flat, meter.forward, meter.backward


def _walker_inputs(steps: int = 6):
    gen = torch.Generator().manual_seed(5)
    times = torch.tensor([[1.0, 2, 1, 3, 1, 1], [1, 1, 4, 1, 2, 2]], dtype=torch.float64)
    x = torch.randn(2, steps, 17, dtype=torch.float64, generator=gen)
    y = torch.randn(2, steps, 17, dtype=torch.float64, generator=gen)
    return times, x, y


def test_official_node_rnn_gradients_and_nfe_equal_the_rebuilt_code():
    """Equal weights and inputs: the same outputs, forward and backward NFE and gradients as
    the code's stateful field under torchdiffeq's odeint_adjoint."""
    times, x, y = _walker_inputs()
    torch.manual_seed(2)
    ours = build_ode_rnn("hbnode2021", "walker2d", "node", ADJOINT, 6,
                         variant="official_code").double()
    assert (ours.adjoint_scale, ours.read_tail) == ("last", True)
    mse = nn.functional.mse_loss
    grad_ours, fwd_ours, bwd_ours = _gradients(ours, lambda: mse(ours((times, x)), y))
    cell: list[_CodeNODE] = []

    def code_loss():
        out, node = _code_node_rnn(ours, times, x)
        cell.append(node)
        return mse(out, y)

    grad_code, _, _ = _gradients(ours, code_loss)
    torch.testing.assert_close(grad_ours, grad_code, rtol=1e-10, atol=1e-14)
    assert fwd_ours + bwd_ours == cell[0].nfe  # the code's counter sees both passes
    # the exact adjoint (paper form, same alignment and weights) differs
    exact = build_ode_rnn("hbnode2021", "walker2d", "node", ADJOINT, 6,
                          alignment="before_jump").double()
    exact.load_state_dict(ours.state_dict())
    grad_exact, fwd_exact, _ = _gradients(exact, lambda: mse(exact((times, x)), y))
    assert fwd_exact == fwd_ours
    error = float((grad_ours - grad_exact).norm() / grad_exact.norm())
    assert 1e-5 < error < 0.1


def test_tail_solve_adds_its_adjoint_nfe_and_no_gradient():
    times, x, y = _walker_inputs()
    torch.manual_seed(2)
    model = build_ode_rnn("hbnode2021", "walker2d", "node", LEAN, 6,
                          variant="official_code").double()
    mse = nn.functional.mse_loss
    with_tail, fwd_tail, bwd_tail = _gradients(model, lambda: mse(model((times, x)), y))
    model.read_tail = False
    without, fwd, bwd = _gradients(model, lambda: mse(model((times, x)), y))
    assert torch.equal(with_tail, without) and fwd_tail == fwd  # the tail flow runs in both
    # expected: the adjoint of the last flow alone, on a zero gradient
    last = model.jump_states[-1].detach().requires_grad_(True)
    with count_nfe() as meter:
        flowed = model._flow(last, times[:, -1] / model.time_scale)
        flowed.backward(torch.zeros_like(flowed))
    assert meter.backward > 0 and bwd_tail == bwd + meter.backward


def test_stale_scale_is_exact_when_every_gap_is_the_forecasts_unit_gap():
    """PV: the scale set last is the forecast's 1, so unit gaps give exact gradients."""
    official, paper = _pv("node", "official_code"), _pv("node", "paper")
    for model in (official, paper):
        model.double()
    x = torch.randn(3, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def loss(model, times):
        reconstruction, next_step, forecast = model((times, x))
        return next_step.square().mean() + forecast.square().mean()

    ones = torch.ones(3, 4, dtype=torch.float64)
    same_o, _, _ = _gradients(official, lambda: loss(official, ones))
    same_p, _, _ = _gradients(paper, lambda: loss(paper, ones))
    torch.testing.assert_close(same_o, same_p, rtol=1e-12, atol=1e-15)
    gaps = torch.tensor([[1.0, 2, 1, 1], [3, 1, 1, 2], [1, 1, 1, 1]], dtype=torch.float64)
    stale, _, _ = _gradients(official, lambda: loss(official, gaps))
    exact, _, _ = _gradients(paper, lambda: loss(paper, gaps))
    assert float((stale - exact).norm() / exact.norm()) > 1e-4


def test_unknown_adjoint_scale_is_named():
    model = _pv("node", "paper")
    with pytest.raises(ValueError, match="unknown adjoint_scale 'first'; valid: per_step, last"):
        ODERNN(model.dynamics, model.jump, model.output, LEAN, (0.0, 1.0),
               adjoint_scale="first")


def test_a_non_boolean_switch_is_named_in_the_config_error(tmp_path):
    from odebench.config import ConfigError, load_config
    from tests.helpers import write_config

    path = write_config(tmp_path, tmp_path, {"walker2d": {"shuffle": "no"}}, offline=True)
    with pytest.raises(ConfigError, match="experiments.walker2d.shuffle: 'no' is not of type"):
        load_config(path)
