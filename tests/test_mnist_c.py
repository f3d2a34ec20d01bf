"""load_mnist_c: a generated archive in the MNIST-C layout over a loopback server, and the
offline digits stand-in (never the internet)."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from odebench.data.corruptions import CORRUPTIONS, corrupt
from odebench.data.errors import (
    ChecksumError,
    DownloadError,
    FormatError,
    UnknownCorruptionError,
)
from odebench.data.idx import encode_idx
from odebench.data.mnist import FILES as MNIST_FILES
from odebench.data.mnist import digits_standin
from odebench.data.mnist_c import ARCHIVE, load_mnist_c, mnist_c_standin
from odebench.data.registry import SOURCES, Source

pytestmark = pytest.mark.usefixtures("no_network")

NAMES = ["identity", "rotate", "stripe"]
N_TEST, N_TRAIN = 5, 3


def _md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _sets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per corruption: uint8 test images [5, 28, 28, 1] and uint8 labels."""
    rng = np.random.default_rng(0)
    return {name: (rng.integers(0, 256, size=(N_TEST, 28, 28, 1), dtype=np.uint8),
                   ((np.arange(N_TEST) + 3 * k) % 10).astype(np.uint8))
            for k, name in enumerate(NAMES)}


def _members() -> dict[str, bytes]:
    """The archive's members in the MNIST-C layout, train sets included (and ignored)."""
    members = {}
    for name, (x, y) in _sets().items():
        members[f"mnist_c/{name}/train_images.npy"] = _npy(x[:N_TRAIN])
        members[f"mnist_c/{name}/train_labels.npy"] = _npy(y[:N_TRAIN])
        members[f"mnist_c/{name}/test_images.npy"] = _npy(x)
        members[f"mnist_c/{name}/test_labels.npy"] = _npy(y)
    return members


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return (rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8),
            (np.arange(7) % 10).astype(np.uint8))


@pytest.fixture
def mnist_source(server) -> Source:
    """Generated MNIST IDX files served; the registry entry with their md5s."""
    images, labels = _mnist_arrays()
    bodies = dict(zip(MNIST_FILES, [gzip.compress(encode_idx(a)) for a in
                                    (images[:5], labels[:5], images[5:], labels[5:])],
                      strict=True))
    for name, body in bodies.items():
        server.serve("mnist", name, body)
    return SOURCES["mnist"].with_checksums({n: _md5(b) for n, b in bodies.items()})


def _serve_archive(server, body: bytes, pinned: bytes | None = None) -> Source:
    """Serve ``body`` as mnist_c.zip; the registry entry pins the md5 of ``pinned`` (or body)."""
    server.serve("mnist_c", ARCHIVE, body)
    return SOURCES["mnist_c"].with_checksums({ARCHIVE: _md5(body if pinned is None else pinned)})


def _load(server, tmp_path: Path, source: Source, mnist_source: Source | None = None):
    return load_mnist_c(tmp_path, corruptions=NAMES, base_url=server.url, source=source,
                        mnist_source=mnist_source)


# --- online ----------------------------------------------------------------------------------

def test_loads_clean_mnist_train_and_each_corrupted_test_set(server, mnist_source, tmp_path):
    source = _serve_archive(server, _zip(_members()))
    data = _load(server, tmp_path, source, mnist_source)
    images, _ = _mnist_arrays()
    assert data.train_x.shape == (5, 1, 28, 28) and data.train_x.dtype == torch.float32
    assert torch.equal(data.train_x[:, 0], torch.from_numpy(images[:5]).float() / 255)
    assert data.train_y.dtype == torch.int64 and data.train_y.tolist() == [0, 1, 2, 3, 4]
    assert list(data.tests) == NAMES
    for name, (x, y) in _sets().items():
        test_x, test_y = data.tests[name]
        assert test_x.shape == (N_TEST, 1, 28, 28) and test_x.dtype == torch.float32
        assert torch.equal(test_x[:, 0], torch.from_numpy(x[..., 0]).float() / 255)
        assert test_y.dtype == torch.int64 and test_y.tolist() == y.tolist()
    assert ARCHIVE in data.source and "MNIST" in data.source
    cached = {p.relative_to(tmp_path).as_posix() for p in _files_under(tmp_path)}
    assert cached == {f"mnist_c/{ARCHIVE}", *(f"mnist/{n}" for n in MNIST_FILES)}
    requests = sum(server.requests.values())
    again = _load(server, tmp_path, source, mnist_source)
    assert sum(server.requests.values()) == requests                  # served from the cache
    assert torch.equal(again.tests["rotate"][0], data.tests["rotate"][0])


def test_checksum_mismatch_is_an_error_and_caches_nothing(server, mnist_source, tmp_path):
    body = _zip(_members())
    source = _serve_archive(server, body, pinned=body + b"other build")
    with pytest.raises(ChecksumError, match=f"{ARCHIVE}.*expected md5 .*actual {_md5(body)}"):
        _load(server, tmp_path, source, mnist_source)
    assert _files_under(tmp_path) == []
    assert not any(path.startswith("/mnist/") for path in server.requests)   # MNIST not fetched


def test_truncated_download_is_rejected_and_caches_nothing(server, mnist_source, tmp_path):
    source = _serve_archive(server, _zip(_members()))
    server.short.add(f"/mnist_c/{ARCHIVE}")
    with pytest.raises(DownloadError, match=ARCHIVE):
        _load(server, tmp_path, source, mnist_source)
    assert _files_under(tmp_path) == []


