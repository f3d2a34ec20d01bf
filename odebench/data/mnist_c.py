"""MNIST-C (ODEtoODE Tables 1-2): train on clean MNIST, test on each corrupted test set.

The protocol is our reading of the ODEtoODE paper, which does not state one (its Translate
and Stripe accuracies fit the standard MNIST-C protocol): the clean MNIST training set, and
one test set per corruption.
Online, the test sets are ``mnist_c/<corruption>/test_{images,labels}.npy`` of ``mnist_c.zip``
(uint8 ``[N, 28, 28, 1]`` images, labels 0..9; ``identity`` is the clean test set), read
straight out of the archive. Offline, the 8 x 8 digits stand-in is the training set and each
corruption of :mod:`odebench.data.corruptions` is applied to its test images with a fixed seed.
Tensors are shaped as in :mod:`odebench.data.mnist`: float32 ``N x 1 x H x W`` in [0, 1] and
int64 labels.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from odebench.data.archives import read_npy_member
from odebench.data.corruptions import CORRUPTIONS, check_corruptions, corrupt
from odebench.data.download import fetch, file_digest
from odebench.data.errors import FormatError
from odebench.data.images import labels_tensor, to_unit_float
from odebench.data.mnist import digits_standin, load_mnist
from odebench.data.registry import Source, get_source
from odebench.data.sequences import discard_cached

ARCHIVE = "mnist_c.zip"
FOLDER = "mnist_c"
N_CLASSES = 10
Pair = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True, eq=False)
class MNISTC:
    """Clean training images and one test set per corruption (in the order asked for)."""

    train_x: torch.Tensor                 # [N, 1, H, W] float32 in [0, 1]
    train_y: torch.Tensor                 # [N] int64
    tests: dict[str, Pair]                # corruption name -> (x, y), shaped like train
    source: str                           # what was used: the archive or the stand-in


def member_names(corruption: str) -> tuple[str, str]:
    """The archive members holding a corruption's test images and labels."""
    return (f"{FOLDER}/{corruption}/test_images.npy", f"{FOLDER}/{corruption}/test_labels.npy")


def _load_member(archive: zipfile.ZipFile, member: str, path: Path) -> np.ndarray:
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise FormatError(f"{path}: member {member} is missing from the archive") from None
    return read_npy_member(archive, info, path)


def _check_images(images: np.ndarray, where: str, size: tuple[int, int]) -> np.ndarray:
    """uint8 ``[N, H, W, 1]`` (or ``[N, H, W]``) test images as ``[N, H, W]``."""
    flat = images[..., 0] if images.ndim == 4 and images.shape[3] == 1 else images
    if images.dtype != np.uint8 or flat.ndim != 3 or flat.shape[1:] != size:
        raise FormatError(f"{where}: expected uint8 images [N, {size[0]}, {size[1]}, 1], got "
                          f"shape {images.shape} dtype {images.dtype}")
    return flat


def _check_labels(labels: np.ndarray, where: str) -> np.ndarray:
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise FormatError(f"{where}: expected integer labels [N], got shape {labels.shape} "
                          f"dtype {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() >= N_CLASSES):
        raise FormatError(f"{where}: labels outside 0..{N_CLASSES - 1} "
                          f"(min {labels.min()}, max {labels.max()})")
    return labels


def read_mnist_c_zip(path: str | Path, corruptions: Iterable[str],
                     size: tuple[int, int] = (28, 28)) -> dict[str, Pair]:
    """The test sets of ``corruptions`` from ``mnist_c.zip``, read in memory (nothing is
    extracted). A corrupt archive, a missing or unreadable member or a wrong shape, dtype or
    label raises :class:`FormatError` naming the archive and the member."""
    path = Path(path)
    tests: dict[str, Pair] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for name in corruptions:
                image_member, label_member = member_names(name)
                images = _check_images(_load_member(archive, image_member, path),
                                       f"{path}: member {image_member}", size)
                labels = _check_labels(_load_member(archive, label_member, path),
                                       f"{path}: member {label_member}")
                if len(images) != len(labels):
                    raise FormatError(f"{path}: {len(images)} images in member {image_member} "
                                      f"but {len(labels)} labels in {label_member}")
                tests[name] = (to_unit_float(images[:, None]), labels_tensor(labels))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise FormatError(f"{path}: not a readable zip archive: {err}") from err
    return tests


def mnist_c_standin(corruptions: Iterable[str] | None = None, seed: int = 0) -> MNISTC:
    """The digits stand-in: clean 8 x 8 training digits, and each corruption applied by our
    code to the test digits with ``default_rng((seed, k))``, ``k`` the corruption's row in
    :data:`CORRUPTIONS` (so a set does not change with which others are asked for)."""
    names = check_corruptions(corruptions)
    train_x, train_y, test_x, test_y = digits_standin()
    clean = test_x[:, 0].numpy()
    rows = {name: k for k, name in enumerate(CORRUPTIONS)}
    tests = {name: (torch.from_numpy(corrupt(name, clean, (seed, rows[name]))[:, None]),
                    test_y.clone())
             for name in names}
    return MNISTC(train_x, train_y, tests,
                  source=f"stand-in: scikit-learn 8x8 digits ({len(train_y)} train / "
                         f"{len(test_y)} test), corruptions by odebench.data.corruptions, "
                         f"seed {seed}")


def load_mnist_c(data_dir: str | Path | None = None, offline: bool = False, *,
                 corruptions: Iterable[str] | None = None, base_url: str | None = None,
                 source: Source | None = None, mnist_source: Source | None = None,
                 seed: int = 0) -> MNISTC:
    """Clean MNIST train (60,000) and the MNIST-C test sets (10,000 each) of ``corruptions``
    (default: the 11 of :data:`CORRUPTIONS`, in the paper's row order), or with ``offline``
    the digits stand-in (``seed`` fixes its corruptions).

    ``source`` / ``mnist_source`` replace the registry entries (tests, mirrors). The archive is
    fetched and read before MNIST, so a bad archive leaves no MNIST download behind.
    """
    names = check_corruptions(corruptions)
    if offline:
        return mnist_c_standin(names, seed=seed)
    src = source or get_source("mnist_c")
    path = fetch(src, data_dir, base_url)[ARCHIVE]
    try:
        tests = read_mnist_c_zip(path, names)
    except FormatError as err:
        remote = src.file(ARCHIVE)
        if remote.checksum is not None:   # verified against the registry: keep, report
            raise
        discard_cached(path, remote)      # pinned on first use: drop file and pin
        raise FormatError(f"{err} (removed from the cache)") from None
    train_x, train_y, _, _ = load_mnist(data_dir, base_url=base_url, source=mnist_source)
    return MNISTC(train_x, train_y, tests,
                  source=f"{ARCHIVE} (MNIST-C, md5 {file_digest(path, 'md5')}) test sets, "
                         f"MNIST training set")
