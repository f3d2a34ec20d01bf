"""A lean eager-torch ODE solver that takes torchdiffeq 0.2.5's steps, bit for bit.

:func:`lean_odeint` re-implements the arithmetic of ``torchdiffeq.odeint`` for a single tensor
state and the methods ``dopri5``, ``rk4`` (torchdiffeq's 3/8-rule ``rk4_alt_step_func``) and
``euler``, with far less per-step Python overhead:

* step control (clamping, acceptance, the optimal-step formula, the time grid) runs on Python
  floats; every scalar operation torchdiffeq does on 0-dim tensors is repeated with the same
  operands, order and precision (float64 for the step control, the state dtype for the stage
  times and interpolation weights, exactly as torchdiffeq casts them), so the values agree bit
  for bit;
* the vector arithmetic (Butcher sums via ``torch.sum`` over a stacked stage tensor, the error
  ratio with the RMS norm, the 4th-order dense output with the Dormand--Prince mid-point weights)
  uses the same torch ops on tensors of the same layout as torchdiffeq, so the solution is
  bit-identical on the same device and thread count;
* the dense-output polynomial is only fitted for steps that actually contain an output time.

Differences from torchdiffeq (all raise ``ValueError`` rather than silently diverging): tuple
states, complex or half-precision states, gradients with respect to ``t``, custom ``norm``,
``dtype`` (dopri5) and ``grid_constructor`` (fixed grid), unknown options
(torchdiffeq only warns). Autograd runs straight through the loop; the adjoint method is
:func:`odebench.solvers.lean_adjoint.lean_odeint_adjoint`. Backpropagated gradients agree with
torchdiffeq's to round-off (autograd sums the same terms through differently built graphs),
including the paths through the first step size and ``step_t`` clamps that torchdiffeq's
autograd follows. A solve that cannot go on raises :class:`SolverBlowupError`, an
``AssertionError`` with torchdiffeq's message.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["LEAN_METHODS", "LeanTrace", "SolverBlowupError", "lean_odeint", "lean_odeint_trace",
           "normalise", "solve_normalised"]

LEAN_METHODS = ("dopri5", "rk4", "euler")

_DOPRI5_OPTIONS = frozenset(
    {
        "first_step",
        "max_num_steps",
        "min_step",
        "max_step",
        "safety",
        "ifactor",
        "dfactor",
        "step_t",
        "jump_t",
    }
)
_DOPRI5_UNSUPPORTED = frozenset({"norm", "dtype"})
_FIXED_OPTIONS = frozenset({"step_size", "interp", "perturb"})
_FIXED_UNSUPPORTED = frozenset({"grid_constructor", "norm"})

# Dormand--Prince--Shampine tableau, the same Python expressions torchdiffeq stores (float64).
_DP_ALPHA = (1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_DP_BETA = (
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_DP_C_ERROR = (
    35 / 384 - 1951 / 21600,
    0,
    500 / 1113 - 22642 / 50085,
    125 / 192 - 451 / 720,
    -2187 / 6784 - -12231 / 42400,
    11 / 84 - 649 / 6300,
    -1.0 / 60.0,
)
_DP_MID = (
    6025192743 / 30085553152 / 2,
    0,
    51252292925 / 65400821598 / 2,
    -2691868925 / 45128329728 / 2,
    187940372067 / 1594534317056 / 2,
    -1776094331 / 19743644256 / 2,
    11237099 / 235043384 / 2,
)
_DP_ORDER = 5

_ONE_THIRD = 1 / 3
_TWO_THIRDS = 2 / 3

_TABLEAU_CACHE: dict[tuple[torch.dtype, torch.device], tuple] = {}


class SolverBlowupError(AssertionError, RuntimeError):
    """A solve that cannot go on: non-finite state, step-size underflow or the step cap.

    torchdiffeq raises a bare ``AssertionError`` with the same messages, so code that catches
    its blow-ups (the trainer records such a run as diverged) treats both backends alike.
    """


@dataclass
class LeanTrace:
    """What a lean solve did.

    ``steps`` lists every attempted step as ``(t0, dt, accepted)`` in the solver's internal time
    (negated when ``t`` is decreasing, as torchdiffeq does); fixed-grid steps are all accepted.
    ``nfe`` counts calls of ``func``.
    """

    method: str
    steps: list[tuple[float, float, bool]] = field(default_factory=list)
    nfe: int = 0

    @property
    def n_accepted(self) -> int:
        return sum(1 for s in self.steps if s[2])

    @property
    def n_rejected(self) -> int:
        return sum(1 for s in self.steps if not s[2])


# ----------------------------------------------------------------------------------------------
# scalar helpers: Python-float arithmetic rounded like torchdiffeq's 0-dim tensors of a dtype


def _scalar_type(dtype: torch.dtype):
    """The scalar type whose IEEE arithmetic matches 0-dim tensors of ``dtype``."""
    if dtype == torch.float64:
        return float
    if dtype == torch.float32:
        return np.float32
    raise ValueError(f"lean_odeint supports float32/float64 only, got dtype {dtype}")


def _prev(x, T):
    """``torch.nextafter(x, x - 1)`` in the scalar type ``T`` (torchdiffeq's Perturb.PREV)."""
    x = T(x)
    return T(np.nextafter(x, x - T(1))) if T is not float else math.nextafter(x, x - 1)


def _next(x, T):
    """``torch.nextafter(x, x + 1)`` in the scalar type ``T`` (torchdiffeq's Perturb.NEXT)."""
    x = T(x)
    return T(np.nextafter(x, x + T(1))) if T is not float else math.nextafter(x, x + 1)


def _rms(x: torch.Tensor) -> torch.Tensor:
    return x.abs().pow(2).mean().sqrt()


def _tableau(dtype: torch.dtype, device: torch.device):
    key = (dtype, device)
    tab = _TABLEAU_CACHE.get(key)
    if tab is None:

        def as_y(v):
            return torch.tensor(v, dtype=torch.float64).to(device=device, dtype=dtype)

        T = _scalar_type(dtype)
        alpha = tuple(T(float(a)) for a in torch.tensor(_DP_ALPHA, dtype=torch.float64).to(dtype))
        tab = (alpha, [as_y(b) for b in _DP_BETA], as_y(_DP_C_ERROR), as_y(_DP_MID))
        _TABLEAU_CACHE[key] = tab
    return tab


# ----------------------------------------------------------------------------------------------
# input checking


def normalise(func, y0, t, method, options):
    """Check the inputs like torchdiffeq's ``_check_inputs``; a decreasing ``t`` becomes an
    increasing one with a negated field (and negated ``step_t``/``jump_t`` tensors)."""
    if not callable(func):
        raise ValueError("func must be callable as func(t, y)")
    if not isinstance(y0, torch.Tensor):
        raise ValueError("lean_odeint supports a single tensor state y0 (no tuples)")
    if y0.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"y0 dtype {y0.dtype} unsupported: lean_odeint needs float32/float64")
    if not isinstance(t, torch.Tensor) or t.ndim != 1:
        raise ValueError("t must be a one-dimensional tensor")
    if t.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"t dtype {t.dtype} unsupported: lean_odeint needs float32/float64")
    if t.requires_grad:
        raise ValueError("gradients with respect to t are not supported by lean_odeint")
    if len(t) == 0:
        raise ValueError("t must hold at least one time")
    if method is None:
        method = "dopri5"
    if method not in LEAN_METHODS:
        raise ValueError(f'Invalid method "{method}"; lean_odeint supports {list(LEAN_METHODS)}')
    options = {} if options is None else dict(options)
    allowed, unsupported = (
        (_DOPRI5_OPTIONS, _DOPRI5_UNSUPPORTED)
        if method == "dopri5"
        else (_FIXED_OPTIONS, _FIXED_UNSUPPORTED)
    )
    for name in options:
        if name in unsupported:
            raise ValueError(f"option {name!r} is not supported by lean_odeint ({method})")
        if name not in allowed:
            raise ValueError(f"unknown option {name!r} for lean_odeint method {method!r}")
    if method != "dopri5":
        interp = options.get("interp", "linear")
        if interp not in ("linear", "cubic"):
            raise ValueError(f"Unknown interpolation method {interp!r} (option 'interp')")

    tl = t.detach().tolist()
    reversed_ = len(tl) > 1 and tl[0] > tl[1]
    if reversed_:
        t = -t
        tl = [-v for v in tl]
    if any(not (b > a) for a, b in zip(tl[:-1], tl[1:], strict=True)):
        raise ValueError("t must be strictly increasing or strictly decreasing")
    if reversed_:
        for name in ("step_t", "jump_t"):  # torchdiffeq's _flip_option: tensors only
            if isinstance(options.get(name), torch.Tensor):
                options[name] = -options[name]

        def f(tt, y, _func=func):
            return -1.0 * _func(-tt, y)

    else:
        f = func
    return f, t.to(y0.device), method, options


