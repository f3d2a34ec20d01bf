"""Structural properties measured the same way on every model (review "Structure Preserving
Deep Learning", Celledoni et al. 2021, Secs. 2-4).

Each property is a function ``(probe, settings) -> Outcome`` over a
:class:`~odebench.structure.probe.FlowProbe`. A property a model cannot have (the energy of a
first-order NODE, the orthogonality of a model without O(d) weights) is an
:class:`Outcome` with ``value=None`` and the reason, never an exception. Values:

* ``flow_lipschitz``: max ‖DΦ(z)‖₂ of the flow map over sample states (Eq. 13: a lower
  bound of the stability constant C);
* ``one_sided_lipschitz``: max λ_max(½(∂f/∂z + ∂f/∂zᵀ)) over states on trajectories (Eq. 14;
  the flow is contractive when ≤ 0; Theorem 2.1: −μ*² ≤ ν ≤ 0 for the gradient flow);
* ``step_contractivity``: max ‖I + h ∂f/∂z‖₂ over states, the local expansion of one explicit
  Euler step of size h (Eq. 21), at ``settings.contractivity_h``; every h in the detail;
* ``energy_drift``: max |H(z_k) − H(z_0)| over many Störmer–Verlet steps (Hamiltonian
  models), or the residual of the dissipation law H(t) − H(0) + γ∫|p|² under the conformal
  symplectic splitting (damped models); RK4's figure in the detail;
* ``symplecticity_defect``: ‖DΦᵀJDΦ − J‖_F of the model's flow map over its time span
  (undamped Hamiltonian models), ``conformal_symplecticity_defect`` the same against
  e^{−γ(t₁−t₀)}J (damped ones);
* ``invertibility_error``: max ‖Φ⁻¹(Φ(z)) − z‖ / ‖z‖ of a forward then backward solve with
  the model's integrator (coupling and i-ResNet layers: their exact / fixed-point inverses
  in the detail);
* ``orthogonality_defect``: max_i ‖W_iᵀW_i − I‖_F of O(d)-valued weights (ODEtoODE);
* ``discrete_adjoint_error``: relative difference between the discrete adjoint recursion of
  explicit Euler with piecewise-constant parameters (Eq. 28) and autograd through the same
  Euler loop: round-off for every model (Theorem 3.2, Eqs. 29-30);
* ``adjoint_gradient_error``: relative difference between torchdiffeq's continuous adjoint
  and backprop through the same adaptive solver (Sec. 3.4.1: adjoint gradients are inexact).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from odebench.solvers import SolverSpec, solve
from odebench.structure.probe import FlowProbe

HAMILTONIAN = "hamiltonian"
DAMPED = "damped_hamiltonian"


@dataclass(frozen=True)
class Outcome:
    """A measured value with its detail, or ``value=None`` and the reason it does not apply."""

    value: float | None
    note: str = ""
    detail: dict[str, float] = field(default_factory=dict)

    @property
    def applicable(self) -> bool:
        return self.value is not None


def not_applicable(reason: str) -> Outcome:
    return Outcome(None, f"not applicable: {reason}")


@dataclass(frozen=True)
class PropertySettings:
    """Sizes of the measurements (ours; the review fixes none)."""

    samples: int = 8                  # states per time point
    times: int = 5                    # time points along the trajectories
    step_sizes: tuple[float, ...] = (0.05, 0.2, 1.0, 2.0)
    contractivity_h: float = 0.2
    energy_h: float = 0.1             # review Sec. 4 item 6: h = 0.1
    energy_steps: int = 10_000        # review Sec. 4 item 6: 10^3-10^5 steps
    euler_steps: int = 20             # steps of the discrete-adjoint check
    adjoint_rtol: float = 1e-6
    adjoint_atol: float = 1e-6
    fixed_point_iterations: int = 30  # i-ResNet inverse (review Eq. 46)

    def __post_init__(self) -> None:
        for name in ("samples", "times", "energy_steps", "euler_steps",
                     "fixed_point_iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        for name in ("contractivity_h", "energy_h", "adjoint_rtol",
                     "adjoint_atol"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: expected a positive number, got {value!r}")
        if not self.step_sizes or any(not h > 0 for h in self.step_sizes):
            raise ValueError(f"step_sizes: expected positive numbers, got {self.step_sizes!r}")


# --- helpers ----------------------------------------------------------------------------------

def _subset(probe: FlowProbe, settings: PropertySettings) -> torch.Tensor:
    return probe.z0[:settings.samples]


def _states_along(probe: FlowProbe, settings: PropertySettings) -> list[tuple[torch.Tensor,
                                                                             torch.Tensor]]:
    """``(t, z)`` pairs: the sample states carried along the field by fixed-step RK4 (a
    sampling device only; the properties themselves use the model's integrator)."""
    z0 = _subset(probe, settings)
    times = torch.linspace(probe.t0, probe.t1, settings.times, dtype=z0.dtype)
    if settings.times == 1:
        return [(times[0], z0)]
    step = abs(probe.t1 - probe.t0) / (4 * (settings.times - 1))
    with torch.no_grad():
        ys = solve(probe.field, z0, times, method="rk4", options={"step_size": step},
                   adjoint=False).ys
    return list(zip(times, ys, strict=True))


def _jacobian(function: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """``∂function/∂z`` at one flat state ``z`` of shape [d] (function maps [1, d] -> [1, d])."""
    return torch.autograd.functional.jacobian(lambda v: function(v[None])[0], z)


def _symplectic_form(d: int, dtype: torch.dtype) -> torch.Tensor:
    """J = [[0, I], [−I, 0]] in the (position, momentum) ordering of the flat state."""
    n = d // 2
    eye = torch.eye(n, dtype=dtype)
    zero = torch.zeros(n, n, dtype=dtype)
    return torch.cat((torch.cat((zero, eye), 1), torch.cat((-eye, zero), 1)), 0)


def _blocks(probe: FlowProbe, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    state = probe.unflatten(z)
    return state[:, 0], state[:, 1]


def _hamiltonian_hooks(probe: FlowProbe, damped: bool) -> str | None:
    """None when the probe has the structure and hooks of a (damped) Hamiltonian model."""
    wanted = DAMPED if damped else HAMILTONIAN
    if wanted not in probe.structure:
        kind = "a damped Hamiltonian" if damped else "an undamped Hamiltonian"
        return (f"{probe.name} is not {kind} system (its force is not the gradient of a "
                f"potential{'' if damped else ', or it is damped'}; structure: "
                f"{', '.join(probe.structure) or 'none declared'})")
    missing = [h for h in ("energy", "separable", *(("damping_rate",) if damped else ()))
               if probe.hook(h) is None]
    if missing:
        return f"{probe.name} declares {wanted} but lacks the hook(s) {', '.join(missing)}"
    return None


# --- properties -------------------------------------------------------------------------------

def flow_lipschitz(probe: FlowProbe, settings: PropertySettings) -> Outcome:
    """max over the sample states of ‖DΦ(z)‖₂ (exact Jacobians of the flow map)."""
    norms = [float(torch.linalg.matrix_norm(_jacobian(probe.flow, z.detach()), ord=2))
             for z in _subset(probe, settings)]
    return Outcome(max(norms), f"max ‖DΦ(z)‖₂ of the flow map over [{probe.t0:g}, "
                               f"{probe.t1:g}], {probe.integrator}")


def one_sided_lipschitz(probe: FlowProbe, settings: PropertySettings) -> Outcome:
    largest = -math.inf
    for t, states in _states_along(probe, settings):
        for z in states:
            jac = _jacobian(lambda v, t=t: probe.field(t, v), z.detach())
            largest = max(largest, float(torch.linalg.eigvalsh(0.5 * (jac + jac.T)).max()))
    detail: dict[str, float] = {}
    mu = probe.hook("min_singular_value")
    if "gradient_flow" in probe.structure and mu is not None:
        detail["theorem_2_1_lower_bound"] = -float(mu()) ** 2  # −μ*² ≤ ν ≤ 0
    return Outcome(largest, "max eigenvalue of the symmetric part of ∂f/∂z on trajectories",
                   detail)


def step_contractivity(probe: FlowProbe, settings: PropertySettings) -> Outcome:
    """max over states on trajectories of ‖I + h ∂f/∂z‖₂: the local expansion of one explicit
    Euler step of size h (exact for a linear field)."""
    rates = dict.fromkeys((*settings.step_sizes, settings.contractivity_h), 0.0)
    for t, states in _states_along(probe, settings):
        for z in states:
            jac = _jacobian(lambda v, t=t: probe.field(t, v), z.detach())
            eye = torch.eye(jac.shape[0], dtype=jac.dtype)
            for h in rates:
                rates[h] = max(rates[h], float(torch.linalg.matrix_norm(eye + h * jac, ord=2)))
    return Outcome(rates[settings.contractivity_h],
                   f"max ‖I + h ∂f/∂z‖₂ on trajectories, explicit Euler h = "
                   f"{settings.contractivity_h:g}",
                   {f"h={h:g}": r for h, r in sorted(rates.items())})


def energy_drift(probe: FlowProbe, settings: PropertySettings) -> Outcome:
    from odebench.solvers.symplectic import conformal_symplectic, stormer_verlet

    damped = DAMPED in probe.structure
    reason = _hamiltonian_hooks(probe, damped)
    if reason:
        return not_applicable(reason)
    grad_t, grad_v = probe.hook("separable")()
    energy = probe.hook("energy")
    h, steps = settings.energy_h, settings.energy_steps
    with torch.no_grad():
        q0, p0 = _blocks(probe, _subset(probe, settings))
        if damped:
            gamma = float(probe.hook("damping_rate")())
            qs, ps = conformal_symplectic(grad_t, grad_v, q0, p0, h, steps, gamma,
                                          t0=probe.t0)
        else:
            gamma = 0.0
            qs, ps = stormer_verlet(grad_t, grad_v, q0, p0, h, steps, t0=probe.t0)
        ours = _energy_error(energy, qs, ps, h, gamma, probe.t0)
        times = probe.t0 + h * torch.arange(steps + 1, dtype=q0.dtype)
        rk4 = solve(probe.field, torch.cat((q0, p0), 1), times, method="rk4",
                    options={"step_size": h}, adjoint=False).ys
        n = q0.shape[1]
        reference = _energy_error(energy, rk4[:, :, :n], rk4[:, :, n:], h, gamma, probe.t0)
    what = ("dissipation-law residual, conformal symplectic Verlet" if damped
            else "max |H − H0|, Störmer–Verlet")
    return Outcome(ours, f"{what}, {steps} steps of h = {h:g}", {"rk4": reference})


def _energy_error(energy: Callable, qs: torch.Tensor, ps: torch.Tensor, h: float,
                  gamma: float, t0: float) -> float:
    """max_k |H_k − H_0 + γ∫_0^{t_k}|p|²| (trapezoid rule; γ = 0: the plain drift)."""
    values = torch.stack([energy(torch.tensor(t0 + k * h, dtype=qs.dtype),
                                 torch.stack((q, p), 1))
                          for k, (q, p) in enumerate(zip(qs, ps, strict=True))])
    if gamma:
        power = (ps ** 2).sum(-1)
        dissipated = torch.cat((torch.zeros_like(power[:1]),
                                torch.cumsum(0.5 * h * (power[1:] + power[:-1]), 0)))
        values = values + gamma * dissipated
    drift = (values - values[0]).abs().max()
    return float(drift) if torch.isfinite(drift) else math.inf


def _flow_form_defect(probe: FlowProbe, factor: float) -> float:
    z = probe.z0[0].detach()
    jac = _jacobian(probe.flow, z)
    form = _symplectic_form(z.numel(), z.dtype)
    return float(torch.linalg.matrix_norm(jac.T @ form @ jac - factor * form))


def symplecticity_defect(probe: FlowProbe, settings: PropertySettings) -> Outcome:
    reason = _hamiltonian_hooks(probe, damped=False)
    if reason:
        return not_applicable(reason)
    return Outcome(_flow_form_defect(probe, 1.0),
                   f"‖DΦᵀJDΦ − J‖_F of the flow map, {probe.integrator}")


def conformal_symplecticity_defect(probe: FlowProbe, settings: PropertySettings) -> Outcome:
    reason = _hamiltonian_hooks(probe, damped=True)
    if reason:
        return not_applicable(reason)
    gamma = float(probe.hook("damping_rate")())
    factor = math.exp(-gamma * (probe.t1 - probe.t0))
    return Outcome(_flow_form_defect(probe, factor),
                   f"‖DΦᵀJDΦ − e^(−γT)J‖_F of the flow map, γ = {gamma:.4g}, "
                   f"{probe.integrator}")


def invertibility_error(probe: FlowProbe, settings: PropertySettings) -> Outcome:
    if probe.reverse is None:
        return not_applicable(f"{probe.name} has no backward integrator")
    z = _subset(probe, settings)
    with torch.no_grad():
        back = probe.reverse(probe.flow(z))
        error = float(((back - z).norm(dim=1) / z.norm(dim=1).clamp_min(1e-300)).max())
        detail = _layer_inverse_errors(probe, z, settings)
    return Outcome(error, f"forward then backward, {probe.integrator}", detail)


def _layer_inverse_errors(probe: FlowProbe, z: torch.Tensor,
                          settings: PropertySettings) -> dict[str, float]:
    """Exact inverse of a coupling step; fixed-point inverse of an i-ResNet step (h = 1)."""
    detail: dict[str, float] = {}
    t = torch.tensor(probe.t0, dtype=z.dtype)
    shears = probe.hook("shear_blocks")
    if shears is not None:
        f1, f2 = shears()
        q, p = _blocks(probe, z)
        y1 = q + f1(t, p)
        y2 = p + f2(t, y1)
        p_back = y2 - f2(t, y1)
        q_back = y1 - f1(t, p_back)
        detail["coupling_inverse"] = float((torch.cat((q_back - q, p_back - p), 1)).norm()
                                           / z.norm())
    if "lipschitz_bounded" in probe.structure:
        y = z + probe.field(t, z)
        x = y.clone()
        for _ in range(settings.fixed_point_iterations):
            x = y - probe.field(t, x)
        detail["iresnet_fixed_point"] = float((x - z).norm() / z.norm())
    return detail


def orthogonality_defect(probe: FlowProbe, settings: PropertySettings) -> Outcome:
    weights = probe.extras.get("weights")
    if weights is None:
        return not_applicable(f"{probe.name} has no O(d)-valued weights")
    with torch.no_grad():
        w = weights()
        eye = torch.eye(w.shape[-1], dtype=w.dtype)
        defect = torch.linalg.matrix_norm(w.mT @ w - eye).max()
    return Outcome(float(defect), f"max_i ‖W_iᵀW_i − I‖_F over {w.shape[0]} steps")


def discrete_adjoint_error(probe: FlowProbe, settings: PropertySettings) -> Outcome:
    """Eq. 28 for z_{k+1} = z_k + h f(t_k, z_k), L = ½‖z_K‖²: p_K = z_K,
    p_k = p_{k+1} + h (∂f/∂z)ᵀ p_{k+1}, ∂L/∂θ = Σ_k h (∂f/∂θ)ᵀ p_{k+1}."""
    params = [p for p in probe.parameters if p.requires_grad]
    if not params:
        return not_applicable(f"{probe.name} has no trainable parameters in its vector field")
    steps = settings.euler_steps
    h = (probe.t1 - probe.t0) / steps
    z0 = _subset(probe, settings)
    times = [torch.tensor(probe.t0 + k * h, dtype=z0.dtype) for k in range(steps)]
    states, z = [z0], z0
    for t in times:
        z = z + h * probe.field(t, z)
        states.append(z)
    loss = 0.5 * (states[-1] ** 2).sum()
    autograd = torch.autograd.grad(loss, params, allow_unused=True)
    p = states[-1].detach()
    recursion = [torch.zeros_like(q) for q in params]
    for k in reversed(range(steps)):
        zk = states[k].detach().requires_grad_(True)
        vjp = torch.autograd.grad((probe.field(times[k], zk) * p).sum(), [zk, *params],
                                  allow_unused=True)
        for i, g in enumerate(vjp[1:]):
            if g is not None:
                recursion[i] = recursion[i] + h * g
        p = p + h * vjp[0]
    flat_auto = torch.cat([(g if g is not None else torch.zeros_like(q)).flatten()
                           for g, q in zip(autograd, params, strict=True)])
    flat_rec = torch.cat([g.flatten() for g in recursion])
    scale = flat_auto.norm().clamp_min(1e-300)
    return Outcome(float((flat_rec - flat_auto).norm() / scale),
                   f"Eq. 28 recursion vs autograd, {steps} Euler steps")


def adjoint_gradient_error(probe: FlowProbe, settings: PropertySettings) -> Outcome:
    solve_span = probe.extras.get("solve")
    spec: SolverSpec | None = probe.extras.get("solver")
    if solve_span is None or spec is None:
        return not_applicable(f"{probe.name} is a discrete flow: no continuous adjoint "
                              "(backprop through its steps is exact)")
    params = [p for p in probe.parameters if p.requires_grad]
    if not params:
        return not_applicable(f"{probe.name} has no trainable parameters in its vector field")
    method = spec.method if spec.method in ("dopri5", "bosh3", "adaptive_heun") else "dopri5"
    base = replace(spec, method=method, rtol=settings.adjoint_rtol, atol=settings.adjoint_atol,
                   options=None)
    z0 = _subset(probe, settings)
    grads = []
    for adjoint in (True, False):
        loss = 0.5 * (solve_span(replace(base, adjoint=adjoint), z0) ** 2).sum()
        grads.append(torch.cat([(g if g is not None else torch.zeros_like(q)).flatten()
                                for g, q in zip(torch.autograd.grad(loss, params,
                                                                    allow_unused=True),
                                                params, strict=True)]))
    error = (grads[0] - grads[1]).norm() / grads[1].norm().clamp_min(1e-300)
    return Outcome(float(error), f"adjoint vs backprop, {method} rtol "
                                 f"{settings.adjoint_rtol:g} atol {settings.adjoint_atol:g}")


PROPERTIES: dict[str, Callable[[FlowProbe, PropertySettings], Outcome]] = {
    "flow_lipschitz": flow_lipschitz,
    "one_sided_lipschitz": one_sided_lipschitz,
    "step_contractivity": step_contractivity,
    "energy_drift": energy_drift,
    "symplecticity_defect": symplecticity_defect,
    "conformal_symplecticity_defect": conformal_symplecticity_defect,
    "invertibility_error": invertibility_error,
    "orthogonality_defect": orthogonality_defect,
    "discrete_adjoint_error": discrete_adjoint_error,
    "adjoint_gradient_error": adjoint_gradient_error,
}


def measure(probe: FlowProbe, names: list[str] | None = None,
            settings: PropertySettings | None = None) -> dict[str, Outcome]:
    """Every property (or ``names``) of one probe; an unknown name is a ValueError."""
    settings = settings or PropertySettings()
    names = list(PROPERTIES) if names is None else names
    unknown = [n for n in names if n not in PROPERTIES]
    if unknown:
        raise ValueError(f"unknown structure propert{'y' if len(unknown) == 1 else 'ies'} "
                         f"{', '.join(unknown)}; valid: {', '.join(PROPERTIES)}")
    return {name: PROPERTIES[name](probe, settings) for name in names}
