"""Run records (epochs.csv, summary.json, checkpoint.pt): the contract with reporting."""

from odebench.records.atomic import atomic_open, atomic_write_bytes, atomic_write_text
from odebench.records.run_record import (
    STATUS_COMPLETED,
    STATUS_DIVERGED,
    STATUS_NFE_CAP,
    RunRecord,
    environment,
    read_epochs,
    read_summaries,
    run_dir,
)

__all__ = [
    "STATUS_COMPLETED", "STATUS_DIVERGED", "STATUS_NFE_CAP", "RunRecord", "atomic_open",
    "atomic_write_bytes", "atomic_write_text", "environment", "load_checkpoint",
    "read_epochs", "read_summaries", "run_dir", "save_checkpoint",
]


def __getattr__(name: str):
    """Checkpoint helpers load torch, so they are imported only when asked for (reports
    read records without torch)."""
    if name in ("load_checkpoint", "save_checkpoint"):
        from odebench.records import checkpoint

        return getattr(checkpoint, name)
    raise AttributeError(f"module 'odebench.records' has no attribute {name!r}")
