"""Resolve experiments from a config and run one (experiment, model[@setting], seed) job."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from odebench.config import ConfigError, seeds_of
from odebench.records import RunRecord, atomic_write_text, run_dir
from odebench.tasks import TASKS
from odebench.tasks.experiments import EXPERIMENTS, format_value, model_key, split_model_key


class UnknownNameError(ValueError):
    """An experiment, model or setup name that the config or registries do not know."""


# Keys of an experiment entry that select what runs, not how a run trains.
SELECTION_KEYS = ("task", "setup", "models", "sweep")


@dataclass(frozen=True)
class Job:
    """One training job: its run folder name (``model`` or ``model@key=value``) and seed."""

    key: str
    model: str
    seed: int


def experiment_task(config: dict[str, Any], experiment: str) -> tuple[Any, dict[str, Any]]:
    """The task module of ``experiment`` and its resolved settings (paper defaults + config)."""
    experiments = config.get("experiments", {})
    if experiment not in experiments:
        raise UnknownNameError(f"unknown experiment {experiment!r}; valid: "
                               f"{', '.join(experiments) or '(none configured)'}")
    entry = dict(experiments[experiment] or {})
    preset = EXPERIMENTS.get(experiment)
    task_name = entry.get("task", preset.task if preset else None)
    if task_name is None:
        raise UnknownNameError(f"experiment {experiment!r} is not a built-in experiment, so it "
                               f"needs a task; valid tasks: {', '.join(TASKS)}")
    if task_name not in TASKS:
        raise UnknownNameError(f"experiment {experiment!r}: unknown task {task_name!r}; "
                               f"valid: {', '.join(TASKS)}")
    task = TASKS[task_name]
    setup = entry.get("setup", preset.setup if preset and preset.task == task_name
                      else task.setups()[0])
    if setup not in task.setups():
        raise UnknownNameError(f"experiment {experiment!r}: unknown setup {setup!r}; valid: "
                               f"{', '.join(task.setups())}")
    overrides = {k: v for k, v in entry.items() if k not in SELECTION_KEYS}
    resolved = task.resolve(setup, overrides)
    resolved["sweep"] = _sweep(experiment, entry, preset)
    return task, resolved


def _sweep(experiment: str, entry: dict[str, Any], preset: Any) -> dict[str, list[Any]]:
    sweep = entry.get("sweep", preset.sweep if preset else {}) or {}
    if len(sweep) > 1:
        raise ConfigError(f"experiments.{experiment}.sweep: one setting per sweep, got "
                          f"{', '.join(sweep)}")
    return {k: list(v) for k, v in sweep.items()}


def experiment_models(config: dict[str, Any], experiment: str) -> list[str]:
    """The configured models of an experiment, each checked against its setup and task."""
    task, resolved = experiment_task(config, experiment)
    valid = task.models(resolved["setup"])
    preset = EXPERIMENTS.get(experiment)
    default = preset.models if preset and preset.models else valid
    chosen = config["experiments"][experiment].get("models", default)
    # families no paper table sizes (sized to the NODE budget) run only where listed
    selectable = [*valid, *(m for m in _sized_models(task, resolved["setup"])
                            if m not in valid)]
    for name in chosen:
        if name not in selectable:
            raise UnknownNameError(f"experiment {experiment!r} (setup {resolved['setup']}): "
                                   f"unknown model {name!r}; valid: {', '.join(selectable)}")
    return list(chosen)


def _sized_models(task: Any, setup: str) -> list[str]:
    """The families a config may add on this task (``odebench.models.defaults.sized_models``)."""
    from odebench.models.defaults import TASKS as MODEL_TASKS
    from odebench.models.defaults import sized_models

    model_task = getattr(task, "MODEL_TASK", task.NAME)
    return sized_models(setup, model_task) if model_task in MODEL_TASKS else []


def experiment_jobs(config: dict[str, Any], experiment: str) -> list[Job]:
    """Every (model[@setting], seed) job of an experiment, sweeps expanded."""
    _, resolved = experiment_task(config, experiment)
    models = experiment_models(config, experiment)
    seeds = seeds_of(resolved["seeds"])
    keys = [(model_key(m), m) for m in models]
    for setting, values in resolved["sweep"].items():
        keys = [(model_key(m, setting, v), m) for m in models for v in values]
    return [Job(key, model, seed) for key, model in keys for seed in seeds]


def _job_settings(resolved: dict[str, Any], key: str) -> dict[str, Any]:
    """The resolved settings of one job: the sweep value (typed as configured) applied."""
    _, setting, text = split_model_key(key)
    settings = {k: v for k, v in resolved.items() if k != "sweep"}
    if setting is None:
        return settings
    for value in resolved["sweep"].get(setting, []):
        if format_value(value) == text:
            settings[setting] = value
            return settings
    valid = ", ".join(format_value(v) for v in resolved["sweep"].get(setting, []))
    raise UnknownNameError(f"model key {key!r}: {setting}={text} is not in the sweep "
                           f"(valid: {valid or 'no sweep over ' + setting})")


def prepare_data(config: dict[str, Any], experiment: str,
                 results_dir: str | Path | None = None) -> Path:
    """Fetch or generate an experiment's data and write ``data/<experiment>.json``."""
    task, resolved = experiment_task(config, experiment)
    manifest = task.prepare_data(resolved, config.get("data_dir"), bool(config.get("offline")))
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


@dataclass(frozen=True)
class RunContext:
    """What a task's ``run`` gets besides its settings."""

    device: torch.device
    data_dir: str | None
    offline: bool
    log: Callable[[str], None]


def run_one(config: dict[str, Any], experiment: str, key: str, seed: int,
            results_dir: str | Path | None = None, threads: int | None = None,
            log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train one job (``key`` = model or model@setting=value) and write its run record."""
    task, resolved = experiment_task(config, experiment)
    model = split_model_key(key)[0]
    models = experiment_models(config, experiment)
    if model not in models:
        raise UnknownNameError(f"experiment {experiment!r}: model {model!r} is not configured; "
                               f"valid: {', '.join(models)}")
    settings = _job_settings(resolved, key)
    results_dir = Path(results_dir or config["results_dir"])
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results directory does not exist: {results_dir} "
                                "(create it, or point results_dir at an existing folder)")
    device = resolve_device(config.get("device", "auto"))
    threads = threads or config.get("threads")
    if threads:
        torch.set_num_threads(int(threads))
    folder = run_dir(results_dir, experiment, key, seed)
    folder.mkdir(parents=True, exist_ok=True)
    record = RunRecord(folder, experiment, model, seed)
    context = RunContext(device, config.get("data_dir"), bool(config.get("offline")), log)
    outcome, extra = task.run(settings, model, seed, record, context)
    return record.write_summary(
        status=outcome.status, final=outcome.final, device=str(device),
        config={"experiment": experiment, "task": task.NAME, "model": model, "run": key,
                **settings, "profile": config.get("profile"), "device": str(device)},
        extra={"setup": settings["setup"], **extra})
