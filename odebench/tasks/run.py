"""Resolve experiments from a config and run one (experiment, model[@setting], seed) job."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from odebench.config import ConfigError, accepted_settings, check_entry, seeds_of
from odebench.records import RunRecord, atomic_write_text, run_dir
from odebench.records.identity import IDENTITY_FILE, claim_run_folder, fingerprint, has_records
from odebench.records.progress import result_line
from odebench.tasks import TASKS
from odebench.tasks.experiments import (
    EXPERIMENTS,
    format_value,
    model_key,
    split_model_key,
    split_variant,
)


class UnknownNameError(ValueError):
    """An experiment, model or setup name that the config or registries do not know."""


# Keys of an experiment entry that select what runs, not how a run trains.
SELECTION_KEYS = ("task", "setup", "models", "sweep")
# Settings that change how fast or where a run executes, never its result (pool and serial ES
# rollouts give identical returns: tests/test_rl_rollout.py); left out of the run identity.
EXECUTION_KEYS = ("checkpoint_every", "backend", "workers", "ray_address", "ray_connect_timeout",
                  "task_timeout", "task_retries")
# The data sources (odebench.data.registry) each task reads when online.
TASK_SOURCES = {"mnist": ("mnist",), "cifar10": ("cifar10",), "mnistc": ("mnist_c",),
                "plane_vibration": ("plane_vibration",), "walker2d": ("walker2d",),
                "silverbox_init": ("silverbox",)}
# Accepted settings that a sweep cannot vary (they select runs or hold per-model tables).
NOT_SWEEPABLE = (*SELECTION_KEYS, "seeds", "model_options", "policy_options")


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
    sweep = _sweep(experiment, entry, preset)
    resolved = _resolve_checked(experiment, task, setup, overrides, sweep)
    resolved["sweep"] = sweep
    return task, resolved


def _sweep(experiment: str, entry: dict[str, Any], preset: Any) -> dict[str, list[Any]]:
    sweep = entry.get("sweep", preset.sweep if preset else {}) or {}
    if len(sweep) > 1:
        raise ConfigError(f"experiments.{experiment}.sweep: one setting per sweep, got "
                          f"{', '.join(sweep)}")
    return {k: list(v) for k, v in sweep.items()}


def _resolve_checked(experiment: str, task: Any, setup: str, overrides: dict[str, Any],
                     sweep: dict[str, list[Any]]) -> dict[str, Any]:
    """The task's resolved settings, after checking that every setting and the sweep key are
    ones this experiment accepts (config/schema.yaml) and that every sweep value passes the
    schema and the task's own checks, as if configured alone."""
    valid = accepted_settings(experiment)
    if valid is None:  # an experiment id the schema does not list (a config built in code)
        valid = sorted(set(task.resolve(setup, {})) - {"setup"})
    unknown = [key for key in overrides if key not in valid]
    if unknown:
        raise ConfigError(f"experiments.{experiment}: unknown setting {unknown[0]!r}; valid: "
                          f"{', '.join(valid)}")
    check_entry(experiment, overrides, f"experiments.{experiment}")
    resolved = task.resolve(setup, overrides)  # first: its errors are no sweep value's
    sweepable = [key for key in valid if key not in NOT_SWEEPABLE]
    for key, values in sweep.items():
        if key not in sweepable:
            raise ConfigError(f"experiments.{experiment}.sweep: unknown setting {key!r}; "
                              f"valid: {', '.join(sweepable)}")
        for value in values:
            where = f"experiments.{experiment}.sweep.{key}: value {value!r}"
            check_entry(experiment, {**overrides, key: value}, where)
            try:
                task.resolve(setup, {**overrides, key: value})
            except ValueError as error:
                raise ConfigError(f"{where}: {error}") from error
    return resolved


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
    task, resolved = experiment_task(config, experiment)
    models = experiment_models(config, experiment)
    seeds = seeds_of(resolved["seeds"])
    named = [(m, v) for m in models for v in (model_variants(task, resolved, m) or [None])]
    keys = [(model_key(m, variant=v), m) for m, v in named]
    for setting, values in resolved["sweep"].items():
        keys = [(model_key(m, setting, value, v), m) for m, v in named for value in values]
    return [Job(key, model, seed) for key, model in keys for seed in seeds]


