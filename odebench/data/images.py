"""Image tensors with torchvision ``ToTensor`` semantics (uint8 -> float32 in [0, 1])."""

from __future__ import annotations

import numpy as np
import torch


def to_unit_float(images: np.ndarray) -> torch.Tensor:
    """uint8 images (N x C x H x W) as float32 in [0, 1], i.e. divided by 255, no normalisation."""
    if images.dtype != np.uint8:
        raise TypeError(f"expected uint8 images, got {images.dtype}")
    return torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32).div_(255.0)


def labels_tensor(labels: np.ndarray) -> torch.Tensor:
    """Class labels as an int64 tensor (what ``cross_entropy`` expects)."""
    return torch.from_numpy(np.asarray(labels, dtype=np.int64).copy())
