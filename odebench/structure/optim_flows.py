"""Optimisation as ODEs: the three toy optimiser figures of the seed papers (numpy + scipy).

* :func:`hbnode_fig2` -- HBNODE paper (Xia et al. 2021) Fig. 2 / App. E.6: gradient flow
  ``x' = -grad F(x)`` (eq. 8) vs the heavy-ball ODE ``x'' + gamma x' = -grad F(x)`` (eq. 7) on
  Rosenbrock and Beale, integrated with ``scipy.integrate.solve_ivp`` (RK45, tight tolerances)
  or, ``method: DP45_fixed``, fixed-step Dormand--Prince as App. E.6 literally says.
* :func:`nesterov_fig1` -- NesterovNODE paper Fig. 1: GD vs heavy ball vs NAG (momentum
  ``(k-1)/(k+2)``, eq. 7 of that paper) on ``1/2 x^T L x - x^T b`` with ``L`` the Laplacian of a
  cycle graph and ``b = e_1``.
* :func:`review_fig4` -- review "Structure Preserving Deep Learning" Fig. 4 / Sec. 6.1: GD, HB,
  NAG, relativistic GD (Franca et al.) and Adam on the three-hump camelback.

Every function returns a tidy :class:`pandas.DataFrame` with the columns ``figure, problem,
method, step, loss, x, y`` (the ODE figure adds ``t``); ``loss`` is ``F - F*`` (``F* = 0`` for
Rosenbrock, Beale and the camelback). Everything is deterministic and CPU-only (seconds).
Configs are frozen dataclasses whose defaults come from the ``*_DEFAULTS`` dicts below, where
every value says whether it is taken from the paper or is ours; :func:`resolve` builds a
config from a figure name and overrides and rejects unknown keys and bad values by name.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

Array = np.ndarray
Grad = Callable[[Array], Array]

COLUMNS = ["figure", "problem", "method", "step", "loss", "x", "y"]

# ---------------------------------------------------------------------------------------------
# Objectives (all vectorised over leading axes of x, y) and their gradients.
# ---------------------------------------------------------------------------------------------


def rosenbrock(x, y):
    """F(x, y) = (1 - x)^2 + 100 (y - x^2)^2; minimum 0 at (1, 1)."""
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def rosenbrock_grad(p: Array) -> Array:
    x, y = p[0], p[1]
    return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x**2), 200.0 * (y - x**2)])


def beale(x, y):
    """F = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2; minimum 0 at (3, 0.5)."""
    return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2
            + (2.625 - x + x * y**3) ** 2)


def beale_grad(p: Array) -> Array:
    x, y = p[0], p[1]
    a1, a2, a3 = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
    gx = 2 * a1 * (y - 1) + 2 * a2 * (y**2 - 1) + 2 * a3 * (y**3 - 1)
    gy = 2 * a1 * x + 4 * a2 * x * y + 6 * a3 * x * y**2
    return np.array([gx, gy])


def camelback(x, y):
    """Three-hump camelback V = 2x^2 - 1.05x^4 + x^6/6 + xy + y^2; minimum 0 at (0, 0)."""
    return 2.0 * x**2 - 1.05 * x**4 + x**6 / 6.0 + x * y + y**2


def camelback_grad(p: Array) -> Array:
    x, y = p[0], p[1]
    return np.array([4.0 * x - 4.2 * x**3 + x**5 + y, x + 2.0 * y])


#: 2-D objectives by problem name: (F(x, y), grad F(p), minimiser, minimum value).
OBJECTIVES_2D: dict[str, tuple[Callable, Grad, tuple[float, float], float]] = {
    "rosenbrock": (rosenbrock, rosenbrock_grad, (1.0, 1.0), 0.0),
    "beale": (beale, beale_grad, (3.0, 0.5), 0.0),
    "camelback": (camelback, camelback_grad, (0.0, 0.0), 0.0),
}


def cycle_laplacian(d: int) -> Array:
    """Graph Laplacian of the cycle graph on d nodes (2 on the diagonal, -1 to each neighbour)."""
    eye = np.eye(d)
    return 2.0 * eye - np.roll(eye, 1, axis=1) - np.roll(eye, -1, axis=1)


# ---------------------------------------------------------------------------------------------
# Discrete optimisers. Each returns the iterates, shape [iterations + 1, dim] (row 0 = start).
# ---------------------------------------------------------------------------------------------


def gradient_descent(grad: Grad, x0, step: float, iterations: int) -> Array:
    """x_{k+1} = x_k - step * grad(x_k)."""
    xs = np.empty((iterations + 1, np.size(x0)))
    x = np.array(x0, dtype=float)
    xs[0] = x
    for k in range(iterations):
        x = x - step * grad(x)
        xs[k + 1] = x
    return xs


def heavy_ball(grad: Grad, x0, step: float, momentum: float, iterations: int) -> Array:
    """Polyak: x_{k+1} = x_k - step grad(x_k) + momentum (x_k - x_{k-1}), x_{-1} = x_0.

    Identical to the velocity form v <- momentum v - step grad(x); x <- x + v with v_0 = 0.
    """
    xs = np.empty((iterations + 1, np.size(x0)))
    x = np.array(x0, dtype=float)
    v = np.zeros_like(x)
    xs[0] = x
    for k in range(iterations):
        v = momentum * v - step * grad(x)
        x = x + v
        xs[k + 1] = x
    return xs


def nesterov_constant(grad: Grad, x0, step: float, momentum: float, iterations: int) -> Array:
    """NAG with constant momentum (Sutskever form, as in Franca et al.'s code):
    v <- momentum v - step grad(x + momentum v); x <- x + v."""
    xs = np.empty((iterations + 1, np.size(x0)))
    x = np.array(x0, dtype=float)
    v = np.zeros_like(x)
    xs[0] = x
    for k in range(iterations):
        v = momentum * v - step * grad(x + momentum * v)
        x = x + v
        xs[k + 1] = x
    return xs


def nesterov_schedule(grad: Grad, x0, step: float, iterations: int) -> Array:
    """NAG of the NesterovNODE paper eq. 7: x_k = y_{k-1} - s grad(y_{k-1}),
    y_k = x_k + (k-1)/(k+2) (x_k - x_{k-1}), y_0 = x_0. Returns the x_k."""
    xs = np.empty((iterations + 1, np.size(x0)))
    x_prev = np.array(x0, dtype=float)
    y = x_prev.copy()
    xs[0] = x_prev
    for k in range(1, iterations + 1):
        x = y - step * grad(y)
        y = x + (k - 1) / (k + 2) * (x - x_prev)
        x_prev = x
        xs[k] = x
    return xs


def relativistic_gd(grad: Grad, x0, step: float, mu: float, delta: float, alpha: float,
                    iterations: int) -> Array:
    """Relativistic GD (Franca et al., reference code ``guisf/rgd`` ``opt_solvers.py``), v_0 = 0:
    x_half = x + sqrt(mu) v / sqrt(1 + delta mu |v|^2); v_half = sqrt(mu) v - step grad(x_half);
    x+ = alpha x_half + (1 - alpha) x + v_half / sqrt(1 + delta |v_half|^2); v+ = sqrt(mu) v_half.
    """
    xs = np.empty((iterations + 1, np.size(x0)))
    x = np.array(x0, dtype=float)
    v = np.zeros_like(x)
    sm = math.sqrt(mu)
    xs[0] = x
    for k in range(iterations):
        x_half = x + sm * v / math.sqrt(1.0 + delta * mu * float(v @ v))
        v_half = sm * v - step * grad(x_half)
        x = alpha * x_half + (1.0 - alpha) * x + v_half / math.sqrt(
            1.0 + delta * float(v_half @ v_half))
        v = sm * v_half
        xs[k + 1] = x
    return xs


def adam(grad: Grad, x0, lr: float, beta1: float, beta2: float, eps: float,
         iterations: int) -> Array:
    """Adam with the standard Kingma--Ba bias correction: the moments m, v are kept
    uncorrected and only the copies used in the step are divided by (1 - beta^k).

    The review's eq. (53) puts the 1/(1 - beta^j) factor inside the moment recursion, which
    compounds the correction and is not Adam as published (nor ``torch.optim.Adam``); it is a
    source error (docs/PAPERS.md), so we use Kingma--Ba.
    """
    xs = np.empty((iterations + 1, np.size(x0)))
    x = np.array(x0, dtype=float)
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    xs[0] = x
    for k in range(1, iterations + 1):
        g = grad(x)
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * g * g
        m_hat = m / (1.0 - beta1**k)
        v_hat = v / (1.0 - beta2**k)
        x = x - lr * m_hat / (np.sqrt(v_hat) + eps)
        xs[k] = x
    return xs


# Dormand--Prince 5(4) tableau (the 5th-order weights are the last row of _DP_A).
_DP_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)


def dopri5_fixed(rhs: Callable[[Array], Array], z0, t_grid: Array) -> Array:
    """Dormand--Prince 5(4) without error control, one step per interval of ``t_grid``
    (autonomous ``rhs``); returns the states at ``t_grid``, shape [len(t_grid), dim]."""
    zs = np.empty((len(t_grid), np.size(z0)))
    z = np.array(z0, dtype=float)
    zs[0] = z
    for i, h in enumerate(np.diff(t_grid)):
        stages: list[Array] = []
        for row in _DP_A[:-1]:
            stages.append(rhs(z + h * sum(a * k for a, k in zip(row, stages, strict=True))))
        z = z + h * sum(b * k for b, k in zip(_DP_A[-1], stages, strict=True))
        zs[i + 1] = z
    return zs


# ---------------------------------------------------------------------------------------------
# Defaults (each value: where it comes from) and configs.
# ---------------------------------------------------------------------------------------------

HBNODE_FIG2_DEFAULTS: dict[str, Any] = {
    "problems": ("rosenbrock", "beale"),  # paper: Fig. 2 left / right
    "rosenbrock_start": (0.0, 0.0),  # paper: App. E.6 "Starting from (0, 0)"
    "rosenbrock_gamma": 0.9,  # paper: App. E.6 "we set gamma = 0.9"
    "rosenbrock_T": 1.0,  # paper: App. E.6 "for t from 0 to 1"
    # paper: "step size dt = 0.001" with Dormand-Prince-45; with an adaptive solver we read it
    # as the output sampling interval (unspecified meaning: ours); with DP45_fixed, the step
    "rosenbrock_dt": 0.001,
    "beale_start": (0.0, 0.0),  # paper: App. E.6 "Starting from (0, 0)"
    "beale_gamma": 0.7,  # paper: App. E.6 "we set gamma = 0.7"
    "beale_T": 2.0,  # paper: App. E.6 "for t from 0 to 2"
    "beale_dt": 0.01,  # paper: "step size 0.01" (read as output sampling, as above: ours)
    "velocity0": (0.0, 0.0),  # paper: App. E.6 "initial value of dx/dt = (0, 0)"
    # paper: Dormand-Prince-45 (scipy's RK45 is Dormand-Prince 5(4)). "DP45_fixed" is the
    # literal reading, fixed steps of size *_dt without error control: the same trajectories
    # to 1e-6 (docs/PAPERS.md, HBNODE Fig. 2)
    "method": "RK45",
    "rtol": 1e-10,  # unspecified: ours (tight, per the brief)
    "atol": 1e-12,  # unspecified: ours
}

NESTEROV_FIG1_DEFAULTS: dict[str, Any] = {
    # unspecified: ours (paper: "d-dimensional", d not given). The smallest nonzero eigenvalue
    # is 2 - 2 cos(2 pi / d) ~ 4.4e-4 for d = 300, so over 1000 iterations every method is in
    # the sublinear (merely convex) regime the figure illustrates: GD > HB > NAG from k ~ 100
    # on. With d = 100 (kappa ~ 1e3) HB with momentum 0.9 turns linear and beats NAG by k = 1000.
    "d": 300,
    # unspecified: ours; 1/L with L = lambda_max(Laplacian of the cycle) <= 4, the classical
    # safe step for GD and NAG on an L-smooth convex function
    "step": 0.25,
    "hb_momentum": 0.9,  # unspecified: ours (a common heavy-ball momentum)
    "iterations": 1000,  # unspecified: ours (the figure's horizon is not given)
    # The printed objective is unbounded below: L 1 = 0 and 1^T b = 1 != 0, so
    # F(c 1) = -c -> -inf. The range-space and null-space parts decouple exactly (the null-space
    # part only drifts linearly), so we use b projected onto range(L), b - mean(b) 1, and report
    # F - F* for that well-posed problem (unspecified by the paper: ours).
    "project_b": True,
    "methods": ("GD", "HB", "NAG"),  # paper: Fig. 1 legend
}

REVIEW_FIG4_DEFAULTS: dict[str, Any] = {
    "start": (-0.5, 0.8),  # paper: Sec. 6.1 start point
    "iterations": 2000,  # unspecified: ours (no iteration count in the review)
    "gd_h": 0.01,  # paper: GD h = 0.01
    "hb_mu": 0.9,  # paper: HB mu = 0.9
    "hb_h": 0.01,  # paper: HB h = 0.01
    # paper: NaG mu = 0.012 as printed [uncertain: with mu ~ 0 NAG is GD; mu = 0.9 like HB is
    # the likely intent, possibly an OCR/typesetting error]. Default as printed; configurable.
    "nag_mu": 0.012,
    "nag_h": 0.01,  # paper: NaG h = 0.01
    "rgd_h": 1e-4,  # paper: RGD h = 1e-4
    "rgd_mu": 0.9259,  # paper: RGD mu = 0.9259
    "rgd_delta": 1.0,  # unspecified: ours ("speed of light" delta not given)
    "rgd_alpha": 1.0,  # unspecified: ours (alpha not given; 1 = the symplectic variant)
    "adam_lr": 0.1,  # paper: Adam alpha = h = 0.1
    "adam_beta1": 0.9,  # paper: beta1 = 0.9
    "adam_beta2": 0.999,  # paper: beta2 = 0.999
    "adam_eps": 1e-8,  # paper: eps = 1e-8
    "methods": ("GD", "HB", "NAG", "RGD", "Adam"),  # paper: Fig. 4 legend
}


#: HBNODE Fig. 2 integrators: scipy ``solve_ivp`` methods and the fixed-step Dormand--Prince.
FIG2_METHODS = ("RK45", "DOP853", "RK23", "Radau", "BDF", "LSODA", "DP45_fixed")


def _fail(key: str, value: Any, why: str) -> None:
    raise ValueError(f"bad value for config key {key!r}: {value!r} ({why})")


def _positive(cfg: Any, *keys: str, allow_zero: bool = False) -> None:
    for key in keys:
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            _fail(key, value, f"must be a finite number {'>=' if allow_zero else '>'} 0")


def _unit_interval(cfg: Any, *keys: str, closed_right: bool = False) -> None:
    for key in keys:
        value = getattr(cfg, key)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
            0 <= value <= 1 if closed_right else 0 <= value < 1)
        if not ok:
            _fail(key, value, "must lie in [0, 1]" if closed_right else "must lie in [0, 1)")


def _count(cfg: Any, key: str, minimum: int = 1) -> None:
    value = getattr(cfg, key)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        _fail(key, value, f"must be an integer >= {minimum}")


def _point(cfg: Any, key: str) -> None:
    value = getattr(cfg, key)
    try:
        point = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        _fail(key, value, "must be a pair of numbers")
    if len(point) != 2 or not all(math.isfinite(v) for v in point):
        _fail(key, value, "must be a pair of finite numbers")
    object.__setattr__(cfg, key, point)


def _choices(cfg: Any, key: str, allowed: Sequence[str]) -> None:
    value = getattr(cfg, key)
    if isinstance(value, str):
        value = (value,)
    value = tuple(value)
    bad = [v for v in value if v not in allowed]
    if not value or bad:
        _fail(key, value, f"each entry must be one of {list(allowed)}")
    object.__setattr__(cfg, key, value)


def _defaults(table: dict[str, Any], key: str):
    return field(default=table[key])


@dataclass(frozen=True)
class HBNodeFig2Config:
    """HBNODE Fig. 2; defaults and their sources in :data:`HBNODE_FIG2_DEFAULTS`."""

    problems: tuple = _defaults(HBNODE_FIG2_DEFAULTS, "problems")
    rosenbrock_start: tuple = _defaults(HBNODE_FIG2_DEFAULTS, "rosenbrock_start")
    rosenbrock_gamma: float = _defaults(HBNODE_FIG2_DEFAULTS, "rosenbrock_gamma")
    rosenbrock_T: float = _defaults(HBNODE_FIG2_DEFAULTS, "rosenbrock_T")
    rosenbrock_dt: float = _defaults(HBNODE_FIG2_DEFAULTS, "rosenbrock_dt")
    beale_start: tuple = _defaults(HBNODE_FIG2_DEFAULTS, "beale_start")
    beale_gamma: float = _defaults(HBNODE_FIG2_DEFAULTS, "beale_gamma")
    beale_T: float = _defaults(HBNODE_FIG2_DEFAULTS, "beale_T")
    beale_dt: float = _defaults(HBNODE_FIG2_DEFAULTS, "beale_dt")
    velocity0: tuple = _defaults(HBNODE_FIG2_DEFAULTS, "velocity0")
    method: str = _defaults(HBNODE_FIG2_DEFAULTS, "method")
    rtol: float = _defaults(HBNODE_FIG2_DEFAULTS, "rtol")
    atol: float = _defaults(HBNODE_FIG2_DEFAULTS, "atol")

    def __post_init__(self) -> None:
        _choices(self, "problems", ("rosenbrock", "beale"))
        for key in ("rosenbrock_start", "beale_start", "velocity0"):
            _point(self, key)
        _positive(self, "rosenbrock_T", "rosenbrock_dt", "beale_T", "beale_dt", "rtol", "atol")
        _positive(self, "rosenbrock_gamma", "beale_gamma", allow_zero=True)  # paper: gamma >= 0
        for name in ("rosenbrock", "beale"):
            if getattr(self, f"{name}_dt") > getattr(self, f"{name}_T"):
                _fail(f"{name}_dt", getattr(self, f"{name}_dt"), f"must be <= {name}_T")
        if self.method not in FIG2_METHODS:
            _fail("method", self.method, f"must be one of {list(FIG2_METHODS)}")


@dataclass(frozen=True)
class NesterovFig1Config:
    """NesterovNODE Fig. 1; defaults and their sources in :data:`NESTEROV_FIG1_DEFAULTS`."""

    d: int = _defaults(NESTEROV_FIG1_DEFAULTS, "d")
    step: float = _defaults(NESTEROV_FIG1_DEFAULTS, "step")
    hb_momentum: float = _defaults(NESTEROV_FIG1_DEFAULTS, "hb_momentum")
    iterations: int = _defaults(NESTEROV_FIG1_DEFAULTS, "iterations")
    project_b: bool = _defaults(NESTEROV_FIG1_DEFAULTS, "project_b")
    methods: tuple = _defaults(NESTEROV_FIG1_DEFAULTS, "methods")

    def __post_init__(self) -> None:
        _count(self, "d", minimum=3)
        _positive(self, "step")
        _unit_interval(self, "hb_momentum")
        _count(self, "iterations")
        if self.project_b is not True:
            _fail("project_b", self.project_b,
                  "must be True: with b = e_1 unprojected the objective is unbounded below")
        _choices(self, "methods", ("GD", "HB", "NAG"))


@dataclass(frozen=True)
class ReviewFig4Config:
    """Review Fig. 4; defaults and their sources in :data:`REVIEW_FIG4_DEFAULTS`."""

    start: tuple = _defaults(REVIEW_FIG4_DEFAULTS, "start")
    iterations: int = _defaults(REVIEW_FIG4_DEFAULTS, "iterations")
    gd_h: float = _defaults(REVIEW_FIG4_DEFAULTS, "gd_h")
    hb_mu: float = _defaults(REVIEW_FIG4_DEFAULTS, "hb_mu")
    hb_h: float = _defaults(REVIEW_FIG4_DEFAULTS, "hb_h")
    nag_mu: float = _defaults(REVIEW_FIG4_DEFAULTS, "nag_mu")
    nag_h: float = _defaults(REVIEW_FIG4_DEFAULTS, "nag_h")
    rgd_h: float = _defaults(REVIEW_FIG4_DEFAULTS, "rgd_h")
    rgd_mu: float = _defaults(REVIEW_FIG4_DEFAULTS, "rgd_mu")
    rgd_delta: float = _defaults(REVIEW_FIG4_DEFAULTS, "rgd_delta")
    rgd_alpha: float = _defaults(REVIEW_FIG4_DEFAULTS, "rgd_alpha")
    adam_lr: float = _defaults(REVIEW_FIG4_DEFAULTS, "adam_lr")
    adam_beta1: float = _defaults(REVIEW_FIG4_DEFAULTS, "adam_beta1")
    adam_beta2: float = _defaults(REVIEW_FIG4_DEFAULTS, "adam_beta2")
    adam_eps: float = _defaults(REVIEW_FIG4_DEFAULTS, "adam_eps")
    methods: tuple = _defaults(REVIEW_FIG4_DEFAULTS, "methods")

    def __post_init__(self) -> None:
        _point(self, "start")
        _count(self, "iterations")
        _positive(self, "gd_h", "hb_h", "nag_h", "rgd_h", "adam_lr", "adam_eps")
        _unit_interval(self, "hb_mu", "nag_mu", "adam_beta1", "adam_beta2")
        _unit_interval(self, "rgd_mu", "rgd_alpha", closed_right=True)
        value = self.rgd_delta
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            _fail("rgd_delta", value, "must be a number >= 0")
        _choices(self, "methods", ("GD", "HB", "NAG", "RGD", "Adam"))


# ---------------------------------------------------------------------------------------------
# The figures.
# ---------------------------------------------------------------------------------------------


def _frame(figure: str, problem: str, method: str, xs: Array, loss: Array) -> pd.DataFrame:
    n = len(xs)
    return pd.DataFrame({
        "figure": figure, "problem": problem, "method": method,
        "step": np.arange(n), "loss": loss, "x": xs[:, 0], "y": xs[:, 1],
    })


def _integrate(rhs: Callable, z0: Array, t_eval: Array, cfg: HBNodeFig2Config,
               problem: str, method: str) -> Array:
    """The states at ``t_eval`` by ``cfg.method`` (``DP45_fixed``: one step per interval)."""
    if cfg.method == "DP45_fixed":
        with np.errstate(over="ignore", invalid="ignore"):
            zs = dopri5_fixed(lambda z: rhs(0.0, z), z0, t_eval)
        if not np.isfinite(zs).all():
            raise RuntimeError(f"method DP45_fixed blew up on {problem}/{method} at "
                               f"{problem}_dt = {getattr(cfg, problem + '_dt')}: lower "
                               f"{problem}_dt or use method RK45")
        return zs
    sol = solve_ivp(rhs, (0.0, t_eval[-1]), z0, method=cfg.method, t_eval=t_eval,
                    rtol=cfg.rtol, atol=cfg.atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed on {problem}/{method}: {sol.message}")
    return sol.y.T


def hbnode_fig2(cfg: HBNodeFig2Config | None = None) -> pd.DataFrame:
    """Gradient flow (``ODE``) vs heavy-ball ODE (``HBODE``) on Rosenbrock and Beale.

    Tidy frame, one row per output time: ``step`` is the sample index, ``t`` the time and
    ``loss = F(x(t))`` (the minimum value is 0)."""
    cfg = cfg or HBNodeFig2Config()
    frames = []
    for problem in cfg.problems:
        func, grad, _, fmin = OBJECTIVES_2D[problem]
        start = np.array(getattr(cfg, f"{problem}_start"))
        gamma = getattr(cfg, f"{problem}_gamma")
        horizon = getattr(cfg, f"{problem}_T")
        dt = getattr(cfg, f"{problem}_dt")
        n = int(round(horizon / dt))
        t_eval = np.linspace(0.0, horizon, n + 1) if abs(n * dt - horizon) < 1e-9 * horizon \
            else np.append(np.arange(0.0, horizon, dt), horizon)

        def flow(t, z, grad=grad):
            return -grad(z)

        def hb(t, z, grad=grad, gamma=gamma):
            return np.concatenate([z[2:], -gamma * z[2:] - grad(z[:2])])

        runs = {
            "ODE": (flow, start),
            "HBODE": (hb, np.concatenate([start, np.array(cfg.velocity0)])),
        }
        for method, (rhs, z0) in runs.items():
            xs = _integrate(rhs, z0, t_eval, cfg, problem, method)[:, :2]
            frame = _frame("hbnode_fig2", problem, method, xs, func(xs[:, 0], xs[:, 1]) - fmin)
            frame.insert(4, "t", t_eval)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def cycle_quadratic(d: int) -> tuple[Array, Array, float, Array]:
    """``(L, b, F*, x*)`` for ``1/2 x^T L x - x^T b`` with the cycle Laplacian and b = e_1
    projected onto range(L) (see :data:`NESTEROV_FIG1_DEFAULTS`); x* is the min-norm minimiser."""
    lap = cycle_laplacian(d)
    b = np.zeros(d)
    b[0] = 1.0
    b = b - b.mean()
    x_star = np.linalg.lstsq(lap, b, rcond=None)[0]
    f_star = -0.5 * float(b @ x_star)
    return lap, b, f_star, x_star


def nesterov_fig1(cfg: NesterovFig1Config | None = None) -> pd.DataFrame:
    """GD vs HB vs NAG on the cycle-graph quadratic, start x_0 = 0; ``loss = F(x_k) - F*``;
    ``x``, ``y`` are the first two coordinates of x_k."""
    cfg = cfg or NesterovFig1Config()
    lap, b, f_star, _ = cycle_quadratic(cfg.d)

    def grad(x):
        return lap @ x - b

    x0 = np.zeros(cfg.d)
    runs = {
        "GD": lambda: gradient_descent(grad, x0, cfg.step, cfg.iterations),
        "HB": lambda: heavy_ball(grad, x0, cfg.step, cfg.hb_momentum, cfg.iterations),
        "NAG": lambda: nesterov_schedule(grad, x0, cfg.step, cfg.iterations),
    }
    frames = []
    for method in cfg.methods:
        xs = runs[method]()
        values = 0.5 * np.einsum("ki,ij,kj->k", xs, lap, xs) - xs @ b
        gap = np.maximum(values - f_star, 0.0)  # clip round-off below F*
        frames.append(_frame("nesterov_fig1", "cycle_quadratic", method, xs, gap))
    return pd.concat(frames, ignore_index=True)


def review_fig4(cfg: ReviewFig4Config | None = None) -> pd.DataFrame:
    """GD, HB, NAG, RGD, Adam on the three-hump camelback; ``loss = V(x_k)`` (minimum 0)."""
    cfg = cfg or ReviewFig4Config()
    func, grad, _, fmin = OBJECTIVES_2D["camelback"]
    x0 = np.array(cfg.start)
    n = cfg.iterations
    runs = {
        "GD": lambda: gradient_descent(grad, x0, cfg.gd_h, n),
        "HB": lambda: heavy_ball(grad, x0, cfg.hb_h, cfg.hb_mu, n),
        "NAG": lambda: nesterov_constant(grad, x0, cfg.nag_h, cfg.nag_mu, n),
        "RGD": lambda: relativistic_gd(grad, x0, cfg.rgd_h, cfg.rgd_mu, cfg.rgd_delta,
                                       cfg.rgd_alpha, n),
        "Adam": lambda: adam(grad, x0, cfg.adam_lr, cfg.adam_beta1, cfg.adam_beta2,
                             cfg.adam_eps, n),
    }
    frames = []
    for method in cfg.methods:
        xs = runs[method]()
        frames.append(_frame("review_fig4", "camelback", method, xs,
                             func(xs[:, 0], xs[:, 1]) - fmin))
    return pd.concat(frames, ignore_index=True)


ALL_FIGURES: dict[str, Callable[..., pd.DataFrame]] = {
    "hbnode_fig2": hbnode_fig2,
    "nesterov_fig1": nesterov_fig1,
    "review_fig4": review_fig4,
}

CONFIGS: dict[str, type] = {
    "hbnode_fig2": HBNodeFig2Config,
    "nesterov_fig1": NesterovFig1Config,
    "review_fig4": ReviewFig4Config,
}


def resolve(name: str, overrides: dict[str, Any] | None = None):
    """The config of figure ``name`` with ``overrides`` applied. Unknown figure names, unknown
    keys and bad values (negative step sizes, momenta outside [0, 1), ...) raise ValueError
    naming them."""
    if name not in CONFIGS:
        raise ValueError(f"unknown figure {name!r}; known: {sorted(CONFIGS)}")
    cls = CONFIGS[name]
    overrides = dict(overrides or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown config key(s) for {name!r}: {', '.join(map(repr, unknown))}; "
                         f"known: {sorted(known)}")
    return cls(**overrides)


def run_figure(name: str, overrides: dict[str, Any] | None = None) -> pd.DataFrame:
    """``ALL_FIGURES[name](resolve(name, overrides))``."""
    return ALL_FIGURES[name](resolve(name, overrides))
