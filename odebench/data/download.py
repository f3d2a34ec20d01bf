"""fetch(): download a registered source into the cache, verified, never half-written.

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
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from odebench.data.errors import ChecksumError, DownloadError
from odebench.data.registry import RemoteFile, Source, get_source
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
    Cached files are verified and not downloaded again. Raises :class:`ChecksumError` on a hash
    mismatch (the cache is left without the file) and :class:`DownloadError` on HTTP errors.
    """
    src = get_source(source) if isinstance(source, str) else source
    mirror = base_url if base_url is not None else os.environ.get(MIRROR_ENV) or None
    folder = resolve_data_dir(data_dir) / src.id
    paths = {}
    for remote in src.files:
        url = f"{mirror.rstrip('/')}/{src.id}/{remote.name}" if mirror else remote.url
        paths[remote.name] = _fetch_file(remote, folder / remote.name, url)
    return paths


def _expected(remote: RemoteFile, target: Path) -> tuple[str | None, str]:
    """The hash to check against and where it comes from (registry or pin file)."""
    if remote.checksum is not None:
        return remote.checksum.lower(), "registry"
    pin = pin_path(target, remote.algorithm)
    if pin.is_file():
        return pin.read_text().split()[0].lower(), f"pin file {pin}"
    return None, "none yet"


def _record_pin(target: Path, algorithm: str, digest: str) -> None:
    pin = pin_path(target, algorithm)
    atomic_write_text(pin, f"{digest}  {target.name}\n")
    print(f"odebench: no published checksum for {target.name}; recorded {algorithm} {digest} "
          f"in {pin} (paste it into odebench/data/registry.py to pin it for everyone)",
          file=sys.stderr)


def _check_digest(target: Path, remote: RemoteFile, actual: str, expected: str | None,
                  problem: str, origin: str, advice: str) -> None:
    """Pin ``actual`` when no checksum is known yet, else raise unless it matches."""
    if expected is None:
        _record_pin(target, remote.algorithm, actual)
    elif actual != expected:
        raise ChecksumError(f"{problem}: expected {remote.algorithm} {expected} ({origin}), "
                            f"actual {actual}; {advice}")


def _fetch_file(remote: RemoteFile, target: Path, url: str) -> Path:
    expected, origin = _expected(remote, target)
    if target.exists():
        _check_digest(target, remote, file_digest(target, remote.algorithm), expected,
                      f"cached file {target} is corrupt or changed", origin,
                      "delete it to download it again")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_open(target, "wb") as handle:
            actual = _download(url, handle, remote.algorithm, remote.name)
            _check_digest(target, remote, actual, expected,
                          f"checksum mismatch for {remote.name} downloaded from {url}", origin,
                          "nothing was saved")
    except BaseException:
        with contextlib.suppress(OSError):
            target.parent.rmdir()         # only succeeds when we left the folder empty
        raise
    print(f"odebench: saved {target}", file=sys.stderr)
    return target


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
        raise DownloadError(f"cannot download {url}: {reason}") from err
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
