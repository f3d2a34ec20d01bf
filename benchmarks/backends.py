"""asv: the torchdiffeq and lean solver backends side by side.

``BackendSolve``: forward solve and forward + backprop of ``nesterov2022`` point-cloud models at
initialisation (120 points, float64, dopri5 at rtol = atol = 1e-7, no adjoint), and the forward
NFE, which the two backends share by construction. ``BackendTrainStep``: one training
iteration with the adjoint on the point cloud and on the Walker2D ODE-RNN.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from odebench.data.pointcloud import train_test_circles
from odebench.models.pointcloud import build_pointcloud_model
from odebench.solvers import SolverSpec, count_nfe

SPEC = SolverSpec(method="dopri5", rtol=1e-7, atol=1e-7, adjoint=False)


class BackendSolve:
    """Wall time and NFE per solve with each backend."""

    params = (["node", "hbnode", "gnesterovnode"], ["torchdiffeq", "lean"])
    param_names = ["model", "backend"]

    def setup(self, model_name: str, backend: str) -> None:
        torch.set_num_threads(1)
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            torch.manual_seed(0)
            self.model = build_pointcloud_model("nesterov2022", model_name,
                                                replace(SPEC, backend=backend)).eval()
        finally:
            torch.set_default_dtype(previous)
        (self.x, _), _ = train_test_circles(120, 10, 0)
        self.time_forward_backward(model_name, backend)  # warm-up

    def time_forward(self, model_name: str, backend: str) -> None:
        with torch.no_grad():
            self.model.integrate(self.x)

    def time_forward_backward(self, model_name: str, backend: str) -> None:
        self.model.zero_grad(set_to_none=True)
        self.model(self.x).square().sum().backward()

    def track_forward_nfe(self, model_name: str, backend: str) -> int:
        with torch.no_grad(), count_nfe() as meter:
            self.model.integrate(self.x)
        return meter.forward


class BackendTrainStep:
    """Wall time and NFE of one training iteration (forward, loss, adjoint backward, clipping,
    Adam) with each backend: the point-cloud models (nesterov2022, rtol = atol = 1e-5) and the
    Walker2D ODE-RNNs on the 32x16 batch (rtol = atol = 1e-7), as benchmarks/fixtures.py
    builds them; the backends make the same forward and backward NFE."""

    params = (["pointcloud", "walker2d"], ["node", "hbnode", "gnesterovnode"],
              ["torchdiffeq", "lean"])
    param_names = ["task", "model", "backend"]
    timeout = 300.0

    def setup(self, task: str, model_name: str, backend: str) -> None:
        from benchmarks.fixtures import pointcloud_train_case, walker_train_case

        torch.set_num_threads(1)
        self.case = (pointcloud_train_case(model_name) if task == "pointcloud"
                     else walker_train_case(model_name))
        self.case.model.solver = replace(self.case.model.solver, backend=backend)
        self.case.reset()
        self.case.step()  # warm-up

    def time_train_step(self, task: str, model_name: str, backend: str) -> None:
        self.case.reset()
        self.case.step()

    def track_backward_nfe(self, task: str, model_name: str, backend: str) -> int:
        self.case.reset()
        return self.case.step()[1].backward
