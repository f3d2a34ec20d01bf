"""SOURCES: every downloadable data set, with pinned URLs, checksums, licence and stand-in.

Adding a source takes one loader file and one ``Source(...)`` entry below. URLs and hashes are
documented in docs/DATA.md. A file whose publisher gives no checksum (``walker.zip``) has
``checksum=None``: :func:`odebench.data.download.fetch` records its sha256 on first download in a
pin file beside it in the cache (``<name>.sha256``) and verifies every later use against that pin.
Paste the recorded hash into this registry to pin it for everyone.

Every file also says what it must hold (``expect``, an :class:`Expect`): ``fetch`` checks a
download against it before the file is cached or pinned (:mod:`odebench.data.content`). A file
may list ``mirrors``, further URLs tried in order, all verified against the same checksum.

A stand-in is what the offline smoke profile uses instead of the download: ``stand_in`` says what
it is, ``stand_in_fn`` (``"module:function"``) names the generator where one exists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from odebench.data.errors import UnknownSourceError

ALGORITHMS = ("md5", "sha256")
HEX_DIGITS = {"md5": 32, "sha256": 64}    # length of each algorithm's hex digest
FORMATS = ("zip", "tar", "idx", "csv")
NPY_HEADER = 128                          # bytes of a .npy header as numpy writes it


@dataclass(frozen=True)
class Members:
    """Archive members whose path matches ``pattern`` (``*`` stays within one path segment):
    at least ``min_count`` of them, each at least ``min_bytes`` uncompressed."""

    pattern: str
    min_count: int = 1
    min_bytes: int = 1
    label: str = "members"


@dataclass(frozen=True)
class Expect:
    """What a file must hold before it is cached or pinned.

    ``zip``/``tar``: an archive that opens and holds ``members``; ``idx``: an IDX file (plain
    or gzip) of ``ndim`` dimensions whose size matches its header; ``csv``: a header of exactly
    ``columns`` (a trailing comma allowed) and a data row. ``min_bytes``: the whole file.
    """

    format: str
    members: tuple[Members, ...] = ()
    columns: tuple[str, ...] = ()
    ndim: int | None = None
    min_bytes: int = 1

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown file format {self.format!r}; valid: {', '.join(FORMATS)}")


@dataclass(frozen=True)
class RemoteFile:
    """One file of a source: its cache name, URL (then ``mirrors``, tried in order), pinned
    hash (``None``: pin on first use) and what it must hold (``None``: not checked)."""

    name: str
    url: str
    algorithm: str = "sha256"
    checksum: str | None = None
    mirrors: tuple[str, ...] = ()
    expect: Expect | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"{self.name}: unknown checksum algorithm {self.algorithm!r}; "
                             f"valid: {', '.join(ALGORITHMS)}")

    @property
    def urls(self) -> tuple[str, ...]:
        """Every URL of the file, in the order they are tried."""
        return (self.url, *self.mirrors)


@dataclass(frozen=True)
class Source:
    """A data source: files fetched together into ``<data_dir>/<id>/``."""

    id: str
    files: tuple[RemoteFile, ...]
    licence: str
    citation: str
    stand_in: str
    stand_in_fn: str | None = None

    def file(self, name: str) -> RemoteFile:
        for remote in self.files:
            if remote.name == name:
                return remote
        raise UnknownSourceError(f"source {self.id!r} has no file {name!r}; files: "
                       f"{', '.join(f.name for f in self.files)}")

    def with_checksums(self, checksums: Mapping[str, str | None],
                       algorithm: str | None = None) -> Source:
        """A copy whose named files carry other hashes (tests, local mirrors of other builds)."""
        unknown = set(checksums) - {f.name for f in self.files}
        if unknown:
            raise UnknownSourceError(f"source {self.id!r} has no file(s) "
                                     f"{', '.join(sorted(unknown))}")
        files = tuple(
            dataclasses.replace(f, checksum=checksums[f.name],
                                algorithm=algorithm or f.algorithm) if f.name in checksums else f
            for f in self.files)
        return dataclasses.replace(self, files=files)


_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_HBNODE = ("https://raw.githubusercontent.com/hedixia/HeavyBallNODE/"
           "cd1065febea8ebf51eda954734e1cbe1fd565ae9/data/")
_IMAGE_BYTES = 3 * 32 * 32          # one CIFAR-10 image: a batch holding less is implausible
_WALKER_MIN_FILES = 8               # the fewest trajectories the 75/10/15 file split accepts
_WALKER_MIN_BYTES = NPY_HEADER + 2 * 17 * 4   # a .npy of two float32 steps of 17 channels

SOURCES: dict[str, Source] = {s.id: s for s in (
    Source(
        "mnist",
        tuple(RemoteFile(name, _MNIST + name, "md5", md5, expect=Expect("idx", ndim=ndim))
              for name, md5, ndim in (
            ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 3),
            ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 1),
            ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 3),
            ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 1))),
        licence="CC BY-SA 3.0 (Y. LeCun and C. Cortes), secondary source: Keras's "
                "mnist.load_data docs; publisher page not reachable (docs/DATA.md)",
        citation="LeCun, Bottou, Bengio, Haffner. Gradient-based learning applied to document "
                 "recognition. Proc. IEEE 86(11), 1998.",
        stand_in="scikit-learn load_digits (bundled 8x8 digits, 10 classes)",
        stand_in_fn="odebench.data.mnist:digits_standin"),
    Source(
        "cifar10",
        (RemoteFile("cifar-10-python.tar.gz",
                    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    "md5", "c58f30108f718f92721af3b95e74349a",
                    expect=Expect("tar", members=(
                        Members("cifar-10-batches-py/data_batch_[1-5]", 5, _IMAGE_BYTES,
                                "training batches"),
                        Members("cifar-10-batches-py/test_batch", 1, _IMAGE_BYTES,
                                "test batch")))),),
        licence="no licence stated by the publisher; cite the technical report",
        citation="Krizhevsky. Learning Multiple Layers of Features from Tiny Images. "
                 "Tech. report, University of Toronto, 2009.",
        stand_in="generated 10-class 3x32x32 colour/shape image set",
        stand_in_fn="odebench.data.cifar10:cifar10_standin"),
    Source(
        "mnist_c",
        # fetch verifies one hash per file, the md5; the published sha256 of the same file is
        # af9ee8c6a815870c7fdde5af84c7bf8db0bcfa1f41056db83871037fba70e493.
        (RemoteFile("mnist_c.zip", "https://zenodo.org/record/3239543/files/mnist_c.zip",
                    "md5", "4b34b33045869ee6d424616cd3a65da3",
                    expect=Expect("zip", members=(
                        Members("mnist_c/*/test_images.npy", 1, NPY_HEADER + 28 * 28,
                                "test image sets"),
                        Members("mnist_c/*/test_labels.npy", 1, NPY_HEADER + 1,
                                "test label sets")))),),
        licence="CC BY 4.0, secondary source: aria-ml/maite-datasets; Zenodo record 3239543 "
                "not reachable (docs/DATA.md)",
        citation="Mu, Gilmer. MNIST-C: A Robustness Benchmark for Computer Vision. "
                 "arXiv:1906.02337, 2019.",
        stand_in="the 10 MNIST-C corruptions implemented in odebench, applied to the 8x8 digits",
        stand_in_fn="odebench.data.mnist_c:mnist_c_standin"),
    Source(
        "plane_vibration",
        (RemoteFile("pv.csv", _HBNODE + "pv.csv", "sha256",
                    "b72a9d063e392570bb20c26f4763232e30262e5914d946e475e67df40880db6d",
                    expect=Expect("csv", columns=("Force", "Voltage", "Acceleration1",
                                                  "Acceleration2", "Acceleration3", "Fs"))),),
        licence="not found (nonlinearbenchmark.org data re-hosted by HeavyBallNODE; "
                "searched: docs/DATA.md)",
        citation="Noel, Schoukens. F-16 aircraft benchmark based on ground vibration test data. "
                 "Workshop on Nonlinear System Identification Benchmarks, 2017.",
        stand_in="simulated shaker-driven 3-mass spring-damper chain with a cubic joint, "
                 "400 Hz, same 5 channels",
        stand_in_fn="odebench.data.plane_vibration:plane_vibration_standin"),
    Source(
        "silverbox",
        (RemoteFile("sb.csv", _HBNODE + "sb.csv", "sha256",
                    "e7076735427b0b9bbc18a2a43b78022219a76623b15b494be559dc58b0224279",
                    expect=Expect("csv", columns=("V1", "V2"))),),
        licence="not found (nonlinearbenchmark.org data re-hosted by HeavyBallNODE; "
                "searched: docs/DATA.md)",
        citation="Wigren, Schoukens. Three free data sets for development and benchmarking in "
                 "nonlinear system identification. European Control Conference, 2013.",
        stand_in="simulated Duffing oscillator, channels V1 (input) and V2 (output)",
        stand_in_fn="odebench.data.silverbox:simulate_duffing"),
    Source(
        "walker2d",
        (RemoteFile("walker.zip", "https://pub.ist.ac.at/~mlechner/datasets/walker.zip",
                    "sha256", None,
                    mirrors=("https://people.csail.mit.edu/mlechner/datasets/walker.zip",),
                    expect=Expect("zip", members=(
                        Members("walker/*.npy", _WALKER_MIN_FILES, _WALKER_MIN_BYTES,
                                "trajectories"),))),),
        licence="not found (ODE-LSTM's MIT licence covers its code only; searched: "
                "docs/DATA.md)",
        citation="Lechner, Hasani. Learning Long-Term Dependencies in Irregularly-Sampled Time "
                 "Series. NeurIPS 2020.",
        stand_in="gymnasium Walker2d-v5 (MuJoCo) trajectories, 17-dim observations, driven by "
                 "an open-loop sinusoidal gait (no trained policy available)",
        stand_in_fn="odebench.data.walker2d:walker2d_standin"),
)}


def get_source(source_id: str) -> Source:
    """The registered source ``source_id``; an unknown id is an error listing the valid ones."""
    if source_id not in SOURCES:
        raise UnknownSourceError(f"unknown data source {source_id!r}; "
                                 f"valid: {', '.join(SOURCES)}")
    return SOURCES[source_id]
