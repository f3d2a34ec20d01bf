"""asv benchmarks of the point-cloud NODE and HBNODE: solve time and NFE at initialisation."""

from __future__ import annotations

import torch

from benchmarks.fixtures import MODELS, pointcloud_case
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


class PointCloudNFE:
    """Exact forward and backward NFE of one training step at initialisation."""

    params = list(MODELS)
    param_names = ["model"]
    unit = "NFE"

    def setup(self, model_name: str) -> None:
        torch.set_num_threads(1)
        case = pointcloud_case(model_name)
        with count_nfe() as meter:
            case.forward_backward()
        self.forward_nfe = meter.forward
        self.backward_nfe = meter.backward

    def track_forward_nfe(self, model_name: str) -> int:
        """Vector-field calls of the forward solve."""
        return self.forward_nfe

    def track_backward_nfe(self, model_name: str) -> int:
        """Vector-field calls of the adjoint solve inside ``loss.backward()``."""
        return self.backward_nfe
