"""Plane vibration (HBNODE §5.3, Fig. 8): F-16 ground vibration test, irregularly sampled.

Pipeline of the official ``pvdat.py`` (HeavyBallNODE repository), reproduced step by step:

1. ``pv.csv``: 73,728 rows of Force, Voltage, Acceleration1-3 (``Fs`` = 400 Hz is dropped).
2. z-score each column over the whole record (``std`` with ddof 0).
3. ``np.random.seed(1)``, then ``data + error_var * np.random.randn(*data.shape)`` with
   ``error_var = 0``: the values do not change but the draw advances the RNG, so it is
   reproduced before the sampling below (the notes do not mention it; without it the kept
   stamps differ).
4. ``full_len = len(data) - 100`` (the last 100 rows are never a stamp, so forecasts stay in
   range); keep ``int(full_len * 0.9)`` stamps drawn without replacement
   (``np.random.choice(range(full_len), eff_len, replace=False)``), sorted.
5. Split the *kept* stamps 2:1:1: ``trlen, valen = int(eff_len / 2), int(eff_len / 4)``,
   ``tslen = eff_len - trlen - valen``; train = the first ``trlen``, test = the last ``tslen``.
6. Each split is cut into non-overlapping segments of 65 kept stamps (the tail that does not
   fill a segment is dropped); for segment stamps ``s_0 < ... < s_64``:
   ``x[i] = data[s_i]`` and ``y[i] = data[s_{i+1}]`` for i < 64 (``y = dat[1:input_len + 1]``),
   ``times[i] = s_{i+1} - s_i`` (``t = np.diff(obs_lab, axis=0)``): the gap from ``x[i]`` to
   ``y[i]``, which ``ODE_RNN_with_Grad_Listener`` integrates right after the jump with ``x[i]``
   (``self.ode.update(t[i]); h_rnn[i] = rnn(h_ode[i], x[i]); h_ode[i + 1] = odeint(...)``), and
   ``forecast[k] = data[s_64 + k]`` for k < 8 (``fore_lab = obs_lab[-1] + arange(forecast_len)``):
   raw consecutive rows from the last stamp on, so ``forecast[0] == y[-1]``; the model forecasts
   them with ``odeint`` at times ``arange(8)`` from the final state, with unit time scale.

Differences from the official code: windows are batch first (``[N, T, C]``, the code's are
``[T, N, C]``); ``forecast_len`` defaults to 8 as ``plane_vibration/trainpv.py`` passes
(``pvdat.pv`` alone defaults to 30). As in the code, the z-score statistics include the
validation and test rows.

Offline stand-in: a simulated shaker-driven 3-mass spring-damper chain with a cubic joint
stiffness, sampled at 400 Hz with the same five channels, run through the same pipeline.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from odebench.data.download import fetch, file_digest
from odebench.data.errors import FormatError
from odebench.data.registry import Source, get_source
from odebench.data.sequences import (
    SPLITS,
    Limit,
    SequenceData,
    SequenceSplit,
    apply_limit,
    check_window,
    discard_cached,
)

FILE = "pv.csv"
CHANNELS = ("Force", "Voltage", "Acceleration1", "Acceleration2", "Acceleration3")
RATE_COLUMN = "Fs"
RATE_HZ = 400.0           # Fs on the first data row of pv.csv
SEQ_LEN = 64              # pvdat.py / trainpv.py: input_len = seqlen = 64
FORECAST_LEN = 8          # trainpv.py: forelen = 8 (pvdat.pv's own default is 30)
KEEP = 0.9                # pvdat.py: throwout_rate = 0.1
SEED = 1                  # pvdat.py: np.random.seed(1)
RESERVED = 100            # pvdat.py: full_len = len(data) - 100
SPLIT_RATIO = (2, 1, 1)   # pvdat.py: tvt_ratio = (2, 1, 1)


# --- reading pv.csv ------------------------------------------------------------------------

def _number(text: str, where: str, column: str) -> float:
    if not text.strip():
        raise FormatError(f"{where}, column {column!r}: missing value")
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"{where}, column {column!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise FormatError(f"{where}, column {column!r}: {text!r} is not finite")
    return value


def read_pv_csv(path: str | Path) -> tuple[np.ndarray, float]:
    """``pv.csv`` as float64 (rows x 5) and the sampling rate ``Fs``, strictly.

    Every line ends with a comma; ``Fs`` is filled on the first data row only; blank lines are
    skipped. A missing header column, a missing or non-numeric cell, or a row with extra cells
    raises :class:`FormatError` naming the file, the line (and data row) and the column.
    """
    path = Path(path)
    wanted = [*CHANNELS, RATE_COLUMN]
    rows: list[list[float]] = []
    rate: float | None = None
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise FormatError(f"{path}: empty file, expected the header "
                              f"{','.join(wanted)}") from None
        except (csv.Error, UnicodeDecodeError) as err:
            raise FormatError(f"{path}: line 1: unreadable header: {err}") from err
        names = [name.strip() for name in header]
        if names and names[-1] == "":
            names.pop()                             # the trailing comma
        missing = [name for name in wanted if name not in names]
        if missing or names != wanted:
            what = (f"missing column(s) {', '.join(map(repr, missing))}" if missing
                    else f"columns {names}")
            raise FormatError(f"{path}: line 1 (header): {what}; expected {wanted}")
        try:
            for fields in reader:
                if not fields or all(not f.strip() for f in fields):
                    continue
                where = f"{path}: line {reader.line_num} (data row {len(rows) + 1})"
                if len(fields) > 1 and not fields[-1].strip():
                    fields = fields[:-1]            # the trailing comma
                if len(fields) > len(wanted):
                    raise FormatError(f"{where}: {len(fields)} cells, expected {len(wanted)} "
                                      f"({', '.join(wanted)})")
                fields += [""] * (len(wanted) - len(fields))
                rows.append([_number(fields[i], where, name) for i, name in enumerate(CHANNELS)])
                if rate is None:
                    rate = _number(fields[-1], where, RATE_COLUMN)
                    if rate <= 0:
                        raise FormatError(f"{where}, column {RATE_COLUMN!r}: sampling rate "
                                          f"{rate} is not positive")
        except (csv.Error, UnicodeDecodeError) as err:
            raise FormatError(f"{path}: line {reader.line_num}: unreadable: {err}") from err
    if not rows or rate is None:
        raise FormatError(f"{path}: no data rows")
    return np.asarray(rows, dtype=np.float64), rate


# --- the pvdat.py pipeline -------------------------------------------------------------------

def _segments(stamps: np.ndarray, data: np.ndarray, seq_len: int,
              forecast_len: int) -> SequenceSplit:
    """Non-overlapping segments of ``seq_len + 1`` kept stamps (pvdat.py ``lab_to_dat``)."""
    count = len(stamps) // (seq_len + 1)
    segment = stamps[: count * (seq_len + 1)].reshape(count, seq_len + 1)
    rows = data[segment]                                           # [N, seq_len + 1, C]
    ahead = segment[:, -1:] + np.arange(forecast_len)             # raw rows last, last + 1, ...

    def f32(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    return SequenceSplit(times=f32(np.diff(segment, axis=1)), x=f32(rows[:, :-1]),
                         y=f32(rows[:, 1:]), forecast=f32(data[ahead]))


def plane_vibration_windows(raw: np.ndarray, *, seq_len: int = SEQ_LEN,
                            forecast_len: int = FORECAST_LEN, keep: float = KEEP,
                            seed: int = SEED, file: str | Path = FILE,
                            ) -> tuple[dict[str, SequenceSplit], dict]:
    """The pvdat.py pipeline on a raw record (rows x channels): splits and their details."""
    if seq_len < 1 or not 1 <= forecast_len <= RESERVED + 1:
        raise ValueError(f"need seq_len >= 1 and 1 <= forecast_len <= {RESERVED + 1}, got "
                         f"{seq_len} and {forecast_len}")
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    raw = np.asarray(raw, dtype=np.float64)
    check_window(RESERVED + seq_len + 1, len(raw), file,
                 f"the record ({RESERVED} final rows reserved for forecasts)")
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    if not np.all(std > 0):
        raise FormatError(f"{file}: constant column(s) "
                          f"{[c for c, s in zip(CHANNELS, std, strict=False) if s <= 0]}")
    data = (raw - mean) / std
    rng = np.random.RandomState(seed)
    rng.standard_normal(data.shape)       # pvdat.py: data + 0.0 * np.random.randn(*data.shape)
    full_len = len(data) - RESERVED
    eff_len = int(full_len * keep)
    stamps = np.sort(rng.choice(full_len, eff_len, replace=False))
    ratio = np.asarray(SPLIT_RATIO) / sum(SPLIT_RATIO)
    train_len, valid_len, _ = (ratio * eff_len).astype(int)
    test_len = eff_len - valid_len - train_len
    parts = {"train": stamps[:train_len], "valid": stamps[train_len:eff_len - test_len],
             "test": stamps[eff_len - test_len:]}
    splits = {}
    for name in SPLITS:
        check_window(seq_len + 1, len(parts[name]), file,
                     f"the {name} split ({len(parts[name])} kept stamps)")
        splits[name] = _segments(parts[name], data, seq_len, forecast_len)
    details = {
        "rows": len(raw), "seed": seed, "keep": keep, "reserved_tail": RESERVED,
        "full_len": full_len, "kept_stamps": eff_len, "split_ratio": list(SPLIT_RATIO),
        "split_stamps": {n: len(p) for n, p in parts.items()},
        "seq_len": seq_len, "segment_len": seq_len + 1, "forecast_len": forecast_len,
        "zscore_mean": mean.tolist(), "zscore_std": std.tolist(),
    }
    return splits, details


# --- offline stand-in ------------------------------------------------------------------------

STANDIN_SAMPLES = 8192     # one multisine period of the F-16 record
MASS = (1.0, 1.0, 1.0)
STIFFNESS = 4984.0         # ground-m1, m1-m2, m2-m3 springs: modes near 5, 14 and 20 Hz
JOINT_STRETCH = 8.0e-4     # m1-m2 "joint" stretch at which its cubic term equals the linear one
CUBIC = STIFFNESS / JOINT_STRETCH**2   # about +10 % stiffness at the RMS stretch (2.5e-4)
DAMPING = 2.8              # dampers beside the springs: 1-4 % modal damping
BACK_EMF = 3.0             # shaker force drops with the velocity of the driven mass
BAND_HZ = (1.0, 60.0)      # multisine band
BURN_IN = 800              # samples simulated and dropped so the record starts in steady state
NOISE = 0.01               # measurement noise, relative to each channel's spread
SUBSTEPS = 2               # RK4 steps per sample


@dataclass(frozen=True)
class PlaneVibrationStandin:
    """Size and seed of the offline stand-in record."""

    n_samples: int = STANDIN_SAMPLES
    seed: int = 0


def _multisine(rng: np.random.Generator, n: int) -> np.ndarray:
    period = STANDIN_SAMPLES
    freqs = np.fft.rfftfreq(period, d=1.0 / RATE_HZ)
    spectrum = np.where((freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1]),
                        np.exp(2j * np.pi * rng.random(len(freqs))), 0.0)
    one = np.fft.irfft(spectrum, period)
    return np.resize(one / one.std(), n)


def _rhs(state: list[float], force: float) -> list[float]:
    x1, x2, x3, v1, v2, v3 = state
    d2 = x2 - x1
    f1 = STIFFNESS * x1 + DAMPING * v1
    f2 = STIFFNESS * d2 + CUBIC * d2 * d2 * d2 + DAMPING * (v2 - v1)
    f3 = STIFFNESS * (x3 - x2) + DAMPING * (v3 - v2)
    return [v1, v2, v3, (force - BACK_EMF * v1 - f1 + f2) / MASS[0], (f3 - f2) / MASS[1],
            -f3 / MASS[2]]


def plane_vibration_standin(n_samples: int = STANDIN_SAMPLES, seed: int = 0) -> np.ndarray:
    """A raw stand-in record (n_samples x 5: Force, Voltage, Acceleration1-3) at 400 Hz.

    A multisine voltage (1-60 Hz, random phases) drives a shaker on mass 1 of a
    ground-m1-m2-m3 spring-damper chain; the m1-m2 spring has a cubic term (the F-16 record is
    nonlinear at a joint). Force = voltage - back-EMF x velocity of mass 1; the accelerations
    are those of the three masses; 1 % measurement noise. Fixed-step RK4, input linear in time
    between samples.
    """
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    rng = np.random.default_rng(seed)
    total = n_samples + BURN_IN
    volts = _multisine(rng, total)
    h = 1.0 / (RATE_HZ * SUBSTEPS)
    state = [0.0] * 6
    states = np.empty((total, 6))
    states[0] = state
    for i in range(total - 1):
        u0, du = float(volts[i]), float(volts[i + 1] - volts[i])
        for j in range(SUBSTEPS):
            f0, fm, f1 = (u0 + du * (j + s) / SUBSTEPS for s in (0.0, 0.5, 1.0))
            k1 = _rhs(state, f0)
            k2 = _rhs([s + 0.5 * h * k for s, k in zip(state, k1, strict=True)], fm)
            k3 = _rhs([s + 0.5 * h * k for s, k in zip(state, k2, strict=True)], fm)
            k4 = _rhs([s + h * k for s, k in zip(state, k3, strict=True)], f1)
            state = [s + h / 6 * (a + 2 * b + 2 * c + d)
                     for s, a, b, c, d in zip(state, k1, k2, k3, k4, strict=True)]
        states[i + 1] = state
    states, volts = states[BURN_IN:], volts[BURN_IN:]
    x1, x2, x3, v1, v2, v3 = states.T
    d2 = x2 - x1
    f1 = STIFFNESS * x1 + DAMPING * v1
    f2 = STIFFNESS * d2 + CUBIC * d2**3 + DAMPING * (v2 - v1)
    f3 = STIFFNESS * (x3 - x2) + DAMPING * (v3 - v2)
    force = volts - BACK_EMF * v1
    record = np.stack([force, volts, (force - f1 + f2) / MASS[0], (f3 - f2) / MASS[1],
                       -f3 / MASS[2]], axis=1)
    return record + NOISE * record.std(axis=0) * rng.standard_normal(record.shape)


# --- the loader ------------------------------------------------------------------------------

def load_plane_vibration(data_dir: str | Path | None = None, offline: bool = False, *,
                         seq_len: int = SEQ_LEN,            # pvdat.py: input_len = 64
                         forecast_len: int = FORECAST_LEN,  # trainpv.py: forelen = 8
                         keep: float = KEEP,                # pvdat.py: throwout_rate = 0.1
                         seed: int = SEED,                  # pvdat.py: np.random.seed(1)
                         limit: Limit = None,
                         standin: PlaneVibrationStandin | Mapping[str, int] = (
                             PlaneVibrationStandin()),
                         base_url: str | None = None,
                         source: Source | None = None) -> SequenceData:
    """Plane-vibration windows: ``x``/``y``/``times`` [N, 64(, 5)], ``forecast`` [N, 8, 5].

    Online: ``pv.csv`` of the registry (fetched, verified, strictly parsed; a file that does not
    parse is removed from the cache). Offline: the simulated stand-in (``standin``: a
    :class:`PlaneVibrationStandin` or its fields as a mapping). ``limit`` keeps the first windows
    of each split (an int, ``(train, valid, test)`` or a mapping).
    """
    if isinstance(standin, Mapping):
        standin = PlaneVibrationStandin(**standin)
    if offline:
        raw = plane_vibration_standin(standin.n_samples, standin.seed)
        name: str | Path = "stand-in record"
        label = (f"stand-in: simulated 5-channel forced 3-mass vibration with a cubic joint, "
                 f"400 Hz (n_samples={standin.n_samples}, seed={standin.seed})")
        rate = RATE_HZ
    else:
        src = source or get_source("plane_vibration")
        path = fetch(src, data_dir, base_url)[FILE]
        try:
            raw, rate = read_pv_csv(path)
        except FormatError as err:
            discard_cached(path, src.file(FILE))
            raise FormatError(f"{err} (removed from the cache)") from None
        name = path
        label = f"{FILE} (F-16 GVT, sha256 {file_digest(path, 'sha256')})"
    splits, details = plane_vibration_windows(raw, seq_len=seq_len, forecast_len=forecast_len,
                                              keep=keep, seed=seed, file=name)
    details["windows_available"] = {n: len(s) for n, s in splits.items()}
    splits = apply_limit(splits, limit)
    details["windows"] = {n: len(s) for n, s in splits.items()}
    details["sampling_rate_hz"] = rate
    details["offline"] = offline
    return SequenceData(**splits, source=label, channels=CHANNELS, time_scale=1.0,
                        details=details)
