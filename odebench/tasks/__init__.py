"""TASKS: one entry per task, one registry line each.

A task exposes ``NAME``, ``setups()``, ``models(setup)``, ``resolve(setup, overrides)``,
``prepare_data(settings, data_dir, offline)`` and ``run(settings, model, seed, record, context)``
(a module such as :mod:`odebench.tasks.pointcloud`, or an object such as ``ImageTask``).
Named experiments (a task + setup + sweep) are in :mod:`odebench.tasks.experiments`.
"""

from typing import Any

from odebench.tasks import pointcloud, silverbox_init
from odebench.tasks.image_classification import ImageTask
from odebench.tasks.sequences import SequenceTask

TASKS: dict[str, Any] = {
    pointcloud.NAME: pointcloud,
    silverbox_init.NAME: silverbox_init,
    "mnist": ImageTask("mnist"),
    "cifar10": ImageTask("cifar10"),
    "plane_vibration": SequenceTask("plane_vibration"),
    "walker2d": SequenceTask("walker2d"),
}

__all__ = ["TASKS"]
