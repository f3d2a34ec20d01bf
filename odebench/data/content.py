"""Content checks of a downloaded file against its registry :class:`Expect`, before caching.

:func:`content_problem` reads an open binary file (the temporary download, or a cached file)
and returns what is wrong with it in one line, or ``None``: a zip or tar archive must open and
hold the expected members, each at least its lower bound in bytes; an IDX file (plain or gzip)
must parse its header and hold exactly the bytes its header declares; a CSV file must start
with the expected header and a data row. The caller names the file and the URL.
"""

from __future__ import annotations

import csv
import fnmatch
import gzip
import io
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Mapping
from typing import IO

from odebench.data.idx import GZIP_MAGIC, TYPES
from odebench.data.registry import Expect

CHUNK_BYTES = 1 << 20


def content_problem(handle: IO[bytes], expect: Expect, deep: bool = True) -> str | None:
    """What is wrong with the file open in ``handle`` (binary, seekable), or ``None``.

    ``deep`` also reads every member of a zip archive (CRC check); without it only the zip's
    directory is read (a cached file whose hash already matches a pin).
    """
    handle.seek(0)
    size = handle.seek(0, io.SEEK_END)
    handle.seek(0)
    if size < expect.min_bytes:
        return f"{size} bytes, expected at least {expect.min_bytes}"
    return _CHECKS[expect.format](handle, expect, deep)


def _matches(name: str, pattern: str) -> bool:
    """``fnmatch`` per path segment: ``walker/*.npy`` matches ``walker/a.npy`` only."""
    parts, wanted = name.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(
        fnmatch.fnmatchcase(p, w) for p, w in zip(parts, wanted, strict=True))


def members_problem(sizes: Mapping[str, int], expect: Expect) -> str | None:
    """Check member names and uncompressed sizes against ``expect.members``."""
    for spec in expect.members:
        found = {name: n for name, n in sizes.items() if _matches(name, spec.pattern)}
        if not found:
            return f"no {spec.pattern} {spec.label} in the archive"
        if len(found) < spec.min_count:
            return (f"{len(found)} {spec.pattern} {spec.label} in the archive, expected at "
                    f"least {spec.min_count} (an incomplete archive?)")
        small = sorted(name for name, n in found.items() if n < spec.min_bytes)
        if small:
            return (f"member {small[0]} has {found[small[0]]} bytes, expected at least "
                    f"{spec.min_bytes} for one of the {spec.label}"
                    + (f" ({len(small) - 1} more too small)" if len(small) > 1 else ""))
    return None


def _zip(handle: IO[bytes], expect: Expect, deep: bool) -> str | None:
    try:
        with zipfile.ZipFile(handle) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
            if deep:
                bad = archive.testzip()
                if bad is not None:
                    return f"not a readable zip archive: member {bad} fails its CRC check"
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
            RuntimeError, ValueError) as err:        # RuntimeError: an encrypted member
        return f"not a readable zip archive: {err}"
    return members_problem({i.filename: i.file_size for i in infos}, expect)


def _tar(handle: IO[bytes], expect: Expect, deep: bool) -> str | None:
    """One streaming pass; a gzip stream is read to its end, so a truncated or damaged one
    (which tarfile alone may not notice) fails its length and CRC check."""
    compressed = handle.read(2) == GZIP_MAGIC
    handle.seek(0)
    stream: IO[bytes] = gzip.GzipFile(fileobj=handle, mode="rb") if compressed else handle
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            sizes = {m.name: m.size for m in archive if m.isfile()}
        while stream.read(CHUNK_BYTES):
            pass
    except (tarfile.TarError, zlib.error, EOFError, OSError, ValueError) as err:
        return f"not a readable tar archive: {err}"
    return members_problem(sizes, expect)


def _idx(handle: IO[bytes], expect: Expect, deep: bool) -> str | None:
    compressed = handle.read(2) == GZIP_MAGIC
    handle.seek(0)
    stream: IO[bytes] = gzip.GzipFile(fileobj=handle, mode="rb") if compressed else handle
    try:
        head = stream.read(4)
        if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in TYPES:
            return (f"not an IDX file (magic bytes {head.hex() or 'missing'}; expected 0000 + "
                    f"a type code + ndim)")
        if expect.ndim is not None and head[3] != expect.ndim:
            return f"IDX header has {head[3]} dimensions, expected {expect.ndim}"
        dims = stream.read(4 * head[3])
        if len(dims) < 4 * head[3]:
            return "IDX header truncated"
        count = 1
        for n in struct.unpack(f">{head[3]}I", dims):
            count *= n
        wanted, got = count * TYPES[head[2]].itemsize, 0
        while chunk := stream.read(CHUNK_BYTES):
            got += len(chunk)
    except (OSError, EOFError, zlib.error) as err:
        return f"corrupt gzip stream: {err}"
    if got != wanted:
        return f"IDX header declares {wanted} data bytes, the file holds {got}"
    return None


def _csv(handle: IO[bytes], expect: Expect, deep: bool) -> str | None:
    try:
        lines = [handle.readline().decode("utf-8") for _ in range(2)]
    except UnicodeDecodeError as err:
        return f"line 1: not UTF-8 text ({err})"
    try:
        header = next(csv.reader([lines[0]]), [])
    except csv.Error as err:
        return f"line 1: unreadable header: {err}"
    names = [name.strip() for name in header]
    if names and names[-1] == "":
        names.pop()                                   # the trailing comma
    wanted = list(expect.columns)
    if names != wanted:
        missing = [name for name in wanted if name not in names]
        what = (f"missing column(s) {', '.join(map(repr, missing))}" if missing
                else f"columns {names}")
        return f"line 1 (header): {what}; expected {wanted}"
    if not lines[1].strip():
        return "no data row after the header"
    return None


_CHECKS: dict[str, Callable[[IO[bytes], Expect, bool], str | None]] = {
    "zip": _zip, "tar": _tar, "idx": _idx, "csv": _csv}
