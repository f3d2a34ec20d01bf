"""fetch(): download a registered source into the cache, verified, never half-written.

A download streams into a temporary file beside its target, is checked (hash, then content) and
only then renamed into the cache or pinned; a file's URLs (mirrors) are tried in order.

Cache layout: ``<data_dir>/<source id>/<file name>``, where ``data_dir`` is the argument, else
``$ODEBENCH_DATA``, else ``resources/`` (relative to the working directory). A mirror
(``base_url`` or ``$ODEBENCH_MIRROR``) is laid out like the cache: ``<mirror>/<source id>/<file
name>``, so serving a filled ``resources/`` over HTTP makes one. File names and checksums always
come from the registry, whatever the URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from odebench.data.content import content_problem
from odebench.data.errors import (
    ChecksumError,
    DataError,
    DownloadError,
    FormatError,
    UnreachableError,
)
from odebench.data.registry import HEX_DIGITS, RemoteFile, Source, get_source
from odebench.records.atomic import atomic_open, atomic_write_text

DATA_ENV = "ODEBENCH_DATA"
MIRROR_ENV = "ODEBENCH_MIRROR"
DEFAULT_DATA_DIR = "resources"
PROGRESS_INTERVAL_S = 5.0     # at most one progress line per interval
TIMEOUT_S = 60.0              # per socket operation, not per download
CHUNK_BYTES = 1 << 20


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The cache root: ``data_dir``, else ``$ODEBENCH_DATA``, else ``resources/``."""
    return Path(data_dir or os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR)


def file_digest(path: str | Path, algorithm: str) -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def pin_path(target: Path, algorithm: str) -> Path:
    """Where the hash of an unpublished-checksum file is recorded: ``<name>.<algorithm>``."""
    return target.with_name(f"{target.name}.{algorithm}")


def fetch(source: str | Source, data_dir: str | Path | None = None,
          base_url: str | None = None) -> dict[str, Path]:
    """Download (or reuse) every file of ``source``; returns ``{file name: cached path}``.

    ``source`` is a registry id or a :class:`Source` (e.g. ``SOURCES[id].with_checksums(...)``).
    A download is checked (hash, then content against the file's ``expect``) before it is
    renamed into the cache or pinned; a file's URLs are tried in order (a mirror ``base_url``
    replaces them). A cached file is verified on every use; a corrupt one (or a corrupt pin file)
    is removed with a one-line note and fetched again. Raises :class:`ChecksumError`,
    :class:`FormatError` or :class:`DownloadError` naming every URL tried; nothing is left.
    """
    src = get_source(source) if isinstance(source, str) else source
    mirror = base_url if base_url is not None else os.environ.get(MIRROR_ENV) or None
    folder = resolve_data_dir(data_dir) / src.id
    paths = {}
    for remote in src.files:
        urls = (f"{mirror.rstrip('/')}/{src.id}/{remote.name}",) if mirror else remote.urls
        paths[remote.name] = _fetch_file(remote, folder / remote.name, urls)
    return paths


def _note(message: str) -> None:
    print(f"odebench: {message}", file=sys.stderr)


def read_pin(pin: Path, algorithm: str) -> str | None:
    """The digest recorded in ``pin``; ``None`` when there is none. A pin that is unreadable or
    not a hex digest of ``algorithm`` is removed with a note (the file is pinned again)."""
    if not pin.is_file():
        return None
    try:
        raw = pin.read_bytes()
    except OSError:
        raw = b""
    words = raw.decode("ascii", errors="replace").split()
    digest = words[0].lower() if words else ""
    if re.fullmatch(f"[0-9a-f]{{{HEX_DIGITS[algorithm]}}}", digest):
        return digest
    _note(f"pin file {pin} is not a {algorithm} hex digest ({len(raw)} bytes); removed it, "
          f"the file will be checked and pinned again")
    pin.unlink(missing_ok=True)
    return None


def _expected(remote: RemoteFile, target: Path) -> tuple[str | None, str]:
    """The hash to check against and where it comes from (registry or pin file)."""
    if remote.checksum is not None:
        return remote.checksum.lower(), "registry"
    pin = pin_path(target, remote.algorithm)
    digest = read_pin(pin, remote.algorithm)
    return (digest, f"pin file {pin}") if digest is not None else (None, "none yet")


def _record_pin(target: Path, algorithm: str, digest: str) -> None:
    pin = pin_path(target, algorithm)
    atomic_write_text(pin, f"{digest}  {target.name}\n")
    _note(f"no published checksum for {target.name}; recorded {algorithm} {digest} in {pin} "
          f"(paste it into odebench/data/registry.py to pin it for everyone)")


def _content(handle: IO[bytes], remote: RemoteFile, deep: bool) -> str | None:
    return None if remote.expect is None else content_problem(handle, remote.expect, deep)


