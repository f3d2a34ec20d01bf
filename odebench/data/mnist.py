"""MNIST (HBNODE / NesterovNODE Sec. 5.2, ODEtoODE) and its offline stand-in, the 8x8 digits.

Both give ``(train_x, train_y, test_x, test_y)``: float32 N x 1 x H x W in [0, 1] (``ToTensor``
only, as in the papers' code: no normalisation, no augmentation) and int64 labels 0..9.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from odebench.data.download import fetch
from odebench.data.errors import FormatError
from odebench.data.idx import read_idx
from odebench.data.images import labels_tensor, to_unit_float
from odebench.data.registry import Source

Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
DIGITS_TEST_EVERY = 5    # stand-in split: every 5th digit of each class is a test digit


def _read_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    x, y = read_idx(images, ndim=3), read_idx(labels, ndim=1)
    if len(x) != len(y):
        raise FormatError(f"{images} has {len(x)} images but {labels} has {len(y)} labels")
    if x.dtype != np.uint8 or y.dtype != np.uint8 or (len(y) and y.max() > 9):
        raise FormatError(f"{images}/{labels}: expected uint8 images and labels 0..9")
    return x, y


def read_mnist(paths: dict[str, Path]) -> Split:
    """The four cached IDX files (keyed by registry name) as ``ToTensor`` tensors."""
    train_x, train_y = _read_pair(paths[FILES[0]], paths[FILES[1]])
    test_x, test_y = _read_pair(paths[FILES[2]], paths[FILES[3]])
    return (to_unit_float(train_x[:, None]), labels_tensor(train_y),
            to_unit_float(test_x[:, None]), labels_tensor(test_y))


def digits_standin() -> Split:
    """scikit-learn's bundled 8x8 digits (1,797 images, 0..16 scaled to [0, 1]).

    Fixed, stratified split: within each class, in the bundled order, every 5th image is a
    test image (1,442 train, 355 test); no randomness.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0
    labels = digits.target.astype(np.int64)
    rank = np.zeros(len(labels), dtype=np.int64)
    for c in range(10):
        members = np.flatnonzero(labels == c)
        rank[members] = np.arange(len(members))
    test = rank % DIGITS_TEST_EVERY == DIGITS_TEST_EVERY - 1
    x = torch.from_numpy(images[:, None])
    y = torch.from_numpy(labels)
    mask = torch.from_numpy(test)
    return x[~mask], y[~mask], x[mask], y[mask]


def load_mnist(data_dir: str | Path | None = None, offline: bool = False, *,
               base_url: str | None = None, source: Source | None = None) -> Split:
    """MNIST train/test (60,000 / 10,000 of 1 x 28 x 28), or the digits stand-in if offline."""
    if offline:
        return digits_standin()
    return read_mnist(fetch(source or "mnist", data_dir, base_url))
