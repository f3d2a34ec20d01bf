"""Checkpoints that let a killed job continue from its last completed epoch."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from odebench.records.atomic import atomic_write_bytes


def rng_state() -> dict[str, Any]:
    """Every random generator a training loop may draw from."""
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, *, epoch: int, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, rows: list[dict[str, Any]],
                    scheduler: Any | None = None, extra: dict[str, Any] | None = None) -> None:
    """Atomically save everything needed to resume after ``epoch`` (1-based, completed)."""
    payload = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rows": rows,
        "rng": rng_state(),
        "extra": extra or {},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, *, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, scheduler: Any | None = None,
                    map_location: str | torch.device | None = None) -> dict[str, Any] | None:
    """Restore a checkpoint into ``model``/``optimizer`` and the RNGs; ``None`` if absent."""
    path = Path(path)
    if not path.is_file():
        return None
    payload = torch.load(path, map_location=map_location, weights_only=False)
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    if scheduler is not None and payload.get("scheduler") is not None:
        scheduler.load_state_dict(payload["scheduler"])
    set_rng_state(payload["rng"])
    return payload