# ----------------------------------------------------------------------------------------------
# dopri5


def _initial_step(call, t0: float, y0, f0, rtol, atol, order: int, norm=_rms):
    """torchdiffeq's ``_select_initial_step`` with the same tensor arithmetic (done once)."""
    dtype, device = y0.dtype, y0.device
    t0_t = torch.tensor(t0, dtype=torch.float64, device=device)
    scale = atol + torch.abs(y0) * rtol
    d0 = norm(y0 / scale).abs()
    d1 = norm(f0 / scale).abs()
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = torch.tensor(1e-6, dtype=dtype, device=device)
    else:
        h0 = 0.01 * d0 / d1
    h0 = h0.abs()
    y1 = y0 + h0 * f0
    # torchdiffeq evaluates at the tensor t0 + h0, so a time-dependent field's f1 also
    # depends on h0 through its time argument: an exact 0.0 carrying d t / d h0 keeps that.
    shift = (h0 - h0.detach()).to(dtype) if h0.requires_grad else None
    f1 = call((t0_t + h0).item(), y1, shift)
    d2 = torch.abs(norm((f1 - f0) / scale) / h0)
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = torch.max(torch.tensor(1e-6, dtype=dtype, device=device), h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / float(order + 1))
    h1 = h1.abs()
    h = torch.min(100 * h0, h1).to(torch.float64)
    return h.item(), h


