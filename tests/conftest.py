"""Shared test fixtures: float64 by default where it matters, repository paths, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import REPO  # noqa: F401 (tests import it from here)
from tests.loopback import no_network, server  # noqa: F401 (shared fixtures)


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    """One BLAS thread: small matrices (scipy's expm in ES updates) run many times slower
    when OpenBLAS spreads them over the cores of a loaded 2-core machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    yield


def run_cli(*args: str, cwd: Path = REPO, env_extra: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m odebench.cli`` as a user would, capturing its output."""
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "odebench.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
