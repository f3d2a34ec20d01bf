"""Data sources, loaders and generators.

Public face: ``SOURCES`` (the registry), ``fetch`` (verified, cached downloads), and the loaders
``load_mnist``, ``load_cifar10``, ``load_silverbox``, ``load_plane_vibration``, ``load_walker2d``,
each with an ``offline`` stand-in. The two irregular time-series loaders return a
:class:`SequenceData` of batch-first :class:`SequenceSplit` windows.
"""

from odebench.data.cifar10 import load_cifar10
from odebench.data.download import fetch, resolve_data_dir
from odebench.data.errors import ChecksumError, DataError, DownloadError, FormatError
from odebench.data.mnist import load_mnist
from odebench.data.plane_vibration import (
    PlaneVibrationStandin,
    load_plane_vibration,
    plane_vibration_standin,
)
from odebench.data.registry import SOURCES, RemoteFile, Source
from odebench.data.sequences import SequenceData, SequenceSplit, check_window
from odebench.data.silverbox import load_silverbox
from odebench.data.walker2d import WalkerStandin, load_walker2d, walker2d_standin

__all__ = ["SOURCES", "ChecksumError", "DataError", "DownloadError", "FormatError",
           "PlaneVibrationStandin", "RemoteFile", "SequenceData", "SequenceSplit", "Source",
           "WalkerStandin", "check_window", "fetch", "load_cifar10", "load_mnist",
           "load_plane_vibration", "load_silverbox", "load_walker2d", "plane_vibration_standin",
           "resolve_data_dir", "walker2d_standin"]