def _interp_fit(y0, y1, k0, k_last, kstack, dty, mid):
    y_mid = y0 + torch.sum(kstack * (dty * mid), dim=-1)
    f0, f1 = k0, k_last
    a = 2 * dty * (f1 - f0) - 8 * (y1 + y0) + 16 * y_mid
    b = dty * (5 * f0 - 3 * f1) + 18 * y0 + 14 * y1 - 32 * y_mid
    c = dty * (f1 - 4 * f0) - 11 * y0 - 5 * y1 + 16 * y_mid
    d = dty * f0
    return (y0, d, c, b, a)


def _interp_eval(coeffs, ta: float, tb: float, t: float, T, ta_t=None, tb_t=None):
    if not (ta <= t <= tb):
        raise RuntimeError(f"invalid interpolation, fails t0 <= t <= t1: {ta}, {t}, {tb}")
    if tb_t is not None:  # times carrying torchdiffeq's first-step-size gradient
        # tensor / tensor as torchdiffeq divides: float / tensor would be reciprocal * float
        t_t = torch.tensor(t, dtype=torch.float64)
        x = ((t_t - ta_t) / (tb_t - ta_t)).to(coeffs[0].dtype)
        total = coeffs[0] + x * coeffs[1]
        xp = x
        for cc in coeffs[2:]:
            xp = xp * x
            total = total + xp * cc
        return total
    x = T((t - ta) / (tb - ta))
    total = coeffs[0] + float(x) * coeffs[1]
    xp = x
    for cc in coeffs[2:]:
        xp = T(xp * x)
        total = total + float(xp) * cc
    return total


