"""The task architectures at given widths (n, h), assembled without option resolution.

The point cloud (HBNODE App. E.2 / NesterovNODE App. D.2), the MNIST / CIFAR10 conv models
(HBNODE App. E.3 / NesterovNODE App. D.3-D.4) and the Silverbox initialisation test (HBNODE
App. E.1 / NesterovNODE App. D.1). The builders of :mod:`~odebench.models.pointcloud`,
:mod:`~odebench.models.images` and :mod:`~odebench.models.silverbox` resolve the options with
:func:`odebench.models.defaults.model_options` and assemble here; :mod:`odebench.models.sizing`
counts parameters here, below the option defaults, so the imports flow one way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from odebench.models.fields import (
    ConstantVelocity,
    ConvField,
    MLPField,
    SignalLinearField,
    velocity_conv,
    velocity_mlp,
)
from odebench.models.registry import MODELS, ModelFamily
from odebench.models.tables import (
    INPUT_CHANNELS,
    T_SPANS,
    WIDTHS,
    UnknownSetupError,
    UnknownTaskError,
)
from odebench.solvers import SolverSpec

# --------------------------------------------------------------------------- point cloud


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


def assemble_pointcloud(setup: str, family: ModelFamily, n: int, hidden: int | None,
                        kwargs: dict[str, Any], solver: SolverSpec,
                        head: str) -> ContinuousDepthModel:
    """``initial -> ODE on [t0, T] -> fc_1 -> head`` with widths (n, hidden)."""
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
    return count_parameters(assemble_pointcloud(setup, MODELS[model], n, h, {}, SolverSpec(),
                                                "tanh"))


# --------------------------------------------------------------------------- images

# The papers' input shapes (C, H, W); any H x W works (the smoke profile uses 8 x 8).
IMAGE_SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
N_CLASSES = 10  # output fc_10


def check_image_task(task: str) -> None:
    if task not in IMAGE_SHAPES:
        raise UnknownTaskError(f"unknown image task {task!r}; valid: {', '.join(IMAGE_SHAPES)}")


def assemble_image(task: str, model: str, family: ModelFamily, n: int, hidden: int | None,
                   kwargs: dict[str, Any], solver: SolverSpec,
                   image_shape: tuple[int, int, int],
                   t_span: tuple[float, float]) -> ContinuousDepthModel:
    """``initial -> conv ODE at full resolution on t_span -> flatten -> fc_10``."""
    c, height, width = image_shape
    learned = family.order * n - c
    if c > n:
        raise ValueError(f"{model} on {task} has n = {n} state channels; images with {c} "
                         f"channels do not fit")
    if family.builds_field:
        dynamics = family.make_dynamics(FieldSpec(task, "conv", n, hidden, True))
    else:
        field = ConvField(family.field_input(n), hidden, n)
        dynamics = family.make_dynamics(field, **kwargs)
    if family.learned_initial_velocity:
        initial: nn.Module = LearnedVelocity(velocity_conv(c, hidden, learned), n, family.order)
    else:
        initial = ZeroAugment(n)
    head = nn.Sequential(nn.Flatten(), nn.Linear(n * height * width, N_CLASSES))
    return ContinuousDepthModel(initial, dynamics, head, solver=solver, t_span=t_span)


def image_parameter_count(setup: str, task: str, model: str, n: int, h: int | None) -> int:
    """Parameters of ``model`` with widths (n, h) on ``task`` at the paper's image shape."""
    check_image_task(task)
    return count_parameters(assemble_image(task, model, MODELS[model], n, h, {}, SolverSpec(),
                                           IMAGE_SHAPES[task], (0.0, 1.0)))


# --------------------------------------------------------------------------- Silverbox

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


def assemble_silverbox(family: ModelFamily, n: int, hidden: int | None,
                       kwargs: dict[str, Any], solver: SolverSpec, v1: Signal,
                       t_span: tuple[float, float]) -> SilverboxModel:
    """f one linear layer on [state, V1(t)]; h(t) read at every integer t of ``t_span``."""
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
    model_ = assemble_silverbox(MODELS[model], n, h, {}, SolverSpec(),
                                lambda t: torch.zeros(1, 1), (0.0, 1.0))
    return count_parameters(model_)


# --------------------------------------------------------------------------- any task


def parameter_count(setup: str, task: str, model: str, n: int, h: int | None) -> int:
    """Parameters of ``model`` with widths (n, h), assembled as ``task`` assembles it."""
    if task == "pointcloud":
        return pointcloud_parameter_count(setup, model, n, h)
    if task == "silverbox":
        return silverbox_parameter_count(setup, model, n, h)
    return image_parameter_count(setup, task, model, n, h)
