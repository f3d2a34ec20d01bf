"""Plane vibration and Walker2D windows: real parsers and pipelines over a loopback server.

The real ``pv.csv`` (from ``../shared/data`` when present) and generated walker-format zips are
served from 127.0.0.1; the stand-ins are checked for shapes and determinism.
"""

from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from odebench.data.download import pin_path
from odebench.data.errors import ChecksumError, DataError, FormatError
from odebench.data.plane_vibration import (
    CHANNELS,
    PlaneVibrationStandin,
    load_plane_vibration,
    plane_vibration_standin,
    read_pv_csv,
)
from odebench.data.registry import SOURCES
from odebench.data.sequences import SequenceSplit, check_window, split_limits
from odebench.data.walker2d import (
    KEEP_SEED,
    WalkerStandin,
    file_split,
    load_walker2d,
    read_walker_zip,
    walker2d_standin,
    walker_windows,
)
from tests.helpers import SHARED_DATA

PV_CSV = SHARED_DATA / "pv.csv" if (SHARED_DATA / "pv.csv").is_file() else None
needs_pv = pytest.mark.skipif(PV_CSV is None, reason=f"real pv.csv not found in {SHARED_DATA} "
                              "(../shared/data beside the repository)")
try:
    import gymnasium  # noqa: F401
    import mujoco  # noqa: F401
    MUJOCO = None
except ImportError as err:          # the reason tests that need MuJoCo skip with
    MUJOCO = f"gymnasium/mujoco not importable ({err}): pip install 'gymnasium[mujoco]' mujoco"
needs_mujoco = pytest.mark.skipif(MUJOCO is not None, reason=MUJOCO or "")

HEADER = '"Force","Voltage","Acceleration1","Acceleration2","Acceleration3","Fs",\n'


pytestmark = pytest.mark.usefixtures("no_network")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# --- the container ---------------------------------------------------------------------------

def test_split_checks_shapes_and_limits_parse():
    split = SequenceSplit(torch.ones(3, 4), torch.zeros(3, 4, 2), torch.zeros(3, 4, 2))
    assert len(split) == 3 and len(split.head(2)) == 2 and split.head(2).forecast is None
    with pytest.raises(ValueError, match="inconsistent"):
        SequenceSplit(torch.ones(3, 4), torch.zeros(3, 5, 2), torch.zeros(3, 5, 2))
    assert split_limits(4) == {"train": 4, "valid": 4, "test": 4}
    assert split_limits((5, 2, 1)) == {"train": 5, "valid": 2, "test": 1}
    assert split_limits({"train": 3}) == {"train": 3, "valid": None, "test": None}
    with pytest.raises(ValueError, match="unknown split"):
        split_limits({"training": 3})
    with pytest.raises(ValueError, match="positive integer"):
        split_limits(0)
    with pytest.raises(FormatError, match="data.bin: sequence s7 has 10 steps, fewer than .* 65"):
        check_window(65, 10, "data.bin", "sequence s7")


# --- plane vibration -------------------------------------------------------------------------

@needs_pv
def test_real_pv_through_the_registry_parser_and_pipeline(server, tmp_path):
    body = PV_CSV.read_bytes()
    server.serve("plane_vibration", "pv.csv", body)
    data = load_plane_vibration(tmp_path, base_url=server.url)      # registry sha256
    assert server.requests == {"/plane_vibration/pv.csv": 1}
    assert data.source.startswith("pv.csv (F-16 GVT, sha256 b72a9d06")
    assert data.channels == CHANNELS and data.time_scale == 1.0
    counts = {name: len(split) for name, split in data.splits().items()}
    assert counts == {"train": 509, "valid": 254, "test": 254}
    d = data.details
    assert d["rows"] == 73_728 and d["full_len"] == 73_628 and d["kept_stamps"] == 66_265
    assert d["split_stamps"] == {"train": 33_132, "valid": 16_566, "test": 16_567}   # 2:1:1
    for name, split in data.splits().items():
        n = counts[name]
        assert split.x.shape == split.y.shape == (n, 64, 5) and split.times.shape == (n, 64)
        assert split.forecast.shape == (n, 8, 5) and split.x.dtype == torch.float32
        assert n * 65 <= d["split_stamps"][name] < (n + 1) * 65

    raw, rate = read_pv_csv(tmp_path / "plane_vibration" / "pv.csv")
    assert rate == 400.0
    z = (raw - raw.mean(axis=0)) / raw.std(axis=0)
    assert np.allclose(z.mean(axis=0), 0.0) and np.allclose(z.std(axis=0), 1.0)
    z32 = torch.from_numpy(z.astype(np.float32))

    def stamps(split: SequenceSplit, n: int) -> np.ndarray:
        first = torch.nonzero((z32 == split.x[n, 0]).all(dim=1)).flatten()
        assert len(first) == 1                      # rows are z-scored raw rows
        return int(first[0]) + np.concatenate([[0], np.cumsum(split.times[n].numpy())])

    last = -1
    for name in ("train", "valid", "test"):       # chronological, non-overlapping segments
        split = data.splits()[name]
        for n in (0, 1, len(split) - 1):
            s = stamps(split, n).astype(int)        # times are the stamp gaps
            assert s[0] > last and s[-1] <= 73_628 - 1
            assert torch.equal(split.x[n], z32[s[:-1]]) and torch.equal(split.y[n], z32[s[1:]])
            assert torch.equal(split.forecast[n], z32[s[-1] + np.arange(8)])   # raw rows
            last = s[-1]
    gaps = data.train.times
    assert gaps.min() >= 1 and abs(float(gaps.mean()) - 1 / 0.9) < 0.02   # 10 % dropped

    again = load_plane_vibration(tmp_path, base_url=server.url, limit={"train": 7})
    assert server.requests == {"/plane_vibration/pv.csv": 1}           # cached, verified
    assert len(again.train) == 7 and len(again.test) == 254
    assert torch.equal(again.train.x, data.train.x[:7])