def _dopri5(func, y0, t, rtol, atol, options, trace: LeanTrace, first_step_grad: bool,
            norm: Callable[[torch.Tensor], torch.Tensor] = _rms):
    dtype, device = y0.dtype, y0.device
    T = _scalar_type(dtype)
    alpha, beta, c_error, mid = _tableau(dtype, device)
    ts = t.to(torch.float64).tolist()

    def call(tv, y, shift=None):
        trace.nfe += 1
        tt = torch.tensor(float(tv), dtype=dtype, device=device)
        if shift is not None:
            tt = tt + shift  # adds an exact 0.0 carrying d t / d h
        return func(tt, y)

    min_step = float(options.get("min_step", 0))
    max_step = float(options.get("max_step", math.inf))
    safety = float(options.get("safety", 0.9))
    ifactor = float(options.get("ifactor", 10.0))
    dfactor = float(options.get("dfactor", 0.2))
    max_num_steps = int(options.get("max_num_steps", 2**31 - 1))
    inv_order = 1 / _DP_ORDER  # == tensor(order, float64).reciprocal()

    rtol_t = torch.as_tensor(rtol, dtype=torch.float64, device=device)
    atol_t = torch.as_tensor(atol, dtype=torch.float64, device=device)
    # 0-dim tolerances are cast to the state dtype by torch exactly like Python floats.
    rtol_v = rtol_t.item() if rtol_t.ndim == 0 else rtol_t
    atol_v = atol_t.item() if atol_t.ndim == 0 else atol_t

    t0 = ts[0]
    f0 = call(t0, y0)
    # Without a graph to record, the stages go into one preallocated buffer per step (fewer
    # copies than stacking them anew at every stage; the same sums either way).
    buffered = not (f0.requires_grad or y0.requires_grad)
    h_t = None
    if options.get("first_step") is None:
        dt, h_t = _initial_step(call, t0, y0, f0, rtol_t, atol_t, _DP_ORDER - 1, norm)
    else:
        dt = torch.as_tensor(options["first_step"], dtype=torch.float64).item()
    # step_t / jump_t: torchdiffeq's _sort_tvals (drop values < t0, sort; no deduplication), cast
    # to float64, reject values repeated across both, start after t0 (bisect_right, clamped).
    t0_t = t.to(torch.float64)[0]
    grid = []
    for name in ("step_t", "jump_t"):
        v = options.get(name)
        if v is None:
            grid.append(torch.tensor([], dtype=torch.float64, device=device))
        else:
            v = torch.as_tensor(v, dtype=torch.float64, device=device)
            grid.append(torch.sort(v[v >= t0_t]).values.to(torch.float64))
    counts = torch.cat(grid).unique(return_counts=True)[1]
    if bool((counts > 1).any()):
        raise ValueError("`step_t` and `jump_t` must not have any repeated elements between them.")
    step_l, jump_l = grid[0].tolist(), grid[1].tolist()
    step_i = min(bisect.bisect(step_l, t0), len(step_l) - 1)
    jump_i = min(bisect.bisect(jump_l, t0), len(jump_l) - 1)

    # torchdiffeq lets autograd see the first step size h (and hence every later time, which is
    # t0 + h + ...). Reproduce that with delta = h - h.detach(): value 0.0, gradient 1.
    delta = None
    if first_step_grad and h_t is not None and h_t.requires_grad and min_step <= dt <= max_step:
        delta = h_t - h_t.detach()
    delta_y = None if delta is None else delta.to(dtype)
    shifted = False  # times carry delta (the first attempt was accepted)
    first_attempt = True
    step_c = (0, 0)  # d/dh coefficients of the accepted step's ends ta, tb

    out = [y0]
    y, f = y0, f0
    ta = tb = t0  # the last accepted step spans [ta, tb]
    step_data = None  # what the dense output of [ta, tb] needs; fitted lazily
    coeffs = None
    y_checked = False
    steps = trace.steps
    for next_t in ts[1:]:
        n_steps = 0
        while next_t > tb:
            if n_steps >= max_num_steps:
                raise SolverBlowupError(f"max_num_steps exceeded ({n_steps}>={max_num_steps})")
            if not math.isfinite(dt):
                dt = min_step
            dt = min(max(dt, min_step), max_step)
            t1 = tb + dt
            if not t1 > tb:
                raise SolverBlowupError(f"underflow in dt {dt}")
            if not y_checked:
                if not bool(torch.isfinite(y).all()):
                    raise SolverBlowupError(f"non-finite values in state `y`: {y}")
                y_checked = True

            # --- land on the next step_t / jump_t value (torchdiffeq's order: step_t first) ---
            clamped = on_step = on_jump = False
            if step_l:
                s_next = step_l[step_i]
                if tb < s_next < tb + dt:
                    t1, dt = s_next, s_next - tb
                    clamped = on_step = True
            if jump_l:
                j_next = jump_l[jump_i]
                if tb < j_next < tb + dt:
                    t1, dt = j_next, j_next - tb
                    clamped, on_step, on_jump = True, False, True

            # d(time)/dh coefficients of this step's t0, dt, t1 (see `delta` above): the first
            # attempt steps by h itself; a clamped step ends on a constant, so dt = t1 - t0.
            grad_first = first_attempt and delta is not None and not clamped
            c0 = 1 if shifted else 0
            if grad_first:
                cd, c1 = 1, 1
            elif clamped:
                cd, c1 = -c0, 0
            else:
                cd, c1 = 0, c0

            # --- one Dormand--Prince step, the same ops as torchdiffeq's _runge_kutta_step ---
            tk, dtk, t1k = T(tb), T(dt), T(t1)
            dtf = float(dtk)
            if cd == 1:
                dts = h_t.to(dtype)  # the step size the y-updates see
            elif cd == -1:
                dts = (torch.tensor(dt, dtype=torch.float64, device=device) - delta).to(dtype)
            else:
                dts = dtf
            if buffered:  # stages written into one buffer, as torchdiffeq does
                kstack = torch.empty((*f.shape, 7), dtype=dtype, device=device)
                kstack[..., 0] = f
            else:  # autograd: stack the stages (no in-place writes into the graph)
                ks = [f]
            yi = y
            for i in range(6):
                a_i = alpha[i]
                ti = _prev(t1k, T) if a_i == 1.0 else tk + a_i * dtk
                if a_i == 1.0:
                    shift = delta_y if c1 else None
                elif cd == 1:
                    shift = (float(a_i) * delta).to(dtype)
                elif cd == -1:
                    shift = (delta - float(a_i) * delta).to(dtype)
                else:
                    shift = delta_y if c0 else None
                if buffered:
                    yi = y + torch.sum(kstack[..., :i + 1] * (beta[i] * dts), dim=-1)
                    kstack[..., i + 1] = call(ti, yi, shift)
                else:
                    yi = y + torch.sum(torch.stack(ks, dim=-1) * (beta[i] * dts), dim=-1)
                    ks.append(call(ti, yi, shift))
            if buffered:
                f1 = kstack[..., 6]
            else:
                kstack = torch.stack(ks, dim=-1)
                f1 = ks[-1]
            y1 = yi
            y1_error = torch.sum(kstack * (dtf * c_error), dim=-1)
            error_tol = atol_v + rtol_v * torch.max(y.abs(), y1.abs())
            error_ratio = norm(y1_error / error_tol).abs().item()

            accept = error_ratio <= 1
            if dt > max_step:
                accept = False
            if dt <= min_step:
                accept = True
            steps.append((tb, dt, accept))
            if accept:
                step_data = (y, y1, kstack[..., 0] if buffered else ks[0], f1, kstack, dts)
                step_c = (c0, c1)
                shifted = c1 != 0
                coeffs = None
                ta, tb = tb, t1
                if on_step and step_i != len(step_l) - 1:
                    step_i += 1
                if on_jump:
                    if jump_i != len(jump_l) - 1:
                        jump_i += 1
                    f1 = call(_next(t1k, T), y1)  # f on the far side of the discontinuity
                y, f = y1, f1
                y_checked = False
            else:
                ta = tb
                if grad_first:
                    delta = delta_y = None  # torchdiffeq drops the rejected h
            first_attempt = False

            # --- _optimal_step_size (float64) ---
            if error_ratio == 0:
                dt = dt * ifactor
            elif math.isnan(error_ratio):
                dt = math.nan
            else:
                dfac = 1.0 if error_ratio < 1 else dfactor
                dt = dt * min(ifactor, max(safety / error_ratio**inv_order, dfac))
            dt = min(max(dt, min_step), max_step) if not math.isnan(dt) else dt
            n_steps += 1

        if coeffs is None:
            if step_data is None:  # unreachable: next_t > t[0] forces an accepted step
                raise RuntimeError("no accepted step to interpolate")
            sy0, sy1, sk0, sk1, skst, sdt = step_data
            coeffs = _interp_fit(sy0, sy1, sk0, sk1, skst, sdt, mid)
        if step_c[0] or step_c[1]:
            ta_t = torch.tensor(ta, dtype=torch.float64) + delta if step_c[0] else ta
            tb_t = torch.tensor(tb, dtype=torch.float64) + delta if step_c[1] else tb
            out.append(_interp_eval(coeffs, ta, tb, next_t, T, ta_t, tb_t))
        else:
            out.append(_interp_eval(coeffs, ta, tb, next_t, T))
    return torch.stack(out, dim=0)


