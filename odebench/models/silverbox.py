"""Silverbox initialisation test (HBNODE Sec. 3 / App. E.1, NesterovNODE Sec. 3 / App. D.1).

No training: f is one linear layer on [state, V1(t)] (``input_{n*+1} -> fc_n``), the
second-order models start from a learned constant velocity, and the test records ||h(t)||_2
for t = 0..63 (``hbnode2021``) or 1..63 (``nesterov2022``, k(t) is singular at 0).
The official code feeds V1(t); the HBNODE paper's text says V1(t)^3 (docs/PAPERS.md):
pass ``v1=lambda t: signal(t) ** 3`` for the latter.
"""

from __future__ import annotations

from typing import Any

from odebench.models.architectures import (
    Signal,
    SilverboxModel,
    assemble_silverbox,
    silverbox_parameter_count,
)
from odebench.models.defaults import dynamics_kwargs, model_options
from odebench.models.registry import MODELS
from odebench.solvers import SolverSpec

__all__ = ["Signal", "SilverboxModel", "build_silverbox_model", "silverbox_parameter_count"]


def build_silverbox_model(setup: str, model: str, solver: SolverSpec, v1: Signal,
                          **options: Any) -> SilverboxModel:
    """The ``setup``'s Silverbox init-test ``model`` driven by the input signal ``v1(t)``.

    ``v1(t)`` returns the (interpolated) input at time t, shape ``[batch, 1]`` or ``[1, 1]``.
    ``options`` as in :func:`odebench.models.defaults.model_options`.
    """
    resolved = model_options(setup, "silverbox", model, **options)
    return assemble_silverbox(MODELS[model], resolved["n"], resolved["h"],
                              dynamics_kwargs(resolved), solver, v1, resolved["t_span"])
