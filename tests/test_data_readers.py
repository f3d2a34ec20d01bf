"""File readers: IDX (plain and gzip), the CIFAR-10 tarball, the benchmark CSV files."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
import warnings

import numpy as np
import pytest

from odebench.data.benchcsv import read_plane_vibration_csv, read_silverbox_csv
from odebench.data.cifar import FOLDER, read_cifar10_tarball, write_cifar10_tarball
from odebench.data.errors import FormatError
from odebench.data.idx import decode_idx, encode_idx, read_idx


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip_plain_and_gzip(tmp_path, compress):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    raw = encode_idx(images)
    assert raw[:4] == bytes([0, 0, 0x08, 3])
    path = tmp_path / "images.idx"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    out = read_idx(path, ndim=3)
    assert out.dtype == np.uint8 and np.array_equal(out, images) and out.flags.writeable


def test_idx_other_types_round_trip():
    values = np.linspace(-2, 2, 6, dtype=np.float32).reshape(2, 3)
    assert np.array_equal(decode_idx(encode_idx(values)), values)


def test_idx_bad_magic_is_a_clear_error(tmp_path):
    path = tmp_path / "not-idx"
    path.write_bytes(b"\x08\x03\x00\x00" + bytes(20))
    with pytest.raises(FormatError, match="not-idx: not an IDX file"):
        read_idx(path)


def test_idx_size_mismatch_names_shape_and_sizes():
    raw = encode_idx(np.zeros((3, 4, 4), dtype=np.uint8))
    with pytest.raises(FormatError, match=r"shape \(3, 4, 4\) needs 48 data bytes, file has 47"):
        decode_idx(raw[:-1], name="short")
    with pytest.raises(FormatError, match="expected 1 dimensions, file has 3"):
        decode_idx(raw, ndim=1)


def test_idx_corrupt_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.gz"
    path.write_bytes(gzip.compress(encode_idx(np.zeros(100, dtype=np.uint8)))[:20])
    with pytest.raises(FormatError, match="broken.gz: corrupt gzip"):
        read_idx(path)


def _fixture_tarball(tmp_path, n_train=12, n_test=4):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, size=(n_train + n_test, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 10, size=n_train + n_test)
    path = tmp_path / "cifar-10-python.tar.gz"
    write_cifar10_tarball(path, x[:n_train], y[:n_train], x[n_train:], y[n_train:])
    return path, x, y


def test_cifar_tarball_has_the_real_layout_and_round_trips(tmp_path):
    path, x, y = _fixture_tarball(tmp_path)
    with tarfile.open(path) as archive:
        names = set(archive.getnames())
        batch = pickle.loads(archive.extractfile(f"{FOLDER}/data_batch_1").read(),
                             encoding="bytes")
    assert {f"{FOLDER}/data_batch_{i}" for i in range(1, 6)} | {f"{FOLDER}/test_batch"} <= names
    assert batch[b"data"].shape[1] == 3072 and isinstance(batch[b"labels"], list)
    train_x, train_y, test_x, test_y = read_cifar10_tarball(path)
    assert train_x.shape == (12, 3, 32, 32) and train_x.dtype == np.uint8
    assert np.array_equal(train_x, x[:12]) and np.array_equal(test_x, x[12:])
    assert np.array_equal(train_y, y[:12]) and np.array_equal(test_y, y[12:])


def _rewrite(path, member, transform):
    """Copy the tarball with ``member``'s bytes transformed."""
    with tarfile.open(path) as archive:
        contents = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}
    contents[f"{FOLDER}/{member}"] = transform(contents[f"{FOLDER}/{member}"])
    out = path.with_name("rewritten.tar.gz")
    with tarfile.open(out, "w:gz") as archive:
        for name, raw in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return out


def test_cifar_reads_numpy1_style_pickles_without_warnings(tmp_path):
    path, x, _ = _fixture_tarball(tmp_path)
    old = _rewrite(path, "test_batch",
                   lambda raw: raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, _, test_x, _ = read_cifar10_tarball(old)
    assert np.array_equal(test_x, x[12:])


def test_cifar_refuses_pickles_that_would_run_code(tmp_path):
    path, _, _ = _fixture_tarball(tmp_path)

    class Evil:
        def __reduce__(self):
            return os.system, ("echo pwned",)

    evil = _rewrite(path, "data_batch_3", lambda raw: pickle.dumps(Evil(), protocol=2))
    with pytest.raises(FormatError, match="data_batch_3 is not a CIFAR-10 batch.*posix.system"):
        read_cifar10_tarball(evil)


def test_cifar_missing_batch_and_non_tar_are_clear_errors(tmp_path):
    path = tmp_path / "partial.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(f"{FOLDER}/readme.html")
        archive.addfile(info, io.BytesIO(b""))
    with pytest.raises(FormatError, match="missing .*data_batch_1"):
        read_cifar10_tarball(path)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball at all" * 10)
    with pytest.raises(FormatError, match="junk.tar.gz: not a readable tar archive"):
        read_cifar10_tarball(junk)


def test_benchmark_csv_trailing_commas_and_header_checks(tmp_path):
    sb = tmp_path / "sb.csv"
    sb.write_text('"V1","V2",\n0.5,-1.25,\n0.25,2,')                 # no final newline
    assert np.array_equal(read_silverbox_csv(sb), [[0.5, -1.25], [0.25, 2.0]])
    pv = tmp_path / "pv.csv"
    pv.write_text('"Force","Voltage","Acceleration1","Acceleration2","Acceleration3","Fs",\n'
                  "1,2,3,4,5,400,\n6,7,8,9,10,,\n\n")
    data, rate = read_plane_vibration_csv(pv)
    assert data.shape == (2, 5) and rate == 400.0 and data[1, 4] == 10
    with pytest.raises(FormatError, match=r"pv.csv: header .* differs .*\['V1', 'V2'\]"):
        read_silverbox_csv(pv)
    sb.write_text('"V1","V2",\n0.5,oops,\n')
    with pytest.raises(FormatError, match="sb.csv: cannot parse"):
        read_silverbox_csv(sb)
