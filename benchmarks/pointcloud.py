"""asv benchmarks of the point-cloud models: solve time, training-step time and NFE.

``PointCloudTime`` / ``PointCloudNFE``: the ``hbnode2021`` NODE and HBNODE at initialisation
(forward solve, forward + adjoint backward). ``PointCloudTrainStep`` /
``PointCloudTrainStepNFE``: one full training iteration of each of the seven ``nesterov2022``
models (batch of 50 nested-circle points, float64, dopri5 at rtol = atol = 1e-5, adjoint).
"""

from __future__ import annotations

import torch

from benchmarks.fixtures import (
    MODELS,
    TRAIN_MODELS,
    _TrainStepNFE,
    _TrainStepTime,
    pointcloud_case,
)
from odebench.solvers import count_nfe


class PointCloudTime:
    """Wall time of one forward solve and of one forward + adjoint backward pass."""

    params = list(MODELS)
    param_names = ["model"]

    def setup(self, model_name: str) -> None:
        torch.set_num_threads(1)
        self.case = pointcloud_case(model_name)
        self.case.forward_backward()  # warm-up: first autograd/adjoint call is slow

    def time_forward(self, model_name: str) -> None:
        """One forward solve (dopri5, rtol=atol=1e-5, adjoint)."""
        self.case.forward()

    def time_forward_backward(self, model_name: str) -> None:
        """One forward solve, MSE loss and ``loss.backward()`` through the adjoint."""
        self.case.forward_backward()


class PointCloudNFE(_TrainStepNFE):
    """Exact forward and backward NFE of one forward + backward pass at initialisation
    (HBNODE-paper point cloud, no optimizer step)."""

    params = list(MODELS)

    def setup(self, model_name: str) -> None:
        torch.set_num_threads(1)
        case = pointcloud_case(model_name)
        with count_nfe() as meter:
            case.forward_backward()
        self.forward_nfe = meter.forward
        self.backward_nfe = meter.backward


class PointCloudTrainStep(_TrainStepTime):
    """Wall time of one full training iteration of a ``nesterov2022`` point-cloud model.

    zero_grad, forward (dopri5, rtol = atol = 1e-5, adjoint, float64) on the 50-point batch,
    SmoothL1 loss, adjoint backward and Adam step, as ``odebench.tasks.trainer.train`` does
    it inside ``count_nfe()``. ``setup`` restores the initial parameters and an empty Adam
    state before every timed call, so each call is the same first iteration.
    """

    task = "pointcloud"
    params = list(TRAIN_MODELS)


class PointCloudTrainStepNFE(_TrainStepNFE):
    """Exact forward and backward NFE of the first training iteration (seed 0)."""

    task = "pointcloud"
    params = list(TRAIN_MODELS)
