"""The committed reference (results/reference/papers/) is what config/reference.yaml makes: its
resolved config matches the config, and every committed run record carries the fingerprint of
its job under that config (a run made with other settings would be a silent wrong result)."""

from __future__ import annotations

import json

import pytest
import yaml

from odebench.config import load_config
from odebench.tasks.pieces import piece_jobs, piece_names
from tests.helpers import REPO

CONFIG = REPO / "config" / "reference.yaml"
REFERENCE = REPO / "results" / "reference" / "papers"


@pytest.fixture(scope="module")
def config():
    return load_config(CONFIG)


def test_the_committed_resolved_config_is_the_reference_config(config):
    committed = yaml.safe_load((REFERENCE / "config.yaml").read_text())
    for key in ("experiments", "pieces", "results_dir"):
        assert committed[key] == config[key], key


def test_every_committed_run_was_made_by_its_job_under_the_reference_config(config):
    from odebench.tasks.run import stale_settings

    checked, stale = 0, []
    for name in piece_names(config):
        for experiment, jobs in piece_jobs(config, name).items():
            for job in jobs:
                folder = REFERENCE / "runs" / experiment / job.key / f"seed{job.seed}"
                path = folder / "summary.json"
                if not path.exists():
                    continue
                checked += 1
                why = stale_settings(config, experiment, job.key, job.seed,
                                     json.loads(path.read_text()))
                if why:
                    stale.append(f"{experiment}/{job.key}/seed{job.seed}: {why}")
    assert checked > 0 and not stale, stale[:5]
