"""Fixed-step symplectic and conformal symplectic integrators for separable Hamiltonians.

The system is ``H(t, z, p) = T(t, p) + V(t, z)`` with ``dz/dt = ∂T/∂p`` and
``dp/dt = -∂V/∂z``; the callables ``grad_T(t, p)`` and ``grad_V(t, z)`` return those partial
derivatives, ``t`` being a 0-dim tensor of the state dtype. States may have any shape (a batch
axis included) as long as ``z`` and ``p`` share it; everything is plain torch, so gradients
flow to the initial state, to ``gamma`` and to parameters used inside ``grad_T``/``grad_V``.

Schemes (``t^k = t0 + k h``):

* :func:`symplectic_euler` (order 1, symplectic): ``z⁺ = z + h ∂_pT(t^k, p)``, then
  ``p⁺ = p - h ∂_zV(t^{k+1}, z⁺)`` ("Structure Preserving Deep Learning", Celledoni et al.,
  eq. 22). With ``p_first=True`` the adjoint ordering: ``p⁺ = p - h ∂_zV(t^k, z)``, then
  ``z⁺ = z + h ∂_pT(t^{k+1}, p⁺)``.
* :func:`stormer_verlet` (order 2, symplectic, symmetric): half kick, drift, half kick.
* :func:`conformal_symplectic` for the damped field ``dp/dt = -∂_zV - γ p``: Strang splitting
  of the exact damping ``p ← e^{-γh/2} p`` around one undamped inner step (Verlet: order 2,
  symplectic Euler: order 1). Its one-step map Φ is conformal symplectic,
  ``DΦᵀ J DΦ = e^{-γh} J``; for γ = 0 it is the inner scheme.

Symplecticity refers to ``J = [[0, I], [-I, 0]]`` in the ordering ``x = (z, p)``, positions
first (see :func:`symplecticity_defect`). These schemes are for separable Hamiltonian fields
only: a generic (non-gradient) force field ``ṗ = f(z)`` is not Hamiltonian, so nothing is
conserved and "symplectic" has no meaning for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import torch
from torch.func import jacrev

GradFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
StepMap = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
Trajectory = tuple[torch.Tensor, torch.Tensor]
Gamma = float | torch.Tensor
INNER_SCHEMES = ("verlet", "symplectic_euler", "symplectic_euler_p_first")


class SymplecticMethod(Protocol):
    """The uniform call of :data:`SYMPLECTIC_METHODS`."""

    def __call__(self, grad_T: GradFn, grad_V: GradFn, z0: torch.Tensor, p0: torch.Tensor,
                 h: float, steps: int, t0: float = 0.0, gamma: Gamma = 0.0) -> Trajectory: ...


# --------------------------------------------------------------------------- validation


def _check_inputs(z0: torch.Tensor, p0: torch.Tensor, h: float, steps: int) -> float:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if isinstance(h, bool) or not isinstance(h, (int, float)):
        raise ValueError(f"h must be a positive finite number, got {h!r}")
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"h must be a positive finite number, got {h!r}")
    if z0.shape != p0.shape:
        raise ValueError(f"z0 and p0 must have the same shape, got z0 {tuple(z0.shape)} "
                         f"and p0 {tuple(p0.shape)}")
    return float(h)


def _check_gamma(gamma: Gamma) -> None:
    if isinstance(gamma, torch.Tensor):
        if gamma.dim() != 0:
            raise ValueError(f"gamma must be a float or a 0-dim tensor, got shape "
                             f"{tuple(gamma.shape)}")
        value = float(gamma.detach())
    elif isinstance(gamma, (int, float)) and not isinstance(gamma, bool):
        value = float(gamma)
    else:
        raise ValueError(f"gamma must be a float or a 0-dim tensor, got {gamma!r}")
    if not math.isfinite(value):
        raise ValueError(f"gamma must be finite, got {value!r}")


def _time(t0: float, k: float, h: float, like: torch.Tensor) -> torch.Tensor:
    """``t0 + k h`` as a 0-dim tensor (computed from k, not accumulated)."""
    return torch.tensor(t0 + k * h, dtype=like.dtype, device=like.device)


# --------------------------------------------------------------------------- one steps


def _euler_zp(grad_T: GradFn, grad_V: GradFn, z: torch.Tensor, p: torch.Tensor,
              t: torch.Tensor, t_next: torch.Tensor, h: float) -> Trajectory:
    # The source (eq. 22) is ambiguous about the time of the first substep; we take t^k.
    # Irrelevant for autonomous H.
    z = z + h * grad_T(t, p)
    return z, p - h * grad_V(t_next, z)


def _euler_pz(grad_T: GradFn, grad_V: GradFn, z: torch.Tensor, p: torch.Tensor,
              t: torch.Tensor, t_next: torch.Tensor, h: float) -> Trajectory:
    p = p - h * grad_V(t, z)
    return z + h * grad_T(t_next, p), p


def _verlet(grad_T: GradFn, grad_V: GradFn, z: torch.Tensor, p: torch.Tensor,
            t: torch.Tensor, t_next: torch.Tensor, h: float) -> Trajectory:
    p_half = p - 0.5 * h * grad_V(t, z)
    z = z + h * grad_T(0.5 * (t + t_next), p_half)
    return z, p_half - 0.5 * h * grad_V(t_next, z)


_STEPS = {"verlet": _verlet, "symplectic_euler": _euler_zp,
          "symplectic_euler_p_first": _euler_pz}


def _integrate(step: Callable[..., Trajectory], grad_T: GradFn, grad_V: GradFn,
               z0: torch.Tensor, p0: torch.Tensor, h: float, steps: int, t0: float,
               decay: torch.Tensor | None = None) -> Trajectory:
    """Run ``steps`` steps; ``decay`` (= e^{-γh/2}) wraps each step in exact damping."""
    zs, ps = [z0], [p0]
    z, p = z0, p0
    t = _time(t0, 0, h, z0)
    for k in range(steps):
        t_next = _time(t0, k + 1, h, z0)
        if decay is not None:
            p = decay * p
        z, p = step(grad_T, grad_V, z, p, t, t_next, h)
        if decay is not None:
            p = decay * p
        zs.append(z)
        ps.append(p)
        t = t_next
    return torch.stack(zs), torch.stack(ps)


# --------------------------------------------------------------------------- public schemes


def symplectic_euler(grad_T: GradFn, grad_V: GradFn, z0: torch.Tensor, p0: torch.Tensor,
                     h: float, steps: int, t0: float = 0.0, *,
                     p_first: bool = False) -> Trajectory:
    """Symplectic Euler (order 1); returns ``zs, ps`` of shape ``[steps + 1, *z0.shape]``.

    Default ordering updates z first (eq. 22); ``p_first=True`` gives the adjoint scheme.
    """
    h = _check_inputs(z0, p0, h, steps)
    step = _euler_pz if p_first else _euler_zp
    return _integrate(step, grad_T, grad_V, z0, p0, h, steps, t0)


def stormer_verlet(grad_T: GradFn, grad_V: GradFn, z0: torch.Tensor, p0: torch.Tensor,
                   h: float, steps: int, t0: float = 0.0) -> Trajectory:
    """Störmer-Verlet, kick-drift-kick (order 2); trajectories ``[steps + 1, *z0.shape]``."""
    h = _check_inputs(z0, p0, h, steps)
    return _integrate(_verlet, grad_T, grad_V, z0, p0, h, steps, t0)


def conformal_symplectic(grad_T: GradFn, grad_V: GradFn, z0: torch.Tensor, p0: torch.Tensor,
                         h: float, steps: int, gamma: Gamma, t0: float = 0.0,
                         inner: str = "verlet") -> Trajectory:
    """Damped ``ṗ = -∂_zV - γ p``: ``p ← e^{-γh/2} p``, one ``inner`` step, ``p ← e^{-γh/2} p``.

    ``inner`` is one of :data:`INNER_SCHEMES`. ``gamma`` may be a tensor requiring grad.
    """
    h = _check_inputs(z0, p0, h, steps)
    if inner not in _STEPS:
        raise ValueError(f"inner must be one of {', '.join(INNER_SCHEMES)}, got {inner!r}")
    _check_gamma(gamma)
    gamma_t = torch.as_tensor(gamma, dtype=p0.dtype, device=p0.device)
    decay = torch.exp(-0.5 * h * gamma_t)
    return _integrate(_STEPS[inner], grad_T, grad_V, z0, p0, h, steps, t0, decay)


def _undamped(name: str, scheme: Callable[..., Trajectory]) -> SymplecticMethod:
    def method(grad_T: GradFn, grad_V: GradFn, z0: torch.Tensor, p0: torch.Tensor, h: float,
               steps: int, t0: float = 0.0, gamma: Gamma = 0.0) -> Trajectory:
        _check_gamma(gamma)
        if float(gamma) != 0.0:
            raise ValueError(f"method {name!r} is undamped and needs gamma == 0, got "
                             f"gamma={float(gamma)!r}; use 'conformal_{name}'")
        return scheme(grad_T, grad_V, z0, p0, h, steps, t0)

    method.__name__ = name
    method.__doc__ = f"Uniform-call wrapper of the undamped scheme {name!r}."
    return method


def _damped(inner: str) -> SymplecticMethod:
    def method(grad_T: GradFn, grad_V: GradFn, z0: torch.Tensor, p0: torch.Tensor, h: float,
               steps: int, t0: float = 0.0, gamma: Gamma = 0.0) -> Trajectory:
        return conformal_symplectic(grad_T, grad_V, z0, p0, h, steps, gamma, t0, inner=inner)

    method.__name__ = f"conformal_{inner}"
    method.__doc__ = f"Uniform-call wrapper of conformal_symplectic(inner={inner!r})."
    return method


SYMPLECTIC_METHODS: dict[str, SymplecticMethod] = {
    "symplectic_euler": _undamped("symplectic_euler", symplectic_euler),
    "verlet": _undamped("verlet", stormer_verlet),
    "conformal_verlet": _damped("verlet"),
    "conformal_symplectic_euler": _damped("symplectic_euler"),
}


# --------------------------------------------------------------------------- diagnostics


def _canonical_j(n: int, like: torch.Tensor) -> torch.Tensor:
    """``J = [[0, I], [-I, 0]]`` for the ordering ``x = (z, p)``."""
    eye = torch.eye(n, dtype=like.dtype, device=like.device)
    zero = torch.zeros_like(eye)
    return torch.cat([torch.cat([zero, eye], 1), torch.cat([-eye, zero], 1)], 0)


def _step_jacobian(step_map: StepMap, z: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    if z.dim() != 1 or z.shape != p.shape:
        raise ValueError(f"z and p must be 1-D of the same shape, got z {tuple(z.shape)} and "
                         f"p {tuple(p.shape)}")
    n = z.shape[0]

    def flat(x: torch.Tensor) -> torch.Tensor:
        z_next, p_next = step_map(x[:n], x[n:])
        return torch.cat([z_next, p_next])

    return jacrev(flat)(torch.cat([z, p]))


def conformal_symplecticity_defect(step_map: StepMap, z: torch.Tensor, p: torch.Tensor,
                                   factor: float) -> float:
    """``‖DΦᵀ J DΦ - factor J‖_F`` at ``(z, p)`` (a single unbatched 1-D state each).

    ``step_map(z, p) -> (z', p')`` is one step; ``J = [[0, I], [-I, 0]]`` in the ordering
    ``x = (z, p)``; the Jacobian DΦ is taken with :func:`torch.func.jacrev`. For conformal
    symplectic schemes ``factor = e^{-γh}``.
    """
    jac = _step_jacobian(step_map, z, p)
    j = _canonical_j(z.shape[0], jac)
    return float(torch.linalg.matrix_norm(jac.T @ j @ jac - factor * j).detach())


def symplecticity_defect(step_map: StepMap, z: torch.Tensor, p: torch.Tensor) -> float:
    """``‖DΦᵀ J DΦ - J‖_F``: see :func:`conformal_symplecticity_defect` with factor 1."""
    return conformal_symplecticity_defect(step_map, z, p, 1.0)


def energy_drift(H: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
                 zs: torch.Tensor, ps: torch.Tensor, ts: torch.Tensor) -> float:
    """``max_k |H(t_k, z_k, p_k) - H(t_0, z_0, p_0)|``, maximised over the batch as well.

    ``zs``, ``ps`` are trajectories ``[K, ...]`` and ``ts`` their ``K`` times; ``H`` returns
    the per-sample energy of one time slice.
    """
    if zs.shape != ps.shape or zs.shape[0] != len(ts):
        raise ValueError(f"zs {tuple(zs.shape)}, ps {tuple(ps.shape)} and ts ({len(ts)}) "
                         f"must share the leading length")
    with torch.no_grad():
        e0 = H(ts[0], zs[0], ps[0])
        drift = max(float((H(ts[k], zs[k], ps[k]) - e0).abs().max()) for k in range(len(ts)))
    return drift
