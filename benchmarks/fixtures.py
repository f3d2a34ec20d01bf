"""The fixed point-cloud case every benchmark measures: seeded data, model and loss."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional

from odebench.data.pointcloud import nested_circles
from odebench.models.base import ContinuousDepthModel
from odebench.models.pointcloud import build_pointcloud_model
from odebench.solvers import SolverSpec

SETUP = "hbnode2021"
MODELS = ("node", "hbnode")
N_POINTS = 50
DATA_SEED = 0
MODEL_SEED = 0
DTYPE = torch.float64
TOL = 1e-5
SOLVER = SolverSpec(method="dopri5", rtol=TOL, atol=TOL, adjoint=True)


@dataclass
class PointCloudCase:
    """A seeded point-cloud model with its fixed batch ``x`` and labels ``y`` in +-1."""

    model: ContinuousDepthModel
    x: torch.Tensor
    y: torch.Tensor

    def forward(self) -> torch.Tensor:
        """One forward solve: the model's predictions on the batch."""
        return self.model(self.x)

    def forward_backward(self) -> torch.Tensor:
        """One training step without the update: MSE loss (hbnode2021) and ``backward()``."""
        self.model.zero_grad(set_to_none=True)
        loss = functional.mse_loss(self.model(self.x), self.y)
        loss.backward()
        return loss


def pointcloud_case(model_name: str) -> PointCloudCase:
    """The ``hbnode2021`` point-cloud ``model_name`` at initialisation on 50 nested circles.

    Data and weights are seeded, so every call returns the same case (and the same NFE).
    """
    x, y = nested_circles(N_POINTS, seed=DATA_SEED, dtype=DTYPE)
    torch.manual_seed(MODEL_SEED)
    model = build_pointcloud_model(SETUP, model_name, SOLVER).to(dtype=DTYPE)
    return PointCloudCase(model=model, x=x, y=y)
