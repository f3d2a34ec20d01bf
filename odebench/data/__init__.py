"""Data sources, loaders and generators.

Public face: ``SOURCES`` (the registry), ``fetch`` (verified, cached downloads), and the loaders
``load_mnist``, ``load_cifar10``, ``load_silverbox``, each with an ``offline`` stand-in.
"""

from odebench.data.cifar10 import load_cifar10
from odebench.data.download import fetch, resolve_data_dir
from odebench.data.errors import ChecksumError, DataError, DownloadError, FormatError
from odebench.data.mnist import load_mnist
from odebench.data.registry import SOURCES, RemoteFile, Source
from odebench.data.silverbox import load_silverbox

__all__ = ["SOURCES", "ChecksumError", "DataError", "DownloadError", "FormatError", "RemoteFile",
           "Source", "fetch", "load_cifar10", "load_mnist", "load_silverbox", "resolve_data_dir"]
