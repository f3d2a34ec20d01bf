"""MNIST / CIFAR10 conv ODE models (HBNODE App. E.3, Table 3; NesterovNODE App. D.3-D.4, Table 4).

``initial -> conv ODE at full resolution on [t0, T] -> flatten -> fc_10``. NODE/ANODE pad the
input with zero channels to n; the second-order models learn 2n - c channels with a conv net,
concatenate them with x and split into (h0, m0) (footnotes: p = n - c extra channels).
"""

from __future__ import annotations

from typing import Any

from odebench.models.architectures import (
    IMAGE_SHAPES,
    N_CLASSES,
    assemble_image,
    check_image_task,
    image_parameter_count,
)
from odebench.models.base import ContinuousDepthModel
from odebench.models.defaults import dynamics_kwargs, model_options
from odebench.models.registry import MODELS
from odebench.solvers import SolverSpec

__all__ = ["IMAGE_SHAPES", "N_CLASSES", "build_image_model", "image_parameter_count"]


def build_image_model(setup: str, task: str, model: str, solver: SolverSpec,
                      image_shape: tuple[int, int, int] | None = None,
                      **options: Any) -> ContinuousDepthModel:
    """The ``setup``'s ``model`` for ``task`` in {mnist, cifar10} on images ``(C, H, W)``.

    ``image_shape`` defaults to the paper's (1x28x28 / 3x32x32); ``options`` as in
    :func:`odebench.models.defaults.model_options`.
    """
    check_image_task(task)
    resolved = model_options(setup, task, model, **options)
    shape = image_shape if image_shape is not None else IMAGE_SHAPES[task]
    return assemble_image(task, model, MODELS[model], resolved["n"], resolved["h"],
                          dynamics_kwargs(resolved), solver, shape, resolved["t_span"])
