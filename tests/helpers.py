"""Small builders shared by tests (configs written to temporary folders)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]

# The team's real copies of two small datasets, beside a checkout (absent in a user's clone:
# the tests that read them skip and say so).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def write_config(folder: Path, results_dir: Path, experiments: dict[str, Any] | None = None,
                 **top: Any) -> Path:
    """A tiny point-cloud config: 2 models, few epochs, loose tolerance."""
    config = {
        "profile": "test",
        "results_dir": str(results_dir),
        "device": "cpu",
        "threads": 1,
        "experiments": experiments if experiments is not None else {
            "pointcloud": {"setup": "hbnode2021", "models": ["node", "hbnode"], "seeds": 2,
                           "epochs": 4, "tol": 1.0e-3, "n_train": 30, "batch_size": 30,
                           "dtype": "float64"},
        },
        **top,
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def copy_workflow(folder: Path, configs: dict[str, dict[str, Any]] | None = None) -> Path:
    """The workflow files (Snakefile, workflow/, config/) in ``folder``, as a fresh clone has
    them, plus ``config/<name>.yaml`` for each of ``configs``; Snakemake run there writes
    its .snakemake/ and results/ there, not in the checkout."""
    shutil.copy(REPO / "Snakefile", folder / "Snakefile")
    shutil.copytree(REPO / "workflow", folder / "workflow")
    shutil.copytree(REPO / "config", folder / "config")
    for name, config in (configs or {}).items():
        (folder / "config" / f"{name}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder


def snakemake(workdir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m snakemake <args>`` in ``workdir``, with this interpreter's bin on PATH (the
    rules call ``odebench`` through it)."""
    env = {**os.environ,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)


def interruptible() -> None:
    """``preexec_fn`` for a child that a test stops with SIGINT: restore its default action.
    A shell's background job (``cmd &``, ``nohup``) starts with SIGINT ignored, and Python
    keeps an ignored SIGINT ignored, so Ctrl-C tests would otherwise see the run finish."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