@pytest.mark.parametrize(("text", "match"), [
    ('"Force","Voltage","Acceleration1","Acceleration2","Fs",\n1,2,3,4,400,\n',
     r"pv.csv: line 1 \(header\): missing column\(s\) 'Acceleration3'"),
    (HEADER + "1,2,3,4,5,400,\n6,7,8,9,10,,\n1,2,x1,4,5,,\n",
     r"pv.csv: line 4 \(data row 3\), column 'Acceleration1': 'x1' is not a number"),
    (HEADER + "1,2,3,4,5,400,\n6,7,8,9,,,\n",
     r"pv.csv: line 3 \(data row 2\), column 'Acceleration3': missing value"),
    (HEADER + "1,2,3,4,5,,\n", r"pv.csv: line 2 \(data row 1\), column 'Fs': missing value"),
    (HEADER + "1,2,3,4,5,400,7,\n", r"pv.csv: line 2 \(data row 1\): 7 cells, expected 6"),
])
def test_bad_pv_csv_names_file_line_and_column_and_caches_nothing(server, tmp_path, text,
                                                                  match):
    body = text.encode()
    server.serve("plane_vibration", "pv.csv", body)
    source = SOURCES["plane_vibration"].with_checksums(
        {"pv.csv": hashlib.sha256(body).hexdigest()})
    with pytest.raises(FormatError, match=match):
        load_plane_vibration(tmp_path, base_url=server.url, source=source)
    assert _files(tmp_path) == []


def test_pv_reader_accepts_the_real_layout(tmp_path):
    path = tmp_path / "pv.csv"
    path.write_text(HEADER + "1,2,3,4,5,400,\n6,7,8,9,10,,\n\n")
    data, rate = read_pv_csv(path)
    assert data.tolist() == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]] and rate == 400.0


def test_pv_standin_shapes_determinism_and_pipeline(tmp_path):
    record = plane_vibration_standin(1024, seed=3)
    assert record.shape == (1024, 5) and np.isfinite(record).all()
    assert np.array_equal(record, plane_vibration_standin(1024, seed=3))
    assert not np.array_equal(record, plane_vibration_standin(1024, seed=4))
    data = load_plane_vibration(tmp_path, offline=True, standin={"n_samples": 2048, "seed": 1},
                                seq_len=16, forecast_len=4, limit=[3, 2, 2])
    assert data.source.startswith("stand-in: simulated 5-channel") and data.channels == CHANNELS
    # 2048 rows: full 1948, kept 1753 -> 876, 438, 439 stamps -> 51, 25, 25 segments of 17
    assert data.details["windows_available"] == {"train": 51, "valid": 25, "test": 25}
    assert [len(s) for s in data.splits().values()] == [3, 2, 2]
    assert data.test.x.shape == (2, 16, 5) and data.test.forecast.shape == (2, 4, 5)
    assert _files(tmp_path) == []                                     # nothing written
    with pytest.raises(FormatError, match=r"stand-in record: the train split \(.*\) has .* "
                                          r"fewer than the 1001 steps"):
        load_plane_vibration(offline=True, standin=PlaneVibrationStandin(2048, 1), seq_len=1000)


# --- Walker2D --------------------------------------------------------------------------------

