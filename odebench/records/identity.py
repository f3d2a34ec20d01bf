"""Run identity: a fingerprint of everything that shapes a run's result, kept in its folder.

A run folder holds ``identity.json`` (written before training starts) with the identity (the
experiment, run key, model, seed, task, setup, every effective setting, the data pins and the
device type) and its sha256 fingerprint. A rerun resumes the folder's checkpoint only when the
fingerprints are equal. A folder made under a different identity (or with no identity, by an
older odebench) is never resumed: it is moved aside whole to
``<results>/replaced/<experiment>/<run>/seed<k>-<UTC time>/`` and the run starts afresh, with
one line naming both folders and the keys that differ.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from odebench.records.atomic import atomic_write_text

IDENTITY_FILE = "identity.json"
REPLACED_DIR = "replaced"
MAX_KEYS_SHOWN = 6


def _canonical(value: Any) -> Any:
    """JSON-stable form: tuples as lists, mapping keys as strings, non-finite floats as text."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def fingerprint(identity: Mapping[str, Any]) -> str:
    """sha256 of the identity as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(_canonical(identity), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def read_identity(folder: Path) -> dict[str, Any] | None:
    """The identity recorded in ``folder``, or None when there is none or it is unreadable."""
    path = Path(folder) / IDENTITY_FILE
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return recorded.get("identity") if isinstance(recorded, dict) else None


def differing_keys(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two identities (nested mappings compared)."""
    keys = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            keys += differing_keys(a, b, f"{prefix}{key}.")
        elif _canonical(a) != _canonical(b):
            keys.append(f"{prefix}{key}")
    return keys


def _shown(keys: list[str], old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    def lookup(identity: Mapping[str, Any], dotted: str) -> Any:
        value: Any = identity
        for part in dotted.split("."):
            value = value.get(part, "<absent>") if isinstance(value, Mapping) else "<absent>"
        return value

    parts = [f"{k}: {lookup(old, k)!r} -> {lookup(new, k)!r}" for k in keys[:MAX_KEYS_SHOWN]]
    more = len(keys) - MAX_KEYS_SHOWN
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def has_records(folder: Path) -> bool:
    """Whether ``folder`` holds anything a run wrote besides its identity (so that resuming it
    is possible)."""
    folder = Path(folder)
    return folder.is_dir() and any(p.name != IDENTITY_FILE for p in folder.iterdir())


def claim_run_folder(folder: Path, identity: Mapping[str, Any], results_dir: Path,
                     log: Callable[[str], None] = print) -> Path | None:
    """Make ``folder`` belong to ``identity`` before a run starts in it.

    Equal fingerprint: nothing moves (the task resumes its checkpoint). A folder with records
    of another identity, or of none: moved whole under ``<results_dir>/replaced/`` (returned)
    and one line logged naming it and the keys that differ. Then ``identity.json`` is written.
    """
    folder, results_dir = Path(folder), Path(results_dir)
    identity = _canonical(identity)
    new_print = fingerprint(identity)
    moved = None
    if has_records(folder):
        old = read_identity(folder)
        if old is None or fingerprint(old) != new_print:
            moved = _move_aside(folder, results_dir)
            why = ("it has no readable identity.json (made by an older odebench, or damaged)"
                   if old is None else
                   "it was made with other settings (" + _shown(differing_keys(old, identity),
                                                               old, identity) + ")")
            log(f"run folder {folder} not resumed: {why}; moved to {moved}; starting afresh")
    folder.mkdir(parents=True, exist_ok=True)
    if moved is not None or read_identity(folder) is None:
        atomic_write_text(folder / IDENTITY_FILE,
                          json.dumps({"fingerprint": new_print, "identity": identity},
                                     indent=2, sort_keys=True) + "\n")
    return moved


def _move_aside(folder: Path, results_dir: Path) -> Path:
    """``runs/<exp>/<run>/seed<k>`` -> ``replaced/<exp>/<run>/seed<k>-<UTC time>`` (unique)."""
    try:
        relative = folder.resolve().relative_to((results_dir / "runs").resolve())
    except ValueError:
        relative = Path(folder.name)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = results_dir / REPLACED_DIR / relative.parent / f"{relative.name}-{stamp}"
    suffix = 1
    while target.exists():
        suffix += 1
        target = target.with_name(f"{relative.name}-{stamp}-{suffix}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(folder), str(target))
    return target
