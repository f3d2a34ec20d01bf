"""MNIST / CIFAR10 conv ODE models (HBNODE App. E.3, Table 3; NesterovNODE App. D.3-D.4, Table 4).

``initial -> conv ODE at full resolution on [t0, T] -> flatten -> fc_10``. NODE/ANODE pad the
input with zero channels to n; the second-order models learn 2n - c channels with a conv net,
concatenate them with x and split into (h0, m0) (footnotes: p = n - c extra channels).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from odebench.models.base import (
    ContinuousDepthModel,
    FieldSpec,
    LearnedVelocity,
    ZeroAugment,
    count_parameters,
)
from odebench.models.defaults import UnknownTaskError, dynamics_kwargs, model_options
from odebench.models.fields import ConvField, velocity_conv
from odebench.models.registry import MODELS, ModelFamily
from odebench.solvers import SolverSpec

# The papers' input shapes (C, H, W); any H x W works (the smoke profile uses 8 x 8).
IMAGE_SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
N_CLASSES = 10  # output fc_10


def build_image_model(setup: str, task: str, model: str, solver: SolverSpec,
                      image_shape: tuple[int, int, int] | None = None,
                      **options: Any) -> ContinuousDepthModel:
    """The ``setup``'s ``model`` for ``task`` in {mnist, cifar10} on images ``(C, H, W)``.

    ``image_shape`` defaults to the paper's (1x28x28 / 3x32x32); ``options`` as in
    :func:`odebench.models.defaults.model_options`.
    """
    if task not in IMAGE_SHAPES:
        raise UnknownTaskError(f"unknown image task {task!r}; valid: {', '.join(IMAGE_SHAPES)}")
    resolved = model_options(setup, task, model, **options)
    shape = image_shape if image_shape is not None else IMAGE_SHAPES[task]
    return _assemble(task, model, MODELS[model], resolved["n"], resolved["h"],
                     dynamics_kwargs(resolved), solver, shape, resolved["t_span"])


def _assemble(task: str, model: str, family: ModelFamily, n: int, hidden: int | None,
              kwargs: dict[str, Any], solver: SolverSpec, image_shape: tuple[int, int, int],
              t_span: tuple[float, float]) -> ContinuousDepthModel:
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
    if task not in IMAGE_SHAPES:
        raise UnknownTaskError(f"unknown image task {task!r}; valid: {', '.join(IMAGE_SHAPES)}")
    return count_parameters(_assemble(task, model, MODELS[model], n, h, {}, SolverSpec(),
                                      IMAGE_SHAPES[task], (0.0, 1.0)))
