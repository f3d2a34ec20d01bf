"""Point-cloud separation (HBNODE Sec. 5.1 / Fig. 5, NesterovNODE Sec. 5.1 / Fig. 3)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from odebench.data.pointcloud import class_counts, train_test_circles
from odebench.models import count_parameters
from odebench.models.defaults import model_options
from odebench.models.pointcloud import SETUPS, build_pointcloud_model, pointcloud_models
from odebench.records import RunRecord
from odebench.solvers import SolverSpec
from odebench.tasks.trainer import TrainOutcome, TrainSettings, train

if TYPE_CHECKING:
    from odebench.tasks.run import RunContext

NAME = "pointcloud"

# Paper defaults per setup; a config overrides any of them.
DEFAULTS: dict[str, dict[str, Any]] = {
    "hbnode2021": {
        "epochs": 300,          # full batch, so 1 iteration per epoch; HBNODE code notebooks
        "batch_size": 50,       # HBNODE Table 1
        "lr": 0.01,             # HBNODE Table 1
        "tol": 1.0e-7,          # HBNODE Sec. 5.1
        "method": "dopri5",     # HBNODE Sec. 5 (Dormand-Prince 4(5))
        "adjoint": True,        # HBNODE Sec. 2.2 / code odeint_adjoint
        "n_train": 50,          # HBNODE code: 2din_50_train.npy (SONODE repo); 17 in, 33 out
        "n_test": 10,           # HBNODE code: 10-point test set; 3 in, 7 out
        "loss": "mse",          # HBNODE code: MSE to labels +-1
        "head": "tanh",         # HBNODE App. E.2 (code: hardtanh)
        "dtype": "float32",     # HBNODE code default dtype
        "seeds": 100,           # HBNODE Sec. 5.1: 100 independent runs
    },
    "nesterov2022": {
        "epochs": 200,          # NesterovNODE code nested_n_spheres.py
        "batch_size": 50,       # NesterovNODE code (3 minibatches: 50/50/20)
        "lr": 0.01,             # NesterovNODE code
        "tol": 1.0e-7,          # NesterovNODE Sec. 5.1
        "method": "dopri5",     # NesterovNODE Sec. 5
        "adjoint": True,        # NesterovNODE code odeint_adjoint
        "n_train": 120,         # NesterovNODE Sec. 5.1: exactly 40 inner + 80 outer points
        "n_test": 10,           # ours (3 in, 7 out): the paper reports training curves only
        "loss": "smooth_l1",    # NesterovNODE code: SmoothL1 to +-1
        "head": "tanh",         # NesterovNODE App. D.2 (code: hardtanh)
        "dtype": "float64",     # NesterovNODE code default dtype
        "seeds": 50,            # NesterovNODE Sec. 5.1: 50 runs
    },
}

COMMON_DEFAULTS: dict[str, Any] = {"solver_backend": "lean",  # or torchdiffeq (same steps)
                                   "data_seed": 0, "grad_clip": None, "nfe_cap": None,
                                   "eval_every": 1, "checkpoint_every": 1,
                                   "variant": "paper",  # or official_code (gates, head, sampler)
                                   "model_options": {}}

# Point sampler of each setup's official code (``variant: official_code``); the papers'
# "uniform in a disk / an annulus" is the area-uniform ``rejection`` sampler.
OFFICIAL_SAMPLERS = {"hbnode2021": "rejection",  # SONODE make_data.py (HBNODE notebooks)
                     "nesterov2022": "radial"}  # ConcentricSphere: r = 0.85 + 0.15 sqrt(u)

LOSSES: dict[str, Callable[[], nn.Module]] = {"mse": nn.MSELoss, "smooth_l1": nn.SmoothL1Loss}
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def setups() -> list[str]:
    return list(SETUPS)


def models(setup: str) -> list[str]:
    return pointcloud_models(setup)


def resolve(setup: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Paper defaults of ``setup`` updated by ``overrides`` (the experiment's config)."""
    chosen = {**COMMON_DEFAULTS, **DEFAULTS[setup]}
    if overrides.get("variant") == "official_code":
        chosen["head"] = "hardtanh"  # both official codes: HardTanh(-1, 1) decoder
    return {**chosen, **overrides, "setup": setup}


