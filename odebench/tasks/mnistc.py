"""MNIST-C robustness of fully connected flows (ODEtoODE Sec. 5.2, Tables 1 and 2).

Protocol (our reading of the paper, which does not state it): train on
clean MNIST, then test on each of the 10 corrupted MNIST-C test sets and on ``identity``
(MNIST-C's clean copy of the test set). Setup ``table1``: width 128, no dropout; ``table2``:
width 256, dropout 0.1; both 100 epochs, ODEtoODE step η = 0.01 on [0, 1]. The paper gives no
optimiser, learning rate, batch size, loss or seeds; ours are Adam 1e-3, batch 128,
cross-entropy, one seed (the tables have no error bars), and every flow model uses the
ODEtoODE step η (paper: not restated for the baselines).

The trainer's test set is ``identity``; after the last epoch every corruption's test set is
evaluated and its accuracy lands in the run's final metrics as ``test_accuracy_<name>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from odebench.data.corruptions import CORRUPTIONS
from odebench.data.mnist_c import load_mnist_c
from odebench.models import count_parameters
from odebench.models.flow_baselines import TABLE1_MODELS, TABLE2_MODELS, build_flow_classifier
from odebench.records import STATUS_DIVERGED, RunRecord
from odebench.tasks.trainer import TrainOutcome, TrainSettings, evaluate, train

if TYPE_CHECKING:
    from odebench.tasks.run import RunContext

NAME = "mnistc"
TABLE_MODELS = {"table1": TABLE1_MODELS, "table2": TABLE2_MODELS}

COMMON_DEFAULTS: dict[str, Any] = {
    "epochs": 100,           # ODEtoODE Sec. 5.2.3: 100 epochs (both tables)
    "eta": 0.01,             # ODEtoODE Sec. 5.2.3: ODEtoODE step 0.01
    "horizon": 1.0,          # ODEtoODE Sec. 3: T = 1
    "lr": 1e-3,              # not in the paper (ours, Adam)
    "batch_size": 128,       # not in the paper (ours)
    "eval_batch_size": 1000,  # evaluation only
    "eval_every": 10,        # ours: identity test accuracy every 10 epochs (and the last)
    "checkpoint_every": 1,
    "grad_clip": None,       # not in the paper
    "seeds": 1,              # the tables show one number per cell, no error bars
    "activation": "abs",     # ODEtoODE Sec. 5.1.1: f(x) = |x|
    "corruptions": list(CORRUPTIONS),  # paper Tables 1-2 rows: 10 corruptions + identity
    "n_train": None,         # None: all 60,000 clean training images
    "n_test": None,          # None: all 10,000 test images of each corruption
    "dtype": "float32",
    "model_options": {},
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "table1": {"width": 128, "dropout": 0.0},   # ODEtoODE Table 1: w = 128, no dropout
    "table2": {"width": 256, "dropout": 0.1},   # ODEtoODE Table 2: w = 256, r = 0.1
}
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def setups() -> list[str]:
    return list(DEFAULTS)


def models(setup: str) -> list[str]:
    return list(TABLE_MODELS[setup])


def resolve(setup: str, overrides: dict[str, Any]) -> dict[str, Any]:
    resolved = {**COMMON_DEFAULTS, **DEFAULTS[setup], **overrides, "setup": setup}
    unknown = [c for c in resolved["corruptions"] if c not in CORRUPTIONS]
    if unknown:
        raise ValueError(f"corruptions: unknown corruption(s) {', '.join(map(str, unknown))}; "
                         f"valid: {', '.join(CORRUPTIONS)}")
    if "identity" not in resolved["corruptions"]:
        raise ValueError("corruptions: must include 'identity' (the clean test set the "
                         "trainer evaluates every eval_every epochs)")
    return resolved


def load(cfg: dict[str, Any], data_dir: str | None, offline: bool):
    data = load_mnist_c(data_dir, offline, corruptions=cfg["corruptions"])
    n_train, n_test = cfg["n_train"], cfg["n_test"]
    tests = {name: (x[:n_test], y[:n_test]) for name, (x, y) in data.tests.items()}
    return data.train_x[:n_train], data.train_y[:n_train], tests, data.source


def prepare_data(cfg: dict[str, Any], data_dir: str | None = None,
                 offline: bool = True) -> dict[str, Any]:
    train_x, _, tests, source = load(cfg, data_dir, offline)
    return {"source": source, "train": len(train_x), "image_shape": list(train_x.shape[1:]),
            "tests": {name: len(x) for name, (x, _) in tests.items()}}


def accuracy(out: torch.Tensor, y: torch.Tensor) -> float:
    return float((out.argmax(dim=1) == y).double().mean())


def run(cfg: dict[str, Any], model_name: str, seed: int, record: RunRecord,
        context: RunContext) -> tuple[TrainOutcome, dict[str, Any]]:
    """Train on clean images, then test on every corruption."""
    device, dtype = context.device, DTYPES[cfg["dtype"]]
    train_x, train_y, tests, source = load(cfg, context.data_dir, context.offline)
    options = {"activation": cfg["activation"], **cfg["model_options"].get(model_name, {})}
    torch.manual_seed(seed)
    model = build_flow_classifier(model_name, in_features=int(train_x[0].numel()),
                                  width=cfg["width"], dropout=cfg["dropout"], eta=cfg["eta"],
                                  T=cfg["horizon"], **options)
    model = model.to(device=device, dtype=dtype)
    settings = TrainSettings(epochs=cfg["epochs"], lr=cfg["lr"], batch_size=cfg["batch_size"],
                             grad_clip=cfg["grad_clip"], eval_every=cfg["eval_every"],
                             checkpoint_every=cfg["checkpoint_every"],
                             eval_batch_size=cfg["eval_batch_size"])

    def on_device(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.to(device=device, dtype=dtype), y.to(device=device)

    loss_fn = nn.CrossEntropyLoss()
    outcome = train(model, on_device(train_x, train_y), on_device(*tests["identity"]),
                    loss_fn, settings, record, metric_fn=accuracy, log=context.log)
    if outcome.status != STATUS_DIVERGED:
        for name in cfg["corruptions"]:
            scores = evaluate(model, on_device(*tests[name]), loss_fn, accuracy,
                              settings.eval_batch_size or settings.batch_size, prefix="test",
                              metric_name="accuracy")
            outcome.final[f"test_accuracy_{name}"] = scores["test_accuracy"]
        context.log(f"[{record.experiment}/{model_name}/seed{seed}] test accuracy: " + ", ".join(
            f"{name} {outcome.final[f'test_accuracy_{name}']:.4f}" for name in cfg["corruptions"]))
    labels = tests["identity"][1]
    return outcome, {"n_params": count_parameters(model), "data_source": source,
                     "chance_accuracy": float(torch.bincount(labels).max()) / len(labels)}
