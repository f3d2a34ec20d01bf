"""Silverbox initialisation test: ||h(t)||_2 at random initialisation, no training.

HBNODE Sec. 3 / Fig. 3 (t = 0..63) and NesterovNODE Sec. 3 / Fig. 2 left (t = 1..63); each seed
is one random initialisation (both papers' code: 10 per model). A solve that blows up ends the
run as ``diverged`` at the last finite time, keeping the curve up to there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from odebench.data import load_silverbox
from odebench.models import count_parameters
from odebench.models.base import solver_for
from odebench.models.defaults import model_options, task_models
from odebench.models.silverbox import build_silverbox_model
from odebench.records import STATUS_COMPLETED, STATUS_DIVERGED, RunRecord
from odebench.solvers import SolverSpec, count_nfe, solve_with
from odebench.tasks.trainer import TrainOutcome, is_solver_blowup

if TYPE_CHECKING:
    from odebench.tasks.run import RunContext

NAME = "silverbox_init"
MODEL_TASK = "silverbox"  # the architecture table's task name

DEFAULTS: dict[str, Any] = {
    "tol": 1e-7,           # both papers' code (silverbox_init.py): tol 1e-7
    "method": "dopri5",    # both papers: Dormand-Prince 4(5)
    "solver_backend": "lean",  # ours: or torchdiffeq (the same steps, NFE, outputs)
    "seeds": 10,           # both papers' code: 10 random initialisations per model
    "input_power": 3,      # HBNODE App. E.1: f gets V1(t)^3 (official code: V1(t), power 1)
    "samples": 1000,       # code: the first 1,000 samples are the "train" segment
    "max_steps": 2000,     # ours: solver steps per unit of time before a run counts as blown up
    "variant": "paper",
    "model_options": {},
}
CODE_VALUES = {"input_power": 1}  # official code feeds V1(t) (the cube is commented out)


def setups() -> list[str]:
    return ["nesterov2022", "hbnode2021"]


def models(setup: str) -> list[str]:
    return task_models(setup, MODEL_TASK)


def resolve(setup: str, overrides: dict[str, Any]) -> dict[str, Any]:
    chosen = dict(DEFAULTS)
    if overrides.get("variant") == "official_code":
        chosen.update(CODE_VALUES)
    return {**chosen, **overrides, "setup": setup}


def _signal(cfg: dict[str, Any], data_dir: str | None, offline: bool):
    v1, v2 = load_silverbox(data_dir, offline)
    return v1[:cfg["samples"]], v2[:cfg["samples"]]


def prepare_data(cfg: dict[str, Any], data_dir: str | None = None,
                 offline: bool = True) -> dict[str, Any]:
    v1, v2 = _signal(cfg, data_dir, offline)
    return {"source": "simulated Duffing oscillator (offline)" if offline else "silverbox sb.csv",
            "samples": len(v1), "v1_std": float(v1.std()), "v2_std": float(v2.std())}


def interpolator(signal: torch.Tensor, power: int):
    """Linear interpolation of a sampled signal at time t (sample index), raised to ``power``."""
    def value(t: torch.Tensor) -> torch.Tensor:
        position = torch.clamp(t.to(signal.dtype), 0, len(signal) - 1)
        low = int(torch.floor(position).item())
        high = min(low + 1, len(signal) - 1)
        weight = position - low
        return ((1 - weight) * signal[low] + weight * signal[high]).pow(power).reshape(1, 1)
    return value


def run(cfg: dict[str, Any], model_name: str, seed: int, record: RunRecord,
        context: RunContext) -> tuple[TrainOutcome, dict[str, Any]]:
    """Integrate one random initialisation and record ||h(t)||_2 at every evaluation time."""
    v1, v2 = _signal(cfg, context.data_dir, context.offline)
    v1, v2 = v1.to(torch.float64), v2.to(torch.float64)
    solver = SolverSpec(method=cfg["method"], rtol=cfg["tol"], atol=cfg["tol"], adjoint=False,
                        options={"max_num_steps": cfg["max_steps"]},
                        backend=cfg["solver_backend"])
    options = {"variant": cfg["variant"], **cfg["model_options"].get(model_name, {})}
    torch.manual_seed(seed)
    model = build_silverbox_model(cfg["setup"], model_name, solver,
                                  interpolator(v1, cfg["input_power"]), **options).double()
    times = model.evaluation_times.to(torch.float64)
    x0 = v2[int(times[0])].reshape(1, 1)
    status, rows = STATUS_COMPLETED, []
    with torch.no_grad(), count_nfe() as meter:
        z = model.initial(x0)
        h = model.dynamics.readout(times[0], z)
        rows.append(_row(1, times[0], h, v2, 0))
        for index in range(1, len(times)):  # one segment per time: keeps the curve to a blow-up
            try:
                segment = times[index - 1:index + 1]
                spec = solver_for(solver, model.dynamics, segment)
                z = solve_with(spec, model.dynamics, z, segment).ys[-1]
            except AssertionError as error:
                if not is_solver_blowup(error):
                    raise
                status = STATUS_DIVERGED
                break
            h = model.dynamics.readout(times[index], z)
            if not torch.isfinite(h).all():
                status = STATUS_DIVERGED
                break
            rows.append(_row(index + 1, times[index], h, v2, meter.forward))
    record.rows = rows
    record.write_epochs()
    context.log(f"[{record.experiment}/{model_name}/seed{seed}] {status}: ||h|| at t = "
                f"{rows[-1]['t']:g} is {rows[-1]['h_norm']:.4g}, {meter.forward} NFE")
    final = {**rows[-1], "nfe_forward": meter.forward,
             "max_h_norm": max(r["h_norm"] for r in rows),
             "stopped_at_epoch": rows[-1]["epoch"] if status != STATUS_COMPLETED else None}
    return TrainOutcome(status, rows, final), {
        "n_params": count_parameters(model),
        "model_options": model_options(cfg["setup"], MODEL_TASK, model_name, **options)}


def _row(epoch: int, t: torch.Tensor, h: torch.Tensor, v2: torch.Tensor,
         nfe: int) -> dict[str, Any]:
    index = min(int(round(float(t))), len(v2) - 1)
    return {"epoch": epoch, "t": float(t), "h_norm": float(h.norm()),
            "exact_norm": float(v2[index].abs()), "nfe_forward": nfe}