# ----------------------------------------------------------------------------------------------
# fixed grid (euler, rk4 = torchdiffeq's 3/8-rule rk4_alt_step_func)


def _fixed(func, y0, t, method, options, trace: LeanTrace):
    dtype, device = y0.dtype, y0.device
    Ty = _scalar_type(dtype)  # the func sees t cast to the state dtype
    Tt = _scalar_type(t.dtype)  # grid arithmetic happens in t's dtype
    step_size = options.get("step_size")
    interp = options.get("interp", "linear")
    perturb = bool(options.get("perturb", False))

    def call(tv, y, pert=0):
        trace.nfe += 1
        tv = Ty(tv)
        if pert == 1:
            tv = _next(tv, Ty)
        elif pert == -1:
            tv = _prev(tv, Ty)
        return func(torch.tensor(float(tv), dtype=dtype, device=device), y)

    if step_size is None:
        grid = t.tolist()
    else:
        start, end = t[0], t[-1]
        niters = torch.ceil((end - start) / step_size + 1).item()
        g = torch.arange(0, niters, dtype=t.dtype, device=t.device) * step_size + start
        g[-1] = t[-1]
        grid = g.tolist()
    tl = t.tolist()
    if grid[0] != tl[0] or grid[-1] != tl[-1]:
        raise RuntimeError("time grid does not span t")

    one_third, two_thirds = Tt(_ONE_THIRD), Tt(_TWO_THIRDS)
    out = [y0]
    j = 1
    y = y0
    for g0, g1 in zip(grid[:-1], grid[1:], strict=True):
        t0, t1 = Tt(g0), Tt(g1)
        dt = t1 - t0
        dtf = float(dt)
        f0 = call(t0, y, 1 if perturb else 0)
        if method == "euler":
            dy = dtf * f0
        else:
            k1 = f0
            k2 = call(t0 + dt * one_third, y + dtf * k1 * _ONE_THIRD)
            k3 = call(t0 + dt * two_thirds, y + dtf * (k2 - k1 * _ONE_THIRD))
            k4 = call(t1, y + dtf * (k1 - k2 + k3), -1 if perturb else 0)
            dy = (k1 + 3 * (k2 + k3) + k4) * dtf * 0.125
        y1 = y + dy
        trace.steps.append((float(t0), dtf, True))
        while j < len(tl) and t1 >= tl[j]:
            tj = Tt(tl[j])
            if interp == "linear":
                if tj == t0:
                    out.append(y)
                elif tj == t1:
                    out.append(y1)
                else:
                    slope = (tj - t0) / dt
                    out.append(y + float(slope) * (y1 - y))
            else:
                f1 = call(t1, y1)
                h = (tj - t0) / (t1 - t0)
                one, two, three = Tt(1), Tt(2), Tt(3)
                h00 = (one + two * h) * (one - h) * (one - h)
                h10 = h * (one - h) * (one - h)
                h01 = h * h * (three - two * h)
                h11 = h * h * (h - one)
                out.append(
                    float(h00) * y + float(h10 * dt) * f0 + float(h01) * y1 + float(h11 * dt) * f1
                )
            j += 1
        y = y1
    return torch.stack(out, dim=0)


