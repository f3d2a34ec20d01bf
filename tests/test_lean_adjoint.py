"""The lean adjoint takes torchdiffeq's adjoint steps: same forward and backward NFE, the same
backward evaluation times, and bit-identical solutions and gradients."""

import pytest
import torch
from torchdiffeq import odeint_adjoint

from odebench.solvers.lean import lean_odeint_trace
from odebench.solvers.lean_adjoint import lean_odeint_adjoint


class Field(torch.nn.Module):
    """A time-dependent tanh MLP (so vjp_t, part of the adjoint norm, is not zero) that
    records the time of each call."""

    def __init__(self, dim=2, width=16, mu=0.0, seed=0, dtype=torch.float64):
        super().__init__()
        torch.manual_seed(seed)
        self.inner = torch.nn.Linear(dim + 1, width).to(dtype)
        self.outer = torch.nn.Linear(width, dim).to(dtype)
        self.mu = mu
        self.ts: list[float] = []

    def forward(self, t, y):
        self.ts.append(float(t.detach()))
        z = torch.cat([y, t.expand(y.shape[0], 1).to(y.dtype)], dim=-1)
        out = self.outer(torch.tanh(self.inner(z)))
        if self.mu:  # a Van der Pol part: stiff enough to reject steps, backwards too
            x, v = y[..., 0], y[..., 1]
            out = out + torch.stack([v, self.mu * (1 - x * x) * v - x], dim=-1)
        return out


def run(solver, field, y0, t, **kw):
    field.zero_grad(set_to_none=True)
    field.ts.clear()
    y0 = y0.detach().clone().requires_grad_(True)
    ys = solver(field, y0, t, adjoint_params=tuple(field.parameters()), **kw)
    forward_ts = list(field.ts)
    weights = torch.linspace(0.5, 1.5, ys.numel(), dtype=ys.dtype).view_as(ys)
    (weights * ys.sin()).sum().backward()
    backward_ts = field.ts[len(forward_ts):]
    return ys.detach(), forward_ts, backward_ts, y0.grad, [p.grad for p in field.parameters()]


def compare(field, y0, t, **kw):
    ref = run(odeint_adjoint, field, y0, t, **kw)
    lean = run(lean_odeint_adjoint, field, y0, t, **kw)
    assert lean[1] == ref[1], "forward evaluation times differ"
    assert lean[2] == ref[2], "backward (adjoint) evaluation times differ"
    assert torch.equal(lean[0], ref[0])
    assert torch.equal(lean[3], ref[3]), (lean[3] - ref[3]).abs().max()
    for a, b in zip(lean[4], ref[4], strict=True):
        assert (a is None and b is None) or torch.equal(a, b), "parameter gradients differ"
    return ref


T_OUT = torch.tensor([0.0, 0.3, 0.31, 1.2, 2.0], dtype=torch.float64)


@pytest.mark.parametrize("tol", [1e-3, 1e-6, 1e-9])
def test_adjoint_matches_torchdiffeq_dopri5(tol):
    y0 = torch.randn(6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ref = compare(Field(), y0, T_OUT, rtol=tol, atol=tol, method="dopri5")
    assert len(ref[2]) > len(ref[1])  # the backward pass really integrated something


def test_adjoint_with_rejected_steps_and_decreasing_time():
    field = Field(mu=3.0)
    y0 = torch.tensor([[2.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    with torch.no_grad():
        _, trace = lean_odeint_trace(field, y0, torch.tensor([0.0, 1.5], dtype=torch.float64),
                                     rtol=1e-6, atol=1e-6)
    assert trace.n_rejected > 0
    compare(field, y0, torch.tensor([0.0, 0.7, 1.5], dtype=torch.float64), rtol=1e-6,
            atol=1e-6)
    compare(field, y0, torch.tensor([1.5, 0.5, 0.0], dtype=torch.float64), rtol=1e-6,
            atol=1e-6)


def test_adjoint_float32():
    field = Field(dtype=torch.float32)
    y0 = torch.randn(5, 2, generator=torch.Generator().manual_seed(2))
    compare(field, y0, torch.tensor([0.0, 1.0]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("method", "options"), [("rk4", {"step_size": 0.1}),
                                                 ("euler", {"step_size": 0.05})])
def test_adjoint_fixed_grid(method, options):
    y0 = torch.randn(4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    compare(Field(), y0, T_OUT, method=method, options=options)


def test_adjoint_with_step_t():
    y0 = torch.randn(4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    t = torch.tensor([0.0, 1.0], dtype=torch.float64)
    compare(Field(), y0, t, rtol=1e-6, atol=1e-6, options={"step_t": t})


def test_adjoint_leaves_out_frozen_parameters():
    field = Field()
    field.inner.weight.requires_grad_(False)
    y0 = torch.randn(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    ref = compare(field, y0, T_OUT, rtol=1e-6, atol=1e-6)
    assert ref[4][0] is None  # no gradient for the frozen weight, with either solver
