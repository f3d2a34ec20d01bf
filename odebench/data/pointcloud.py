"""Nested-circles point cloud (HBNODE Sec. 5.1, NesterovNODE Sec. 5.1).

Class -1: uniform in the disk r < 0.5; class +1: uniform in the annulus 0.85 < r < 1.0.
Points are drawn uniformly in [-1, 1]^2 and kept by rejection (SONODE ``make_data.py``).
"""

from __future__ import annotations

import numpy as np
import torch

INNER_RADIUS = 0.5            # HBNODE App. E.2 / NesterovNODE Sec. 5.1
OUTER_RADII = (0.85, 1.0)     # annulus radii, same sources


def _rejection_sample(rng: np.random.Generator, count: int, low: float, high: float) -> np.ndarray:
    points = np.empty((0, 2))
    while len(points) < count:
        candidates = rng.uniform(-1.0, 1.0, size=(4 * count + 16, 2))
        radius = np.linalg.norm(candidates, axis=1)
        points = np.concatenate([points, candidates[(radius >= low) & (radius < high)]])
    return points[:count]


def nested_circles(n_points: int, seed: int, inner_fraction: float = 1 / 3,
                   dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_points`` shuffled points and labels in {-1, +1}, a third of them inner by default
    (the papers' 40 inner / 80 outer split)."""
    if n_points < 2:
        raise ValueError(f"n_points must be at least 2, got {n_points}")
    rng = np.random.default_rng(seed)
    n_inner = max(1, round(n_points * inner_fraction))
    inner = _rejection_sample(rng, n_inner, 0.0, INNER_RADIUS)
    outer = _rejection_sample(rng, n_points - n_inner, *OUTER_RADII)
    x = np.concatenate([inner, outer])
    y = np.concatenate([-np.ones(n_inner), np.ones(n_points - n_inner)])
    order = rng.permutation(n_points)
    return (torch.as_tensor(x[order], dtype=dtype),
            torch.as_tensor(y[order, None], dtype=dtype))