def _cached_problem(remote: RemoteFile, target: Path, expected: str | None,
                    origin: str) -> tuple[str | None, bool]:
    """Why the cached ``target`` cannot be used (``None``: it can), and whether its pin must go
    too (the pinned file itself is bad). A registry hash that matches needs no content check."""
    actual = file_digest(target, remote.algorithm)
    if expected is not None and actual != expected:
        return f"{remote.algorithm} {actual}, expected {expected} ({origin})", False
    if origin == "registry":
        return None, False
    with open(target, "rb") as handle:
        problem = _content(handle, remote, deep=False)
    if problem is None and expected is None:
        _record_pin(target, remote.algorithm, actual)
    return problem, expected is not None


def _fetch_file(remote: RemoteFile, target: Path, urls: tuple[str, ...]) -> Path:
    expected, origin = _expected(remote, target)
    if target.is_file():
        problem, drop_pin = _cached_problem(remote, target, expected, origin)
        if problem is None:
            return target
        target.unlink(missing_ok=True)
        if drop_pin:
            pin_path(target, remote.algorithm).unlink(missing_ok=True)
            expected, origin = None, "none yet"
        _note(f"cached file {target} is corrupt ({problem}); removed it"
              + (" and its pin" if drop_pin else "") + ", downloading it again")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _download_any(remote, target, urls, expected, origin)
    except BaseException:
        with contextlib.suppress(OSError):
            target.parent.rmdir()         # only succeeds when we left the folder empty
        raise
    _note(f"saved {target}")
    return target


def _download_any(remote: RemoteFile, target: Path, urls: tuple[str, ...],
                  expected: str | None, origin: str) -> None:
    """Try ``urls`` in order until one gives a verified file; one line per failed URL."""
    errors: list[DataError] = []
    for k, url in enumerate(urls):
        try:
            _download_verified(remote, target, url, expected, origin)
            return
        except DataError as err:
            errors.append(err)
            if len(urls) > 1:
                _note(f"{err}" + ("; trying the next URL" if k + 1 < len(urls) else ""))
    listed = " | ".join(str(err) for err in errors)       # each names its URL
    if all(isinstance(err, UnreachableError) for err in errors):
        check = (f"checked against its pinned {remote.algorithm}" if expected is not None
                 else f"its {remote.algorithm} is pinned on first use")
        raise UnreachableError(f"{listed}; without network, place a copy of {remote.name} at "
                               f"{target} ({check})")
    if len(errors) == 1:
        raise errors[0]
    raise type(errors[-1])(f"{remote.name}: all {len(urls)} URLs failed, nothing was saved: "
                           f"{listed}")


def _download_verified(remote: RemoteFile, target: Path, url: str, expected: str | None,
                       origin: str) -> None:
    """Download ``url`` into a temporary file; rename it onto ``target`` only when its hash
    matches ``expected`` and its content passes ``remote.expect`` (then pin it if unpinned)."""
    with atomic_open(target, "w+b") as handle:
        actual = _download(url, handle, remote.algorithm, remote.name)
        if expected is not None and actual != expected:
            advice = ("nothing was saved" if origin == "registry" else
                      f"nothing was saved; if the pin was recorded from a bad download, delete "
                      f"{pin_path(target, remote.algorithm)}")
            raise ChecksumError(f"checksum mismatch for {remote.name} downloaded from {url}: "
                                f"expected {remote.algorithm} {expected} ({origin}), actual "
                                f"{actual}; {advice}")
        handle.flush()
        problem = _content(handle, remote, deep=True)
        if problem is not None:
            raise FormatError(f"{target}: {problem}; downloaded from {url}, the download was "
                              f"removed from the cache")
    if expected is None:
        _record_pin(target, remote.algorithm, actual)


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _download(url: str, handle: IO[bytes], algorithm: str, label: str) -> str:
    """Stream ``url`` into ``handle``; returns the hex digest of the bytes written."""
    request = urllib.request.Request(url, headers={"User-Agent": "odebench"})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as err:
        raise DownloadError(f"HTTP {err.code} {err.reason} for {url}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise UnreachableError(f"cannot download {url}: {reason}") from err
    digest = hashlib.new(algorithm, usedforsecurity=False)
    done = 0
    with response:
        total = int(response.headers.get("Content-Length") or 0) or None
        print(f"odebench: downloading {url}" + (f" ({_mib(total)})" if total else ""),
              file=sys.stderr)
        last = time.monotonic()
        try:
            while chunk := response.read(CHUNK_BYTES):
                handle.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if time.monotonic() - last >= PROGRESS_INTERVAL_S:
                    last = time.monotonic()
                    share = f" / {_mib(total)} ({100 * done / total:.0f}%)" if total else ""
                    print(f"  {label}: {_mib(done)}{share}", file=sys.stderr)
        except (http.client.HTTPException, OSError) as err:
            raise DownloadError(f"download of {url} failed after {done} bytes: {err!r}") from err
    if total is not None and done != total:
        raise DownloadError(f"download of {url} truncated: {done} of {total} bytes")
    return digest.hexdigest()
