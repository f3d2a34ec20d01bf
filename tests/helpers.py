"""Small builders shared by tests (configs written to temporary folders)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

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
