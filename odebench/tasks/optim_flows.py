"""Optimisation as ODEs (CPU, seconds): HBNODE Fig. 2 (gradient flow vs heavy-ball ODE on
Rosenbrock and Beale), NesterovNODE Fig. 1 (GD vs HB vs NAG on the cycle-graph quadratic),
and the review "Structure Preserving Deep Learning" Fig. 4 (GD, HB, NAG, relativistic GD and
Adam on the three-hump camelback). Each "model" is one figure; its unspecified parameters are
documented defaults in :mod:`odebench.structure.optim_flows`, overridden per figure through
``model_options`` (e.g. ``{review_fig4: {nag_mu: 0.9}}``). Deterministic: one seed.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from odebench.records import STATUS_COMPLETED, RunRecord
from odebench.structure.optim_flows import ALL_FIGURES, run_figure
from odebench.structure.optim_flows import resolve as resolve_figure
from odebench.tasks.trainer import TrainOutcome

if TYPE_CHECKING:
    from odebench.tasks.run import RunContext

NAME = "optim_flows"
SETUPS = ("optim_odes",)
DEFAULTS: dict[str, Any] = {"seeds": 1, "model_options": {}}


def setups() -> list[str]:
    return list(SETUPS)


def models(setup: str) -> list[str]:
    return list(ALL_FIGURES)


def resolve(setup: str, overrides: dict[str, Any]) -> dict[str, Any]:
    resolved = {**DEFAULTS, **overrides, "setup": setup}
    for figure, options in resolved["model_options"].items():
        resolve_figure(figure, options)  # names an unknown figure, key or bad value now
    return resolved


def prepare_data(cfg: dict[str, Any], data_dir: str | None = None,
                 offline: bool = True) -> dict[str, Any]:
    return {"source": "analytic objectives (nothing downloaded)"}


def run(cfg: dict[str, Any], model_name: str, seed: int, record: RunRecord,
        context: RunContext) -> tuple[TrainOutcome, dict[str, Any]]:
    """The figure's trajectories as rows (one per method and step or time)."""
    started = time.perf_counter()
    options = cfg["model_options"].get(model_name, {})
    frame = run_figure(model_name, options)
    rows = [{"epoch": i + 1, **row} for i, row in enumerate(frame.to_dict("records"))]
    record.rows = rows
    record.write_epochs()
    last = frame.groupby(["problem", "method"], sort=False)["loss"].last()
    final = {f"{problem}/{method}": float(loss) for (problem, method), loss in last.items()}
    final["total_seconds"] = time.perf_counter() - started
    context.log(f"[{record.experiment}/{model_name}] "
                + "; ".join(f"{k} {v:.3g}" for k, v in final.items() if k != "total_seconds"))
    settings = dataclasses.asdict(resolve_figure(model_name, options))
    return TrainOutcome(STATUS_COMPLETED, rows, final), {"figure_settings": settings}
