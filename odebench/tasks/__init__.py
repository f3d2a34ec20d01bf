"""TASKS: one entry per task, one registry line each.

A task exposes ``NAME``, ``setups()``, ``models(setup)``, ``resolve(setup, overrides)``,
``prepare_data(settings, data_dir, offline)`` and ``run(settings, model, seed, record, context)``
(a module such as :mod:`odebench.tasks.pointcloud`, or a ``DatasetTask`` bound to one data
set of a module that serves several).
Named experiments (a task + setup + sweep) are in :mod:`odebench.tasks.experiments`.

A task's module is imported when the task is first looked up, so that a training job loads
only its own task's data and model code (each job is a fresh process).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from odebench.tasks.dataset_task import DatasetTask

# task name -> (module in odebench.tasks, data set it serves or None for a one-task module)
ENTRIES: dict[str, tuple[str, str | None]] = {
    "pointcloud": ("pointcloud", None),
    "silverbox_init": ("silverbox_init", None),
    "mnist": ("image_classification", "mnist"),
    "cifar10": ("image_classification", "cifar10"),
    "plane_vibration": ("sequences", "plane_vibration"),
    "walker2d": ("sequences", "walker2d"),
    "odetoode_theory": ("odetoode_theory", None),
    "mnistc": ("mnistc", None),
    "rl": ("rl", None),
    "structure": ("structure", None),
    "optim_flows": ("optim_flows", None),
}


class TaskRegistry(Mapping[str, Any]):
    """``{task name: task}``, each task's module imported on first lookup."""

    def __init__(self, entries: Mapping[str, tuple[str, str | None]]):
        self._entries = dict(entries)
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            module_name, dataset = self._entries[name]
            module = importlib.import_module(f"odebench.tasks.{module_name}")
            self._loaded[name] = DatasetTask(dataset, module) if dataset else module
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


TASKS = TaskRegistry(ENTRIES)

__all__ = ["ENTRIES", "TASKS", "TaskRegistry"]