def model_variants(task: Any, resolved: dict[str, Any], model: str) -> list[str]:
    """The variants (e.g. sizes of a size ablation) a task runs of ``model``; [] for one."""
    variants = getattr(task, "model_variants", None)
    return list(variants(resolved, model)) if variants else []


def _job_settings(task: Any, resolved: dict[str, Any], key: str) -> dict[str, Any]:
    """The resolved settings of one job: its model variant's and the sweep value (typed as
    configured) applied."""
    name, setting, text = split_model_key(key)
    settings = {k: v for k, v in resolved.items() if k != "sweep"}
    model, variant = split_variant(name)
    if variant is not None:
        valid = model_variants(task, resolved, model)
        if variant not in valid:
            raise UnknownNameError(f"model key {key!r}: {model} has no variant {variant!r} "
                                   f"here (valid: {', '.join(valid) or 'none'})")
        settings.update(task.variant_settings(variant))
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
            log: Callable[[str], None] = print,
            notice: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train one job (``key`` = model or model@setting=value) and write its run record.

    The run folder is claimed for this job's identity first (:mod:`odebench.records.identity`):
    a folder made with other settings is moved aside, never resumed. ``log`` gets progress
    lines; ``notice`` (default: ``log``) the lines a user must see even when progress is
    quiet (a folder moved aside, a seed outside the plan, the final metrics line)."""
    notice = notice or log
    task, resolved, model, settings = resolve_job(config, experiment, key)
    planned = seeds_of(resolved["seeds"])
    if seed not in planned:
        notice(f"note: seed {seed} is not among this config's seeds {planned} for {experiment}; "
            "the run is recorded but tables, figures and claims of this config ignore it")
    results_dir = Path(results_dir or config["results_dir"])
    device = resolve_device(config.get("device", "auto"))
    threads = threads or config.get("threads")
    if threads:
        torch.set_num_threads(int(threads))
    folder = run_dir(results_dir, experiment, key, seed)
    identity = run_identity(config, experiment, task, key, model, seed, settings, device)
    created = _missing_parents(folder)
    started, started_at = time.perf_counter(), datetime.now(UTC).isoformat(timespec="seconds")
    try:
        claim_run_folder(folder, identity, results_dir, notice)
        record = RunRecord(folder, experiment, model, seed)
        context = RunContext(device, config.get("data_dir"), bool(config.get("offline")), log)
        outcome, extra = task.run(settings, model, seed, record, context)
    except BaseException:
        _remove_if_unused(folder, created)
        raise
    wall = time.perf_counter() - started  # this invocation's (a resumed run: since resuming)
    job = wall + record.restored_seconds  # and the earlier invocations' kept epochs
    summary = record.write_summary(
        status=outcome.status, final=outcome.final, device=str(device),
        config={"experiment": experiment, "task": task.NAME, "model": model, "run": key,
                **settings, "profile": config.get("profile"), "device": str(device)},
        extra={"setup": settings["setup"], "fingerprint": fingerprint(identity),
               "started_at": started_at, "wall_seconds": round(wall, 3),
               "job_seconds": round(job, 3), **extra})
    notice(result_line(experiment, key, seed, outcome.status, outcome.final, wall))
    return summary


def resolve_job(config: dict[str, Any], experiment: str,
                key: str) -> tuple[Any, dict[str, Any], str, dict[str, Any]]:
    """The task, resolved experiment settings, model and job settings of one job key; a model
    the experiment does not configure or a sweep key without its setting is an error."""
    task, resolved = experiment_task(config, experiment)
    model = split_variant(split_model_key(key)[0])[0]
    models = experiment_models(config, experiment)
    if model not in models:
        raise UnknownNameError(f"experiment {experiment!r}: model {model!r} is not configured; "
                               f"valid: {', '.join(models)}")
    _check_sweep_key(experiment, key, resolved["sweep"])
    return task, resolved, model, _job_settings(task, resolved, key)


def stale_settings(config: dict[str, Any], experiment: str, key: str, seed: int,
                   summary: dict[str, Any]) -> str | None:
    """Why a run record was not made by this config's job (``None`` when it was): the settings
    whose recorded values differ from the config's, or its data or device. Records without a
    fingerprint (made before fingerprints existed) are not checked."""
    if "fingerprint" not in summary:
        return None
    task, _, model, settings = resolve_job(config, experiment, key)
    recorded = summary.get("config") or {}
    device = torch.device(str(recorded.get("device") or "cpu"))
    identity = run_identity(config, experiment, task, key, model, seed, settings, device)
    if fingerprint(identity) == summary["fingerprint"]:
        return None
    def as_recorded(value: Any) -> Any:
        return json.loads(json.dumps(value, default=str))

    differ = [f"{name}: {json.dumps(recorded[name]) if name in recorded else '(none)'} in the "
              f"run, {json.dumps(as_recorded(value))} in the config"
              for name, value in identity["settings"].items()
              if name not in recorded or recorded[name] != as_recorded(value)]
    return "; ".join(differ) or "its data pins or device differ from the config's"


def _check_sweep_key(experiment: str, key: str, sweep: dict[str, list[Any]]) -> None:
    """A job of a sweep experiment names its setting (``model@setting=value``)."""
    name, setting, _ = split_model_key(key)
    model, variant = split_variant(name)
    if sweep and setting is None:
        forms = ", ".join(model_key(model, swept, value, variant)
                          for swept, values in sweep.items() for value in values)
        raise UnknownNameError(f"experiment {experiment!r} sweeps {', '.join(sweep)}: name the "
                               f"setting in the model, one of: {forms}")


def run_identity(config: dict[str, Any], experiment: str, task: Any, key: str, model: str,
                 seed: int, settings: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Everything that shapes a run's result (the fingerprint's input): the experiment, run,
    model, seed, task, every effective setting but the execution-only ones, the data pins and
    the device type. The code version is recorded in summary.json, not fingerprinted."""
    return {"experiment": experiment, "run": key, "model": model, "seed": seed,
            "task": task.NAME,
            "settings": {k: v for k, v in settings.items() if k not in EXECUTION_KEYS},
            "data": data_pins(task.NAME, bool(config.get("offline"))),
            "device": device.type}


def data_pins(task_name: str, offline: bool) -> dict[str, Any]:
    """The data a task reads: the stand-in when offline, else the pinned checksum of each file
    of its sources (``None``: pinned on first download, see odebench.data.registry)."""
    if offline:
        return {"offline": True}
    from odebench.data.registry import SOURCES

    pins = {source: {f.name: f.checksum for f in SOURCES[source].files}
            for source in TASK_SOURCES.get(task_name, ()) if source in SOURCES}
    return {"offline": False, "sources": pins}


def _missing_parents(folder: Path) -> list[Path]:
    """``folder`` and its ancestors that do not exist yet (deepest first)."""
    missing = []
    for path in (folder, *folder.parents):
        if path.exists():
            break
        missing.append(path)
    return missing


def _remove_if_unused(folder: Path, created: list[Path]) -> None:
    """After a failed start: remove the folders this job created if nothing but its identity
    was written into them (a failed start leaves no empty run folder)."""
    if folder.is_dir() and not has_records(folder):
        (folder / IDENTITY_FILE).unlink(missing_ok=True)
    for path in created:
        try:
            path.rmdir()
        except OSError:
            return
