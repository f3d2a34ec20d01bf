"""Run records: ``epochs.csv`` + ``summary.json`` per (experiment, model, seed).

Layout (docs/DESIGN.md, run records): ``<results>/runs/<experiment>/<model>/seed<k>/``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odebench.records.atomic import atomic_write_text

if TYPE_CHECKING:
    import pandas as pd

EPOCHS_FILE = "epochs.csv"
SUMMARY_FILE = "summary.json"
CHECKPOINT_FILE = "checkpoint.pt"

STATUS_COMPLETED = "completed"
STATUS_NFE_CAP = "stopped: NFE cap"
STATUS_DIVERGED = "diverged"
STATUS_RUNNING = "running"

# Version of the run-record layout, written into every summary.json as "records_schema";
# bump it when a record changes meaning. Summaries without it are schema 0 (older odebench).
RECORDS_SCHEMA = 1


def run_dir(results_dir: str | Path, experiment: str, model: str, seed: int) -> Path:
    """The folder of one run record."""
    return Path(results_dir) / "runs" / experiment / model / f"seed{seed}"


def _package_version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - an absent package simply has no version
        return None


def git_commit(cwd: str | Path | None = None) -> str | None:
    """The current commit of the checkout, with ``-dirty`` when the tree has changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


# What decides a run's numbers: a piece or run made with changes here that are not committed
# cannot be rebuilt from its commit alone.
CODE_PATHS = ("odebench", "config", "workflow", "Snakefile", "pyproject.toml")


def uncommitted_code_changes(cwd: str | Path | None = None) -> list[str] | None:
    """Tracked files of the code and configs that differ from the commit of the checkout
    holding ``cwd``, by default this package (None: not in a git checkout)."""
    cwd = cwd or Path(__file__).resolve().parent
    try:
        root = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, text=True,
                              capture_output=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                 *CODE_PATHS], cwd=root, capture_output=True, text=True,
                                timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sorted(line[3:] for line in status.splitlines())


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def environment(device: str | None = None) -> dict[str, Any]:
    """Versions and hardware that produced a run."""
    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device_name = (torch.cuda.get_device_name(torch.device(device))
                   if str(device).startswith("cuda") else platform.processor() or "cpu")
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchdiffeq": _package_version("torchdiffeq"),
        "numpy": _package_version("numpy"),
        "scipy": _package_version("scipy"),
        "gymnasium": _package_version("gymnasium"),
        "mujoco": _package_version("mujoco"),
        "dm_control": _package_version("dm-control"),
        "odebench": _package_version("odebench"),
        "platform": platform.platform(),
        "device": str(device),
        "device_name": device_name,
        "cpu_model": cpu_model(),
        "git_commit": git_commit(Path(__file__).resolve().parent),
    }