def test_missing_member_names_the_archive_and_the_member(server, mnist_source, tmp_path):
    members = _members()
    del members["mnist_c/rotate/test_labels.npy"]
    source = _serve_archive(server, _zip(members))
    with pytest.raises(FormatError, match=r"mnist_c\.zip: member mnist_c/rotate/test_labels"
                                          r"\.npy is missing"):
        _load(server, tmp_path, source, mnist_source)
    assert not any(path.startswith("/mnist/") for path in server.requests)


def test_default_corruptions_need_every_test_set(server, mnist_source, tmp_path):
    source = _serve_archive(server, _zip(_members()))              # 3 of the 11 sets only
    with pytest.raises(FormatError, match="mnist_c/dotted_line/test_images.npy is missing"):
        load_mnist_c(tmp_path, base_url=server.url, source=source, mnist_source=mnist_source)


@pytest.mark.parametrize(("member", "damage", "message"), [
    ("mnist_c/stripe/test_images.npy", lambda body: body[: len(body) // 2], "unreadable .npy"),
    ("mnist_c/stripe/test_images.npy",
     lambda body: _npy(np.zeros((N_TEST, 27, 28, 1), np.uint8)), r"shape \(5, 27, 28, 1\)"),
    ("mnist_c/stripe/test_images.npy",
     lambda body: _npy(np.zeros((N_TEST, 28, 28, 1), np.float32)), "dtype float32"),
    ("mnist_c/stripe/test_labels.npy",
     lambda body: _npy(np.full(N_TEST, 10, np.uint8)), r"labels outside 0\.\.9"),
    ("mnist_c/stripe/test_labels.npy",
     lambda body: _npy(np.zeros(N_TEST + 1, np.uint8)), "5 images in member .* but 6 labels"),
    ("mnist_c/stripe/test_labels.npy",
     lambda body: _npy(np.zeros(N_TEST, np.float64)), "integer labels"),
])
def test_bad_member_is_a_format_error_naming_it(server, mnist_source, tmp_path, member,
                                                 damage, message):
    members = _members()
    members[member] = damage(members[member])
    source = _serve_archive(server, _zip(members))
    with pytest.raises(FormatError, match=message) as err:
        _load(server, tmp_path, source, mnist_source)
    assert member in str(err.value) and ARCHIVE in str(err.value)


def test_corrupt_zip_with_a_matching_checksum_is_a_format_error(server, tmp_path):
    source = _serve_archive(server, b"PK\x03\x04 not really a zip" * 50)
    with pytest.raises(FormatError, match=r"mnist_c\.zip: not a readable zip archive"):
        _load(server, tmp_path, source)


def test_unreadable_archive_pinned_on_first_use_is_removed_with_its_pin(server, tmp_path):
    server.serve("mnist_c", ARCHIVE, b"garbage" * 100)
    source = SOURCES["mnist_c"].with_checksums({ARCHIVE: None}, algorithm="sha256")
    with pytest.raises(FormatError, match="removed from the cache"):
        _load(server, tmp_path, source)
    assert _files_under(tmp_path) == []


# --- names and the offline stand-in ----------------------------------------------------------

def test_unknown_corruption_is_an_error_before_any_download(server, tmp_path):
    for offline in (True, False):
        with pytest.raises(UnknownCorruptionError, match="'fog'.*valid: dotted_line"):
            load_mnist_c(tmp_path, offline=offline, corruptions=["rotate", "fog"],
                         base_url=server.url)
    assert sum(server.requests.values()) == 0 and _files_under(tmp_path) == []


def test_offline_stand_in_has_the_11_test_sets_of_the_digits():
    train_x, train_y, test_x, test_y = digits_standin()
    data = load_mnist_c(offline=True)
    assert torch.equal(data.train_x, train_x) and torch.equal(data.train_y, train_y)
    assert list(data.tests) == list(CORRUPTIONS) and len(data.tests) == 11
    for name, (x, y) in data.tests.items():
        assert x.shape == test_x.shape == (355, 1, 8, 8) and x.dtype == torch.float32
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
        assert torch.equal(y, test_y) and y.dtype == torch.int64
        assert torch.equal(x, test_x) == (name == "identity")
    assert data.source.startswith("stand-in") and "seed 0" in data.source


def test_offline_stand_in_is_deterministic_and_independent_of_the_selection():
    first, second = mnist_c_standin(seed=0), load_mnist_c(offline=True, seed=0)
    for name in CORRUPTIONS:
        assert torch.equal(first.tests[name][0], second.tests[name][0])
    chosen = load_mnist_c(offline=True, corruptions=["shear", "rotate"], seed=0)
    assert list(chosen.tests) == ["shear", "rotate"]
    assert torch.equal(chosen.tests["rotate"][0], first.tests["rotate"][0])
    reseeded = mnist_c_standin(["rotate", "stripe"], seed=1)
    assert not torch.equal(reseeded.tests["rotate"][0], first.tests["rotate"][0])
    assert torch.equal(reseeded.tests["stripe"][0], first.tests["stripe"][0])  # no randomness


def test_offline_stand_in_applies_the_generator_definitions_to_the_test_digits():
    _, _, test_x, _ = digits_standin()
    clean = test_x[:, 0].numpy()
    data = mnist_c_standin(seed=2)
    for row, name in enumerate(CORRUPTIONS):
        expected = corrupt(name, clean, (2, row))          # tested in tests/test_corruptions.py
        assert np.array_equal(data.tests[name][0][:, 0].numpy(), expected)
    stripe = data.tests["stripe"][0][:, 0]
    assert torch.allclose(stripe[:, :, :2], 1 - test_x[:, 0, :, :2])    # 7 of 28 columns: 2 of 8
    lined = data.tests["dotted_line"][0] - test_x                        # an added line
    assert float(lined.min()) >= 0 and (lined.flatten(1).amax(1) > 0).all()
