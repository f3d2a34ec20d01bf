"""Windowed irregular time series for the ODE-RNN hybrids (HBNODE §5.3/§5.4, NesterovNODE §5.3).

One container for plane vibration and Walker2D: batch-first float32 windows, where
``times[n, i]`` is the integration duration (in raw sample steps) that the ODE-RNN uses right
after its jump with ``x[n, i]``, and ``y[n, i]`` is the per-step target of that prediction.
A model divides ``times`` by :attr:`SequenceData.time_scale` first (the official code does).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from odebench.data.download import pin_path
from odebench.data.errors import FormatError
from odebench.data.registry import RemoteFile

SPLITS = ("train", "valid", "test")
Limit = int | Sequence[int] | Mapping[str, int] | None


@dataclass(frozen=True, eq=False)
class SequenceSplit:
    """``N`` windows of ``T`` steps, batch first (index windows along dim 0)."""

    times: torch.Tensor                  # [N, T] integration duration after the jump with x[:, i]
    x: torch.Tensor                      # [N, T, C] inputs
    y: torch.Tensor                      # [N, T, C] per-step targets
    forecast: torch.Tensor | None = None  # [N, F, C] multi-step targets (plane vibration only)

    def __post_init__(self) -> None:
        n, t = self.times.shape
        if self.x.shape[:2] != (n, t) or self.x.ndim != 3 or self.y.shape != self.x.shape:
            raise ValueError(f"inconsistent window shapes: times {tuple(self.times.shape)}, "
                             f"x {tuple(self.x.shape)}, y {tuple(self.y.shape)}")
        if self.forecast is not None and (self.forecast.ndim != 3 or
                                          self.forecast.shape[0] != n or
                                          self.forecast.shape[2] != self.x.shape[2]):
            raise ValueError(f"forecast shape {tuple(self.forecast.shape)} does not match "
                             f"x {tuple(self.x.shape)}")

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def head(self, n: int) -> SequenceSplit:
        """The first ``n`` windows (all of them when ``n`` is at least the count)."""
        return SequenceSplit(self.times[:n], self.x[:n], self.y[:n],
                             None if self.forecast is None else self.forecast[:n])


@dataclass(frozen=True, eq=False)
class SequenceData:
    """Train/valid/test windows of one data set, with where they came from."""

    train: SequenceSplit
    valid: SequenceSplit
    test: SequenceSplit
    source: str                  # which source produced it: the real file (and hash) or a stand-in
    channels: tuple[str, ...]
    time_scale: float            # the official code feeds ``times / time_scale`` to the model
    details: dict[str, Any] = field(default_factory=dict)   # counts, seeds, ... for run records

    def splits(self) -> dict[str, SequenceSplit]:
        return {"train": self.train, "valid": self.valid, "test": self.test}


def check_window(seq_len: int, length: int, file: str | Path, where: str) -> None:
    """Raise :class:`FormatError` naming ``file`` and ``where`` (the sequence or split) when a
    window of ``seq_len`` steps does not fit in ``length`` steps."""
    if length < seq_len:
        raise FormatError(f"{file}: {where} has {length} steps, fewer than the {seq_len} steps "
                          f"one window needs; use a shorter seq_len or more data")


def split_limits(limit: Limit) -> dict[str, int | None]:
    """``limit`` as a cap per split: an int (every split), ``(train, valid, test)`` or a mapping
    (missing splits uncapped)."""
    if limit is None:
        caps: dict[str, int | None] = dict.fromkeys(SPLITS)
    elif isinstance(limit, int):
        caps = dict.fromkeys(SPLITS, limit)
    elif isinstance(limit, Mapping):
        unknown = set(limit) - set(SPLITS)
        if unknown:
            raise ValueError(f"limit: unknown split(s) {sorted(unknown)}; valid: {SPLITS}")
        caps = {s: limit.get(s) for s in SPLITS}
    else:
        if len(limit) != len(SPLITS):
            raise ValueError(f"limit: expected (train, valid, test), got {limit!r}")
        caps = dict(zip(SPLITS, limit, strict=True))
    for name, cap in caps.items():
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ValueError(f"limit for {name} must be a positive integer, got {cap!r}")
    return caps


def apply_limit(splits: Mapping[str, SequenceSplit], limit: Limit) -> dict[str, SequenceSplit]:
    """Keep the first ``limit`` windows of each split (toy runs)."""
    caps = split_limits(limit)
    return {name: split if caps[name] is None else split.head(caps[name])
            for name, split in splits.items()}


def discard_cached(path: Path, remote: RemoteFile) -> None:
    """Remove a cached download that failed to parse, and the pin recorded for it when the
    registry has no checksum (so a corrected file is not refused later); keeps other files."""
    paths = [path] + ([pin_path(path, remote.algorithm)] if remote.checksum is None else [])
    for item in paths:
        with contextlib.suppress(FileNotFoundError):
            item.unlink()
    with contextlib.suppress(OSError):
        path.parent.rmdir()              # only succeeds when nothing else is cached there
