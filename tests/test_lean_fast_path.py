"""The lean solver's no-grad fast path (one stage buffer, scalar step-size arithmetic, fused
norms) still takes torchdiffeq 0.2.5's steps and returns its values bit for bit."""

import math

import pytest
import torch
from torchdiffeq import odeint
from torchdiffeq._impl.misc import _rms_norm, _select_initial_step

from odebench.solvers.lean import _initial_step, _rms, _rms_cpu, lean_odeint_trace
from odebench.solvers.lean_adjoint import _adjoint_norm


class Recorder:
    """A field that records each call's time and keeps what it received and returned (with a
    private copy of each, to detect later writes into them)."""

    def __init__(self, f):
        self.f = f
        self.ts: list[float] = []
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def __call__(self, t, y):
        out = self.f(t, y)
        self.ts.append(t.item())
        self.seen.append((y, y.clone()))
        self.seen.append((out, out.clone()))
        return out


def mlp(dtype, seed=0, mu=3.0):
    """A time-dependent MLP plus a Van der Pol part (stiff enough to reject steps)."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(),
                              torch.nn.Linear(16, 2)).to(dtype)

    def f(t, y):
        x, v = y[..., 0], y[..., 1]
        vdp = torch.stack([v, mu * (1 - x * x) * v - x], dim=-1)
        return vdp + net(torch.cat([y, t.expand(*y.shape[:-1], 1).to(y.dtype)], dim=-1))

    return f


def compare_no_grad(f, y0, t, **kw):
    rec_ref, rec_lean = Recorder(f), Recorder(f)
    with torch.no_grad():
        ref = odeint(rec_ref, y0, t, **kw)
        sol, trace = lean_odeint_trace(rec_lean, y0, t, **kw)
    assert rec_lean.ts == rec_ref.ts and trace.nfe == len(rec_ref.ts)
    assert sol.dtype == ref.dtype and torch.equal(sol, ref), (sol - ref).abs().max()
    return trace, rec_lean


T_OUT = torch.tensor([0.0, 0.2, 0.21, 1.3, 3.0], dtype=torch.float64)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("options", [None, {"step_t": [0.7, 2.2]}, {"jump_t": [1.0]}])
def test_no_grad_solves_match_torchdiffeq_bit_for_bit(dtype, options):
    y0 = torch.randn(5, 3, 2, dtype=dtype)
    trace, _ = compare_no_grad(mlp(dtype), y0, T_OUT.to(dtype), rtol=1e-7, atol=1e-7,
                               options=options)
    assert trace.n_rejected > 0 and trace.n_accepted > 5  # retries reuse the stage buffer


def test_decreasing_time_and_a_one_element_state():
    f = mlp(torch.float64, mu=0.0)
    compare_no_grad(f, torch.randn(4, 2, dtype=torch.float64), T_OUT.flip(0), rtol=1e-6,
                    atol=1e-8)
    compare_no_grad(lambda t, y: -0.5 * y + t, torch.tensor([1.5]), torch.tensor([0.0, 1.0]))


def test_the_solver_never_writes_into_tensors_it_hands_out_or_gets_back():
    _, rec = compare_no_grad(mlp(torch.float32), torch.randn(6, 2), T_OUT.float(),
                             rtol=1e-6, atol=1e-6)
    assert len(rec.seen) > 50
    for tensor, copy in rec.seen:
        assert torch.equal(tensor, copy)


@pytest.mark.parametrize(
    "field,options,message",
    [
        (lambda t, y: y * y * 1e3, None, "underflow in dt"),
        (lambda t, y: y * y * 1e3, {"min_step": 0.5}, "non-finite values"),  # NaN
        (lambda t, y: torch.full_like(y, 3e38), {"min_step": 2.0, "max_step": 2.0},
         "non-finite values"),  # inf: the stage sum overflows
    ],
)
def test_a_blow_up_raises_where_torchdiffeq_raises(field, options, message):
    calls = []
    for solver in (odeint, lambda *a, **k: lean_odeint_trace(*a, **k)[0]):
        rec = Recorder(field)
        with torch.no_grad(), pytest.raises(AssertionError, match=message) as err:
            solver(rec, torch.ones(3), torch.tensor([0.0, 10.0]), rtol=1e-3, atol=1e-3,
                   options=options)
        calls.append((rec.ts, str(err.value)))
    assert calls[0] == calls[1]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rms_with_fewer_ops_is_rms(dtype):
    torch.manual_seed(1)
    T = float if dtype == torch.float64 else __import__("numpy").float32
    for shape in [(1,), (7,), (120, 2, 2), (4097,)]:
        for scale in (1e-30, 1e-3, 1.0, 1e17):
            x = torch.randn(*shape, dtype=dtype) * scale
            assert torch.equal(_rms_cpu(x, T), _rms(x))
    x = torch.tensor([1.0, math.inf], dtype=dtype)
    assert torch.equal(_rms_cpu(x, T), _rms(x))
    assert _rms_cpu(torch.tensor([math.nan, 1.0], dtype=dtype), T).isnan()


def test_adjoint_norm_on_the_cpu_is_torchdiffeqs_norm():
    shapes = [torch.Size([]), torch.Size([3, 2]), torch.Size([3, 2]), torch.Size([4, 5]),
              torch.Size([5]), torch.Size([0])]
    fast = _adjoint_norm(shapes, torch.device("cpu"))
    sizes = [s.numel() for s in shapes]

    def reference(flat):  # torchdiffeq's default_adjoint_norm on the flattened state
        vjp_t, y, adj_y, *adj_params = torch.split(flat, sizes)
        return max(vjp_t.abs().reshape(()), _rms_norm(y), _rms_norm(adj_y),
                   max(_rms_norm(p) for p in adj_params))

    torch.manual_seed(2)
    for dtype in (torch.float32, torch.float64):
        for scale in (1e-20, 1.0, 1e10):
            flat = torch.randn(sum(sizes), dtype=dtype) * scale
            flat[0] = flat[0] * 100 if scale > 1 else flat[0]
            assert torch.equal(fast(flat), reference(flat))
            assert fast(flat).dtype == dtype
        flat = torch.zeros(sum(sizes), dtype=dtype)
        assert torch.equal(fast(flat), reference(flat))


@pytest.mark.parametrize("case", ["regular", "small state", "zero field", "float32"])
def test_initial_step_matches_torchdiffeq(case):
    dtype = torch.float32 if case == "float32" else torch.float64
    torch.manual_seed(3)
    y0 = torch.randn(8, 2, dtype=dtype) * (1e-13 if case == "small state" else 1.0)
    f = (lambda t, y: torch.zeros_like(y)) if case == "zero field" else mlp(dtype)
    rtol = atol = torch.tensor(1e-7, dtype=torch.float64)
    t0 = torch.tensor(0.25, dtype=torch.float64)
    with torch.no_grad():
        f0 = f(t0.to(dtype), y0)
        ref = _select_initial_step(lambda t, y: f(t.to(dtype), y), t0, y0, 4, rtol, atol,
                                   _rms_norm, f0=f0)
        h, _ = _initial_step(lambda tv, y, shift=None: f(torch.tensor(tv, dtype=dtype), y),
                             0.25, y0, f0, rtol, atol, 4)
    assert h == ref.item()


def test_nested_and_later_solves_do_not_share_stage_buffers():
    inner_f = mlp(torch.float64, seed=1, mu=0.0)
    t = torch.tensor([0.0, 0.5], dtype=torch.float64)

    def outer_field(inner_solver):  # a field that itself solves an ODE of the same shape
        return lambda tt, y: inner_solver(inner_f, y, t)[-1] - y

    for inner in (odeint, lambda *a: lean_odeint_trace(*a)[0]):
        first = compare_no_grad(outer_field(inner), torch.randn(3, 2, dtype=torch.float64),
                                T_OUT[:3], rtol=1e-6, atol=1e-6)
    y_first, _ = lean_odeint_trace(inner_f, torch.ones(3, 2, dtype=torch.float64), T_OUT)
    kept = y_first.clone()
    lean_odeint_trace(inner_f, -torch.ones(3, 2, dtype=torch.float64), T_OUT)
    assert first[0].nfe > 0 and torch.equal(y_first, kept)
