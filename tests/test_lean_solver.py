"""lean_odeint takes exactly torchdiffeq 0.2.5's steps and reproduces its values bit for bit."""

import math

import pytest
import torch
from torchdiffeq import odeint

from odebench.solvers.lean import lean_odeint, lean_odeint_trace


class Recorder:
    """Wrap a field, recording the times at which it is evaluated."""

    def __init__(self, f):
        self.f = f
        self.ts: list[float] = []

    def __call__(self, t, y):
        self.ts.append(t.item())
        return self.f(t, y)


def decay(t, y):
    return -0.7 * y


def oscillator(t, y):
    return torch.stack([y[..., 1], -y[..., 0]], dim=-1)


def vdp(mu=5.0):
    def f(t, y):
        x, v = y[..., 0], y[..., 1]
        return torch.stack([v, mu * (1 - x * x) * v - x], dim=-1)

    return f


def mlp_field(dtype=torch.float64, batch=8, seed=0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 20),
        torch.nn.Tanh(),
        torch.nn.Linear(20, 20),
        torch.nn.Tanh(),
        torch.nn.Linear(20, 2),
    ).to(dtype)
    y0 = torch.randn(batch, 2, dtype=dtype)

    def f(t, y):
        return net(torch.cat([y, t.expand(y.shape[0], 1).to(y.dtype)], dim=-1))

    return net, f, y0


def compare(f, y0, t, **kw):
    """Run both solvers; assert identical evaluation times/NFE and bit-identical outputs."""
    rec_ref, rec_lean = Recorder(f), Recorder(f)
    ref = odeint(rec_ref, y0, t, **kw)
    sol, trace = lean_odeint_trace(rec_lean, y0, t, **kw)
    assert len(rec_lean.ts) == len(rec_ref.ts) == trace.nfe
    assert rec_lean.ts == rec_ref.ts  # exact, not to a tolerance
    assert sol.shape == ref.shape and sol.dtype == ref.dtype
    assert torch.equal(sol, ref), (sol - ref).abs().max()
    return sol, trace


T_OUT = torch.tensor([0.0, 0.13, 0.5, 0.5000001, 1.7, 3.0], dtype=torch.float64)


@pytest.mark.parametrize("rtol,atol", [(1e-7, 1e-9), (1e-4, 1e-6), (1e-10, 1e-12)])
def test_decay_closed_form_and_trace(rtol, atol):
    y0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    sol, trace = compare(decay, y0, T_OUT, rtol=rtol, atol=atol)
    exact = y0 * torch.exp(-0.7 * T_OUT)[:, None]
    assert torch.allclose(sol, exact, rtol=1e3 * rtol, atol=1e3 * atol)
    assert trace.nfe == 2 + 6 * len(trace.steps)


def test_oscillator_closed_form_and_trace():
    y0 = torch.tensor([[1.0, 0.0], [0.3, -0.4]], dtype=torch.float64)
    t = torch.linspace(0, 10, 11, dtype=torch.float64)
    sol, _ = compare(oscillator, y0, t, rtol=1e-8, atol=1e-10)
    c, s = torch.cos(t)[:, None], torch.sin(t)[:, None]
    exact = torch.stack([y0[:, 0] * c + y0[:, 1] * s, -y0[:, 0] * s + y0[:, 1] * c], dim=-1)
    assert (sol - exact).abs().max() < 1e-6


def test_mlp_field_trace():
    _, f, y0 = mlp_field()
    compare(f, y0, torch.tensor([0.0, 0.25, 0.9, 1.0], dtype=torch.float64), rtol=1e-7, atol=1e-7)


def test_van_der_pol_trace_has_rejections():
    y0 = torch.tensor([2.0, 0.0], dtype=torch.float64)
    t = torch.linspace(0, 5, 7, dtype=torch.float64)
    _, trace = compare(vdp(5.0), y0, t, rtol=1e-7, atol=1e-7)
    assert trace.n_rejected > 0 and trace.n_accepted > 20


def test_float32_mlp_trace():
    _, f, y0 = mlp_field(torch.float32, batch=16, seed=3)
    compare(f, y0, torch.tensor([0.0, 0.3, 1.0]), rtol=1e-6, atol=1e-6)


