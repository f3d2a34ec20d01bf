"""One-line messages for faults the user can fix: OS errors and unreadable checkpoints.

The command line prints :func:`error_line` of such an exception instead of a traceback;
``odebench --debug ...`` or ``ODEBENCH_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import errno
import os

DEBUG_ENV = "ODEBENCH_DEBUG"

_FIXES: dict[int, str] = {
    errno.ENOSPC: "free space on the disk holding {name} (or write elsewhere: --results-dir) "
                  "and rerun",
    errno.EDQUOT: "free space within your disk quota (or write elsewhere: --results-dir) and "
                  "rerun",
    errno.EFBIG: "raise the file-size limit (`ulimit -f`) and rerun",
    errno.EACCES: "check the permissions of {name} and of its folder",
    errno.EPERM: "check the permissions and immutable flags (`lsattr`) of {name} and of its "
                 "folder",
    errno.EROFS: "{name} is on a read-only file system: write elsewhere (--results-dir)",
    errno.ENOTDIR: "a part of {name} is a file, not a folder: move that file or pick another "
                   "path",
    errno.EISDIR: "{name} is a folder: pass a file path",
    errno.ENOENT: "check that {name} exists",
    errno.EIO: "the disk holding {name} reported an I/O error: check it, then rerun",
}


class CheckpointError(RuntimeError):
    """A checkpoint that cannot, or must not, be loaded; the message names the file and fix."""


def debug_requested(flag: bool = False) -> bool:
    """True with ``--debug`` or ``ODEBENCH_DEBUG`` set to anything but empty, 0, false, no."""
    value = os.environ.get(DEBUG_ENV, "").strip().lower()
    return flag or value not in ("", "0", "false", "no", "off")


def os_error_line(exc: OSError) -> str:
    """``<what went wrong>: <file>: <what to do>`` for an OS error (its first line otherwise)."""
    name = exc.filename
    if exc.errno is None or name is None:
        return first_line(exc)
    what = (exc.strerror or os.strerror(exc.errno)).rstrip(".")
    what = what[:1].lower() + what[1:]
    target = f"{name} -> {exc.filename2}" if exc.filename2 is not None else str(name)
    fix = _FIXES.get(exc.errno)
    return f"{what}: {target}" + (f": {fix.format(name=name)}" if fix else "")


def first_line(exc: BaseException) -> str:
    """The exception's message up to its first line break (its type name if empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def error_line(exc: BaseException) -> str:
    """The one line the command line prints for an expected fault."""
    if isinstance(exc, OSError):
        return os_error_line(exc)
    return str(exc)