def _walker_zip(lengths: list[int], extra: dict[str, bytes] | None = None) -> tuple[bytes, dict]:
    """A walker.zip whose trajectory k has column 0 = k and column 1 = the raw step index."""
    rng = np.random.default_rng(7)
    arrays, buffer = {}, io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for k, length in enumerate(lengths):
            arr = rng.standard_normal((length, 17))
            arr[:, 0], arr[:, 1] = k, np.arange(length)
            name = f"walker/traj{k:02d}.npy"
            member = io.BytesIO()
            np.save(member, arr)
            archive.writestr(name, member.getvalue())
            arrays[name] = arr
        archive.writestr("walker/README.txt", b"not a trajectory")
        for name, raw in (extra or {}).items():
            archive.writestr(name, raw)
    return buffer.getvalue(), arrays


def _reference(arrays: dict, seq_len: int, stride: int) -> dict[str, tuple]:
    """The ODE-LSTM pipeline step by step: one rng.rand() per step, skip counters."""
    rng = np.random.RandomState(KEEP_SEED)
    files = file_split(sorted(arrays))
    out = {}
    for split in ("train", "valid", "test"):
        times, xs, ys = [], [], []
        for name in files[split]:
            arr = arrays[name].astype(np.float32)
            kx, kt, ky, skip = [], [], [], 0
            for t in range(len(arr) - 1):
                skip += 1
                if rng.rand() < 0.9:
                    kx.append(arr[t])
                    kt.append(skip)
                    ky.append(arr[t + 1])
                    skip = 0
            for s in range(0, len(kx) - seq_len, stride):
                xs.append(kx[s:s + seq_len])
                times.append(kt[s:s + seq_len])
                ys.append(ky[s:s + seq_len])
        out[split] = (np.array(times, np.float32), np.array(xs), np.array(ys))
    return out


def test_walker_zip_through_the_registry_pin_and_pipeline(server, tmp_path, capsys):
    lengths = [60 + 7 * k for k in range(20)]
    body, arrays = _walker_zip(lengths)
    server.serve("walker2d", "walker.zip", body)
    data = load_walker2d(tmp_path, base_url=server.url, seq_len=16, stride=4)
    zip_path = tmp_path / "walker2d" / "walker.zip"
    digest = hashlib.sha256(body).hexdigest()
    assert pin_path(zip_path, "sha256").read_text().split()[0] == digest     # pinned
    assert digest in capsys.readouterr().err
    assert data.source == f"walker.zip (ODE-LSTM Walker2d, sha256 {digest})"
    assert data.time_scale == 64.0 and len(data.channels) == 17
    assert data.details["files"] == {"train": 15, "valid": 2, "test": 3}    # 75/10/15 of 20

    files = file_split(sorted(arrays))
    expected = _reference(arrays, seq_len=16, stride=4)
    for name, split in data.splits().items():
        times, x, y = expected[name]
        assert torch.equal(split.times, torch.from_numpy(times))
        assert torch.equal(split.x, torch.from_numpy(x))
        assert torch.equal(split.y, torch.from_numpy(y))
        ids = {f"walker/traj{int(k):02d}.npy" for k in split.x[:, 0, 0].unique()}
        assert ids == set(files[name])                                # split by whole files
        step = split.x[..., 1]
        assert torch.equal(split.y[..., 1], step + 1)                 # y = next raw step
        assert torch.equal(split.times[:, 1:], step[:, 1:] - step[:, :-1])   # skipped steps
        assert split.times.min() >= 1
    d = data.details
    assert abs(d["kept_steps"] / d["raw_steps"] - 0.9) < 0.03
    assert sum(d["windows"].values()) == sum(len(v[0]) for v in expected.values())

    fetched = load_walker2d(tmp_path, base_url=server.url, seq_len=16, stride=4, limit=2)
    assert server.requests["/walker2d/walker.zip"] == 1 and len(fetched.valid) == 2

    zip_path.unlink()                              # upstream changes: refused against the pin
    server.serve("walker2d", "walker.zip", _walker_zip(lengths[:-1])[0])
    with pytest.raises(ChecksumError, match=f"walker.zip.*{digest}.*pin file"):
        load_walker2d(tmp_path, base_url=server.url, seq_len=16, stride=4)
    assert not zip_path.exists()


def test_walker_window_counts_follow_range_len_minus_seq_len_by_stride(tmp_path):
    lengths = [200] * 8
    body, arrays = _walker_zip(lengths)
    path = tmp_path / "walker.zip"
    path.write_bytes(body)
    splits, details = walker_windows(read_walker_zip(path), seq_len=64)   # stride 64 // 4
    expected = _reference(arrays, seq_len=64, stride=16)
    rng = np.random.RandomState(KEEP_SEED)
    kept = {}
    for split in ("train", "valid", "test"):
        kept[split] = [int((rng.random_sample(199) < 0.9).sum())
                       for _ in file_split(list(arrays))[split]]
    for split, lens in kept.items():
        assert len(splits[split]) == sum(len(range(0, n - 64, 16)) for n in lens)
        assert len(splits[split]) == len(expected[split][0])
    assert details["files"] == {"train": 6, "valid": 1, "test": 1} and details["stride"] == 16


