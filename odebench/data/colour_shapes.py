"""A generated 10-class colour image set: the offline stand-in for CIFAR-10.

Class ``k`` is a shape (disc, square, ring, cross, stripes, ...) drawn in colour ``k`` of a hue
wheel, at a random position and size, over a random dark background, plus pixel noise and
colour jitter. Deterministic for a given seed; classes exactly balanced (up to one image).
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable, Sequence

import numpy as np

N_CLASSES = 10
Mask = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

SHAPES: tuple[Mask, ...] = (
    lambda dx, dy, r: dx**2 + dy**2 < r**2,                                        # disc
    lambda dx, dy, r: np.maximum(abs(dx), abs(dy)) < 0.8 * r,                      # square
    lambda dx, dy, r: abs(np.sqrt(dx**2 + dy**2) - 0.75 * r) < 0.22 * r,           # ring
    lambda dx, dy, r: ((abs(dx) < 0.25 * r) & (abs(dy) < r))
    | ((abs(dy) < 0.25 * r) & (abs(dx) < r)),                                       # cross
    lambda dx, dy, r: (np.maximum(abs(dx), abs(dy)) < r) & (np.sin(9 * dy) > 0),  # h stripes
    lambda dx, dy, r: (np.maximum(abs(dx), abs(dy)) < r) & (np.sin(9 * dx) > 0),  # v stripes
    lambda dx, dy, r: abs(dx) + abs(dy) < r,                                       # diamond
    lambda dx, dy, r: (dy < 0.7 * r) & (abs(dx) < 0.6 * (dy + r)),                 # triangle
    lambda dx, dy, r: (np.maximum(abs(dx), abs(dy)) < r)
    & (np.sin(7 * dx) * np.sin(7 * dy) > 0),                                        # checkers
    lambda dx, dy, r: abs(np.maximum(abs(dx), abs(dy)) - 0.8 * r) < 0.2 * r,       # frame
)
COLOURS = np.array([colorsys.hsv_to_rgb(k / N_CLASSES, 0.85, 0.95) for k in range(N_CLASSES)])


def colour_shapes(n: int, seed: int | Sequence[int] = 0, size: int = 32,
                  noise: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (uint8, n x 3 x size x size) and their int64 labels 0..9."""
    if n < 0 or size < 4:
        raise ValueError(f"need n >= 0 and size >= 4, got n={n}, size={size}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % N_CLASSES).astype(np.int64)
    grid = np.linspace(-1.0, 1.0, size)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    centre = rng.uniform(-0.3, 0.3, size=(n, 2, 1, 1))
    radius = rng.uniform(0.4, 0.65, size=(n, 1, 1))
    dx, dy = xx - centre[:, 0], yy - centre[:, 1]
    mask = np.zeros((n, size, size), dtype=bool)
    for k, shape in enumerate(SHAPES):
        chosen = labels == k
        mask[chosen] = shape(dx[chosen], dy[chosen], radius[chosen])
    foreground = np.clip(COLOURS[labels] + rng.normal(0.0, 0.08, size=(n, 3)), 0.0, 1.0)
    background = rng.uniform(0.0, 0.35, size=(n, 3))
    images = np.where(mask[:, None], foreground[:, :, None, None], background[:, :, None, None])
    images = images + rng.normal(0.0, noise, size=images.shape)
    return np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8), labels
