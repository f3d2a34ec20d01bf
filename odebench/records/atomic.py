"""Atomic file writes: a temp file in the target folder, then ``os.replace``."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def current_umask() -> int:
    """The process umask, read from ``/proc`` where possible (``os.umask`` can only be read
    by setting it, which another thread could observe)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _file_mode(path: Path) -> int:
    """The mode a plain ``open(path, "w")`` would leave: the existing file's, else the umask's."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(path).st_mode)
    return 0o666 & ~current_umask()


def _named(exc: OSError, path: Path) -> OSError:
    """``exc`` naming ``path`` (the target, not our temp file) when it names no other file."""
    ours = exc.filename is None or (isinstance(exc.filename, str) and
                                    Path(exc.filename).name.startswith(f".{path.name}."))
    if exc.errno is None or not ours:
        return exc
    return OSError(exc.errno, exc.strerror, str(path))


def _check_folder(folder: Path) -> None:
    if folder.is_dir():
        return
    if folder.exists():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    raise FileNotFoundError(f"output directory does not exist: {folder}")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temp file beside ``path``; on success rename it onto ``path``.

    On any exception the temp file is removed and ``path`` is left as it was; an OS error
    (full disk, permission) names ``path``. The parent folder must exist: a missing folder
    is an error naming it. The file gets the mode a plain ``open`` would give it (the
    existing file's, else 0o666 less the umask), not ``mkstemp``'s 0o600.
    """
    path = Path(path)
    _check_folder(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        named = _named(exc, path)
        if named is exc:
            raise
        raise named from exc
    try:
        with os.fdopen(fd, mode) as handle:
            with contextlib.suppress(OSError):  # a file system without modes: mkstemp's
                os.fchmod(fd, _file_mode(path))
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        named = _named(exc, path) if isinstance(exc, OSError) else exc
        if named is not exc:
            raise named from exc
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)
