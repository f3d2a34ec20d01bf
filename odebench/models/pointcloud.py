"""Point-cloud architectures of both papers (HBNODE App. E.2 / NesterovNODE App. D.2).

The builder resolves the options (:func:`~odebench.models.defaults.model_options`) and
assembles the model in :mod:`~odebench.models.architectures`, where the setups live.
"""

from __future__ import annotations

from typing import Any

from odebench.models.architectures import (
    HEADS,
    INPUT_DIM,
    SETUPS,
    PointCloudSetup,
    assemble_pointcloud,
    pointcloud_parameter_count,
    pointcloud_setup,
)
from odebench.models.base import ContinuousDepthModel
from odebench.models.defaults import dynamics_kwargs, model_options
from odebench.models.registry import MODELS
from odebench.models.tables import UnknownSetupError, task_models
from odebench.solvers import SolverSpec

__all__ = ["HEADS", "INPUT_DIM", "SETUPS", "PointCloudSetup", "UnknownSetupError",
           "build_pointcloud_model", "pointcloud_models", "pointcloud_parameter_count",
           "pointcloud_setup"]


def pointcloud_models(setup: str) -> list[str]:
    """Models that are both registered and run by ``setup`` on the point cloud."""
    pointcloud_setup(setup)
    return task_models(setup, "pointcloud")


def build_pointcloud_model(setup: str, model: str, solver: SolverSpec, head: str = "tanh",
                           **options: Any) -> ContinuousDepthModel:
    """``initial -> ODE on [t0, T] -> fc_1 -> head`` with the setup's widths.

    ``head``: ``tanh`` (both papers' text) or ``hardtanh`` (HardTanh(-1, 1), official code).
    ``options``: model options (``variant``, ``sigma``, ``sigma_on_f``, ``xi``,
    ``xi_learnable``, ``r``), resolved by :func:`odebench.models.defaults.model_options`:
    GHBNODE / GNesterovNODE sigma and xi per setup (paper value by default,
    ``variant="official_code"`` for the code's; see ``defaults.GATES``).
    """
    pointcloud_setup(setup)
    resolved = model_options(setup, "pointcloud", model, **options)
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; valid: {', '.join(HEADS)}")
    return assemble_pointcloud(setup, MODELS[model], resolved["n"], resolved["h"],
                               dynamics_kwargs(resolved), solver, head)
