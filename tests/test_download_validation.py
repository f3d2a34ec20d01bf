"""fetch() checks content before caching or pinning, repairs a corrupt cache and tries mirrors.

Real archives, IDX and CSV files are built here and served from 127.0.0.1 (never the internet).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from odebench.data.cifar import write_cifar10_tarball
from odebench.data.download import fetch, pin_path
from odebench.data.errors import ChecksumError, DataError, DownloadError, FormatError
from odebench.data.idx import encode_idx
from odebench.data.registry import SOURCES, Source
from odebench.data.walker2d import WalkerStandin, cached_standin

pytestmark = pytest.mark.usefixtures("no_network")

WALKER = "walker.zip"


def walker_zip(n_files: int = 8, steps: int = 20, pad: int = 0) -> bytes:
    """A walker.zip of ``n_files`` float32 ``[steps, 17]`` trajectories (``pad`` extra bytes
    in a README member, stored uncompressed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for k in range(n_files):
            member = io.BytesIO()
            np.save(member, np.full((steps, 17), k, dtype=np.float32))
            archive.writestr(f"walker/traj{k:02d}.npy", member.getvalue())
        archive.writestr("walker/README.txt", b"x" * pad)
    return buffer.getvalue()


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _walker_source(*urls: str, checksum: str | None = None) -> Source:
    """The registry's walker2d entry (its content spec) with other URLs and checksum."""
    base = SOURCES["walker2d"]
    remote = dataclasses.replace(base.file(WALKER), url=urls[0], mirrors=urls[1:],
                                 checksum=checksum)
    return dataclasses.replace(base, files=(remote,))


# --- content checked before the file is cached or pinned ------------------------------------

def test_incomplete_walker_zip_is_refused_and_not_pinned_then_the_good_one_is_accepted(
        server, tmp_path):
    server.serve("walker2d", WALKER, walker_zip(n_files=3))     # opens, but 3 trajectories
    url = f"{server.url}/walker2d/{WALKER}"
    with pytest.raises(FormatError, match=rf"walker2d/walker.zip: 3 walker/\*.npy trajectories "
                                          rf"in the archive, expected at least 8.*{url}"):
        fetch("walker2d", data_dir=tmp_path, base_url=server.url)
    assert _files_under(tmp_path) == []                         # no file, no pin, no temp
    good = walker_zip()
    server.serve("walker2d", WALKER, good)
    path = fetch("walker2d", data_dir=tmp_path, base_url=server.url)[WALKER]
    assert pin_path(path, "sha256").read_text().split()[0] == _sha256(good)
    assert path.read_bytes() == good


BAD_CONTENT = [
    ("cifar10", "cifar-10-python.tar.gz", "tar_without_test_batch",
     r"no cifar-10-batches-py/test_batch test batch in the archive"),
    ("cifar10", "cifar-10-python.tar.gz", "tar_truncated", r"not a readable tar archive"),
    ("mnist", "t10k-labels-idx1-ubyte.gz", "idx_short",
     r"IDX header declares 5 data bytes, the file holds 4"),
    ("mnist", "t10k-labels-idx1-ubyte.gz", "idx_wrong_ndim",
     r"IDX header has 2 dimensions, expected 1"),
    ("mnist", "t10k-labels-idx1-ubyte.gz", "gzip_truncated", r"corrupt gzip stream"),
    ("silverbox", "sb.csv", "csv_header", r"line 1 \(header\): missing column\(s\) 'V2'"),
    ("mnist_c", "mnist_c.zip", "zip_no_labels",
     r"no mnist_c/\*/test_labels.npy test label sets"),
    ("walker2d", WALKER, "zip_tiny_member",
     r"member walker/traj00.npy has 128 bytes, expected at least 264 .*\(7 more too small\)"),
]


@pytest.mark.parametrize(("source", "name", "body", "problem"), BAD_CONTENT,
                         ids=[case[2] for case in BAD_CONTENT])
def test_bad_content_with_a_matching_checksum_names_file_url_and_problem_and_caches_nothing(
        server, tmp_path, source, name, body, problem):
    raw = _bad_body(body, tmp_path)
    server.serve(source, name, raw)
    src = SOURCES[source].with_checksums({name: hashlib.new(SOURCES[source].file(name).algorithm,
                                                            raw).hexdigest()})
    src = dataclasses.replace(src, files=(src.file(name),))     # just the bad file
    with pytest.raises(FormatError) as err:
        fetch(src, data_dir=tmp_path / "cache", base_url=server.url)
    message = str(err.value)
    assert re.search(problem, message), message
    assert f"{source}/{name}: " in message and f"{server.url}/{source}/{name}" in message
    assert "\n" not in message
    assert _files_under(tmp_path / "cache") == []


def _bad_body(kind: str, tmp_path: Path) -> bytes:
    if kind.startswith("tar"):
        archive = tmp_path / "fixture.tar.gz"
        x = np.zeros((10, 3, 32, 32), np.uint8)
        write_cifar10_tarball(archive, x, np.zeros(10, int), x[:2], np.zeros(2, int))
        if kind == "tar_truncated":
            return archive.read_bytes()[:-200]
        out = io.BytesIO()
        with tarfile.open(archive) as src, tarfile.open(fileobj=out, mode="w:gz") as dst:
            for member in src:
                if not member.name.endswith("test_batch"):
                    dst.addfile(member, src.extractfile(member))
        return out.getvalue()
    if kind == "idx_short":
        return gzip.compress(encode_idx(np.arange(5, dtype=np.uint8))[:-1])
    if kind == "idx_wrong_ndim":
        return gzip.compress(encode_idx(np.zeros((2, 3), np.uint8)))
    if kind == "gzip_truncated":
        return gzip.compress(encode_idx(np.arange(200, dtype=np.uint8)))[:-10]
    if kind == "csv_header":
        return b'"V1","V3",\n1,2,\n'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if kind == "zip_no_labels":
            member = io.BytesIO()
            np.save(member, np.zeros((3, 28, 28, 1), np.uint8))
            archive.writestr("mnist_c/identity/test_images.npy", member.getvalue())
        else:                                                   # zip_tiny_member: empty arrays
            for k in range(8):
                member = io.BytesIO()
                np.save(member, np.zeros((0, 17), np.float32))
                archive.writestr(f"walker/traj{k:02d}.npy", member.getvalue())
    return buffer.getvalue()


# --- a corrupt cache is detected, removed and fetched again ---------------------------------

def test_cached_file_changed_since_it_was_pinned_is_fetched_again(server, tmp_path, capsys):
    good = walker_zip()
    server.serve("walker2d", WALKER, good)
    path = fetch("walker2d", data_dir=tmp_path, base_url=server.url)[WALKER]
    path.write_bytes(good[:-100])                               # damaged on disk
    again = fetch("walker2d", data_dir=tmp_path, base_url=server.url)[WALKER]
    assert again.read_bytes() == good and server.requests[f"/walker2d/{WALKER}"] == 2
    note = [line for line in capsys.readouterr().err.splitlines() if " is corrupt " in line]
    assert len(note) == 1 and str(path) in note[0] and _sha256(good) in note[0]


def test_incomplete_zip_pinned_by_an_older_version_is_replaced_by_the_good_one(server,
                                                                              tmp_path, capsys):
    """The reported bug: an incomplete walker.zip and its pin are already in the cache."""
    bad, good = walker_zip(n_files=3), walker_zip()
    folder = tmp_path / "walker2d"
    folder.mkdir()
    (folder / WALKER).write_bytes(bad)
    pin_path(folder / WALKER, "sha256").write_text(f"{_sha256(bad)}  {WALKER}\n")
    server.serve("walker2d", WALKER, good)
    path = fetch("walker2d", data_dir=tmp_path, base_url=server.url)[WALKER]
    assert path.read_bytes() == good
    assert pin_path(path, "sha256").read_text().split()[0] == _sha256(good)
    err = capsys.readouterr().err
    assert "3 walker/*.npy trajectories" in err and "removed it and its pin" in err


@pytest.mark.parametrize("pin_text", [b"", b"not-a-digest  walker.zip\n", b"abc123\n",
                                      b"\xff\xfe\x00garbage"])
def test_corrupt_pin_file_is_replaced_from_the_checked_cached_file(server, tmp_path, capsys,
                                                                   pin_text):
    good = walker_zip()
    server.serve("walker2d", WALKER, good)
    path = fetch("walker2d", data_dir=tmp_path, base_url=server.url)[WALKER]
    pin = pin_path(path, "sha256")
    pin.write_bytes(pin_text)
    capsys.readouterr()
    assert fetch("walker2d", data_dir=tmp_path, base_url=server.url)[WALKER] == path
    assert pin.read_text().split()[0] == _sha256(good)
    assert server.requests[f"/walker2d/{WALKER}"] == 1          # the cached file was fine
    err = capsys.readouterr().err
    assert f"pin file {pin} is not a sha256 hex digest" in err


def test_corrupt_pin_with_a_corrupt_cached_file_fetches_again(server, tmp_path):
    good = walker_zip()
    server.serve("walker2d", WALKER, good)
    path = fetch("walker2d", data_dir=tmp_path, base_url=server.url)[WALKER]
    pin_path(path, "sha256").write_text("zz\n")
    path.write_bytes(b"PK\x05\x06" + b"\0" * 18)               # an empty zip
    assert fetch("walker2d", data_dir=tmp_path, base_url=server.url)[WALKER].read_bytes() == good
    assert pin_path(path, "sha256").read_text().split()[0] == _sha256(good)
    assert server.requests[f"/walker2d/{WALKER}"] == 2


def test_download_that_differs_from_a_good_pin_is_refused_with_advice(server, tmp_path):
    good = walker_zip()
    server.serve("walker2d", WALKER, good)
    path = fetch("walker2d", data_dir=tmp_path, base_url=server.url)[WALKER]
    path.unlink()
    server.serve("walker2d", WALKER, walker_zip(n_files=9))     # changed upstream
    with pytest.raises(ChecksumError, match=rf"expected sha256 {_sha256(good)} \(pin file .*"
                                            rf"delete .*walker.zip.sha256"):
        fetch("walker2d", data_dir=tmp_path, base_url=server.url)
    assert _files_under(tmp_path) == [pin_path(path, "sha256")]


# --- mirrors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("first", ["missing", "wrong_checksum", "incomplete"])
def test_second_mirror_is_used_when_the_first_fails(server, tmp_path, capsys, first):
    good = walker_zip()
    a, b = f"{server.url}/a/{WALKER}", f"{server.url}/b/{WALKER}"
    server.files["/b/walker.zip"] = good
    checksum = None
    if first == "wrong_checksum":
        server.files["/a/walker.zip"], checksum = walker_zip(n_files=9), _sha256(good)
    elif first == "incomplete":
        server.files["/a/walker.zip"] = walker_zip(n_files=2)
    path = fetch(_walker_source(a, b, checksum=checksum), data_dir=tmp_path)[WALKER]
    assert path.read_bytes() == good
    assert server.requests["/a/walker.zip"] == 1 and server.requests["/b/walker.zip"] == 1
    failed = [line for line in capsys.readouterr().err.splitlines() if "trying the next" in line]
    reason = {"missing": "HTTP 404", "wrong_checksum": "checksum mismatch",
              "incomplete": "2 walker/*.npy trajectories"}[first]
    assert len(failed) == 1 and a in failed[0] and reason in failed[0]
    expected = [path] + ([pin_path(path, "sha256")] if checksum is None else [])
    assert _files_under(tmp_path) == sorted(expected)


def test_all_mirrors_failing_is_one_error_listing_every_url_and_leaves_nothing(server,
                                                                             tmp_path):
    urls = [f"{server.url}/{k}/{WALKER}" for k in ("gone", "short", "bad")]
    server.files["/short/walker.zip"] = walker_zip()
    server.short.add("/short/walker.zip")
    server.files["/bad/walker.zip"] = b"this is not a zip archive" * 20
    with pytest.raises(DataError) as err:
        fetch(_walker_source(*urls), data_dir=tmp_path)
    message = str(err.value)
    assert message.startswith("walker.zip: all 3 URLs failed") and "\n" not in message
    assert all(url in message for url in urls)
    assert "HTTP 404" in message and "truncated" in message and "not a readable zip" in message
    assert isinstance(err.value, FormatError)                   # the last failure's kind
    assert _files_under(tmp_path) == [] and not (tmp_path / "walker2d").exists()


def test_registry_lists_the_csail_mirror_for_walker_and_a_content_spec_for_every_file():
    remote = SOURCES["walker2d"].file(WALKER)
    assert remote.urls == ("https://pub.ist.ac.at/~mlechner/datasets/walker.zip",
                           "https://people.csail.mit.edu/mlechner/datasets/walker.zip")
    assert all(f.expect is not None for s in SOURCES.values() for f in s.files)


def test_a_mirror_base_url_replaces_every_registry_url(server, tmp_path):
    source = _walker_source(f"{server.url}/a/{WALKER}", f"{server.url}/b/{WALKER}")
    with pytest.raises(DownloadError, match=rf"HTTP 404 .*{server.url}/walker2d/walker.zip$"):
        fetch(source, data_dir=tmp_path, base_url=server.url)
    assert set(server.requests) == {"/walker2d/walker.zip"}


# --- the generated Walker stand-in cache -----------------------------------------------------

def test_corrupt_walker_standin_cache_is_removed_with_a_note_and_generated_again(tmp_path,
                                                                              capsys):
    pytest.importorskip("gymnasium.envs.mujoco.walker2d_v5", reason="needs gymnasium[mujoco]")
    standin = WalkerStandin(n_trajectories=2, steps=5)
    named, path, _ = cached_standin(tmp_path, standin)
    path.write_bytes(b"not an npz archive")
    again, same, _ = cached_standin(tmp_path, standin)
    assert same == path and len(again) == 2
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(named, again, strict=True))
    err = capsys.readouterr().err
    assert f"{path}: unreadable stand-in cache" in err and "generating it again" in err
