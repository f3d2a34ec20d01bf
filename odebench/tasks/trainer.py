"""One trainer for every supervised task: epochs of minibatches, NFE/time per iteration,
parameter-gradient norms, checkpoint after each epoch, NFE cap and divergence as recorded
outcomes.

Inputs and targets are tensors or tuples of tensors whose first dimension indexes samples
(images, points, sequence windows); a loss or metric receives them as the model returns and
the data holds them.
"""

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
from odebench.records.progress import EtaClock
from odebench.solvers import count_nfe

Tensors = torch.Tensor | tuple[torch.Tensor, ...]
Batch = tuple[Tensors, Tensors]
LossFn = Callable[[Any, Tensors], torch.Tensor]
MetricFn = Callable[[Any, Tensors], float]
# A probe sees (model, output, targets) of a training iteration before its backward pass and
# returns named values (e.g. adjoint norms); the trainer averages them over the epoch. Its own
# vector-field evaluations are not counted in the iteration's NFE.
Probe = Callable[[nn.Module, Any, Tensors], dict[str, float]]


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
    valid_every: int = 1
    # {epoch (0-based): lr}: a fresh Adam at each listed epoch > 0 (the HBNODE/NesterovNODE
    # sequence scripts re-create the optimizer, resetting its moments); None: constant lr.
    lr_schedule: dict[int, float] | None = None
    probe_every: int = 1  # run the probe on every k-th training iteration
    shuffle: bool = True  # False: minibatches in data order (the sequence scripts' loops)
    eval_first: bool = False  # also test after epoch 1 (Walker scripts: epoch == 0 or ...)


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


def take(data: Tensors, index: torch.Tensor | slice) -> Tensors:
    """Rows ``index`` of a tensor, or of every tensor of a tuple."""
    if isinstance(data, tuple):
        return tuple(part[index] for part in data)
    return data[index]


def sample_count(data: Tensors) -> int:
    return len(data[0]) if isinstance(data, tuple) else len(data)


def detach(out: Any) -> Any:
    if isinstance(out, tuple):
        return tuple(part.detach() for part in out)
    return out.detach()


