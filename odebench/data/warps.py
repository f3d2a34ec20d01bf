"""Resampling image stacks: per-image affine maps about the centre and integer shifts.

Images are ``[N, H, W]`` float arrays. Geometry uses centred screen coordinates: ``x`` to the
right (columns), ``y`` *up* (against rows), origin at the image centre ``((H-1)/2, (W-1)/2)``,
so a positive angle turns counter-clockwise as the image is displayed.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def centre(shape: tuple[int, ...]) -> tuple[float, float]:
    """(row, column) of the centre of an ``H x W`` (or ``N x H x W``) image."""
    return (shape[-2] - 1) / 2.0, (shape[-1] - 1) / 2.0


def size_scale(images: np.ndarray) -> float:
    """Image size relative to MNIST's 28 pixels (shorter side), for size-dependent defaults."""
    return min(images.shape[-2:]) / 28.0


def affine(images: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Warp image ``n`` by the 2 x 2 map ``forward[n]`` of centred ``(x, y_up)`` coordinates.

    A point at ``p`` moves to ``forward[n] @ p``. Each output pixel samples the input at the
    inverse-mapped position with bilinear interpolation; outside the image is 0.
    """
    n, height, width = images.shape
    row0, col0 = centre(images.shape)
    rows, cols = np.meshgrid(np.arange(height, dtype=float), np.arange(width, dtype=float),
                             indexing="ij")
    target = np.stack([cols - col0, row0 - rows])                       # [2, H, W] (x, y_up)
    source = np.einsum("nij,jhw->nihw", np.linalg.inv(forward), target)  # [N, 2, H, W]
    index = np.broadcast_to(np.arange(n, dtype=float)[:, None, None], (n, height, width))
    coords = np.stack([index, row0 - source[:, 1], col0 + source[:, 0]])
    return ndimage.map_coordinates(images, coords, order=1, mode="constant", cval=0.0)


def shift(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """One ``H x W`` image moved down ``rows`` and right ``cols`` pixels, zeros shifted in."""
    height, width = image.shape
    out = np.zeros_like(image)
    if abs(rows) >= height or abs(cols) >= width:
        return out
    out[max(rows, 0):height + min(rows, 0), max(cols, 0):width + min(cols, 0)] = \
        image[max(-rows, 0):height + min(-rows, 0), max(-cols, 0):width + min(-cols, 0)]
    return out