def sampler(cfg: dict[str, Any]) -> str:
    """The point sampler of a resolved config: the official code's under ``official_code``."""
    return OFFICIAL_SAMPLERS[cfg["setup"]] if cfg["variant"] == "official_code" else "rejection"


def load_data(cfg: dict[str, Any]) -> tuple[tuple[torch.Tensor, torch.Tensor],
                                            tuple[torch.Tensor, torch.Tensor]]:
    """(train, test) sets: exact class counts each (a third inner), independent streams."""
    return train_test_circles(cfg["n_train"], cfg["n_test"], seed=cfg["data_seed"],
                              dtype=DTYPES[cfg["dtype"]], sampler=sampler(cfg))


def prepare_data(cfg: dict[str, Any], data_dir: str | None = None,
                 offline: bool = True) -> dict[str, Any]:
    """Generate the data set once and describe it (the workflow's data step)."""
    (x, y), (x_test, y_test) = load_data(cfg)
    digest = hashlib.sha256(b"".join(t.numpy().tobytes() for t in (x, y, x_test, y_test)))
    train_in, train_out = class_counts(cfg["n_train"])
    test_in, test_out = class_counts(cfg["n_test"])
    return {"source": "generated nested circles (odebench.data.pointcloud)",
            "sampler": sampler(cfg), "n_train": cfg["n_train"], "n_test": cfg["n_test"],
            "data_seed": cfg["data_seed"],
            "n_train_inner": train_in, "n_train_outer": train_out,
            "n_test_inner": test_in, "n_test_outer": test_out, "sha256": digest.hexdigest()}


def sign_accuracy(out: torch.Tensor, y: torch.Tensor) -> float:
    return float((torch.sign(out) == torch.sign(y)).double().mean())


def run(cfg: dict[str, Any], model_name: str, seed: int, record: RunRecord,
        context: RunContext) -> tuple[TrainOutcome, dict[str, Any]]:
    """Train one (model, seed) on the nested circles and fill ``record``."""
    device, dtype = context.device, DTYPES[cfg["dtype"]]
    (x, y), (x_test, y_test) = load_data(cfg)
    train_data, test_data = (x.to(device), y.to(device)), (x_test.to(device), y_test.to(device))
    solver = SolverSpec(method=cfg["method"], rtol=cfg["tol"], atol=cfg["tol"],
                        adjoint=cfg["adjoint"], options=cfg.get("solver_options"),
                        backend=cfg["solver_backend"])
    options = {"variant": cfg["variant"], **cfg["model_options"].get(model_name, {})}
    torch.manual_seed(seed)
    model = build_pointcloud_model(cfg["setup"], model_name, solver, head=cfg["head"],
                                   **options)
    model = model.to(device=device, dtype=dtype)
    settings = TrainSettings(epochs=cfg["epochs"], lr=cfg["lr"], batch_size=cfg["batch_size"],
                             grad_clip=cfg["grad_clip"], nfe_cap=cfg["nfe_cap"],
                             eval_every=cfg["eval_every"],
                             checkpoint_every=cfg["checkpoint_every"])
    outcome = train(model, train_data, test_data, LOSSES[cfg["loss"]](), settings, record,
                    metric_fn=sign_accuracy, log=context.log)
    positive = float((y_test > 0).double().mean())
    return outcome, {"n_params": count_parameters(model),
                     # the accuracy of always answering the test set's majority class
                     "chance_accuracy": max(positive, 1.0 - positive),
                     "model_options": model_options(cfg["setup"], NAME, model_name, **options)}
