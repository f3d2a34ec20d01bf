"""One trainer for every supervised task: epochs of minibatches, NFE/time per iteration,
checkpoint after each epoch, NFE cap and divergence as recorded outcomes."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from odebench.records import (
    STATUS_COMPLETED,
    STATUS_DIVERGED,
    STATUS_NFE_CAP,
    RunRecord,
    load_checkpoint,
    save_checkpoint,
)
from odebench.solvers import count_nfe

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MetricFn = Callable[[torch.Tensor, torch.Tensor], float]


@dataclass(frozen=True)
class TrainSettings:
    epochs: int
    lr: float
    batch_size: int
    grad_clip: float | None = None
    nfe_cap: int | None = None
    eval_every: int = 1
    checkpoint_every: int = 1
    lr_step: int | None = None  # StepLR step size in iterations (CIFAR code: 1000)
    lr_gamma: float = 1.0  # StepLR factor (CIFAR code: 0.95)
    eval_batch_size: int | None = None  # default: batch_size


@dataclass
class TrainOutcome:
    status: str
    rows: list[dict[str, Any]]
    final: dict[str, Any]


def is_solver_blowup(error: AssertionError) -> bool:
    """torchdiffeq's assertions for a diverging solve (NaN/inf state, step-size underflow,
    the step cap of ``options.max_num_steps``)."""
    text = str(error)
    return any(sign in text for sign in ("non-finite", "underflow in dt", "max_num_steps"))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def model_scalars(model: nn.Module) -> dict[str, float]:
    """Learned scalars worth tracking (gamma of HBNODE-type dynamics, xi where present)."""
    dynamics = getattr(model, "dynamics", None)
    scalars = {}
    for name in ("damping", "coupling"):
        module = getattr(dynamics, name, None)
        if module is not None:
            value = float(module().detach().reshape(-1)[0])
            scalars["gamma" if name == "damping" else "xi"] = value
    return scalars


@torch.no_grad()
def evaluate(model: nn.Module, data: Batch, loss_fn: LossFn, metric_fn: MetricFn | None,
             batch_size: int) -> dict[str, float]:
    """Loss, metric and per-batch forward NFE on held-out data (no gradients)."""
    model.eval()
    x_all, y_all = data
    losses, metrics, nfes, sizes = [], [], [], []
    for start in range(0, len(x_all), batch_size):
        x, y = x_all[start:start + batch_size], y_all[start:start + batch_size]
        with count_nfe() as meter:
            out = model(x)
        losses.append(float(loss_fn(out, y)))
        if metric_fn is not None:
            metrics.append(metric_fn(out, y))
        nfes.append(meter.forward)
        sizes.append(len(x))
    model.train()
    weights = torch.tensor(sizes, dtype=torch.float64) / sum(sizes)
    result = {"test_loss": float(torch.tensor(losses, dtype=torch.float64) @ weights),
              "nfe_test": float(sum(nfes) / len(nfes))}
    if metrics:
        result["test_metric"] = float(torch.tensor(metrics, dtype=torch.float64) @ weights)
    return result


def train(model: nn.Module, train_data: Batch, test_data: Batch | None, loss_fn: LossFn,
          settings: TrainSettings, record: RunRecord, metric_fn: MetricFn | None = None,
          metric_name: str = "accuracy", log: Callable[[str], None] = print) -> TrainOutcome:
    """Train with Adam, writing one row per epoch to ``record`` and resuming from its checkpoint.

    A row holds the mean training loss, mean forward/backward NFE per iteration, the epoch's
    wall seconds (synchronised on GPU), test metrics when evaluated and learned scalars.
    """
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    scheduler = (torch.optim.lr_scheduler.StepLR(optimizer, settings.lr_step, settings.lr_gamma)
                 if settings.lr_step else None)
    start_epoch = 0
    resumed = load_checkpoint(record.checkpoint_path, model=model, optimizer=optimizer,
                              scheduler=scheduler, map_location=device)
    if resumed is not None:
        start_epoch = resumed["epoch"]
        record.rows = list(resumed["rows"])
        record.write_epochs()
        log(f"resuming from {record.checkpoint_path} after epoch {start_epoch}")
        if resumed["extra"].get("status", STATUS_COMPLETED) != STATUS_COMPLETED:
            return TrainOutcome(resumed["extra"]["status"], record.rows, resumed["extra"]["final"])

    x_all, y_all = train_data
    n = len(x_all)
    status = STATUS_COMPLETED
    for epoch in range(start_epoch + 1, settings.epochs + 1):
        synchronize(device)
        started = time.perf_counter()
        order = torch.randperm(n).to(device)
        losses, metrics, fwd, bwd = [], [], [], []
        for start in range(0, n, settings.batch_size):
            index = order[start:start + settings.batch_size]
            x, y = x_all[index], y_all[index]
            optimizer.zero_grad(set_to_none=True)
            with count_nfe() as meter:
                try:
                    out = model(x)
                    loss = loss_fn(out, y)
                    if math.isfinite(float(loss.detach())):
                        loss.backward()
                except AssertionError as error:  # torchdiffeq: non-finite state, dt underflow
                    if not is_solver_blowup(error):
                        raise
                    log(f"solver blow-up: {error}".splitlines()[0][:200])
                    loss = torch.tensor(float("nan"))
            losses.append(float(loss.detach()))
            fwd.append(meter.forward)
            bwd.append(meter.backward)
            if not math.isfinite(losses[-1]):
                status = STATUS_DIVERGED
                break
            if metric_fn is not None:
                metrics.append(metric_fn(out.detach(), y))
            if settings.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            cap = settings.nfe_cap
            if cap is not None and max(meter.forward, meter.backward) > cap:
                status = STATUS_NFE_CAP
                break
        synchronize(device)
        row: dict[str, Any] = {
            "epoch": epoch,
            "iterations": len(losses),
            "loss": sum(losses) / len(losses),
            "nfe_forward": sum(fwd) / len(fwd),
            "nfe_backward": sum(bwd) / len(bwd),
            "seconds": time.perf_counter() - started,
        }
        if metrics:
            row[metric_name] = sum(metrics) / len(metrics)
        due = (epoch % settings.eval_every == 0 or epoch == settings.epochs
               or status == STATUS_NFE_CAP)
        if test_data is not None and status != STATUS_DIVERGED and due:
            evaluated = evaluate(model, test_data, loss_fn, metric_fn,
                                 settings.eval_batch_size or settings.batch_size)
            if "test_metric" in evaluated:
                evaluated[f"test_{metric_name}"] = evaluated.pop("test_metric")
            row.update(evaluated)
        row["lr"] = optimizer.param_groups[0]["lr"]
        row.update(model_scalars(model))
        record.append(row)
        final = final_metrics(record.rows, status)
        if status != STATUS_COMPLETED or epoch % settings.checkpoint_every == 0 \
                or epoch == settings.epochs:
            save_checkpoint(record.checkpoint_path, epoch=epoch, model=model, optimizer=optimizer,
                            scheduler=scheduler, rows=record.rows,
                            extra={"status": status, "final": final})
        log(f"[{record.experiment}/{record.model}/seed{record.seed}] epoch {epoch}/"
            f"{settings.epochs} loss {row['loss']:.4g} nfe {row['nfe_forward']:.1f}/"
            f"{row['nfe_backward']:.1f} {row['seconds']:.2f}s")
        if status != STATUS_COMPLETED:
            log(f"[{record.experiment}/{record.model}/seed{record.seed}] {status} at epoch {epoch}")
            break
    return TrainOutcome(status, record.rows, final_metrics(record.rows, status))


def final_metrics(rows: list[dict[str, Any]], status: str) -> dict[str, Any]:
    """The last row's metrics plus the best test value of every ``test_*`` score column."""
    if not rows:
        return {}
    last = dict(rows[-1])
    final: dict[str, Any] = {k: v for k, v in last.items() if k != "epoch"}
    final["epoch"] = last["epoch"]
    final["total_seconds"] = sum(r["seconds"] for r in rows)
    final["stopped_at_epoch"] = last["epoch"] if status != STATUS_COMPLETED else None
    for key in {k for r in rows for k in r if k.startswith("test_") and k != "test_loss"}:
        values = [(r[key], r["epoch"]) for r in rows if key in r and r[key] == r[key]]
        if values:
            best, best_epoch = max(values)
            final[f"best_{key}"] = best
            final[f"best_{key}_epoch"] = best_epoch
    return final
