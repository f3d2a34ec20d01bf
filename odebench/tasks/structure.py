"""Structural properties of every model, measured the same way (review "Structure Preserving
Deep Learning", Celledoni et al. 2021, Sec. 4; CPU, float64).

Every registered model family is built on the point-cloud task (the ``model_setup``'s
widths; families no paper table sizes get theirs from the parameter budget of that table's
NODE row), ODEtoODE as its ISO flow block; each is probed at initialisation (seeded) and,
with ``train_steps`` > 0, again after that many Adam steps on the point cloud. One row of
``epochs.csv`` per (phase, property): the value, or ``applicable = False`` and the reason
(:mod:`odebench.structure.properties`).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from odebench.data.pointcloud import train_test_circles
from odebench.models import MODELS, count_parameters
from odebench.models.flow_baselines import build_block
from odebench.models.pointcloud import build_pointcloud_model
from odebench.records import STATUS_COMPLETED, RunRecord
from odebench.solvers import SolverSpec
from odebench.structure.probe import FlowProbe, probe_continuous, probe_weight_flow
from odebench.structure.properties import PROPERTIES, PropertySettings, measure
from odebench.tasks.trainer import TrainOutcome

if TYPE_CHECKING:
    from odebench.tasks.run import RunContext

NAME = "structure"
SETUPS = ("celledoni2021",)
FLOW_MODELS = ("odetoode",)  # ISO-ODEtoODE flow block (ODEtoODE Sec. 3.1)

DEFAULTS: dict[str, Any] = {
    "seeds": 1,
    "model_setup": "nesterov2022",  # widths of NesterovNODE Table 4 (point cloud)
    "samples": 8,                   # ours: states per property
    "times": 5,                     # ours: time points along trajectories
    "step_sizes": [0.05, 0.2, 1.0, 2.0],  # ours: Euler step sizes of the contractivity check
    "contractivity_h": 0.2,
    "energy_h": 0.1,                # review Sec. 4: h = 0.1
    "energy_steps": 10_000,         # issue: energy error over 10^4 steps
    "euler_steps": 20,              # ours: steps of the discrete-adjoint check
    "adjoint_tol": 1.0e-6,          # ours: rtol = atol of the adjoint-vs-backprop check
    "solver_tol": 1.0e-9,           # ours: dopri5 rtol = atol of every flow map probed
    "flow_width": 16,               # ODEtoODE Sec. 5.1.2: h = 16
    "flow_eta": 0.04,               # ODEtoODE Sec. 5.1.2: eta = 0.04 (N = 25)
    "train_steps": 0,               # ours: 0 = initialisation only
    "train_lr": 0.01,               # NesterovNODE code (point cloud)
    "n_points": 120,                # NesterovNODE Sec. 5.1: 40 inner + 80 outer points
    "model_options": {},
}


def setups() -> list[str]:
    return list(SETUPS)


def models(setup: str) -> list[str]:
    """Every registered model family, then the ODEtoODE flow."""
    return [*MODELS, *FLOW_MODELS]


def resolve(setup: str, overrides: dict[str, Any]) -> dict[str, Any]:
    resolved = {**DEFAULTS, **overrides, "setup": setup}
    settings(resolved)  # names a bad value now, before any job runs
    if not isinstance(resolved["train_steps"], int) or resolved["train_steps"] < 0:
        raise ValueError(f"train_steps: expected an integer >= 0, got "
                         f"{resolved['train_steps']!r}")
    return resolved


def settings(cfg: dict[str, Any]) -> PropertySettings:
    return PropertySettings(samples=cfg["samples"], times=cfg["times"],
                            step_sizes=tuple(cfg["step_sizes"]),
                            contractivity_h=cfg["contractivity_h"], energy_h=cfg["energy_h"],
                            energy_steps=cfg["energy_steps"], euler_steps=cfg["euler_steps"],
                            adjoint_rtol=cfg["adjoint_tol"], adjoint_atol=cfg["adjoint_tol"])


def prepare_data(cfg: dict[str, Any], data_dir: str | None = None,
                 offline: bool = True) -> dict[str, Any]:
    return {"source": "generated nested circles (nothing downloaded)",
            "points": cfg["n_points"]}


def _points(cfg: dict[str, Any], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    (x, y), _ = train_test_circles(cfg["n_points"], 10, seed)
    return x, y  # labels in {-1, +1}, shape [n, 1]


def build(cfg: dict[str, Any], model_name: str) -> nn.Module:
    """The model in float64: a point-cloud classifier, or the ODEtoODE flow block."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        if model_name in FLOW_MODELS:
            return build_block("odetoode_iso", cfg["flow_width"], eta=cfg["flow_eta"],
                               T=1.0, **cfg["model_options"].get(model_name, {}))
        solver = SolverSpec(method="dopri5", rtol=cfg["solver_tol"], atol=cfg["solver_tol"],
                            adjoint=False)
        return build_pointcloud_model(cfg["model_setup"], model_name, solver,
                                      **cfg["model_options"].get(model_name, {}))
    finally:
        torch.set_default_dtype(previous)


