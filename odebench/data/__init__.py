"""Data sources, loaders and generators.

Public face: ``SOURCES`` (the registry), ``fetch`` (verified, cached downloads), and the loaders
``load_mnist``, ``load_mnist_c``, ``load_cifar10``, ``load_silverbox``, ``load_plane_vibration``,
``load_walker2d``, each with an ``offline`` stand-in. The two irregular time-series loaders
return a :class:`SequenceData` of batch-first :class:`SequenceSplit` windows. ``CORRUPTIONS``
and ``corrupt`` are our implementations of the MNIST-C corruptions (``LABELS``: table names).
"""

from odebench.data.cifar10 import load_cifar10
from odebench.data.corruptions import CORRUPTIONS, LABELS, corrupt
from odebench.data.download import fetch, resolve_data_dir
from odebench.data.errors import (
    ChecksumError,
    DataError,
    DownloadError,
    FormatError,
    UnknownCorruptionError,
)
from odebench.data.mnist import load_mnist
from odebench.data.mnist_c import MNISTC, load_mnist_c, mnist_c_standin
from odebench.data.plane_vibration import (
    PlaneVibrationStandin,
    load_plane_vibration,
    plane_vibration_standin,
)
from odebench.data.registry import SOURCES, RemoteFile, Source
from odebench.data.sequences import SequenceData, SequenceSplit, check_window
from odebench.data.silverbox import load_silverbox
from odebench.data.walker2d import WalkerStandin, load_walker2d, walker2d_standin

__all__ = ["CORRUPTIONS", "LABELS", "MNISTC", "SOURCES", "ChecksumError", "DataError",
           "DownloadError", "FormatError", "PlaneVibrationStandin", "RemoteFile", "SequenceData",
           "SequenceSplit", "Source", "UnknownCorruptionError", "WalkerStandin", "check_window",
           "corrupt", "fetch", "load_cifar10", "load_mnist", "load_mnist_c",
           "load_plane_vibration", "load_silverbox", "load_walker2d", "mnist_c_standin",
           "plane_vibration_standin", "resolve_data_dir", "walker2d_standin"]
