"""EXPERIMENTS: one module per task, one registry line each (see :mod:`odebench.tasks.run`)."""

from types import ModuleType

from odebench.tasks import pointcloud

# A task module exposes: NAME, setups(), models(setup), resolve(setup, overrides), run(...).
TASKS: dict[str, ModuleType] = {
    pointcloud.NAME: pointcloud,
}

__all__ = ["TASKS"]
