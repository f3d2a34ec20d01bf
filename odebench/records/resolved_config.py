"""The resolved config a results folder's jobs read (``<results_dir>/config.yaml``): a copy
that no longer matches the config it stands for is dropped so the workflow writes it anew."""

from __future__ import annotations

from pathlib import Path


def drop_if_stale(path: str | Path, text: str) -> str | None:
    """Remove ``path`` when its text differs from ``text``; the line saying so, or ``None``
    when the file is missing or already equal."""
    path = Path(path)
    try:
        current = path.read_text()
    except FileNotFoundError:
        return None
    if current == text:
        return None
    path.unlink()
    return (f"{path} differs from the config given: it is written anew, and the jobs that "
            "read it are planned again")
