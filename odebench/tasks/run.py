"""Run one (experiment, model, seed) from a validated config and write its run record."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from odebench.config import ConfigError
from odebench.records import RunRecord, atomic_write_text, run_dir
from odebench.tasks import TASKS


class UnknownNameError(ValueError):
    """An experiment, model or setup name that the config or registries do not know."""


def experiment_task(config: dict[str, Any], experiment: str) -> tuple[ModuleType, dict[str, Any]]:
    """The task module of ``experiment`` and its resolved settings (paper defaults + config)."""
    experiments = config.get("experiments", {})
    if experiment not in experiments:
        raise UnknownNameError(f"unknown experiment {experiment!r}; valid: "
                               f"{', '.join(experiments) or '(none configured)'}")
    settings = dict(experiments[experiment])
    task_name = settings.pop("task", experiment)
    if task_name not in TASKS:
        raise UnknownNameError(f"experiment {experiment!r}: unknown task {task_name!r}; "
                               f"valid: {', '.join(TASKS)}")
    task = TASKS[task_name]
    setup = settings.pop("setup", task.setups()[0])
    if setup not in task.setups():
        raise UnknownNameError(f"experiment {experiment!r}: unknown setup {setup!r}; valid: "
                               f"{', '.join(task.setups())}")
    settings.pop("models", None)
    return task, task.resolve(setup, settings)


def experiment_models(config: dict[str, Any], experiment: str) -> list[str]:
    """The configured models of an experiment, each checked against its setup."""
    task, resolved = experiment_task(config, experiment)
    valid = task.models(resolved["setup"])
    chosen = config["experiments"][experiment].get("models", valid)
    for name in chosen:
        if name not in valid:
            raise UnknownNameError(f"experiment {experiment!r} (setup {resolved['setup']}): "
                                   f"unknown model {name!r}; valid: {', '.join(valid)}")
    return list(chosen)


def prepare_data(config: dict[str, Any], experiment: str,
                 results_dir: str | Path | None = None) -> Path:
    """Fetch or generate an experiment's data and write ``data/<experiment>.json``."""
    task, resolved = experiment_task(config, experiment)
    manifest = task.prepare_data(resolved, config.get("data_dir"))
    folder = Path(results_dir or config["results_dir"]) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{experiment}.json"
    atomic_write_text(path, json.dumps({"experiment": experiment, "task": task.NAME,
                                        "setup": resolved["setup"], **manifest}, indent=2) + "\n")
    return path


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device: {name!r} requested but CUDA is not available; use auto or cpu")
    return torch.device(name)


def run_one(config: dict[str, Any], experiment: str, model: str, seed: int,
            results_dir: str | Path | None = None, threads: int | None = None,
            log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train one (experiment, model, seed) and write ``epochs.csv``/``summary.json``."""
    task, resolved = experiment_task(config, experiment)
    if model not in experiment_models(config, experiment):
        raise UnknownNameError(f"experiment {experiment!r}: model {model!r} is not configured; "
                               f"valid: {', '.join(experiment_models(config, experiment))}")
    results_dir = Path(results_dir or config["results_dir"])
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results directory does not exist: {results_dir} "
                                "(create it, or point results_dir at an existing folder)")
    device = resolve_device(config.get("device", "auto"))
    threads = threads or config.get("threads")
    if threads:
        torch.set_num_threads(int(threads))
    folder = run_dir(results_dir, experiment, model, seed)
    folder.mkdir(parents=True, exist_ok=True)
    record = RunRecord(folder, experiment, model, seed)
    outcome, n_params = task.run(resolved, model, seed, record, device, log=log)
    return record.write_summary(
        status=outcome.status, final=outcome.final, device=str(device),
        config={"experiment": experiment, "task": task.NAME, "model": model, **resolved,
                "profile": config.get("profile"), "device": str(device)},
        extra={"n_params": n_params, "setup": resolved["setup"]})
