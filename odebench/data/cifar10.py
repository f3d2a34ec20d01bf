"""CIFAR-10 (HBNODE / NesterovNODE Sec. 5.2) and its offline stand-in, the colour-shape set.

Both give ``(train_x, train_y, test_x, test_y)``: float32 N x 3 x 32 x 32 in [0, 1]
(``ToTensor`` only, as in the papers' code) and int64 labels 0..9.
"""

from __future__ import annotations

from pathlib import Path

import torch

from odebench.data.cifar import read_cifar10_tarball
from odebench.data.colour_shapes import colour_shapes
from odebench.data.download import fetch
from odebench.data.images import labels_tensor, to_unit_float
from odebench.data.registry import Source

Split = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
ARCHIVE = "cifar-10-python.tar.gz"


def cifar10_standin(n_train: int = 1000, n_test: int = 200, seed: int = 0,
                    size: int = 32) -> Split:
    """The generated colour-shape set; train and test come from independent streams of ``seed``,
    so the test images do not change with ``n_train``."""
    train_x, train_y = colour_shapes(n_train, seed=(seed, 0), size=size)
    test_x, test_y = colour_shapes(n_test, seed=(seed, 1), size=size)
    return (to_unit_float(train_x), labels_tensor(train_y),
            to_unit_float(test_x), labels_tensor(test_y))


def load_cifar10(data_dir: str | Path | None = None, offline: bool = False, *,
                 standin_sizes: tuple[int, int] = (1000, 200), standin_seed: int = 0,
                 base_url: str | None = None, source: Source | None = None) -> Split:
    """CIFAR-10 train/test (50,000 / 10,000), or with ``offline`` the generated stand-in of
    ``standin_sizes`` = (n_train, n_test) images."""
    if offline:
        return cifar10_standin(*standin_sizes, seed=standin_seed)
    train_x, train_y, test_x, test_y = read_cifar10_tarball(
        fetch(source or "cifar10", data_dir, base_url)[ARCHIVE])
    return (to_unit_float(train_x), labels_tensor(train_y),
            to_unit_float(test_x), labels_tensor(test_y))
