"""The CIFAR-10 python tarball, read straight from the ``.tar.gz`` without extracting it.

The archive holds ``cifar-10-batches-py/data_batch_1..5`` and ``test_batch``: pickled dicts
with ``b"data"`` (uint8, N x 3072, channel-major rows of 32x32) and ``b"labels"`` (list of int).
Batches are unpickled with an allow-list (numpy arrays and plain containers only), so a
tampered archive cannot run code.
"""

from __future__ import annotations

import importlib
import io
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from odebench.data.errors import FormatError

FOLDER = "cifar-10-batches-py"
LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
SHAPE = (3, 32, 32)
_ALLOWED = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = module.replace("numpy.core.", "numpy._core.", 1)   # numpy 2 renamed it
        return getattr(importlib.import_module(module), name)


def _parse_batch(raw: bytes, name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as err:
        raise FormatError(f"{path}: {name} is not a CIFAR-10 batch ({err})") from err
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != np.prod(SHAPE):
        raise FormatError(f"{path}: {name} data has dtype {data.dtype} and shape {data.shape}; "
                          f"expected uint8 N x {np.prod(SHAPE)}")
    if labels.shape != (len(data),) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise FormatError(f"{path}: {name} has {labels.shape} labels for {len(data)} images, "
                          f"or labels outside 0..9")
    return data.reshape(-1, *SHAPE), labels


def _read_members(path: Path, names: set[str]) -> dict[str, bytes]:
    """The bytes of the wanted members, in one streaming pass over the archive."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r|*") as archive:
            for member in archive:
                if member.name in names and member.isfile():
                    found[member.name] = archive.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise FormatError(f"{path}: not a readable tar archive ({err})") from err
    missing = sorted(names - set(found))
    if missing:
        raise FormatError(f"{path}: missing {', '.join(missing)} in the archive")
    return found


def read_cifar10_tarball(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_x, train_y, test_x, test_y)``: uint8 N x 3 x 32 x 32 images, int64 labels."""
    path = Path(path)
    names = [f"{FOLDER}/{member}" for member in (*TRAIN_BATCHES, TEST_BATCH)]
    raw = _read_members(path, set(names))
    train = [_parse_batch(raw[name], name, path) for name in names[:-1]]
    test_x, test_y = _parse_batch(raw[names[-1]], names[-1], path)
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
            test_x, test_y)


def write_cifar10_tarball(path: str | Path, train_x: np.ndarray, train_y: np.ndarray,
                          test_x: np.ndarray, test_y: np.ndarray) -> None:
    """Write images in the original layout (5 train batches, ``test_batch``, ``batches.meta``;
    protocol-2 pickles): for test fixtures and local mirrors of subsets."""
    def batch(x: np.ndarray, y: np.ndarray, label: str) -> dict[bytes, Any]:
        return {b"batch_label": label.encode(), b"labels": [int(v) for v in y],
                b"data": np.ascontiguousarray(x, dtype=np.uint8).reshape(len(x), -1),
                b"filenames": [f"{label}_{i}.png".encode() for i in range(len(x))]}

    members = {name: batch(x, y, name) for name, x, y in zip(
        TRAIN_BATCHES, np.array_split(train_x, 5), np.array_split(train_y, 5), strict=True)}
    members[TEST_BATCH] = batch(test_x, test_y, TEST_BATCH)
    members["batches.meta"] = {b"label_names": [n.encode() for n in LABEL_NAMES],
                               b"num_vis": int(np.prod(SHAPE))}
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            raw = pickle.dumps(content, protocol=2)
            info = tarfile.TarInfo(f"{FOLDER}/{name}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
