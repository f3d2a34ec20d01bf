"""One task object per data set of a module that serves several data sets.

The module (e.g. :mod:`odebench.tasks.image_classification` for ``mnist`` and ``cifar10``)
exposes ``setups(task)``, ``models(task, setup)``, ``resolve(task, setup, overrides)``,
``describe_data(task, cfg, data_dir, offline)`` and ``run(task, cfg, model, seed, record,
context)``; :class:`DatasetTask` binds the data-set name and gives the task interface of
:mod:`odebench.tasks`.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odebench.records import RunRecord
    from odebench.tasks.run import RunContext
    from odebench.tasks.trainer import TrainOutcome


class DatasetTask:
    """The task interface of data set ``name`` served by ``module``."""

    def __init__(self, name: str, module: ModuleType):
        self.NAME = name
        self.module = module

    def setups(self) -> list[str]:
        return list(self.module.setups(self.NAME))

    def models(self, setup: str) -> list[str]:
        return self.module.models(self.NAME, setup)

    def resolve(self, setup: str, overrides: dict[str, Any]) -> dict[str, Any]:
        return self.module.resolve(self.NAME, setup, overrides)

    def prepare_data(self, cfg: dict[str, Any], data_dir: str | None,
                     offline: bool) -> dict[str, Any]:
        return self.module.describe_data(self.NAME, cfg, data_dir, offline)

    def run(self, cfg: dict[str, Any], model_name: str, seed: int, record: RunRecord,
            context: RunContext) -> tuple[TrainOutcome, dict[str, Any]]:
        return self.module.run(self.NAME, cfg, model_name, seed, record, context)
