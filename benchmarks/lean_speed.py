"""asv: speed-up torchdiffeq / lean, measured as a ratio within one benchmark call.

``LeanSpeedupPointCloud``: ``nesterov2022`` point-cloud models at initialisation (120 points,
float32, dopri5 at rtol = atol = 1e-7), a forward solve without the adjoint and a forward solve
plus the adjoint backward pass. ``LeanSpeedupWalker``: one Walker2D training iteration on the
small batch (``benchmarks.fixtures.walker_train_case``, 32x16, adjoint). The backends take turns
at every repeat and are timed by the thread's CPU time (one torch thread), so other jobs on the
machine disturb the ratio little; each track is the median of the per-repeat ratios
(``benchmarks.ratios.interleaved_ratio``; issue targets: >= 2 on the point cloud, >= 1.5 on the
Walker paper batch). ``ratios.LeanVsTorchdiffeq`` tracks the inverse on a float64 batch.
"""

from __future__ import annotations

import torch

from benchmarks.lean_overhead import pointcloud_pair, speedup_and_times


class LeanSpeedupPointCloud:
    """torchdiffeq time / lean time of a point-cloud solve (forward; forward + adjoint)."""

    params = ["node", "hbnode", "gnesterovnode"]
    param_names = ["model"]
    timeout = 120.0
    n_pairs_forward = 40
    n_pairs_adjoint = 8

    def setup(self, model_name: str) -> None:
        torch.set_num_threads(1)

    def track_forward_speedup(self, model_name: str) -> float:
        pair = pointcloud_pair(model_name, torch.float32, adjoint=False)
        return speedup_and_times(pair.measures(), self.n_pairs_forward)[0]

    def track_adjoint_speedup(self, model_name: str) -> float:
        pair = pointcloud_pair(model_name, torch.float32, adjoint=True)
        return speedup_and_times(pair.measures(), self.n_pairs_adjoint)[0]

    track_forward_speedup.unit = "ratio"
    track_adjoint_speedup.unit = "ratio"


class LeanSpeedupWalker:
    """torchdiffeq time / lean time of one Walker2D training iteration (32x16 batch)."""

    params = ["node", "hbnode", "gnesterovnode"]
    param_names = ["model"]
    timeout = 120.0
    n_pairs = 3

    def setup(self, model_name: str) -> None:
        torch.set_num_threads(1)

    def track_train_step_speedup(self, model_name: str) -> float:
        from benchmarks.fixtures import walker_train_case
        from benchmarks.lean_walker import compare

        return compare(walker_train_case(model_name), self.n_pairs)[0]

    track_train_step_speedup.unit = "ratio"
