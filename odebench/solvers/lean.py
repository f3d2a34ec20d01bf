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
* the dense-output polynomial is only fitted for steps that actually contain an output time;
* without a graph to record (``torch.no_grad``, the adjoint's solves) each step writes its
  stages through views made once into one buffer, scales all Butcher weights by dt in one op,
  sums with ``linalg.vecdot`` (which is ``sum(a * b, -1)``), reuses ``|y|`` of the accepted
  state, checks finiteness with one reduction, keeps Python numbers out of tensor ops (each
  would be converted anew) and does the RMS mean and the first step's 0-dim arithmetic on
  scalars of the state dtype (same IEEE operations; ``sqrt`` and ``pow`` stay torch ops).

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
_INT_CACHE: dict[tuple[torch.dtype, torch.device], dict[int, torch.Tensor]] = {}


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


def _rms_cpu(x: torch.Tensor, T) -> torch.Tensor:
    """``_rms(x)`` bit for bit with fewer ops, for a non-empty CPU tensor without gradient:
    abs(x).pow(2) is x * x, and mean is the sum divided by the count in the dtype of ``x``."""
    mean = T(T(torch.sum(x * x).item()) / T(x.numel()))
    return torch.scalar_tensor(float(mean), dtype=x.dtype).sqrt()


def _ints(dtype: torch.dtype, device: torch.device) -> dict[int, torch.Tensor]:
    """0-dim tensors of the dense-output fit's integer constants (a Python number meets a
    tensor as its value in the tensor's dtype, converted anew at every op)."""
    key = (dtype, device)
    ints = _INT_CACHE.get(key)
    if ints is None:
        ints = _INT_CACHE[key] = {n: torch.scalar_tensor(n, dtype=dtype, device=device)
                                  for n in (3, 4, 5, 8, 11, 14, 16, 18, 32)}
    return ints


def _tableau(dtype: torch.dtype, device: torch.device):
    key = (dtype, device)
    tab = _TABLEAU_CACHE.get(key)
    if tab is None:

        def as_y(v):
            return torch.tensor(v, dtype=torch.float64).to(device=device, dtype=dtype)

        T = _scalar_type(dtype)
        alpha = tuple(T(float(a)) for a in torch.tensor(_DP_ALPHA, dtype=torch.float64).to(dtype))
        # every stage's beta row, then c_error: one multiplication by dt gives all the weights
        flat = as_y([c for row in _DP_BETA for c in row] + list(_DP_C_ERROR))
        tab = (alpha, [as_y(b) for b in _DP_BETA], as_y(_DP_C_ERROR), as_y(_DP_MID), flat)
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
    """torchdiffeq's ``_select_initial_step`` with the same tensor arithmetic (done once).

    Without gradients, the 0-dim arithmetic between the norms runs on scalars of the state
    dtype (IEEE, like torch's 0-dim ops) while its values stay finite and nonzero.
    """
    dtype, device = y0.dtype, y0.device
    T = _scalar_type(dtype)
    scale = atol + torch.abs(y0) * rtol
    x0, x1 = y0 / scale, f0 / scale
    no_grad = not (y0.requires_grad or f0.requires_grad)
    if (no_grad and norm is _rms and device.type == "cpu" and x0.dtype == dtype
            and x0.numel()):
        d0, d1 = _rms_cpu(x0, T), _rms_cpu(x1, T)  # >= 0: abs() changes nothing
    else:
        d0, d1 = norm(x0).abs(), norm(x1).abs()
    if (y0.ndim and no_grad and not (d0.requires_grad or d1.requires_grad)
            and d0.dtype == dtype == d1.dtype):
        with np.errstate(all="ignore"):
            d0s, d1s = T(d0.item()), T(d1.item())
            if d0s < T(1e-5) or d1s < T(1e-5):
                h0s = T(1e-6)
            else:
                h0s = abs(T(T(T(0.01) * d0s) / d1s))
            if math.isfinite(h0s) and h0s > 0 and math.isfinite(d1s):
                return _initial_step_tail(call, t0, y0, f0, scale, d1, h0s, order, norm, T)
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = torch.tensor(1e-6, dtype=dtype, device=device)
    else:
        h0 = 0.01 * d0 / d1
    h0 = h0.abs()
    y1 = y0 + h0 * f0
    # torchdiffeq evaluates at the tensor t0 + h0, so a time-dependent field's f1 also
    # depends on h0 through its time argument: an exact 0.0 carrying d t / d h0 keeps that.
    shift = (h0 - h0.detach()).to(dtype) if h0.requires_grad else None
    t0_t = torch.tensor(t0, dtype=torch.float64, device=device)
    f1 = call((t0_t + h0).item(), y1, shift)
    d2 = torch.abs(norm((f1 - f0) / scale) / h0)
    return _initial_step_end(d1, d2, h0, order)


def _initial_step_end(d1, d2, h0, order: int):
    """The last lines of ``_select_initial_step`` on 0-dim tensors."""
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = torch.max(torch.tensor(1e-6, dtype=h0.dtype, device=h0.device), h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / float(order + 1))
    h1 = h1.abs()
    h = torch.min(100 * h0, h1).to(torch.float64)
    return h.item(), h


def _initial_step_tail(call, t0, y0, f0, scale, d1, h0s, order, norm, T):
    """:func:`_initial_step` from h0 on, with ``h0s`` (finite, > 0) a scalar of type ``T``."""
    dtype, device = y0.dtype, y0.device
    h0 = torch.scalar_tensor(float(h0s), dtype=dtype, device=device)
    f1 = call(t0 + float(h0s), y0 + h0 * f0)  # float64 t0 + h0, as torchdiffeq adds them
    x2 = (f1 - f0) / scale
    if (norm is _rms and device.type == "cpu" and not x2.requires_grad and x2.dtype == dtype
            and x2.numel()):
        n2 = _rms_cpu(x2, T)
    else:
        n2 = norm(x2)
    if f1.requires_grad or n2.requires_grad or n2.dtype != dtype:
        return _initial_step_end(d1, torch.abs(n2 / h0), h0, order)
    with np.errstate(all="ignore"):
        d1s, d2s = T(d1.item()), abs(T(T(n2.item()) / h0s))
        if not math.isfinite(d2s):
            return _initial_step_end(d1, torch.abs(n2 / h0), h0, order)
        if d1s <= T(1e-15) and d2s <= T(1e-15):
            h1s = max(T(1e-6), T(h0s * T(1e-3)))
        else:  # 0.01 / tensor is reciprocal * 0.01 in torch; the power stays a torch op
            q = torch.scalar_tensor(float(max(d1s, d2s)), dtype=dtype, device=device)
            h1s = abs(T(((0.01 / q) ** (1.0 / float(order + 1))).item()))
        if not math.isfinite(h1s):
            return _initial_step_end(d1, torch.abs(n2 / h0), h0, order)
        h = min(T(T(100) * h0s), h1s)
    return float(h), None


def _interp_fit(y0, y1, k0, k_last, kstack, dty, mid):
    if isinstance(dty, float):
        return _interp_fit_const(y0, y1, k0, k_last, kstack, dty, mid)
    y_mid = y0 + torch.sum(kstack * (dty * mid), dim=-1)
    f0, f1 = k0, k_last
    a = 2 * dty * (f1 - f0) - 8 * (y1 + y0) + 16 * y_mid
    b = dty * (5 * f0 - 3 * f1) + 18 * y0 + 14 * y1 - 32 * y_mid
    c = dty * (f1 - 4 * f0) - 11 * y0 - 5 * y1 + 16 * y_mid
    d = dty * f0
    return (y0, d, c, b, a)


def _interp_fit_const(y0, y1, f0, f1, kstack, dty: float, mid):
    """:func:`_interp_fit` for a constant step: the same ops with every number a 0-dim tensor
    (products and sums commute exactly) and ``linalg.vecdot``, which is ``sum(a * b, -1)``."""
    k = _ints(y0.dtype, y0.device)
    d = torch.scalar_tensor(dty, dtype=y0.dtype, device=y0.device)
    d2 = torch.scalar_tensor(2 * dty, dtype=y0.dtype, device=y0.device)
    y_mid = y0 + torch.linalg.vecdot(kstack, mid * d)
    a = d2 * (f1 - f0) - k[8] * (y1 + y0) + k[16] * y_mid
    b = d * (k[5] * f0 - k[3] * f1) + k[18] * y0 + k[14] * y1 - k[32] * y_mid
    c = d * (f1 - k[4] * f0) - k[11] * y0 - k[5] * y1 + k[16] * y_mid
    return (y0, d * f0, c, b, a)


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
    dtype, device = coeffs[0].dtype, coeffs[0].device
    total = coeffs[0] + torch.scalar_tensor(float(x), dtype=dtype, device=device) * coeffs[1]
    xp = x
    for cc in coeffs[2:]:
        xp = T(xp * x)
        total = total + torch.scalar_tensor(float(xp), dtype=dtype, device=device) * cc
    return total


class _Stages:
    """One step's stage buffer ``[..., 7]`` with the views a Dormand--Prince step reads (the
    first ``i + 1`` stages) and writes (stage ``j``), and the step's Butcher weights (every
    beta row, then c_error) with a view per row, made once instead of at every stage."""

    __slots__ = ("k", "heads", "slots", "w", "w_beta", "w_error")

    def __init__(self, shape: torch.Size, dtype: torch.dtype, device: torch.device):
        self.k = torch.empty((*shape, 7), dtype=dtype, device=device)
        self.heads = [self.k[..., :i + 1] for i in range(6)]
        self.slots = [self.k[..., j] for j in range(7)]
        self.w = torch.empty(28, dtype=dtype, device=device)
        self.w_beta = [self.w[i * (i + 1) // 2:(i + 1) * (i + 2) // 2] for i in range(6)]
        self.w_error = self.w[21:]


# Free stage buffers of finished solves by (shape, dtype, device): making the views costs
# about as much as a step's arithmetic on small states. A solve takes a buffer out (so nested
# or concurrent solves never share one) and puts it back when it returns; nothing it returns
# is a view of it. Only small buffers are kept, at most two per key.
_STAGE_POOL: dict[tuple, list[_Stages]] = {}
_POOL_MAX_ELEMENTS = 1 << 16
_POOL_MAX_KEYS = 32


def _take_stages(shape: torch.Size, dtype: torch.dtype, device: torch.device) -> _Stages:
    free = _STAGE_POOL.get((shape, dtype, device))
    try:
        return free.pop() if free else _Stages(shape, dtype, device)
    except IndexError:  # emptied by another thread meanwhile
        return _Stages(shape, dtype, device)


def _give_back(stages: _Stages) -> None:
    k = stages.k
    if k.numel() > _POOL_MAX_ELEMENTS:
        return
    key = (k.shape[:-1], k.dtype, k.device)
    if key not in _STAGE_POOL and len(_STAGE_POOL) >= _POOL_MAX_KEYS:
        _STAGE_POOL.clear()
    free = _STAGE_POOL.setdefault(key, [])
    if len(free) < 2:
        free.append(stages)


def _sorted_after(values, t0: float) -> list[float]:
    """torchdiffeq's ``_sort_tvals`` on floats: the float64 values >= ``t0``, sorted."""
    if values is None:
        return []
    flat = torch.as_tensor(values, dtype=torch.float64).reshape(-1).tolist()
    return sorted(v for v in flat if v >= t0)


def _dopri5(func, y0, t, rtol, atol, options, trace: LeanTrace, first_step_grad: bool,
            norm: Callable[[torch.Tensor], torch.Tensor] = _rms):
    dtype, device = y0.dtype, y0.device
    T = _scalar_type(dtype)
    alpha, beta, c_error, mid, w_table = _tableau(dtype, device)
    ts = t.to(torch.float64).tolist()

    def call(tv, y, shift=None):
        trace.nfe += 1
        tt = torch.scalar_tensor(float(tv), dtype=dtype, device=device)
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
    h_t = None
    if options.get("first_step") is None:
        dt, h_t = _initial_step(call, t0, y0, f0, rtol_t, atol_t, _DP_ORDER - 1, norm)
    else:
        dt = torch.as_tensor(options["first_step"], dtype=torch.float64).item()
    # step_t / jump_t: torchdiffeq's _sort_tvals (drop values < t0, sort; no deduplication), cast
    # to float64, reject any repeated value, start after t0 (bisect_right, clamped).
    step_l = _sorted_after(options.get("step_t"), t0)
    jump_l = _sorted_after(options.get("jump_t"), t0)
    if len(set(step_l + jump_l)) < len(step_l) + len(jump_l):
        raise ValueError("`step_t` and `jump_t` must not have any repeated elements between them.")
    step_i = min(bisect.bisect(step_l, t0), len(step_l) - 1)
    jump_i = min(bisect.bisect(jump_l, t0), len(jump_l) - 1)

    # torchdiffeq lets autograd see the first step size h (and hence every later time, which is
    # t0 + h + ...). Reproduce that with delta = h - h.detach(): value 0.0, gradient 1.
    delta = None
    if first_step_grad and h_t is not None and h_t.requires_grad and min_step <= dt <= max_step:
        delta = h_t - h_t.detach()
    delta_y = None if delta is None else delta.to(dtype)
    # Without a graph to record (and so with constant step sizes), every step writes its stages
    # into one preallocated buffer through views made once (the dense output reads the last
    # accepted step's stages before the next step starts), and one multiplication per step
    # scales every Butcher weight by dt; the same sums on the same layout as torchdiffeq's.
    # With autograd the stages are stacked.
    fast = delta is None and y0.numel() > 0 and not (f0.requires_grad or y0.requires_grad)
    if fast:
        buf = _take_stages(f0.shape, dtype, device)
        abs_y = y0.abs()  # |y| at the start of the step, shared with the error tolerance
        # _rms(x).abs() == sqrt(mean(x * x)): abs(x).pow(2) is x * x, sqrt is >= 0, and on the
        # CPU mean is the sum divided by the count in the state dtype (the division in Python)
        rms = norm is _rms
        cpu = device.type == "cpu"
        # a Python float meets a state tensor as its value in the state dtype: make those
        # 0-dim tensors once rather than converting the float at every operation
        rtol_v, atol_v = (torch.scalar_tensor(v, dtype=dtype, device=device)
                          if isinstance(v, float) else v for v in (rtol_v, atol_v))
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
                # max |y| is NaN or inf exactly when y holds a NaN or an inf
                finite = (math.isfinite(abs_y.max().item()) if fast
                          else bool(torch.isfinite(y).all()))
                if not finite:
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
            if fast:
                if buf.k.shape[:-1] != f.shape:
                    buf = _Stages(f.shape, dtype, device)
                # beta_i * dt and c_error * dt, elementwise
                torch.mul(w_table, torch.scalar_tensor(dtf, dtype=dtype, device=device),
                          out=buf.w)
                buf.slots[0].copy_(f)  # a no-op when retrying a rejected step
                f = buf.slots[0]  # the last accepted f1 (slot 6) is overwritten below
                t_end = _prev(t1k, T)
                yi = y
                for i in range(6):
                    a_i = alpha[i]
                    yi = y + torch.linalg.vecdot(buf.heads[i], buf.w_beta[i])  # sum(k * w, -1)
                    buf.slots[i + 1].copy_(call(t_end if a_i == 1.0 else tk + a_i * dtk, yi))
                y1, f1, kstack, dts = yi, buf.slots[6], buf.k, dtf
                y1_error = torch.linalg.vecdot(kstack, buf.w_error)
                abs_y1 = y1.abs()
                ratio = y1_error / (atol_v + rtol_v * torch.max(abs_y, abs_y1))
                if not rms:
                    error_ratio = norm(ratio).abs().item()
                elif cpu:
                    error_ratio = _rms_cpu(ratio, T).item()
                else:
                    error_ratio = (ratio * ratio).mean().sqrt().item()
            else:  # autograd: stack the stages (no in-place writes into the graph)
                if cd == 1:
                    dts = h_t.to(dtype)  # the step size the y-updates see
                elif cd == -1:
                    dts = (torch.tensor(dt, dtype=torch.float64, device=device) - delta).to(dtype)
                else:
                    dts = dtf
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
                    yi = y + torch.sum(torch.stack(ks, dim=-1) * (beta[i] * dts), dim=-1)
                    ks.append(call(ti, yi, shift))
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
                if fast:
                    step_data = (y, y1, buf.slots[0], f1, kstack, dts)
                    abs_y = abs_y1
                else:
                    step_data = (y, y1, ks[0], f1, kstack, dts)
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
    if fast:
        _give_back(buf)
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
