"""fetch() and the loaders' download path, against a loopback HTTP server (never the internet).

The server serves small archives in the real formats (gzip IDX, the CIFAR-10 python tarball)
and, when ``../shared/data`` exists, the real ``sb.csv`` and ``pv.csv``.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from odebench.data import download
from odebench.data.benchcsv import read_plane_vibration_csv
from odebench.data.cifar import write_cifar10_tarball
from odebench.data.cifar10 import load_cifar10
from odebench.data.download import fetch, pin_path, resolve_data_dir
from odebench.data.errors import ChecksumError, DownloadError, UnknownSourceError
from odebench.data.idx import encode_idx
from odebench.data.mnist import FILES as MNIST_FILES
from odebench.data.mnist import load_mnist
from odebench.data.registry import SOURCES, Source
from odebench.data.silverbox import load_silverbox
from tests.helpers import SHARED_DATA
from tests.test_download_validation import walker_zip

needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "sb.csv").is_file() or not (SHARED_DATA / "pv.csv").is_file(),
    reason=f"real sb.csv/pv.csv not found in {SHARED_DATA} (../shared/data beside the repo)")


pytestmark = pytest.mark.usefixtures("no_network")


def _md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _mnist_fixture() -> tuple[dict[str, bytes], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = np.arange(7, dtype=np.uint8) % 10
    bodies = dict(zip(MNIST_FILES, [gzip.compress(encode_idx(a)) for a in
                                    (images[:5], labels[:5], images[5:], labels[5:])],
                      strict=True))
    return bodies, images, labels


@pytest.fixture
def mnist_served(server) -> Source:
    """The 4 MNIST files served; returns the registry entry with the fixtures' md5s."""
    bodies, _, _ = _mnist_fixture()
    for name, body in bodies.items():
        server.serve("mnist", name, body)
    return SOURCES["mnist"].with_checksums({n: _md5(b) for n, b in bodies.items()})


def test_fetch_downloads_verifies_and_reuses_the_cache(server, mnist_served, tmp_path, capsys):
    paths = fetch(mnist_served, data_dir=tmp_path, base_url=server.url)
    assert list(paths) == list(MNIST_FILES)
    assert all(p == tmp_path / "mnist" / n for n, p in paths.items())
    assert _files_under(tmp_path) == sorted(paths.values())      # no temp files left behind
    assert sum(server.requests.values()) == 4
    assert "downloading" in capsys.readouterr().err
    again = fetch(mnist_served, data_dir=tmp_path, base_url=server.url)
    assert again == paths
    assert sum(server.requests.values()) == 4                    # verified, not downloaded again


def test_checksum_mismatch_names_file_and_hashes_and_caches_nothing(server, mnist_served,
                                                                    tmp_path):
    name = MNIST_FILES[2]
    wrong = "0" * 32
    source = mnist_served.with_checksums({name: wrong})
    with pytest.raises(ChecksumError) as err:
        fetch(source, data_dir=tmp_path, base_url=server.url)
    actual = _md5(server.files[f"/mnist/{name}"])
    assert name in str(err.value) and wrong in str(err.value) and actual in str(err.value)
    assert not (tmp_path / "mnist" / name).exists()
    assert not any(p.name.endswith(".tmp") for p in _files_under(tmp_path))
    assert {p.name for p in _files_under(tmp_path)} == set(MNIST_FILES[:2])   # the good ones


def test_checksum_mismatch_on_the_only_file_leaves_the_cache_empty(server, tmp_path):
    server.serve("silverbox", "sb.csv", b'"V1","V2",\n1,2,\n')      # not the real sb.csv
    with pytest.raises(ChecksumError, match="sb.csv.*expected sha256 e7076735"):
        fetch("silverbox", data_dir=tmp_path, base_url=server.url)
    assert _files_under(tmp_path) == []


def test_corrupt_cached_file_is_removed_with_a_note_and_fetched_again(server, mnist_served,
                                                                      tmp_path, capsys):
    paths = fetch(mnist_served, data_dir=tmp_path, base_url=server.url)
    good = paths[MNIST_FILES[0]].read_bytes()
    paths[MNIST_FILES[0]].write_bytes(b"tampered")
    capsys.readouterr()
    assert fetch(mnist_served, data_dir=tmp_path, base_url=server.url) == paths
    assert paths[MNIST_FILES[0]].read_bytes() == good
    assert sum(server.requests.values()) == 5                    # that one file, again
    notes = [line for line in capsys.readouterr().err.splitlines() if " is corrupt " in line]
    assert len(notes) == 1 and f"cached file {paths[MNIST_FILES[0]]} is corrupt" in notes[0]
    assert _files_under(tmp_path) == sorted(paths.values())


def test_http_404_names_the_url(server, tmp_path):
    with pytest.raises(DownloadError, match=rf"HTTP 404 .*{server.url}/cifar10/cifar-10-python"):
        fetch("cifar10", data_dir=tmp_path, base_url=server.url)
    assert _files_under(tmp_path) == []


def test_truncated_body_is_an_error_and_caches_nothing(server, tmp_path):
    body = b"x" * 5000
    server.serve("walker2d", "walker.zip", body)
    server.short.add("/walker2d/walker.zip")
    with pytest.raises(DownloadError, match="walker.zip"):
        fetch("walker2d", data_dir=tmp_path, base_url=server.url)
    assert _files_under(tmp_path) == []


