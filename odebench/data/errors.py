"""Errors raised by the data layer, each naming the file or URL at fault."""

from __future__ import annotations


class DataError(RuntimeError):
    """Base class: something is wrong with a data source, a download or a data file."""


class DownloadError(DataError):
    """A download failed (HTTP error, unreachable host, truncated body); names the URL."""


class UnreachableError(DownloadError):
    """The host could not be reached (no network, name not resolved, connection refused)."""


class ChecksumError(DataError):
    """A file's hash differs from the pinned one; names the file, expected and actual hash."""


class FormatError(DataError, ValueError):
    """A data file does not have the expected format (magic number, sizes, header)."""


class UnknownSourceError(DataError, LookupError):
    """A source id or file name the registry does not know; lists the valid ones."""


class UnknownCorruptionError(DataError, ValueError):
    """A corruption name outside :data:`odebench.data.corruptions.CORRUPTIONS`; lists the valid
    ones."""
