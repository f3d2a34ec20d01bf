"""The line a finished workflow job prints to the terminal: its run and key metrics, read
back from the run's ``summary.json`` (the job's own output goes to its log file)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from odebench.records.progress import result_line

SUMMARY_FILE = "summary.json"


def done_line(run: str | Path) -> str:
    """``finished pointcloud/hbnode seed 0 in 12.3 s: test acc 0.930, ...`` for a run folder
    (or its ``summary.json``); a summary that cannot be read gives a line saying so."""
    path = Path(run)
    if path.is_dir():
        path = path / SUMMARY_FILE
    try:
        summary = json.loads(path.read_text())
        final = summary["final"]
        seconds = summary.get("wall_seconds", final.get("total_seconds", math.nan))
        run_key = summary.get("config", {}).get("run", summary["model"])
        return result_line(summary["experiment"], run_key, int(summary["seed"]),
                           str(summary["status"]), final, float(seconds))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return f"finished {path.parent}: no result line ({type(error).__name__}: {error})"