# ----------------------------------------------------------------------------------------------
# public API


def lean_odeint_trace(
    func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    y0: torch.Tensor,
    t: torch.Tensor,
    rtol=1e-7,
    atol=1e-9,
    method: str | None = "dopri5",
    options: dict | None = None,
    *,
    first_step_grad: bool = True,
) -> tuple[torch.Tensor, LeanTrace]:
    """:func:`lean_odeint`, also returning the :class:`LeanTrace` of attempted steps and NFE."""
    f, t, method, options = normalise(func, y0, t, method, options)
    trace = LeanTrace(method=method)
    return solve_normalised(f, y0, t, rtol, atol, method, options, trace, first_step_grad), trace


def solve_normalised(func, y0, t, rtol, atol, method: str, options: dict, trace: LeanTrace,
                     first_step_grad: bool = True, norm=None) -> torch.Tensor:
    """The solve on inputs :func:`normalise` has checked (``t`` increasing); ``norm``
    (dopri5 only) replaces the RMS norm of the error ratio and the initial step, as
    torchdiffeq's ``options["norm"]`` does (the adjoint solve's mixed norm)."""
    if method == "dopri5":
        return _dopri5(func, y0, t, rtol, atol, options, trace, first_step_grad,
                       _rms if norm is None else norm)
    return _fixed(func, y0, t, method, options, trace)