def test_unreachable_host_names_the_url(tmp_path):
    with socket.socket() as probe:                 # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match=f"cannot download http://127.0.0.1:{port}/") as err:
        fetch("silverbox", data_dir=tmp_path, base_url=f"http://127.0.0.1:{port}")
    # and says where a copy made elsewhere goes on a machine without network
    assert str(err.value).endswith(f"without network, place a copy of sb.csv at "
                                   f"{tmp_path / 'silverbox' / 'sb.csv'} (checked "
                                   "against its pinned sha256)")


def test_unpublished_checksum_is_pinned_on_first_download_and_enforced(server, tmp_path,
                                                                        capsys):
    body = walker_zip()
    server.serve("walker2d", "walker.zip", body)
    path = fetch("walker2d", data_dir=tmp_path, base_url=server.url)["walker.zip"]
    pin = pin_path(path, "sha256")
    digest = hashlib.sha256(body).hexdigest()
    assert pin.read_text().split()[0] == digest
    assert digest in capsys.readouterr().err
    fetch("walker2d", data_dir=tmp_path, base_url=server.url)
    assert server.requests["/walker2d/walker.zip"] == 1
    path.unlink()                                       # the file changes upstream
    server.serve("walker2d", "walker.zip", walker_zip(n_files=9))
    with pytest.raises(ChecksumError, match=f"walker.zip.*{digest}.*pin file"):
        fetch("walker2d", data_dir=tmp_path, base_url=server.url)
    assert not path.exists()


def test_mirror_and_data_dir_from_the_environment(server, mnist_served, tmp_path, monkeypatch):
    monkeypatch.setenv(download.MIRROR_ENV, server.url)
    monkeypatch.setenv(download.DATA_ENV, str(tmp_path / "cache"))
    assert resolve_data_dir() == tmp_path / "cache"
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    fetch(mnist_served)
    assert len(_files_under(tmp_path / "cache" / "mnist")) == 4
    monkeypatch.delenv(download.DATA_ENV)
    assert resolve_data_dir() == Path("resources")


def test_progress_lines_report_bytes_done_and_total(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(download, "PROGRESS_INTERVAL_S", 0.0)
    monkeypatch.setattr(download, "CHUNK_BYTES", 1 << 16)
    body = walker_zip(pad=480 << 10)                     # a valid zip of about 0.5 MiB
    server.serve("walker2d", "walker.zip", body)
    fetch("walker2d", data_dir=tmp_path, base_url=server.url)
    err = capsys.readouterr().err
    assert "walker.zip: 0.5 MiB / 0.5 MiB (100%)" in err
    assert err.count("walker.zip: ") == -(-len(body) // (1 << 16))   # one line per chunk


def test_unknown_source_lists_the_valid_ones(tmp_path):
    with pytest.raises(UnknownSourceError, match="unknown data source 'svhn'.*mnist"):
        fetch("svhn", data_dir=tmp_path)


def test_load_mnist_end_to_end_from_gzip_idx(server, mnist_served, tmp_path):
    _, images, labels = _mnist_fixture()
    train_x, train_y, test_x, test_y = load_mnist(tmp_path, offline=False, base_url=server.url,
                                                  source=mnist_served)
    assert train_x.shape == (5, 1, 28, 28) and test_x.shape == (2, 1, 28, 28)
    assert train_x.dtype == torch.float32 and train_y.dtype == torch.int64
    assert torch.equal(train_x[:, 0], torch.from_numpy(images[:5]).float() / 255)
    assert torch.equal(test_y, torch.from_numpy(labels[5:]).long())
    assert 0.0 <= float(train_x.min()) and float(train_x.max()) <= 1.0


def test_load_cifar10_end_to_end_from_the_python_tarball(server, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(13, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 10, size=13)
    archive = tmp_path / "fixture.tar.gz"
    write_cifar10_tarball(archive, x[:10], y[:10], x[10:], y[10:])
    body = archive.read_bytes()
    server.serve("cifar10", "cifar-10-python.tar.gz", body)
    source = SOURCES["cifar10"].with_checksums({"cifar-10-python.tar.gz": _md5(body)})
    train_x, train_y, test_x, test_y = load_cifar10(tmp_path / "cache", base_url=server.url,
                                                    source=source)
    assert train_x.shape == (10, 3, 32, 32) and test_x.shape == (3, 3, 32, 32)
    assert torch.equal(train_x, torch.from_numpy(x[:10]).float() / 255)
    assert torch.equal(test_y, torch.from_numpy(y[10:]))


@needs_shared
def test_real_silverbox_downloads_verifies_against_the_registry_and_parses(server, tmp_path):
    server.serve("silverbox", "sb.csv", (SHARED_DATA / "sb.csv").read_bytes())
    v1, v2 = load_silverbox(tmp_path, offline=False, base_url=server.url)   # registry sha256
    assert v1.shape == v2.shape == (131_072,)
    assert v1.dtype == torch.float64
    assert abs(float(v1.mean())) < 1e-9 and abs(float(v2.mean())) < 1e-9  # mean removed
    assert 1.5 < float(v1.std()) < 3.0 and 4.0 < float(v2.std()) < 7.0    # volts x 100
    first, _ = load_silverbox(tmp_path, base_url=server.url, n_samples=1000)
    assert torch.equal(first, v1[:1000])
    assert server.requests["/silverbox/sb.csv"] == 1


@needs_shared
def test_real_plane_vibration_downloads_verifies_and_parses(server, tmp_path):
    server.serve("plane_vibration", "pv.csv", (SHARED_DATA / "pv.csv").read_bytes())
    path = fetch("plane_vibration", data_dir=tmp_path, base_url=server.url)["pv.csv"]
    data, rate = read_plane_vibration_csv(path)
    assert data.shape == (73_728, 5) and rate == 400.0
    assert np.isfinite(data).all()
