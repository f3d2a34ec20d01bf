"""TASKS: one entry per task, one registry line each.

A task exposes ``NAME``, ``setups()``, ``models(setup)``, ``resolve(setup, overrides)``,
``prepare_data(settings, data_dir, offline)`` and ``run(settings, model, seed, record, context)``
(a module such as :mod:`odebench.tasks.pointcloud`, or a ``DatasetTask`` bound to one data
set of a module that serves several).
Named experiments (a task + setup + sweep) are in :mod:`odebench.tasks.experiments`.
"""

from typing import Any

from odebench.tasks import (
    image_classification,
    mnistc,
    odetoode_theory,
    optim_flows,
    pointcloud,
    rl,
    sequences,
    silverbox_init,
    structure,
)
from odebench.tasks.dataset_task import DatasetTask

TASKS: dict[str, Any] = {
    pointcloud.NAME: pointcloud,
    silverbox_init.NAME: silverbox_init,
    "mnist": DatasetTask("mnist", image_classification),
    "cifar10": DatasetTask("cifar10", image_classification),
    "plane_vibration": DatasetTask("plane_vibration", sequences),
    "walker2d": DatasetTask("walker2d", sequences),
    odetoode_theory.NAME: odetoode_theory,
    mnistc.NAME: mnistc,
    rl.NAME: rl,
    structure.NAME: structure,
    optim_flows.NAME: optim_flows,
}

__all__ = ["TASKS"]
