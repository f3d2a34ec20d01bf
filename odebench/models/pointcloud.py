"""Point-cloud architectures of both papers (HBNODE App. E.2 / NesterovNODE App. D.2)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from odebench.models.base import ContinuousDepthModel, LearnedVelocity, ZeroAugment
from odebench.models.fields import MLPField, velocity_mlp
from odebench.models.registry import model_family
from odebench.solvers import SolverSpec


@dataclass(frozen=True)
class PointCloudSetup:
    """Per-paper architecture choices; widths are (n, h) per model."""

    widths: dict[str, tuple[int, int]]
    time_dependent_field: bool
    t_span: tuple[float, float]


SETUPS: dict[str, PointCloudSetup] = {
    # HBNODE paper Table 3 (n, h); f is time-invariant; t in [0, 1] (Sec. 5.1).
    "hbnode2021": PointCloudSetup(
        widths={"node": (2, 20), "anode": (3, 20), "sonode": (2, 13), "hbnode": (2, 14),
                "ghbnode": (2, 14)},
        time_dependent_field=False, t_span=(0.0, 1.0)),
    # NesterovNODE paper Table 4 (n, h); code concatenates t to f's input; t in [1, 2].
    "nesterov2022": PointCloudSetup(
        widths={"node": (2, 20), "anode": (3, 20), "sonode": (2, 13), "hbnode": (2, 14),
                "ghbnode": (2, 14), "nesterovnode": (2, 14), "gnesterovnode": (2, 14)},
        time_dependent_field=True, t_span=(1.0, 2.0)),
}

HEADS = {"tanh": nn.Tanh, "hardtanh": lambda: nn.Hardtanh(-1.0, 1.0)}
INPUT_DIM = 2


class UnknownSetupError(ValueError):
    pass


def pointcloud_setup(setup: str) -> PointCloudSetup:
    if setup not in SETUPS:
        raise UnknownSetupError(f"unknown setup {setup!r} for pointcloud; valid: "
                                f"{', '.join(SETUPS)}")
    return SETUPS[setup]


def pointcloud_models(setup: str) -> list[str]:
    """Models that are both registered and run by ``setup`` on the point cloud."""
    from odebench.models.registry import MODELS

    return [m for m in pointcloud_setup(setup).widths if m in MODELS]


def build_pointcloud_model(setup: str, model: str, solver: SolverSpec,
                           head: str = "tanh") -> ContinuousDepthModel:
    """``initial -> ODE on [t0, T] -> fc_1 -> head`` with the setup's widths.

    ``head``: ``tanh`` (both papers' text) or ``hardtanh`` (HardTanh(-1, 1), official code).
    """
    arch = pointcloud_setup(setup)
    family = model_family(model, allowed=pointcloud_models(setup))
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; valid: {', '.join(HEADS)}")
    n, hidden = arch.widths[model]
    field = MLPField(family.field_input(n), hidden, n, act="elu",
                     time_dependent=arch.time_dependent_field)
    if family.learned_initial_velocity:
        net = velocity_mlp(INPUT_DIM, hidden, family.order * n - INPUT_DIM)
        initial: nn.Module = LearnedVelocity(net, n, family.order)
    else:
        initial = ZeroAugment(n)
    return ContinuousDepthModel(initial, family.make_dynamics(field),
                                nn.Sequential(nn.Linear(n, 1), HEADS[head]()),
                                solver=solver, t_span=arch.t_span)
