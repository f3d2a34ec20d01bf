"""Reading ``.npy`` members straight out of a zip archive, with errors that name the place."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import numpy as np

from odebench.data.errors import FormatError

MAX_MEMBER_BYTES = 1 << 30  # a member larger than this is refused, not read into memory


def read_npy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> np.ndarray:
    """The array stored in member ``info`` of ``archive`` (read from ``path``), without
    pickles; a :class:`FormatError` naming archive and member when it is not one."""
    where = f"{path}: member {info.filename}"
    if info.file_size > MAX_MEMBER_BYTES:
        raise FormatError(f"{where}: {info.file_size} bytes, over the {MAX_MEMBER_BYTES} limit")
    try:
        array = np.load(io.BytesIO(archive.read(info)), allow_pickle=False)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
            NotImplementedError) as err:
        raise FormatError(f"{where}: unreadable .npy: {err}") from err
    if not isinstance(array, np.ndarray):
        raise FormatError(f"{where}: not a single .npy array")
    return array
