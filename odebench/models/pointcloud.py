"""Point-cloud architectures of both papers (HBNODE App. E.2 / NesterovNODE App. D.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from odebench.models.base import (
    ContinuousDepthModel,
    FieldSpec,
    LearnedVelocity,
    ZeroAugment,
    count_parameters,
)
from odebench.models.defaults import (
    T_SPANS,
    WIDTHS,
    UnknownSetupError,
    dynamics_kwargs,
    model_options,
    task_models,
)
from odebench.models.fields import MLPField, velocity_mlp
from odebench.models.registry import MODELS, ModelFamily
from odebench.solvers import SolverSpec

__all__ = ["HEADS", "INPUT_DIM", "SETUPS", "PointCloudSetup", "UnknownSetupError",
           "build_pointcloud_model", "pointcloud_models", "pointcloud_parameter_count",
           "pointcloud_setup"]


@dataclass(frozen=True)
class PointCloudSetup:
    """Per-paper architecture choices; widths are (n, h) per model."""

    widths: dict[str, tuple[int, int | None]]
    time_dependent_field: bool
    t_span: tuple[float, float]


SETUPS: dict[str, PointCloudSetup] = {
    # HBNODE paper Table 3 (n, h); f is time-invariant; t in [0, 1] (Sec. 5.1).
    "hbnode2021": PointCloudSetup(WIDTHS[("hbnode2021", "pointcloud")],
                                  time_dependent_field=False, t_span=T_SPANS["hbnode2021"]),
    # NesterovNODE paper Table 4 (n, h); code concatenates t to f's input (needed for the
    # Table 1 counts); t in [1, 2] (Sec. 5.1).
    "nesterov2022": PointCloudSetup(WIDTHS[("nesterov2022", "pointcloud")],
                                    time_dependent_field=True, t_span=T_SPANS["nesterov2022"]),
}

# Output fc_1 -> Tanh (both papers' text); HardTanh(-1, 1) in both official codes.
HEADS = {"tanh": nn.Tanh, "hardtanh": lambda: nn.Hardtanh(-1.0, 1.0)}
INPUT_DIM = 2  # 2-D points (both papers' nested circles)


def pointcloud_setup(setup: str) -> PointCloudSetup:
    if setup not in SETUPS:
        raise UnknownSetupError(f"unknown setup {setup!r} for pointcloud; valid: "
                                f"{', '.join(SETUPS)}")
    return SETUPS[setup]


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
    return _assemble(setup, MODELS[model], resolved["n"], resolved["h"],
                     dynamics_kwargs(resolved), solver, head)


def _assemble(setup: str, family: ModelFamily, n: int, hidden: int | None,
              kwargs: dict[str, Any], solver: SolverSpec, head: str) -> ContinuousDepthModel:
    arch = pointcloud_setup(setup)
    if family.builds_field:
        dynamics = family.make_dynamics(FieldSpec("pointcloud", "mlp", n, hidden,
                                                  arch.time_dependent_field))
    else:
        # Field: input_{n*} -> fc_h -> ELU -> fc_h -> ELU -> fc_n (App. E.2 / D.2)
        field = MLPField(family.field_input(n), hidden, n, act="elu",
                         time_dependent=arch.time_dependent_field)
        dynamics = family.make_dynamics(field, **kwargs)
    if family.learned_initial_velocity:
        net = velocity_mlp(INPUT_DIM, hidden, family.order * n - INPUT_DIM)
        initial: nn.Module = LearnedVelocity(net, n, family.order)
    else:
        initial = ZeroAugment(n)
    return ContinuousDepthModel(initial, dynamics, nn.Sequential(nn.Linear(n, 1), HEADS[head]()),
                                solver=solver, t_span=arch.t_span)


def pointcloud_parameter_count(setup: str, model: str, n: int, h: int | None) -> int:
    """Parameters of ``model`` with widths (n, h) on the point cloud (default options)."""
    return count_parameters(_assemble(setup, MODELS[model], n, h, {}, SolverSpec(), "tanh"))