def probe(cfg: dict[str, Any], model_name: str, model: nn.Module, x: torch.Tensor,
          seed: int) -> FlowProbe:
    """The model in eval mode (fixed weights: no power iterations while probed)."""
    model.eval()
    if model_name in FLOW_MODELS:
        states = torch.randn(cfg["samples"], cfg["flow_width"], dtype=torch.float64,
                             generator=torch.Generator().manual_seed(seed))
        return probe_weight_flow(model_name, model, states)
    return probe_continuous(model_name, model, x[:cfg["samples"]])


def _train(cfg: dict[str, Any], model: nn.Module, model_name: str, x: torch.Tensor,
           y: torch.Tensor) -> list[float]:
    """Adam on the point cloud (SmoothL1 to ±1, as NesterovNODE's code); flow block: skip."""
    if model_name in FLOW_MODELS or cfg["train_steps"] == 0:
        return []
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["train_lr"])
    losses = []
    for _ in range(cfg["train_steps"]):
        optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.smooth_l1_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def outcome_rows(phase: str, outcomes: dict[str, Any], start: int) -> list[dict[str, Any]]:
    rows = []
    for offset, (name, outcome) in enumerate(outcomes.items()):
        row = {"epoch": start + offset, "phase": phase, "property": name,
               "value": outcome.value if outcome.applicable else math.nan,
               "applicable": outcome.applicable, "note": outcome.note}
        row.update({f"detail_{k}": v for k, v in outcome.detail.items()})
        rows.append(row)
    return rows


def run(cfg: dict[str, Any], model_name: str, seed: int, record: RunRecord,
        context: RunContext) -> tuple[TrainOutcome, dict[str, Any]]:
    """Every property at initialisation (and after ``train_steps`` Adam steps)."""
    started = time.perf_counter()
    x, y = _points(cfg, seed)
    torch.manual_seed(seed)
    model = build(cfg, model_name)
    prop_settings = settings(cfg)
    tag = f"[{record.experiment}/{model_name}/seed{seed}]"
    rows = outcome_rows("init", measure(probe(cfg, model_name, model, x, seed),
                                        settings=prop_settings), 1)
    context.log(f"{tag} init: {sum(r['applicable'] for r in rows)}/{len(rows)} properties "
                "apply")
    losses = _train(cfg, model, model_name, x, y)
    if losses:
        rows += outcome_rows("trained", measure(probe(cfg, model_name, model, x, seed),
                                                settings=prop_settings), len(rows) + 1)
        context.log(f"{tag} trained {len(losses)} steps: loss {losses[0]:.4g} -> "
                    f"{losses[-1]:.4g}")
    record.rows = rows
    record.write_epochs()
    last_phase = rows[-1]["phase"]
    final = {r["property"]: r["value"] for r in rows if r["phase"] == last_phase}
    final.update({"train_loss_last": losses[-1] if losses else None,
                  "total_seconds": time.perf_counter() - started})
    structure = getattr(getattr(model, "dynamics", model), "structure", ())
    return TrainOutcome(STATUS_COMPLETED, rows, final), {
        "n_params": count_parameters(model), "structure": list(structure),
        "properties": list(PROPERTIES)}
