"""Walker2D kinematic simulation (HBNODE §5.4, NesterovNODE §5.3), irregularly sampled.

Pipeline of ``Walker2dImitationData`` (``odelstm_data.py`` of the HeavyBallNODE repository, a
copy of the ODE-LSTM loader of Lechner and Hasani), reproduced step by step:

1. The ``.npy`` files of ``walker/`` (each ``[T, 17]``), sorted by name.
2. ``rng = RandomState(891374)`` is created, then ``RandomState(125487).shuffle(files)``;
   ``test_n = int(0.15 * n)``, ``valid_n = int((0.15 + 0.1) * n)``: test = ``files[:test_n]``,
   valid = ``files[test_n:valid_n]``, train = ``files[valid_n:]``.
3. Per file: ``x = arr[:-1]``, ``y = arr[1:]`` (float32), so ``y`` is the next *raw* step.
4. Train, then valid, then test files in shuffled order, each step ``t`` in turn: kept when
   ``rng.rand() < 0.9``; ``times`` of a kept step = raw steps since the previous kept step
   (``skip += 1 ... new_times.append(skip); skip = 0``), counted from the start of the file.
5. Windows ``[s, s + 64)`` for ``s in range(0, L - 64, 64 // 4)`` over the ``L`` kept steps of
   each file (a file with ``L <= 64`` gives none; ``L = 64 + 16 k`` gives ``k`` windows).
6. The models see ``times / 64.0`` (``data.train_times[:, b_n:b_n + batchsize] / 64.0``).

What the fields mean, as the code builds them: ``x[i]`` = ``arr[t_i]`` and ``y[i]`` =
``arr[t_i + 1]`` for the kept raw steps ``t_i``; ``times[i] = t_i - t_{i-1}`` (``t_{-1} = -1``)
is the gap *before* ``x[i]``, yet ``ODE_RNN_with_Grad_Listener`` uses it for the solve right
after the jump with ``x[i]`` (``self.ode.update(t[i]); h_rnn[i] = rnn(h_ode[i], x[i]);
h_ode[i + 1] = odeint(...)``), whose output is compared with ``y[i]``, one raw step later. We
keep this as published. Differences: windows are batch first (``[N, T, C]``; the code's are
``[T, N, C]``); ``stride`` may be set (default the code's ``seq_len // 4``); a file whose steps are
all dropped gives no windows (the code fails on it); the zip is read in memory, never extracted.

Offline stand-in: gymnasium ``Walker2d-v5`` (MuJoCo) trajectories, 17-dim observations. No
trained policy is available, so a deterministic open-loop gait drives the joints: sinusoidal
joint-angle targets (per-trajectory seeded frequency, phase and amplitudes) tracked by a joint PD
controller. The walker usually falls after about 1 s (~120 steps) and the episode goes on
(``terminate_when_unhealthy=False``), so a trajectory shows a gait, a fall and motion on the
ground, unlike the expert walking of the real data.
"""

from __future__ import annotations

import sys
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from odebench.data.archives import read_npy_member
from odebench.data.download import fetch, file_digest, resolve_data_dir
from odebench.data.errors import DataError, FormatError
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
from odebench.records.atomic import atomic_open

FILE = "walker.zip"
FOLDER = "walker"
JOINTS = ("thigh", "leg", "foot", "thigh_left", "leg_left", "foot_left")
# gym's Walker2d observation: qpos[1:] then qvel (assumed for walker.zip, which has no header)
CHANNELS = ("pos_rootz", "pos_rooty", *(f"pos_{j}" for j in JOINTS),
            "vel_rootx", "vel_rootz", "vel_rooty", *(f"vel_{j}" for j in JOINTS))
SEQ_LEN = 64               # walker scripts: seqlen = 64
STRIDE_DIVISOR = 4         # odelstm_data.py: stride seq_len // 4 (16 at seq_len 64)
KEEP = 0.9                 # odelstm_data.py: self.rng.rand() < 0.9
KEEP_SEED = 891374         # odelstm_data.py: self.rng = np.random.RandomState(891374)
SHUFFLE_SEED = 125487      # odelstm_data.py: np.random.RandomState(125487).shuffle(all_files)
TEST_SHARE, VALID_SHARE = 0.15, 0.1   # odelstm_data.py: 15 % test, 10 % validation files
TIME_SCALE = 64.0          # walker scripts: times / 64.0
INSTALL_HINT = ("the Walker2D stand-in needs gymnasium and MuJoCo: "
                ".venv/bin/pip install 'gymnasium[mujoco]>=1.0' 'mujoco>=3' "
                "(or pip install -e '.[rl]')")

