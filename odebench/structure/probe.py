"""One view of any model for the structure properties: a vector field, states, a flow map.

:class:`FlowProbe` wraps a :class:`~odebench.models.base.ContinuousDepthModel` (every model
family of the registry) or an ODEtoODE flow block, so that each property function in
:mod:`odebench.structure.properties` runs on every model the same way. States are flattened
to ``[batch, d]``; ``field(t, z)`` is the model's first-order system on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from odebench.models.base import ContinuousDepthModel
from odebench.models.odetoode import WeightFlow
from odebench.solvers import SolverSpec, solve_with

Field = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class FlowProbe:
    """A model seen as ``dz/dt = field(t, z)`` on ``[t0, t1]`` from the states ``z0``.

    ``flow`` maps states at t0 to states at t1 with the model's own integrator, ``reverse``
    maps states at t1 back to t0 with the same integrator (None: not defined). ``module`` is
    the object whose structure hooks (``structure``, ``energy``, ``separable``, ...) the
    properties look up; ``unflatten`` turns ``[batch, d]`` back into the module's state shape.
    """

    name: str
    field: Field
    z0: torch.Tensor
    t0: float
    t1: float
    flow: Callable[[torch.Tensor], torch.Tensor]
    reverse: Callable[[torch.Tensor], torch.Tensor] | None
    parameters: list[nn.Parameter]
    module: nn.Module
    unflatten: Callable[[torch.Tensor], torch.Tensor]
    integrator: str
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def structure(self) -> tuple[str, ...]:
        return tuple(getattr(self.module, "structure", ()))

    def hook(self, name: str) -> Any:
        """A structure hook of the module, or None."""
        return getattr(self.module, name, None)


def probe_continuous(name: str, model: ContinuousDepthModel, x: torch.Tensor,
                     solver: SolverSpec | None = None) -> FlowProbe:
    """A probe of a continuous-depth model on inputs ``x`` (states z0 = initial(x))."""
    dynamics = model.dynamics
    with torch.no_grad():
        z0_shaped = model.initial(x)
    shape = z0_shaped.shape[1:]
    spec = solver or model.solver
    t0, t1 = (float(v) for v in model.t_span)

    def unflatten(z: torch.Tensor) -> torch.Tensor:
        return z.reshape(z.shape[0], *shape)

    def field_flat(t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return dynamics(t, unflatten(z)).flatten(1)

    def solve_between(other: SolverSpec, z: torch.Tensor, a: float, b: float) -> torch.Tensor:
        times = torch.tensor([a, b], dtype=z.dtype)
        params = [p for p in dynamics.parameters() if p.requires_grad]
        with dynamics.solve_context():
            return solve_with(other, field_flat, z, times,
                              adjoint_params=params if other.adjoint else None).ys[-1]

    def solve_span(other: SolverSpec, z: torch.Tensor) -> torch.Tensor:
        return solve_between(other, z, t0, t1)

    return FlowProbe(name, field_flat, z0_shaped.flatten(1).detach(), t0, t1,
                     lambda z: solve_between(spec, z, t0, t1),
                     lambda z: solve_between(spec, z, t1, t0), list(dynamics.parameters()),
                     dynamics, unflatten, f"{spec.method} (rtol {spec.rtol:g}, atol {spec.atol:g})",
                     extras={"solve": solve_span, "solver": spec})


def probe_weight_flow(name: str, block: WeightFlow, x: torch.Tensor) -> FlowProbe:
    """A probe of an explicit-Euler weight flow ``x_i = x_{i-1} + eta f(W_i x_{i-1} + b)``
    (ODEtoODE and its baselines); ``field`` is the piecewise-constant-in-t vector field of
    the step containing t, ``reverse`` runs the explicit steps backwards (not an exact
    inverse: its error is the Euler step's)."""
    eta, steps = block.eta, block.steps

    def step_index(t: torch.Tensor) -> int:
        return min(max(int(float(t) / eta), 0), steps - 1)

    def field_flat(t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        i = step_index(t)
        w = block.weights()[i]
        biases = block.biases()
        pre = z @ w.mT + (biases[i] if biases is not None else 0.0)
        return block.activation(pre)

    def reverse(z: torch.Tensor) -> torch.Tensor:
        weights, biases = block.weights(), block.biases()
        for i in reversed(range(steps)):
            pre = z @ weights[i].mT + (biases[i] if biases is not None else 0.0)
            z = z - eta * block.activation(pre)
        return z

    return FlowProbe(name, field_flat, x.detach(), 0.0, block.T, block, reverse,
                     list(block.parameters()), block, lambda z: z,
                     f"explicit Euler, eta {eta:g} (W-flow: {getattr(block, 'w_step', '-')})",
                     extras={"weights": block.weights})
