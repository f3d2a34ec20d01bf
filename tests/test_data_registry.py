"""The SOURCES registry matches docs/DATA.md and every named stand-in exists."""

from __future__ import annotations

import importlib
import re

import pytest

from odebench.data.errors import UnknownSourceError
from odebench.data.registry import SOURCES, RemoteFile, get_source

HEX = {"md5": re.compile(r"^[0-9a-f]{32}$"), "sha256": re.compile(r"^[0-9a-f]{64}$")}


def test_registry_covers_data_md():
    assert set(SOURCES) == {"mnist", "cifar10", "mnist_c", "plane_vibration", "silverbox",
                            "walker2d"}
    assert len(SOURCES["mnist"].files) == 4
    assert SOURCES["mnist"].file("t10k-labels-idx1-ubyte.gz").checksum == \
        "ec29112dd5afa0611ce80d1b7f02629c"
    assert SOURCES["silverbox"].file("sb.csv").checksum.startswith("e7076735")
    assert SOURCES["plane_vibration"].file("pv.csv").checksum.startswith("b72a9d06")
    assert SOURCES["walker2d"].file("walker.zip").checksum is None       # pinned on first use


def test_every_entry_is_complete_and_well_formed():
    names = [f.name for s in SOURCES.values() for f in s.files]
    assert len(names) == len(set(names))
    for source in SOURCES.values():
        assert source.licence and source.citation and source.stand_in
        for remote in source.files:
            assert remote.url.startswith("https://") and remote.url.endswith("/" + remote.name)
            assert remote.checksum is None or HEX[remote.algorithm].match(remote.checksum)


def test_named_stand_in_generators_exist():
    named = [s.stand_in_fn for s in SOURCES.values() if s.stand_in_fn]
    assert len(named) >= 3
    for target in named:
        module, name = target.split(":")
        assert callable(getattr(importlib.import_module(module), name))


def test_with_checksums_copies_and_checks_names():
    mnist = SOURCES["mnist"]
    copy = mnist.with_checksums({"train-images-idx3-ubyte.gz": "1" * 64}, algorithm="sha256")
    assert copy.file("train-images-idx3-ubyte.gz") == RemoteFile(
        "train-images-idx3-ubyte.gz", mnist.files[0].url, "sha256", "1" * 64,
        expect=mnist.files[0].expect)
    assert copy.files[1:] == mnist.files[1:] and mnist.files[0].checksum.startswith("f68b3c2d")
    with pytest.raises(UnknownSourceError, match="no file.*nope"):
        mnist.with_checksums({"nope": "0"})
    with pytest.raises(UnknownSourceError, match="unknown data source 'svhn'"):
        get_source("svhn")
    with pytest.raises(ValueError, match="unknown checksum algorithm 'crc32'"):
        RemoteFile("x", "https://example.org/x", "crc32", "0")
