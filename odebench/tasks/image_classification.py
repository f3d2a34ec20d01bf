"""MNIST and CIFAR10 classification (HBNODE Sec. 5.2, NesterovNODE Sec. 5.2), one code path.

Per (setup, task) the paper's values are the defaults; ``variant: official_code`` switches to
the official code's values (docs/PAPERS.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from odebench.data import load_cifar10, load_mnist
from odebench.data.cifar10 import cifar10_standin
from odebench.models import count_parameters
from odebench.models.defaults import model_options, task_models
from odebench.models.images import build_image_model
from odebench.records import RunRecord
from odebench.solvers import SolverSpec
from odebench.tasks.trainer import TrainOutcome, TrainSettings, train

if TYPE_CHECKING:
    from odebench.tasks.run import RunContext

SETUPS = ("nesterov2022", "hbnode2021")

COMMON_DEFAULTS: dict[str, Any] = {
    "solver_backend": "lean",  # ours: or torchdiffeq (the same steps, NFE, outputs)
    "epochs": 40,            # both papers' code (40 epochs); the HBNODE figures span 40 epochs
    "method": "dopri5",      # both papers: Dormand-Prince 4(5)
    "adjoint": True,         # both papers' code: odeint_adjoint
    "grad_clip": None,
    "nfe_cap": None,
    "lr_step": None,
    "lr_gamma": 1.0,
    "eval_every": 1,
    "checkpoint_every": 1,
    "n_train": None,         # None: the whole training set
    "n_test": None,
    "eval_batch_size": 500,  # evaluation only; does not change results
    "dtype": "float32",
    "variant": "paper",
    "model_options": {},
    "euler_step": None,      # NesterovNODE Sec. 6.2: fixed-step Euler instead of dopri5
    "nesterov_factor": None,  # NesterovNODE Sec. 6.1: r (None: the model default, 3)
    "standin_sizes": [1000, 200],  # offline CIFAR10 stand-in (train, test)
    "standin_image_size": 32,  # offline CIFAR10 stand-in side (CIFAR10: 32; smoke: smaller)
}

# (setup, task) -> {"paper": values, "official_code": overrides of the paper values}
DEFAULTS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("hbnode2021", "mnist"): {
        "paper": {"batch_size": 64,   # HBNODE Table 1
                  "lr": 1e-3,         # HBNODE Table 1
                  "tol": 1e-5,        # HBNODE Fig. 6 caption
                  "seeds": 3},        # official logs: 3 runs per model (official repository logs)
        "official_code": {"lr": 5e-4,       # mnist_full_run.py: Adam(lr = 1e-3 / 2)
                          "tol": 1e-3,      # code default at the time of the logs
                          "grad_clip": 10.0},  # clip_grad_norm_(..., 10.0)
    },
    ("hbnode2021", "cifar10"): {
        "paper": {"batch_size": 64,   # HBNODE Table 1
                  "lr": 1e-3,         # HBNODE Table 1
                  "tol": 1e-5,        # HBNODE Fig. 1 caption / intro
                  "seeds": 5},        # official logs: 5 runs per model
        "official_code": {"batch_size": 256,  # logs: 196 iterations per epoch
                          "tol": 1e-3, "grad_clip": 1.0,
                          "lr_step": 1000, "lr_gamma": 0.95,  # StepLR(1000 it, 0.95)
                          "eval_every": 2},   # test every 2 epochs
    },
    ("nesterov2022", "mnist"): {
        # The paper gives only the tolerance and 5 seeds; the rest is the official code.
        "paper": {"batch_size": 64, "lr": 5e-4, "grad_clip": 10.0,  # mnist_train.py
                  "tol": 1e-5,        # NesterovNODE Sec. 5 / Table 2
                  "nfe_cap": 300,     # code stops when forward or backward NFE > 300
                  "seeds": 5},        # NesterovNODE Sec. 5: averaged over 5 runs
        "official_code": {"seeds": 1},  # the code runs a single seed
    },
    ("nesterov2022", "cifar10"): {
        "paper": {"batch_size": 256, "lr": 1e-3, "grad_clip": 1.0,  # cifar/main.py
                  "lr_step": 1000, "lr_gamma": 0.95,  # StepLR(1000 iterations, 0.95)
                  "tol": 1e-5,        # NesterovNODE Sec. 5 / Table 2
                  "eval_every": 2,    # code tests every 2 epochs
                  "seeds": 5},        # NesterovNODE Sec. 5
        "official_code": {"seeds": 1},
    },
}

LOADERS = {"mnist": load_mnist, "cifar10": load_cifar10}
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve(task: str, setup: str, overrides: dict[str, Any]) -> dict[str, Any]:
    values = DEFAULTS[(setup, task)]
    variant = overrides.get("variant", "paper")
    if variant not in values:
        raise ValueError(f"variant: unknown value {variant!r}; valid: {', '.join(values)}")
    chosen = {**COMMON_DEFAULTS, **values["paper"]}
    if variant == "official_code":
        chosen.update(values["official_code"])
    return {**chosen, **overrides, "setup": setup}


def load(task: str, cfg: dict[str, Any], data_dir: str | None, offline: bool):
    """(train_x, train_y, test_x, test_y), cut to ``n_train`` / ``n_test`` when set."""
    if task == "cifar10" and offline:
        n_train, n_test = cfg["standin_sizes"]
        data = cifar10_standin(n_train, n_test, size=cfg["standin_image_size"])
    elif task == "cifar10":
        data = load_cifar10(data_dir, offline)
    else:
        data = LOADERS[task](data_dir, offline)
    train_x, train_y, test_x, test_y = data
    n_train, n_test = cfg["n_train"], cfg["n_test"]
    return (train_x[:n_train], train_y[:n_train], test_x[:n_test], test_y[:n_test])


def describe_data(task: str, cfg: dict[str, Any], data_dir: str | None,
                  offline: bool) -> dict[str, Any]:
    train_x, train_y, test_x, test_y = load(task, cfg, data_dir, offline)
    return {"source": f"{task} stand-in (offline)" if offline else task,
            "train": len(train_x), "test": len(test_x),
            "image_shape": list(train_x.shape[1:]),
            "classes": int(torch.unique(train_y).numel())}


def accuracy(out: torch.Tensor, y: torch.Tensor) -> float:
    return float((out.argmax(dim=1) == y).double().mean())


def solver_for(cfg: dict[str, Any]) -> SolverSpec:
    """dopri5 at rtol = atol = tol, or fixed-step Euler when ``euler_step`` is set."""
    if cfg["euler_step"] is not None:
        return SolverSpec(method="euler", rtol=cfg["tol"], atol=cfg["tol"],
                          adjoint=cfg["adjoint"], options={"step_size": cfg["euler_step"]},
                          backend=cfg["solver_backend"])
    return SolverSpec(method=cfg["method"], rtol=cfg["tol"], atol=cfg["tol"],
                      adjoint=cfg["adjoint"], options=cfg.get("solver_options"),
                      backend=cfg["solver_backend"])


def run(task: str, cfg: dict[str, Any], model_name: str, seed: int, record: RunRecord,
        context: RunContext) -> tuple[TrainOutcome, dict[str, Any]]:
    """Train one (model, seed) on ``task`` and fill ``record``."""
    device, dtype = context.device, DTYPES[cfg["dtype"]]
    train_x, train_y, test_x, test_y = load(task, cfg, context.data_dir, context.offline)
    options = {"variant": cfg["variant"], **cfg["model_options"].get(model_name, {})}
    if cfg["nesterov_factor"] is not None:
        options["r"] = cfg["nesterov_factor"]
    torch.manual_seed(seed)
    model = build_image_model(cfg["setup"], task, model_name, solver_for(cfg),
                              image_shape=tuple(train_x.shape[1:]), **options)
    model = model.to(device=device, dtype=dtype)
    settings = TrainSettings(epochs=cfg["epochs"], lr=cfg["lr"], batch_size=cfg["batch_size"],
                             grad_clip=cfg["grad_clip"], nfe_cap=cfg["nfe_cap"],
                             eval_every=cfg["eval_every"],
                             checkpoint_every=cfg["checkpoint_every"],
                             lr_step=cfg["lr_step"], lr_gamma=cfg["lr_gamma"],
                             eval_batch_size=cfg["eval_batch_size"])
    to = {"device": device}
    outcome = train(model, (train_x.to(dtype=dtype, **to), train_y.to(**to)),
                    (test_x.to(dtype=dtype, **to), test_y.to(**to)), nn.CrossEntropyLoss(),
                    settings, record, metric_fn=accuracy, log=context.log)
    return outcome, {"n_params": count_parameters(model),
                     # the accuracy of always answering the test set's majority class
                     "chance_accuracy": float(torch.bincount(test_y).max()) / len(test_y),
                     "model_options": model_options(cfg["setup"], task, model_name, **options)}


def setups(task: str) -> tuple[str, ...]:
    return SETUPS


def models(task: str, setup: str) -> list[str]:
    return task_models(setup, task)