Named = list[tuple[str, np.ndarray]]


# --- reading walker.zip ----------------------------------------------------------------------

def _unsafe(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or "\\" in name or ".." in parts or ":" in parts[0]


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> np.ndarray:
    where = f"{path}: member {info.filename}"
    array = read_npy_member(archive, info, path)
    if array.ndim != 2 or array.shape[1] != len(CHANNELS) or \
            not np.issubdtype(array.dtype, np.floating):
        raise FormatError(f"{where}: expected a [T, {len(CHANNELS)}] float array, got "
                          f"shape {array.shape} dtype {array.dtype}")
    if len(array) < 2:
        raise FormatError(f"{where}: {len(array)} step(s); at least 2 are needed")
    if not np.isfinite(array).all():
        raise FormatError(f"{where}: non-finite values")
    return array


def read_walker_zip(path: str | Path) -> Named:
    """The ``walker/*.npy`` trajectories of ``walker.zip``, sorted by member name.

    Read in memory (nothing is extracted); ``np.load`` with ``allow_pickle=False``. Members
    elsewhere are ignored; an absolute or ``..`` member name, an archive without trajectories,
    a corrupt archive or a member that is not a finite ``[T, 17]`` float array raises
    :class:`FormatError` naming the archive (and the member).
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            for info in infos:
                if _unsafe(info.filename):
                    raise FormatError(f"{path}: member {info.filename!r} has an unsafe path "
                                      f"(absolute or with '..'); refusing the archive")
            members = sorted((i for i in infos if not i.is_dir()
                              and i.filename.startswith(f"{FOLDER}/")
                              and i.filename.count("/") == 1 and i.filename.endswith(".npy")),
                             key=lambda i: i.filename)
            if not members:
                found = ", ".join(i.filename for i in infos[:5]) or "nothing"
                raise FormatError(f"{path}: no {FOLDER}/*.npy trajectories in the archive "
                                  f"(found: {found})")
            return [(info.filename, _read_member(archive, info, path)) for info in members]
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise FormatError(f"{path}: not a readable zip archive: {err}") from err


# --- the odelstm_data.py pipeline ------------------------------------------------------------

def file_split(names: Sequence[str]) -> dict[str, list[str]]:
    """ODE-LSTM's file-level split of the sorted ``names``: 75 % train, 10 % valid, 15 % test."""
    order = sorted(names)
    np.random.RandomState(SHUFFLE_SEED).shuffle(order)
    test_n = int(TEST_SHARE * len(order))
    valid_n = int((TEST_SHARE + VALID_SHARE) * len(order))
    return {"train": order[valid_n:], "valid": order[test_n:valid_n], "test": order[:test_n]}


def walker_windows(sequences: Named, *, seq_len: int = SEQ_LEN, stride: int | None = None,
                   keep: float = KEEP, file: str | Path = FILE,
                   ) -> tuple[dict[str, SequenceSplit], dict]:
    """The ODE-LSTM Walker pipeline on named ``[T, 17]`` trajectories: splits and details.

    ``stride`` defaults to ``seq_len // 4`` as in the code.
    """
    stride = seq_len // STRIDE_DIVISOR if stride is None else stride
    if seq_len < 1 or stride < 1:
        raise ValueError(f"need seq_len >= 1 and stride >= 1, got {seq_len} and {stride}")
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    arrays = dict(sequences)
    files = file_split(list(arrays))
    for name in SPLITS:
        if not files[name]:
            raise FormatError(f"{file}: {len(arrays)} trajectories are too few for the 75/10/15 "
                              f"file split (the {name} split gets none; at least 8 are needed)")
    rng = np.random.RandomState(KEEP_SEED)
    splits, kept_steps, raw_steps, empty = {}, 0, 0, 0
    for split in SPLITS:                               # train, valid, test: the code's order
        times, xs, ys, lengths = [], [], [], {}
        for name in files[split]:
            arr = arrays[name].astype(np.float32)
            draws = rng.random_sample(len(arr) - 1)    # one rng.rand() per step of arr[:-1]
            kept = np.flatnonzero(draws < keep)
            gaps = np.diff(kept, prepend=-1).astype(np.float32)
            x, y = arr[:-1][kept], arr[1:][kept]
            lengths[name] = len(kept)
            kept_steps, raw_steps = kept_steps + len(kept), raw_steps + len(draws)
            starts = range(0, len(kept) - seq_len, stride)
            empty += not starts
            for s in starts:
                times.append(gaps[s:s + seq_len])
                xs.append(x[s:s + seq_len])
                ys.append(y[s:s + seq_len])
        if not xs:
            longest = max(lengths, key=lengths.get)
            check_window(seq_len + 1, lengths[longest], file,
                         f"sequence {longest} (the longest of the {split} split, in kept steps)")
        splits[split] = SequenceSplit(torch.from_numpy(np.stack(times)),
                                      torch.from_numpy(np.stack(xs)),
                                      torch.from_numpy(np.stack(ys)))
    details = {
        "trajectories": len(arrays), "files": {n: len(f) for n, f in files.items()},
        "shuffle_seed": SHUFFLE_SEED, "keep_seed": KEEP_SEED, "keep": keep,
        "raw_steps": raw_steps, "kept_steps": kept_steps,
        "sequences_without_windows": empty, "seq_len": seq_len, "stride": stride,
    }
    return splits, details


# --- offline stand-in ------------------------------------------------------------------------

@dataclass(frozen=True)
class WalkerStandin:
    """Size and seed of the offline stand-in (smoke size: 12 trajectories x 400 steps)."""

    n_trajectories: int = 12
    steps: int = 400
    seed: int = 0


GAIT_HZ = (0.8, 1.4)           # stride frequency range
AMPLITUDE = {"hip": (0.3, 0.6), "knee": (0.4, 0.9), "ankle": (0.1, 0.3)}   # rad
PD = (1.0, 0.05)               # proportional, derivative gain (actions are clipped to [-1, 1])


def _gait(rng: np.random.Generator, dt: float):
    freq, phase = rng.uniform(*GAIT_HZ), rng.uniform(0.0, 2 * np.pi)
    hip, knee, ankle = (rng.uniform(*AMPLITUDE[k]) for k in ("hip", "knee", "ankle"))

    def target(step: int) -> np.ndarray:
        w = 2 * np.pi * freq * step * dt + phase
        legs = [(hip * np.sin(w + o), -0.5 * knee * (1 + np.cos(w + o)), ankle * np.sin(w + o))
                for o in (0.0, np.pi)]
        return np.array([a for leg in legs for a in leg])

    return target


def walker2d_standin(n_trajectories: int = 12, steps: int = 400, seed: int = 0) -> Named:
    """``n_trajectories`` gymnasium ``Walker2d-v5`` observation sequences ``[steps, 17]``.

    Named ``walker/standin_<k>.npy`` like the real archive's members. Deterministic for a seed
    (on one MuJoCo build). Raises :class:`DataError` when gymnasium or MuJoCo is missing.
    """
    if n_trajectories < 1 or steps < 2:
        raise ValueError(f"need n_trajectories >= 1 and steps >= 2, got {n_trajectories}, "
                         f"{steps}")
    try:
        from gymnasium.envs.mujoco.walker2d_v5 import Walker2dEnv
    except (ImportError, OSError) as err:
        raise DataError(f"{INSTALL_HINT} ({err})") from err
    rng = np.random.default_rng(seed)
    env = Walker2dEnv(terminate_when_unhealthy=False)
    out: Named = []
    try:
        for k in range(n_trajectories):
            target = _gait(rng, env.dt)
            obs, _ = env.reset(seed=int(rng.integers(2**31)))
            trajectory = [obs]
            for step in range(steps - 1):
                action = PD[0] * (target(step) - obs[2:8]) - PD[1] * obs[11:17]
                obs, *_ = env.step(np.clip(action, -1.0, 1.0))
                trajectory.append(obs)
            out.append((f"{FOLDER}/standin_{k:03d}.npy", np.asarray(trajectory, np.float64)))
    finally:
        env.close()
    return out


def _standin_versions() -> str:
    import gymnasium
    import mujoco

    return f"gymnasium {gymnasium.__version__}, MuJoCo {mujoco.__version__}"


def _read_standin(path: Path, standin: WalkerStandin) -> tuple[Named, str]:
    """The trajectories and versions stored in a stand-in cache; :class:`FormatError` if bad."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            versions = str(npz["versions"])
            arrays = [npz[f"{k:03d}"] for k in range(standin.n_trajectories)]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise FormatError(f"{path}: unreadable stand-in cache ({err})") from err
    if any(a.shape != (standin.steps, len(CHANNELS)) for a in arrays):
        raise FormatError(f"{path}: stand-in cache has the wrong shapes")
    return [(f"{FOLDER}/standin_{k:03d}.npy", a) for k, a in enumerate(arrays)], versions


def cached_standin(folder: Path, standin: WalkerStandin) -> tuple[Named, Path, str]:
    """The stand-in trajectories, generated once into ``folder`` (npz, written atomically); a
    corrupt cache is removed with a one-line note and generated again."""
    path = folder / (f"standin_{standin.n_trajectories}x{standin.steps}"
                     f"_seed{standin.seed}.npz")
    if path.is_file():
        try:
            named, versions = _read_standin(path, standin)
            return named, path, versions
        except FormatError as err:
            print(f"odebench: {err}; removed it, generating it again", file=sys.stderr)
            path.unlink(missing_ok=True)
    sequences = walker2d_standin(standin.n_trajectories, standin.steps, standin.seed)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as handle:
        np.savez(handle, versions=np.array(_standin_versions()),
                 **{f"{k:03d}": a for k, (_, a) in enumerate(sequences)})
    named, versions = _read_standin(path, standin)
    return named, path, versions


# --- the loader ------------------------------------------------------------------------------

def load_walker2d(data_dir: str | Path | None = None, offline: bool = False, *,
                  seq_len: int = SEQ_LEN,   # walker scripts: seqlen = 64
                  stride: int | None = None,  # odelstm_data.py: seq_len // 4 (16 at 64)
                  keep: float = KEEP,       # odelstm_data.py: keep probability 0.9
                  limit: Limit = None,
                  standin: WalkerStandin | Mapping[str, int] = WalkerStandin(),
                  base_url: str | None = None,
                  source: Source | None = None) -> SequenceData:
    """Walker2D windows: ``x``/``y`` [N, 64, 17], ``times`` [N, 64] (divide by 64 for models).

    Online: ``walker.zip`` of the registry (its sha256 is pinned on first download, once the
    archive holds at least 8 trajectories; an archive that does not read is removed from the
    cache with its pin). Offline: the MuJoCo stand-in,
    cached in ``<data_dir>/walker2d/`` (``standin``: a :class:`WalkerStandin` or its fields as a
    mapping). ``limit`` keeps the first windows of each split.
    """
    if isinstance(standin, Mapping):
        standin = WalkerStandin(**standin)
    if offline:
        folder = resolve_data_dir(data_dir) / "walker2d"
        sequences, name, versions = cached_standin(folder, standin)
        label = (f"stand-in: gymnasium Walker2d-v5 ({versions}), open-loop sinusoidal gait, "
                 f"{standin.n_trajectories} trajectories x {standin.steps} steps, "
                 f"seed {standin.seed}")
    else:
        src = source or get_source("walker2d")
        name = fetch(src, data_dir, base_url)[FILE]
        try:
            sequences = read_walker_zip(name)
        except FormatError as err:
            discard_cached(name, src.file(FILE))
            raise FormatError(f"{err} (removed from the cache)") from None
        label = f"{FILE} (ODE-LSTM Walker2d, sha256 {file_digest(name, 'sha256')})"
    splits, details = walker_windows(sequences, seq_len=seq_len, stride=stride, keep=keep,
                                     file=name)
    details["windows_available"] = {n: len(s) for n, s in splits.items()}
    splits = apply_limit(splits, limit)
    details["windows"] = {n: len(s) for n, s in splits.items()}
    details["time_scale"] = TIME_SCALE
    details["offline"] = offline
    return SequenceData(**splits, source=label, channels=CHANNELS, time_scale=TIME_SCALE,
                        details=details)