def lean_odeint(
    func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    y0: torch.Tensor,
    t: torch.Tensor,
    rtol=1e-7,
    atol=1e-9,
    method: str | None = "dopri5",
    options: dict | None = None,
    *,
    first_step_grad: bool = True,
) -> torch.Tensor:
    """Solve ``dy/dt = func(t, y)`` like ``torchdiffeq.odeint`` (same steps, same values).

    Returns a tensor of shape ``[len(t), *y0.shape]``. ``method`` is ``"dopri5"`` (options
    ``first_step``, ``max_num_steps``, ``min_step``, ``max_step``, ``safety``, ``ifactor``,
    ``dfactor``, ``step_t``, ``jump_t``), ``"rk4"`` or ``"euler"`` (options ``step_size``,
    ``interp`` in {"linear", "cubic"}, ``perturb``). ``t`` may be decreasing.

    ``first_step_grad`` (dopri5): like torchdiffeq, let autograd differentiate through the
    automatically selected first step size (which every later time depends on). This costs a
    couple of tiny ops per stage while gradients are tracked; ``False`` treats all step sizes as
    constants (forward values and steps are unchanged; gradients then differ from torchdiffeq's).
    """
    return lean_odeint_trace(
        func, y0, t, rtol, atol, method, options, first_step_grad=first_step_grad
    )[0]
