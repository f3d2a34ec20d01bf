"""TASKS: one module per task, one registry line each.

A task module exposes ``NAME``, ``setups()``, ``models(setup)``, ``resolve(setup, overrides)``,
``prepare_data(settings, data_dir, offline)`` and ``run(settings, model, seed, record, context)``.
Named experiments (a task + setup + sweep) are in :mod:`odebench.tasks.experiments`.
"""

from types import ModuleType

from odebench.tasks import cifar10, mnist, pointcloud, silverbox_init

TASKS: dict[str, ModuleType] = {
    pointcloud.NAME: pointcloud,
    silverbox_init.NAME: silverbox_init,
    mnist.NAME: mnist,
    cifar10.NAME: cifar10,
}

__all__ = ["TASKS"]
