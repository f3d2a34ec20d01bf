"""Which report outputs an experiment has, from its config (for workflow/rules/report.smk)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from odebench.report.tables import TASK_KIND


def records_adjoint_profile(task: str | None, settings: Mapping[str, Any]) -> bool:
    """Whether runs of ``task`` with resolved ``settings`` record ``adjoint_norm_<k>`` columns
    (the sequence tasks, unless ``adjoint_profile: false``): the adjoint figure's condition."""
    return TASK_KIND.get(task or "") == "sequences" and bool(settings.get("adjoint_profile", True))


def adjoint_experiments(config: Mapping[str, Any], experiments: Iterable[str]) -> list[str]:
    """Those of ``experiments`` whose runs record the adjoint-norm profile, so whose figure
    step also writes ``figures/<experiment>_adjoint.{png,pdf}``."""
    from odebench.tasks.run import experiment_task  # loads torch: only when asked

    names = []
    for experiment in experiments:
        task, resolved = experiment_task(dict(config), experiment)
        if records_adjoint_profile(task.NAME, resolved):
            names.append(experiment)
    return names


def one_of(names: Iterable[str]) -> str:
    """A wildcard-constraint regex matching exactly one of ``names`` (nothing when empty)."""
    return "|".join(re.escape(name) for name in names) or "(?!)"


def rl_threads(config: Mapping[str, Any], experiments: Iterable[str]) -> dict[str, int]:
    """``{experiment: rollout workers}`` for the ES RL experiments among ``experiments``: the
    threads each of their jobs declares (workflow/rules/rl.smk)."""
    from odebench.tasks.run import experiment_task  # loads torch: only when asked

    threads = {}
    for experiment in experiments:
        task, resolved = experiment_task(dict(config), experiment)
        if TASK_KIND.get(task.NAME) == "rl":
            threads[experiment] = int(resolved.get("workers", 1))
    return threads
