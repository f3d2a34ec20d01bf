"""Silverbox initialisation test (HBNODE Sec. 3 / App. E.1, NesterovNODE Sec. 3 / App. D.1).

No training: f is one linear layer on [state, V1(t)] (``input_{n*+1} -> fc_n``), the
second-order models start from a learned constant velocity, and the test records ||h(t)||_2
for t = 0..63 (``hbnode2021``) or 1..63 (``nesterov2022``, k(t) is singular at 0).
The official code feeds V1(t); the HBNODE paper's text says V1(t)^3 (docs/PAPERS.md):
pass ``v1=lambda t: signal(t) ** 3`` for the latter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from odebench.models.base import (
    ContinuousDepthModel,
    FieldSpec,
    LearnedVelocity,
    ZeroAugment,
    count_parameters,
)
from odebench.models.defaults import INPUT_CHANNELS, dynamics_kwargs, model_options
from odebench.models.fields import ConstantVelocity, SignalLinearField
from odebench.models.registry import MODELS, ModelFamily
from odebench.solvers import SolverSpec

Signal = Callable[[torch.Tensor], torch.Tensor]


class SilverboxModel(ContinuousDepthModel):
    """A continuous-depth model whose output is the hidden trajectory h(t)."""

    def __init__(self, *args: Any, evaluation_times: torch.Tensor, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.register_buffer("evaluation_times", evaluation_times, persistent=False)

    def h_trajectory(self, x0: torch.Tensor,
                     times: torch.Tensor | None = None) -> torch.Tensor:
        """h at ``times`` (default: the setup's 0..63 / 1..63), shape ``[T, batch, n]``.

        ``x0``: the initial output value(s) V2(t0), shape ``[batch, 1]``.
        """
        times = (self.evaluation_times if times is None else times).to(x0.dtype)
        states = self.integrate(x0, times)
        pairs = zip(times, states, strict=True)
        return torch.stack([self.dynamics.readout(t, z) for t, z in pairs])


def build_silverbox_model(setup: str, model: str, solver: SolverSpec, v1: Signal,
                          **options: Any) -> SilverboxModel:
    """The ``setup``'s Silverbox init-test ``model`` driven by the input signal ``v1(t)``.

    ``v1(t)`` returns the (interpolated) input at time t, shape ``[batch, 1]`` or ``[1, 1]``.
    ``options`` as in :func:`odebench.models.defaults.model_options`.
    """
    resolved = model_options(setup, "silverbox", model, **options)
    return _assemble(MODELS[model], resolved["n"], resolved["h"], dynamics_kwargs(resolved),
                     solver, v1, resolved["t_span"])


def _assemble(family: ModelFamily, n: int, hidden: int | None, kwargs: dict[str, Any],
              solver: SolverSpec, v1: Signal, t_span: tuple[float, float]) -> SilverboxModel:
    c = INPUT_CHANNELS["silverbox"]
    if family.builds_field:
        dynamics = family.make_dynamics(FieldSpec("silverbox", "linear", n, hidden))
    else:
        field = SignalLinearField(family.field_input(n), n, v1)
        dynamics = family.make_dynamics(field, **kwargs)
    if family.learned_initial_velocity:
        # bias-free Linear(1 -> order*n - c) on ones: a learned constant (official code)
        initial: nn.Module = LearnedVelocity(ConstantVelocity(c, family.order * n - c), n,
                                             family.order)
    else:
        initial = ZeroAugment(n)  # ANODE: one zero dimension (HBNODE Sec. 3)
    t0, t_end = t_span
    times = torch.arange(t0, t_end + 1.0)
    return SilverboxModel(initial, dynamics, nn.Identity(), solver=solver, t_span=(t0, t_end),
                          evaluation_times=times)


def silverbox_parameter_count(setup: str, model: str, n: int, h: int | None) -> int:
    """Parameters of ``model`` with widths (n, h) in the Silverbox init test."""
    model_ = _assemble(MODELS[model], n, h, {}, SolverSpec(), lambda t: torch.zeros(1, 1),
                       (0.0, 1.0))
    return count_parameters(model_)