def gradient_norm(parameters: list[nn.Parameter]) -> torch.Tensor:
    """Global L2 norm of the parameter gradients (one reduction, no host sync)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads, norm_type=2.0)


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
             batch_size: int, prefix: str = "test",
             metric_name: str = "metric") -> dict[str, float]:
    """``<prefix>_loss``, ``<prefix>_<metric_name>`` and per-batch forward NFE
    (``nfe_<prefix>``) on held-out data, without gradients."""
    model.eval()
    x_all, y_all = data
    losses, metrics, nfes, sizes = [], [], [], []
    for start in range(0, sample_count(x_all), batch_size):
        rows = slice(start, start + batch_size)
        x, y = take(x_all, rows), take(y_all, rows)
        with count_nfe() as meter:
            out = model(x)
        losses.append(float(loss_fn(out, y)))
        if metric_fn is not None:
            metrics.append(metric_fn(out, y))
        nfes.append(meter.forward)
        sizes.append(sample_count(x))
    model.train()
    weights = torch.tensor(sizes, dtype=torch.float64) / sum(sizes)
    result = {f"{prefix}_loss": float(torch.tensor(losses, dtype=torch.float64) @ weights),
              f"nfe_{prefix}": float(sum(nfes) / len(nfes))}
    if metrics:
        result[f"{prefix}_{metric_name}"] = float(torch.tensor(metrics, dtype=torch.float64)
                                                  @ weights)
    return result


def train(model: nn.Module, train_data: Batch, test_data: Batch | None, loss_fn: LossFn,
          settings: TrainSettings, record: RunRecord, metric_fn: MetricFn | None = None,
          metric_name: str = "accuracy", log: Callable[[str], None] = print,
          valid_data: Batch | None = None, probe: Probe | None = None) -> TrainOutcome:
    """Train with Adam, writing one row per epoch to ``record`` and resuming from its checkpoint.

    A row holds the mean training loss, mean forward/backward NFE per iteration, the global
    L2 norm of the parameter gradients before clipping (``grad_norm_mean`` / ``grad_norm_max``)
    and the fraction of iterations whose gradient was clipped (``clip_fraction``), the epoch's
    wall seconds (synchronised on GPU), validation/test metrics when evaluated, the probe's
    epoch means and learned scalars.
    """
    device = next(model.parameters()).device
    parameters = [p for p in model.parameters() if p.requires_grad]
    schedule = dict(settings.lr_schedule or {})
    optimizer = torch.optim.Adam(parameters, lr=schedule.get(0, settings.lr))
    scheduler = (torch.optim.lr_scheduler.StepLR(optimizer, settings.lr_step, settings.lr_gamma)
                 if settings.lr_step else None)
    start_epoch = 0
    resumed = load_checkpoint(record.checkpoint_path, model=model, optimizer=optimizer,
                              scheduler=scheduler, map_location=device)
    if resumed is not None:
        start_epoch = resumed["epoch"]
        record.restore(resumed["rows"])
        log(f"resuming from {record.checkpoint_path} after epoch {start_epoch}")
        if resumed["extra"].get("status", STATUS_COMPLETED) != STATUS_COMPLETED:
            return TrainOutcome(resumed["extra"]["status"], record.rows, resumed["extra"]["final"])

    x_all, y_all = train_data
    n = sample_count(x_all)
    status = STATUS_COMPLETED
    iteration = 0
    eta = EtaClock(settings.epochs, start_epoch)
    for epoch in range(start_epoch + 1, settings.epochs + 1):
        if epoch - 1 in schedule and epoch > 1:  # the official scripts re-create Adam
            optimizer = torch.optim.Adam(parameters, lr=schedule[epoch - 1])
        synchronize(device)
        started = time.perf_counter()
        order = (torch.randperm(n) if settings.shuffle else torch.arange(n)).to(device)
        losses, metrics, fwd, bwd, norms = [], [], [], [], []
        probed: dict[str, list[float]] = {}
        for start in range(0, n, settings.batch_size):
            index = order[start:start + settings.batch_size]
            x, y = take(x_all, index), take(y_all, index)
            optimizer.zero_grad(set_to_none=True)
            with count_nfe() as meter:
                try:
                    out = model(x)
                    loss = loss_fn(out, y)
                    finite = math.isfinite(float(loss.detach()))
                    if finite and probe is not None and iteration % settings.probe_every == 0:
                        before = meter.backward
                        for key, value in probe(model, out, y).items():
                            probed.setdefault(key, []).append(value)
                        meter.backward = before  # the probe's own adjoint solves
                        optimizer.zero_grad(set_to_none=True)
                    if finite:
                        loss.backward()
                except AssertionError as error:  # torchdiffeq: non-finite state, dt underflow
                    if not is_solver_blowup(error):
                        raise
                    log(f"solver blow-up: {error}".splitlines()[0][:200])
                    loss = torch.tensor(float("nan"))
            iteration += 1
            losses.append(float(loss.detach()))
            fwd.append(meter.forward)
            bwd.append(meter.backward)
            if not math.isfinite(losses[-1]):
                status = STATUS_DIVERGED
                break
            if metric_fn is not None:
                metrics.append(metric_fn(detach(out), y))
            norm = gradient_norm(parameters)
            norms.append(norm)
            if settings.grad_clip is not None:
                torch.nn.utils.clip_grads_with_norm_(parameters, settings.grad_clip, norm)
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
        if norms:
            stacked = torch.stack(norms).double()
            row["grad_norm_mean"] = float(stacked.mean())
            row["grad_norm_max"] = float(stacked.max())
            clip = settings.grad_clip
            row["clip_fraction"] = float((stacked > clip).double().mean()) if clip else 0.0
        if metrics:
            row[metric_name] = sum(metrics) / len(metrics)
        row.update({key: sum(values) / len(values) for key, values in probed.items()})
        evaluable = status != STATUS_DIVERGED
        last = epoch == settings.epochs or status == STATUS_NFE_CAP
        eval_batch = settings.eval_batch_size or settings.batch_size
        if valid_data is not None and evaluable and (epoch % settings.valid_every == 0 or last):
            row.update(evaluate(model, valid_data, loss_fn, metric_fn, eval_batch, "valid",
                                metric_name))
        first = settings.eval_first and epoch == 1
        if test_data is not None and evaluable and (epoch % settings.eval_every == 0 or last
                                                    or first):
            row.update(evaluate(model, test_data, loss_fn, metric_fn, eval_batch, "test",
                                metric_name))
        row["lr"] = optimizer.param_groups[0]["lr"]
        row.update(model_scalars(model))
        record.append(row)
        final = final_metrics(record.rows, status)
        if status != STATUS_COMPLETED or epoch % settings.checkpoint_every == 0 \
                or epoch == settings.epochs:
            save_checkpoint(record.checkpoint_path, epoch=epoch, model=model, optimizer=optimizer,
                            scheduler=scheduler, rows=record.rows,
                            extra={"status": status, "final": final})
        grad = f" |g| {row['grad_norm_mean']:.3g}" if "grad_norm_mean" in row else ""
        log(f"[{record.experiment}/{record.model}/seed{record.seed}] epoch {epoch}/"
            f"{settings.epochs} loss {row['loss']:.4g} nfe {row['nfe_forward']:.1f}/"
            f"{row['nfe_backward']:.1f}{grad} {row['seconds']:.2f}s"
            + (eta.suffix(epoch) if status == STATUS_COMPLETED else ""))
        if status != STATUS_COMPLETED:
            log(f"[{record.experiment}/{record.model}/seed{record.seed}] {status} at epoch {epoch}")
            break
    return TrainOutcome(status, record.rows, final_metrics(record.rows, status))


LOWER_IS_BETTER = ("_loss", "_mse")


def final_metrics(rows: list[dict[str, Any]], status: str) -> dict[str, Any]:
    """The last row's metrics plus the best value of every ``test_*`` / ``valid_*`` score
    column (the minimum for losses and MSEs, the maximum otherwise)."""
    if not rows:
        return {}
    last = dict(rows[-1])
    final: dict[str, Any] = {k: v for k, v in last.items() if k != "epoch"}
    final["epoch"] = last["epoch"]
    final["total_seconds"] = sum(r["seconds"] for r in rows)
    final["stopped_at_epoch"] = last["epoch"] if status != STATUS_COMPLETED else None
    scores = {k for r in rows for k in r
              if k.startswith(("test_", "valid_")) and k not in ("test_loss", "valid_loss")}
    for key in sorted(scores):
        values = [(r[key], r["epoch"]) for r in rows if key in r and r[key] == r[key]]
        if values:
            lower = key.endswith(LOWER_IS_BETTER)
            best, best_epoch = (min if lower else max)(values)
            final[f"best_{key}"] = best
            final[f"best_{key}_epoch"] = best_epoch
    return final