def test_decreasing_time_and_options():
    y0 = torch.tensor([2.0, 0.0], dtype=torch.float64)
    t = torch.tensor([3.0, 2.2, 0.5], dtype=torch.float64)
    compare(vdp(2.0), y0, t, rtol=1e-6, atol=1e-6)
    t = torch.tensor([0.0, 1.0, 2.5], dtype=torch.float64)
    compare(vdp(5.0), y0, t, rtol=1e-6, atol=1e-6, options={"first_step": 0.3, "max_step": 0.2})
    compare(vdp(5.0), y0, t, rtol=1e-5, atol=1e-5, options={"safety": 0.8, "dfactor": 0.3})


@pytest.mark.parametrize("method", ["rk4", "euler"])
@pytest.mark.parametrize(
    "options",
    [
        {"step_size": 0.07},
        {"step_size": 0.25, "interp": "cubic"},
        {"step_size": 0.1, "perturb": True},
    ],
)
def test_fixed_grid_trace(method, options):
    _, f, y0 = mlp_field(seed=1)
    t = torch.tensor([0.0, 0.07, 0.333, 0.8, 1.0], dtype=torch.float64)  # off-grid outputs
    _, trace = compare(f, y0, t, method=method, options=options)
    assert trace.n_rejected == 0
    compare(vdp(1.0), torch.tensor([1.0, 0.5]), -t.float(), method=method, options=options)


def test_fixed_grid_without_step_size_uses_t():
    t = torch.tensor([0.0, 0.1, 0.3, 0.35], dtype=torch.float64)
    _, trace = compare(oscillator, torch.tensor([1.0, 0.0], dtype=torch.float64), t, method="rk4")
    assert [s[0] for s in trace.steps] == t[:-1].tolist()


def test_rk4_is_three_eighths_rule():
    # one 3/8-rule step on y' = t^4 samples t = 0, 1/3, 2/3, 1 with weights 1, 3, 3, 1 (/8)
    f = Recorder(lambda t, y: t**4 * torch.ones_like(y))
    y = lean_odeint(
        f,
        torch.zeros(1, dtype=torch.float64),
        torch.tensor([0.0, 1.0]).double(),
        method="rk4",
        options={"step_size": 1.0},
    )
    assert f.ts == [0.0, 1 / 3, 2 / 3, 1.0]
    assert y[-1].item() == pytest.approx((0 + 3 * (1 / 81) + 3 * (16 / 81) + 1) / 8)


def grads(solver, net, f, y0, t, **kw):
    y0 = y0.clone().requires_grad_(True)
    sol = solver(f, y0, t, **kw)
    w = torch.linspace(-1, 1, sol.numel(), dtype=sol.dtype).reshape(sol.shape)
    loss = (sol * w).sum()
    params = [y0, *net.parameters()]
    return torch.autograd.grad(loss, params)


@pytest.mark.parametrize("method,options", [("dopri5", None), ("rk4", {"step_size": 0.1})])
def test_gradients_match_torchdiffeq(method, options):
    net, f, y0 = mlp_field(seed=2)
    t = torch.tensor([0.0, 0.4, 1.0], dtype=torch.float64)
    kw = dict(rtol=1e-7, atol=1e-7, method=method, options=options)
    g_ref = grads(odeint, net, f, y0, t, **kw)
    g_lean = grads(lean_odeint, net, f, y0, t, **kw)
    for a, b in zip(g_ref, g_lean, strict=True):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12), (a - b).abs().max()


def test_max_num_steps():
    y0 = torch.tensor([2.0, 0.0], dtype=torch.float64)
    t = torch.tensor([0.0, 5.0], dtype=torch.float64)
    with pytest.raises(RuntimeError, match="max_num_steps"):
        lean_odeint(vdp(5.0), y0, t, options={"max_num_steps": 3})


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(method="bosh3"), "bosh3"),
        (dict(t=torch.tensor([0.0, 1.0, 0.5])), "strictly"),
        (dict(t=torch.tensor([0.0, 0.0, 1.0])), "strictly"),
        (dict(options={"step_t": torch.tensor([0.5, 0.5])}), "repeated"),
        (dict(options={"step_t": [0.5], "jump_t": [0.5]}), "repeated"),
        (dict(options={"norm": lambda x: x.abs().max()}), "norm"),
        (dict(options={"bogus": 1}), "bogus"),
        (dict(method="rk4", options={"grid_constructor": None}), "grid_constructor"),
        (dict(method="rk4", options={"step_size": 0.1, "interp": "quintic"}), "quintic"),
        (dict(y0=(torch.zeros(2), torch.zeros(2))), "tuple"),
        (dict(y0=torch.zeros(2, dtype=torch.complex128)), "dtype"),
        (dict(t=torch.tensor([0.0, 1.0], requires_grad=True)), "respect to t"),
    ],
)
def test_bad_inputs(kwargs, match):
    args = dict(func=decay, y0=torch.ones(2), t=torch.tensor([0.0, 1.0]))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        lean_odeint(**args)