def _json_safe(value: Any) -> Any:
    """Replace non-finite floats by strings so that summary.json stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


@dataclass
class RunRecord:
    """Writes one run's record atomically; rows are kept in memory and rewritten whole."""

    directory: Path
    experiment: str
    model: str
    seed: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    restored_seconds: float = 0.0  # the ``seconds`` of rows restored from a checkpoint

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)

    @property
    def epochs_path(self) -> Path:
        return self.directory / EPOCHS_FILE

    @property
    def summary_path(self) -> Path:
        return self.directory / SUMMARY_FILE

    @property
    def checkpoint_path(self) -> Path:
        return self.directory / CHECKPOINT_FILE

    def restore(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Take the rows a checkpoint kept from earlier invocations of this run (rewriting
        ``epochs.csv`` to them) and the training time they took, so that a resumed run's job
        time counts them."""
        self.rows = [dict(row) for row in rows]
        self.restored_seconds = sum(float(row.get("seconds") or 0.0) for row in self.rows)
        self.write_epochs()

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one epoch (or iteration) row and rewrite ``epochs.csv`` atomically."""
        self.rows.append(dict(row))
        self.write_epochs()

    def write_epochs(self) -> None:
        """``epochs.csv``: one column per key in order of first appearance, a missing or NaN
        value as an empty cell (the form ``pandas.read_csv`` reads back as NaN)."""
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in self.rows:
            writer.writerow([_cell(row.get(column)) for column in columns])
        atomic_write_text(self.epochs_path, buffer.getvalue())

    def write_summary(self, *, status: str, final: Mapping[str, Any],
                      config: Mapping[str, Any], device: str | None = None,
                      extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write ``summary.json``: final metrics, resolved config, seed and environment."""
        summary = {
            "experiment": self.experiment,
            "model": self.model,
            "seed": self.seed,
            "records_schema": RECORDS_SCHEMA,
            "status": status,
            "epochs_completed": len(self.rows),
            "final": dict(final),
            "config": dict(config),
            "environment": environment(device),
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **(dict(extra) if extra else {}),
        }
        atomic_write_text(self.summary_path,
                          json.dumps(_json_safe(summary), indent=2, sort_keys=False) + "\n")
        return summary


def _run_folders(results_dir: Path, experiment: str | None,
                 runs: Sequence[str] | None = None) -> list[Path]:
    """Run folders of ``experiment`` (every one when None): exactly ``runs`` (planned
    ``<run>/seed<k>`` names, those that exist) when given, else every ``*/seed<k>`` folder."""
    base = Path(results_dir) / "runs"
    if runs is not None:
        if experiment is None:
            raise ValueError("a list of planned runs belongs to one experiment")
        return [base / experiment / run for run in runs if (base / experiment / run).is_dir()]
    pattern = f"{experiment}/*/seed*" if experiment else "*/*/seed*"
    return sorted(p for p in base.glob(pattern)
                  if p.is_dir() and p.name.removeprefix("seed").isdigit())


def planned_rows(frame: pd.DataFrame, runs: Sequence[str]) -> pd.DataFrame:
    """The rows of an aggregate frame (columns ``model``, ``setting``, ``seed``) that belong to
    the planned ``<run>/seed<k>`` folders ``runs``."""
    import pandas as pd

    if frame.empty:
        return frame
    if "setting" in frame:
        settings = frame["setting"].astype(object).where(frame["setting"].notna(), "")
        settings = settings.astype(str)
    else:
        settings = pd.Series("", index=frame.index)
    names = (frame["model"].astype(str) + ("@" + settings).where(settings != "", "")
             + "/seed" + frame["seed"].astype(int).astype(str))
    return frame[names.isin(set(runs))]


def unplanned_runs(results_dir: str | Path, experiment: str, runs: Sequence[str]) -> list[str]:
    """``<run>/seed<k>`` folders under ``runs/<experiment>/`` that ``runs`` does not plan."""
    planned = set(runs)
    existing = (f"{p.parent.name}/{p.name}" for p in _run_folders(Path(results_dir), experiment))
    return [run for run in existing if run not in planned]


def _identity(folder: Path) -> dict[str, Any]:
    """experiment, model, setting (``tol=1e-05`` for a sweep run, else empty) and seed."""
    model, _, setting = folder.parent.name.partition("@")
    return {"experiment": folder.parent.parent.name, "model": model, "setting": setting,
            "seed": int(folder.name.removeprefix("seed"))}


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value


def read_epochs(results_dir: str | Path, experiment: str | None = None,
                runs: Sequence[str] | None = None) -> pd.DataFrame:
    """All ``epochs.csv`` rows under ``results_dir`` as one tidy frame (of the planned ``runs``
    only, ``<run>/seed<k>`` names, when given).

    One row per (experiment, model, seed, epoch); the identifying columns come first.
    """
    import pandas as pd  # only the report steps read records; training jobs never load pandas

    frames = []
    for folder in _run_folders(Path(results_dir), experiment, runs):
        path = folder / EPOCHS_FILE
        if not path.is_file() or path.stat().st_size == 0:
            continue
        frame = pd.read_csv(path)
        for key, value in reversed(list(_identity(folder).items())):
            frame.insert(0, key, value)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["experiment", "model", "setting", "seed"])
    return pd.concat(frames, ignore_index=True)


def read_summaries(results_dir: str | Path, experiment: str | None = None,
                   runs: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per run with status, ``records_schema`` (0 when the summary has none) and the
    flattened ``final`` metrics (``final_<name>``); of the planned ``runs`` only when given
    (as :func:`read_epochs`)."""
    import pandas as pd

    rows = []
    for folder in _run_folders(Path(results_dir), experiment, runs):
        path = folder / SUMMARY_FILE
        if not path.is_file():
            continue
        summary = json.loads(path.read_text())
        row = {**_identity(folder), "status": summary.get("status"),
               "records_schema": summary.get("records_schema", 0),
               "task": summary.get("config", {}).get("task"),
               "setup": summary.get("setup"),
               "epochs_completed": summary.get("epochs_completed"),
               "n_params": summary.get("n_params"),
               "chance_accuracy": summary.get("chance_accuracy"),
               **{f"baseline_mse_{k}": v
                  for k, v in (summary.get("baseline_mse") or {}).items()},
               "device": summary.get("environment", {}).get("device"),
               "device_name": summary.get("environment", {}).get("device_name")}
        row.update({f"final_{k}": v for k, v in summary.get("final", {}).items()})
        rows.append(row)
    empty = ["experiment", "model", "setting", "seed", "status"]
    return pd.DataFrame(rows, columns=None if rows else empty)
