"""Data sources, loaders and generators.

Public face: ``SOURCES`` (the registry), ``fetch`` (verified, cached downloads), and the loaders
``load_mnist``, ``load_mnist_c``, ``load_cifar10``, ``load_silverbox``, ``load_plane_vibration``,
``load_walker2d``, each with an ``offline`` stand-in. The two irregular time-series loaders
return a :class:`SequenceData` of batch-first :class:`SequenceSplit` windows. ``CORRUPTIONS``
and ``corrupt`` are our implementations of the MNIST-C corruptions (``LABELS``: table names).
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the submodule that defines it, imported on first use (PEP 562), so that a job
# that reads one data set does not load every loader's dependencies (scipy.ndimage, ...)
_HOMES = {
    "load_cifar10": "cifar10",
    "CORRUPTIONS": "corruptions", "LABELS": "corruptions", "corrupt": "corruptions",
    "fetch": "download", "resolve_data_dir": "download",
    "ChecksumError": "errors", "DataError": "errors", "DownloadError": "errors",
    "FormatError": "errors", "UnknownCorruptionError": "errors",
    "load_mnist": "mnist",
    "MNISTC": "mnist_c", "load_mnist_c": "mnist_c", "mnist_c_standin": "mnist_c",
    "PlaneVibrationStandin": "plane_vibration", "load_plane_vibration": "plane_vibration",
    "plane_vibration_standin": "plane_vibration",
    "SOURCES": "registry", "RemoteFile": "registry", "Source": "registry",
    "SequenceData": "sequences", "SequenceSplit": "sequences", "check_window": "sequences",
    "load_silverbox": "silverbox",
    "WalkerStandin": "walker2d", "load_walker2d": "walker2d", "walker2d_standin": "walker2d",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'odebench.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"odebench.data.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


__all__ = sorted(_HOMES)
