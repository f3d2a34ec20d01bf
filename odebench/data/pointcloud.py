"""Nested-circles point cloud (HBNODE Sec. 5.1, NesterovNODE Sec. 5.1).

Class -1: the disk r < 0.5; class +1: the annulus 0.85 < r < 1.0. Every set has exact class
counts (a third inner by default: the papers' 40 inner / 80 outer). Two samplers:

* ``rejection`` (default): uniform by area. Points are drawn uniformly in [-1, 1]^2 and kept
  by rejection (SONODE ``make_data.py``, the HBNODE code's data).
* ``radial``: the NesterovNODE code's ``random_point_in_sphere`` (ANODE's data loader):
  radius ``lo + (hi - lo) * sqrt(u)`` with u ~ U[0, 1) and a uniform direction (a normalised
  Gaussian). Area-uniform in the disk, but denser towards the annulus' inner edge.

:func:`train_test_circles` draws the train and test sets from independent seed streams.
"""

from __future__ import annotations

import numpy as np
import torch

INNER_RADIUS = 0.5            # HBNODE App. E.2 / NesterovNODE Sec. 5.1
OUTER_RADII = (0.85, 1.0)     # annulus radii, same sources
INNER_FRACTION = 1 / 3        # the papers' 40 inner / 80 outer points
SAMPLERS = ("rejection", "radial")

Seed = int | np.random.SeedSequence


def _rejection_sample(rng: np.random.Generator, count: int, low: float, high: float) -> np.ndarray:
    points = np.empty((0, 2))
    while len(points) < count:
        candidates = rng.uniform(-1.0, 1.0, size=(4 * count + 16, 2))
        radius = np.linalg.norm(candidates, axis=1)
        points = np.concatenate([points, candidates[(radius >= low) & (radius < high)]])
    return points[:count]


def _radial_sample(rng: np.random.Generator, count: int, low: float, high: float) -> np.ndarray:
    """NesterovNODE code: ``distance = (max_radius - min_radius) * (unif ** (1. / dim)) +
    min_radius`` (dim = 2) times ``direction / torch.norm(direction, 2)``, direction ~ N(0, I)."""
    radius = (high - low) * np.sqrt(rng.random(count)) + low
    direction = rng.standard_normal((count, 2))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return radius[:, None] * direction


_SAMPLE = {"rejection": _rejection_sample, "radial": _radial_sample}


def class_counts(n_points: int, inner_fraction: float = INNER_FRACTION) -> tuple[int, int]:
    """(inner, outer) counts of an ``n_points`` set: ``round(n * inner_fraction)`` inner, at
    least one point per class when ``n_points >= 2``."""
    if n_points < 1:
        raise ValueError(f"n_points must be at least 1, got {n_points}")
    n_inner = max(1, round(n_points * inner_fraction))
    if n_points >= 2:
        n_inner = min(n_inner, n_points - 1)
    return n_inner, n_points - n_inner


def nested_circles(n_points: int, seed: Seed, inner_fraction: float = INNER_FRACTION,
                   dtype: torch.dtype = torch.float64,
                   sampler: str = "rejection") -> tuple[torch.Tensor, torch.Tensor]:
    """``n_points`` shuffled points and labels in {-1, +1} with exact class counts
    (:func:`class_counts`), drawn by ``sampler`` (see the module docstring)."""
    if sampler not in _SAMPLE:
        raise ValueError(f"unknown sampler {sampler!r}; valid: {', '.join(SAMPLERS)}")
    n_inner, n_outer = class_counts(n_points, inner_fraction)
    rng = np.random.default_rng(seed)
    inner = _SAMPLE[sampler](rng, n_inner, 0.0, INNER_RADIUS)
    outer = _SAMPLE[sampler](rng, n_outer, *OUTER_RADII)
    x = np.concatenate([inner, outer])
    y = np.concatenate([-np.ones(n_inner), np.ones(n_outer)])
    order = rng.permutation(n_points)
    return (torch.as_tensor(x[order], dtype=dtype),
            torch.as_tensor(y[order, None], dtype=dtype))


def train_test_circles(n_train: int, n_test: int, seed: int,
                       inner_fraction: float = INNER_FRACTION,
                       dtype: torch.dtype = torch.float64, sampler: str = "rejection",
                       ) -> tuple[tuple[torch.Tensor, torch.Tensor],
                                  tuple[torch.Tensor, torch.Tensor]]:
    """Train and test sets, each with exact class counts, from two independent streams
    spawned from ``seed`` (so the training set does not depend on ``n_test``)."""
    train_stream, test_stream = np.random.SeedSequence(seed).spawn(2)
    return (nested_circles(n_train, train_stream, inner_fraction, dtype, sampler),
            nested_circles(n_test, test_stream, inner_fraction, dtype, sampler))