def test_single_time_point():
    rec_ref, rec_lean = Recorder(decay), Recorder(decay)
    y0 = torch.ones(3, dtype=torch.float64)
    t = torch.zeros(1, dtype=torch.float64)
    ref = odeint(rec_ref, y0, t)
    sol = lean_odeint(rec_lean, y0, t)
    assert torch.equal(sol, ref) and rec_ref.ts == rec_lean.ts
    assert math.isfinite(sol.sum().item())


def test_first_step_grad_off_keeps_forward():
    net, f, y0 = mlp_field(seed=4)
    t = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    a = lean_odeint(f, y0, t, first_step_grad=False)
    b = odeint(f, y0, t)
    assert torch.equal(a, b)
    g = grads(lean_odeint, net, f, y0, t, first_step_grad=False)
    assert all(torch.isfinite(x).all() for x in g)


STEP_T_CASES = [
    [0.0, 1.0],  # the interval ends (the project's use)
    [0.3, 0.7],
    [0.7, 0.3, -1.0, 1.5],  # unsorted, before t0 (dropped), after t1
    [1e-9, 0.5],  # clamps the very first step (drops the first-step-size gradient)
    [1.0 + 1e-9],  # just past t1: may clamp the last step
]


@pytest.mark.parametrize("name", ["step_t", "jump_t"])
@pytest.mark.parametrize("vals", STEP_T_CASES)
def test_step_t_jump_t_match_torchdiffeq(name, vals):
    d = torch.float64
    net, f, y0 = mlp_field()
    st = torch.tensor(vals, dtype=d)
    ends = torch.tensor([0.0, 1.0], dtype=d)
    _, tr = compare(f, y0, ends, rtol=1e-7, atol=1e-7, options={name: st})
    _, tr0 = lean_odeint_trace(f, y0, ends, rtol=1e-7, atol=1e-7)
    landed = {s[0] + s[1] for s in tr.steps if s[2]}
    assert all(v in landed for v in vals if 0 < v < 1)  # interior values are hit exactly
    if vals == [0.3, 0.7]:
        assert tr.steps != tr0.steps
    vy0 = torch.tensor([2.0, 0.0], dtype=d)
    compare(vdp(5.0), vy0, 5 * ends, rtol=1e-7, atol=1e-7, options={name: 5 * st})
    compare(vdp(5.0), vy0, -5 * ends, rtol=1e-7, atol=1e-7, options={name: -5 * st})
    t = torch.tensor([0.0, 0.4, 0.55, 1.0], dtype=d)
    compare(f, y0, t, rtol=1e-6, atol=1e-6, options={name: st, "first_step": 0.2})
    kw = dict(rtol=1e-7, atol=1e-7, options={name: st})
    g_ref = grads(odeint, net, f, y0, t, **kw)
    g_lean = grads(lean_odeint, net, f, y0, t, **kw)
    for a, b in zip(g_ref, g_lean, strict=True):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12), (a - b).abs().max()


def test_step_t_variants():
    _, f, y0 = mlp_field(torch.float32, batch=4, seed=5)
    st = torch.tensor([0.0, 0.25, 1.0])
    compare(f, y0, torch.tensor([0.0, 1.0]), rtol=1e-6, atol=1e-6, options={"step_t": st})
    y0 = torch.tensor([2.0, 0.0], dtype=torch.float64)
    t = torch.tensor([2.0, 0.0], dtype=torch.float64)
    # a list is not negated for decreasing t by torchdiffeq (only tensors are)
    compare(vdp(2.0), y0, t, options={"step_t": [-1.5, -0.5]})
    compare(vdp(2.0), y0, t, options={"step_t": [0.4], "jump_t": torch.tensor([1.2])})
    compare(vdp(2.0), y0, t, options={"step_t": torch.tensor([], dtype=torch.float64)})
