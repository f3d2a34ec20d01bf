"""Checkpoints that let a killed job continue from its last completed epoch.

A checkpoint is a ``torch.save`` file of tensors and plain values only (dicts, lists,
tuples, numbers, strings, None) and is read with ``torch.load(weights_only=True)``: loading
one never runs code, so a results folder from elsewhere is safe to resume from. Anything
else (a pickled object, a truncated file) is refused with one line naming the file.
"""

from __future__ import annotations

import io
import pickle
import random
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from odebench.errors import CheckpointError, first_line
from odebench.records.atomic import atomic_write_bytes

TRAINING_KEYS = ("epoch", "model", "optimizer", "rows", "rng")
_RESTART = "delete it to restart the run (or restore it from a copy)"


def plain(value: Any) -> Any:
    """``value`` with numpy arrays as tensors and numpy scalars as Python numbers (inside
    plain dicts, lists and tuples), so that ``torch.load(weights_only=True)`` reads it back."""
    if type(value) is dict:
        return {key: plain(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(plain(item) for item in value)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Atomically ``torch.save`` ``payload`` to ``path``."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _refusal(path: Path, err: pickle.UnpicklingError) -> CheckpointError:
    reasons = [line[line.index("Unsupported"):] for line in str(err).splitlines()
               if "Unsupported" in line]
    reason = reasons[0].split(" was not ")[0].split(". ")[0] if reasons else first_line(err)
    return CheckpointError(f"refusing to load checkpoint {path}: it holds more than tensors "
                           f"and plain values ({reason}); loading it could run code: "
                           f"{_RESTART}")


def read_checkpoint(path: str | Path, map_location: str | torch.device | None = None,
                    required: Iterable[str] = ()) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)``: a dict holding the ``required`` keys, or a
    :class:`CheckpointError` naming the file (truncated, unreadable, not ours, unsafe)."""
    path = Path(path)
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": we refuse it
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if "Weights only load failed" in str(err):
            raise _refusal(path, err) from err
        raise CheckpointError(f"checkpoint {path} is unreadable ({first_line(err)}): "
                              f"{_RESTART}") from err
    except OSError as err:
        if err.filename is not None:  # permission, missing disk: the OS error names the file
            raise
        raise CheckpointError(f"checkpoint {path} is truncated or unreadable "
                              f"({first_line(err)}): {_RESTART}") from err
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"checkpoint {path} is truncated or unreadable "
                              f"({first_line(err).split('. ')[0]}): {_RESTART}") from err
    missing = [key for key in required if not isinstance(payload, dict) or key not in payload]
    if missing:
        raise CheckpointError(f"checkpoint {path} is not an odebench checkpoint of this task "
                              f"(no {', '.join(missing)}): {_RESTART}")
    return payload


def rng_state() -> dict[str, Any]:
    """Every random generator a training loop may draw from, as tensors and plain values."""
    numpy_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"key": numpy_state["state"]["key"].tolist(),
                  "pos": int(numpy_state["state"]["pos"]),
                  "has_gauss": int(numpy_state["has_gauss"]),
                  "gauss": float(numpy_state["gauss"])},
        "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"].cpu())
    numpy_state = state["numpy"]
    np.random.set_state({"bit_generator": "MT19937",
                         "state": {"key": np.asarray(numpy_state["key"], dtype=np.uint32),
                                   "pos": numpy_state["pos"]},
                         "has_gauss": numpy_state["has_gauss"], "gauss": numpy_state["gauss"]})
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def save_checkpoint(path: str | Path, *, epoch: int, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, rows: list[dict[str, Any]],
                    scheduler: Any | None = None, extra: dict[str, Any] | None = None) -> None:
    """Atomically save everything needed to resume after ``epoch`` (1-based, completed)."""
    payload = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rows": plain(rows),
        "rng": rng_state(),
        "extra": plain(extra or {}),
    }
    write_checkpoint(path, payload)


def load_checkpoint(path: str | Path, *, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, scheduler: Any | None = None,
                    map_location: str | torch.device | None = None) -> dict[str, Any] | None:
    """Restore a checkpoint into ``model``/``optimizer`` and the RNGs; ``None`` if absent."""
    path = Path(path)
    if not path.is_file():
        return None
    payload = read_checkpoint(path, map_location, required=TRAINING_KEYS)
    try:
        model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        if scheduler is not None and payload.get("scheduler") is not None:
            scheduler.load_state_dict(payload["scheduler"])
        set_rng_state(payload["rng"])
    except (RuntimeError, KeyError, ValueError, TypeError) as err:
        raise CheckpointError(f"checkpoint {path} does not fit this run (another model or "
                              f"settings? {first_line(err)}): {_RESTART}") from err
    return payload