@pytest.mark.parametrize(("case", "match"), [
    ("empty", "no walker/\\*.npy trajectories"),
    ("truncated", "not a readable zip archive"),
    ("not_zip", "not a readable zip archive"),
    ("shape", r"member walker/bad.npy: expected a \[T, 17\] float array, got shape \(30, 5\)"),
    ("ints", r"member walker/bad.npy: expected .* dtype int64"),
    ("pickle", r"member walker/bad.npy: unreadable .npy"),
    ("traversal", r"member 'walker/../evil.npy' has an unsafe path"),
])
def test_bad_walker_archives_name_archive_and_member_and_cache_nothing(server, tmp_path, case,
                                                                       match):
    good, _ = _walker_zip([80] * 8)
    bad = io.BytesIO()
    if case == "shape":
        np.save(bad, np.zeros((30, 5)))
    elif case == "ints":
        np.save(bad, np.zeros((30, 17), dtype=np.int64))
    elif case == "pickle":
        np.save(bad, np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    body = {"empty": lambda: _walker_zip([])[0],
            "truncated": lambda: good[: len(good) // 2],
            "not_zip": lambda: b"this is not a zip archive" * 10,
            "traversal": lambda: _walker_zip([80] * 8, {"walker/../evil.npy": good[:10]})[0],
            }.get(case, lambda: _walker_zip([80] * 8, {"walker/bad.npy": bad.getvalue()})[0])()
    server.serve("walker2d", "walker.zip", body)
    with pytest.raises(FormatError, match=rf"walker.zip: .*{match}.*removed from the cache"):
        load_walker2d(tmp_path, base_url=server.url)
    assert _files(tmp_path) == []                 # neither the archive nor its pin remains


def test_walker_window_longer_than_every_sequence_and_too_few_files(server, tmp_path):
    body, _ = _walker_zip([40, 50, 30, 45, 41, 44, 39, 48])
    server.serve("walker2d", "walker.zip", body)
    with pytest.raises(FormatError, match=r"walker.zip: sequence walker/traj\d\d.npy \(the "
                                          r"longest of the train split.*fewer than the 65 steps"):
        load_walker2d(tmp_path, base_url=server.url)
    assert (tmp_path / "walker2d" / "walker.zip").is_file()     # the archive itself is fine
    path = tmp_path / "small.zip"
    path.write_bytes(_walker_zip([100] * 7)[0])
    with pytest.raises(FormatError, match="7 trajectories are too few .* valid split"):
        walker_windows(read_walker_zip(path), file=path)


def test_walker_standin_without_mujoco_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "gymnasium.envs.mujoco.walker2d_v5", None)
    with pytest.raises(DataError, match=r"needs gymnasium and MuJoCo: .*pip install"):
        walker2d_standin(2, 10)
    with pytest.raises(DataError, match="gymnasium"):
        load_walker2d(tmp_path, offline=True)
    assert _files(tmp_path) == []


@needs_mujoco
def test_walker_standin_shapes_determinism_and_cache(tmp_path, monkeypatch):
    first = walker2d_standin(3, 40, seed=5)
    assert [name for name, _ in first] == [f"walker/standin_{k:03d}.npy" for k in range(3)]
    assert all(a.shape == (40, 17) and np.isfinite(a).all() for _, a in first)
    again = walker2d_standin(3, 40, seed=5)
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(first, again, strict=True))
    assert not np.array_equal(first[0][1], walker2d_standin(1, 40, seed=6)[0][1])

    standin = WalkerStandin(n_trajectories=8, steps=90, seed=0)
    data = load_walker2d(tmp_path, offline=True, standin=vars(standin), seq_len=16, stride=8)
    assert data.source.startswith("stand-in: gymnasium Walker2d-v5")
    assert data.details["files"] == {"train": 6, "valid": 1, "test": 1}
    assert data.train.x.shape[1:] == (16, 17) and data.train.times.shape[1] == 16
    cache = tmp_path / "walker2d" / "standin_8x90_seed0.npz"
    assert _files(tmp_path) == [cache]
    import odebench.data.walker2d as walker
    monkeypatch.setattr(walker, "walker2d_standin", lambda *a: pytest.fail("not cached"))
    cached = load_walker2d(tmp_path, offline=True, standin=standin, seq_len=16, stride=8)
    assert torch.equal(cached.train.x, data.train.x) and torch.equal(cached.test.y, data.test.y)
