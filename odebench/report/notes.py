"""What each built-in experiment shows and which paper figure or table it reproduces
(``experiments.yaml`` beside this module): figure titles, table headers and the Snakemake
report's captions read it."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def experiment_notes() -> dict[str, dict[str, Any]]:
    """experiment id -> {category, reproduces, what}."""
    text = resources.files("odebench.report").joinpath("experiments.yaml").read_text()
    return yaml.safe_load(text) or {}


def what(experiment: str) -> str:
    """The experiment's one-line description, or "" for an experiment of the user's own."""
    return str(experiment_notes().get(experiment, {}).get("what", ""))


def reproduces(experiment: str) -> str:
    """The paper figure or table the experiment stands for, or ""."""
    return str(experiment_notes().get(experiment, {}).get("reproduces", ""))
