"""A profile's plan as a Markdown table (`odebench plan --markdown`): what each experiment runs
(models, seeds, length, sweep), generated from the config so that docs quoting it cannot drift."""

from __future__ import annotations

from typing import Any

from odebench.config import seeds_of
from odebench.tasks.cost import LENGTH_KEYS
from odebench.tasks.run import experiment_models, experiment_task


def _length(task_name: str, resolved: dict[str, Any]) -> str:
    key = LENGTH_KEYS.get(task_name)
    if key is None or key not in resolved:
        return "one run"
    return f"{resolved[key]} {key.replace('_', ' ')}"


def _seeds(seeds: list[int]) -> str:
    if len(seeds) > 3 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{len(seeds)} ({seeds[0]}–{seeds[-1]})"
    return f"{len(seeds)} ({', '.join(str(s) for s in seeds)})"


def plan_markdown(config: dict[str, Any], experiments: list[str]) -> str:
    """One row per experiment: task and setup, models, seeds, length, sweep; a header line
    with the profile, device and whether data are downloaded or offline stand-ins."""
    data = ("offline: stand-ins for downloaded datasets" if config.get("offline")
            else "downloaded datasets")
    lines = [f"Profile `{config.get('profile', '?')}`: device {config.get('device', 'auto')}, "
             f"{data}.", "",
             "| experiment | task (setup) | models | seeds | length | sweep |",
             "|---|---|---|---|---|---|"]
    for experiment in experiments:
        task, resolved = experiment_task(config, experiment)
        models = experiment_models(config, experiment)
        sweep = "; ".join(f"{k} ∈ {{{', '.join(str(v) for v in values)}}}"
                          for k, values in resolved["sweep"].items())
        lines.append(f"| `{experiment}` | {task.NAME} ({resolved['setup']}) | "
                     f"{len(models)}: {', '.join(models)} | {_seeds(seeds_of(resolved['seeds']))}"
                     f" | {_length(task.NAME, resolved)} | {sweep or '—'} |")
    return "\n".join(lines) + "\n"
