"""The fixed cases every benchmark measures: seeded data, model, loss (and optimizer)."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from odebench.data.mnist import digits_standin
from odebench.data.pointcloud import nested_circles
from odebench.models.base import ContinuousDepthModel
from odebench.models.defaults import task_models
from odebench.models.images import build_image_model
from odebench.models.pointcloud import build_pointcloud_model
from odebench.models.sequence_models import N_INPUTS, build_ode_rnn, sequence_models
from odebench.solvers import NFEMeter, SolverSpec, count_nfe
from odebench.tasks import image_classification as image_task
from odebench.tasks import pointcloud as pointcloud_task
from odebench.tasks import sequences as sequence_task
from odebench.tasks.trainer import gradient_norm

SETUP = "hbnode2021"
MODELS = ("node", "hbnode")
N_POINTS = 50
DATA_SEED = 0
MODEL_SEED = 0
DTYPE = torch.float64
TOL = 1e-5
SOLVER = SolverSpec(method="dopri5", rtol=TOL, atol=TOL, adjoint=True)


@dataclass
class PointCloudCase:
    """A seeded point-cloud model with its fixed batch ``x`` and labels ``y`` in +-1."""

    model: ContinuousDepthModel
    x: torch.Tensor
    y: torch.Tensor

    def forward(self) -> torch.Tensor:
        """One forward solve: the model's predictions on the batch."""
        return self.model(self.x)

    def forward_backward(self) -> torch.Tensor:
        """One training step without the update: MSE loss (hbnode2021) and ``backward()``."""
        self.model.zero_grad(set_to_none=True)
        loss = functional.mse_loss(self.model(self.x), self.y)
        loss.backward()
        return loss


def pointcloud_case(model_name: str) -> PointCloudCase:
    """The ``hbnode2021`` point-cloud ``model_name`` at initialisation on 50 nested circles.

    Data and weights are seeded, so every call returns the same case (and the same NFE).
    """
    x, y = nested_circles(N_POINTS, seed=DATA_SEED, dtype=DTYPE)
    torch.manual_seed(MODEL_SEED)
    model = build_pointcloud_model(SETUP, model_name, SOLVER).to(dtype=DTYPE)
    return PointCloudCase(model=model, x=x, y=y)


# --- One training iteration of the nesterov2022 setup (point cloud and a 1-batch MNIST slice) ---

TRAIN_SETUP = "nesterov2022"
TRAIN_MODELS = tuple(task_models(TRAIN_SETUP, "pointcloud"))  # all seven
IMAGE_MODELS = tuple(task_models(TRAIN_SETUP, "mnist"))
IMAGE_TOL = 1e-3  # cheaper than the paper's 1e-5 so a CPU call stays well under 2 s
IMAGE_SOLVER = SolverSpec(method="dopri5", rtol=IMAGE_TOL, atol=IMAGE_TOL, adjoint=True)
IMAGE_SIZE = (28, 28)
IMAGE_BATCH = 8
# Models whose 8-image step is too slow on one CPU thread run on fewer images (the batch is
# cut, never the architecture): NODE's field has 92 hidden channels at full resolution.
IMAGE_BATCH_OVERRIDES = {"node": 4}


@dataclass
class TrainStepCase:
    """One model, its fixed batch and loss, and an Adam optimizer, resettable to step 0.

    :meth:`reset` restores the initial parameters and empties the optimizer state, so every
    :meth:`step` after it is the same first training iteration (same solves, same NFE).
    ``x`` and ``y`` are what the model and the loss take (a tensor, or a tuple of tensors).
    ``record_grad_norm`` (default, as the trainer does now): every step computes the global
    L2 norm of the gradients before clipping and appends it, a 0-d tensor, to ``grad_norms``;
    False: the old iteration without the norm (``clip_grad_norm_`` when clipping).
    """

    model: ContinuousDepthModel
    x: Any
    y: Any
    loss_fn: nn.Module
    lr: float
    grad_clip: float | None = None
    record_grad_norm: bool = True
    grad_norms: list[torch.Tensor] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        # As the trainer: Adam (and the norm) over the parameters that require gradients.
        self.parameters = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(self.parameters, lr=self.lr)
        self.initial_params = [p.detach().clone() for p in self.model.parameters()]

    def reset(self) -> None:
        with torch.no_grad():
            for param, initial in zip(self.model.parameters(), self.initial_params, strict=True):
                param.copy_(initial)
        self.optimizer.state.clear()
        self.optimizer.zero_grad(set_to_none=True)
        self.grad_norms.clear()

    def copy(self, **changes: Any) -> TrainStepCase:
        """An independent deep copy (same modules and initial parameters, own optimizer),
        with ``changes`` to its settings (``grad_clip``, ``record_grad_norm``)."""
        settings = {"grad_clip": self.grad_clip, "record_grad_norm": self.record_grad_norm,
                    **changes}
        return TrainStepCase(copy.deepcopy(self.model), self.x, self.y, self.loss_fn, self.lr,
                             **settings)

    def step(self, probe: Callable[[], None] | None = None) -> tuple[torch.Tensor, NFEMeter]:
        """What ``odebench.tasks.trainer.train`` does per iteration, minus its bookkeeping.

        zero_grad; inside ``count_nfe()``: forward through the model (``solve_with``), loss,
        finiteness check and ``backward()``; with ``record_grad_norm`` the gradient norm
        (``trainer.gradient_norm``, kept as a 0-d tensor in ``grad_norms``) and, if set,
        ``clip_grads_with_norm_`` with it, else ``clip_grad_norm_`` if set; Adam step. The
        per-iteration metric, the row sums and the epoch's statistics of the norms are left
        out. ``probe`` (checks only) runs between the loss and the backward pass.
        """
        model, optimizer = self.model, self.optimizer
        optimizer.zero_grad(set_to_none=True)
        with count_nfe() as meter:
            loss = self.loss_fn(model(self.x), self.y)
            if probe is not None:
                probe()
            if math.isfinite(float(loss.detach())):
                loss.backward()
        self.norm_and_clip()
        optimizer.step()
        return loss, meter

    def norm_and_clip(self) -> None:
        """The part of :meth:`step` between ``backward()`` and the Adam step."""
        parameters = self.parameters
        if self.record_grad_norm:
            norm = gradient_norm(parameters)
            self.grad_norms.append(norm)
            if self.grad_clip is not None:
                nn.utils.clip_grads_with_norm_(parameters, self.grad_clip, norm)
        elif self.grad_clip is not None:
            nn.utils.clip_grad_norm_(parameters, self.grad_clip)


def pointcloud_train_case(model_name: str) -> TrainStepCase:
    """The ``nesterov2022`` point-cloud ``model_name`` at initialisation, ready to train.

    50 nested-circle points (``seed=0``), float64, dopri5 at rtol = atol = 1e-5 with the
    adjoint, tanh head, the setup's SmoothL1 loss and Adam learning rate (0.01).
    """
    cfg = pointcloud_task.resolve(TRAIN_SETUP, {})
    x, y = nested_circles(N_POINTS, seed=DATA_SEED, dtype=DTYPE)
    torch.manual_seed(MODEL_SEED)
    model = build_pointcloud_model(TRAIN_SETUP, model_name, SOLVER, head=cfg["head"])
    model = model.to(dtype=DTYPE)
    return TrainStepCase(model, x, y, pointcloud_task.LOSSES[cfg["loss"]](), lr=cfg["lr"],
                         grad_clip=cfg["grad_clip"])


def mnist_slice(n_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n_images`` stand-in training digits, upsampled to 1x28x28 (float32)."""
    train_x, train_y, _, _ = digits_standin()
    x = functional.interpolate(train_x[:n_images], size=IMAGE_SIZE, mode="bilinear")
    return x, train_y[:n_images]


def mnist_train_case(model_name: str) -> TrainStepCase:
    """The ``nesterov2022`` MNIST ``model_name`` (the paper's architecture) on one batch.

    8 upsampled stand-in digits (4 for NODE, see ``IMAGE_BATCH_OVERRIDES``), float32,
    dopri5 at rtol = atol = 1e-3 (the paper trains at 1e-5; 1e-3 keeps a CPU step cheap)
    with the adjoint, cross-entropy loss, the setup's Adam learning rate (5e-4) and
    gradient clipping (10).
    """
    cfg = image_task.resolve("mnist", TRAIN_SETUP, {})
    x, y = mnist_slice(IMAGE_BATCH_OVERRIDES.get(model_name, IMAGE_BATCH))
    torch.manual_seed(MODEL_SEED)
    model = build_image_model(TRAIN_SETUP, "mnist", model_name, IMAGE_SOLVER,
                              image_shape=(1, *IMAGE_SIZE))
    return TrainStepCase(model, x, y, nn.CrossEntropyLoss(), lr=cfg["lr"],
                         grad_clip=cfg["grad_clip"])


# --- One training batch of the nesterov2022 Walker2D ODE-RNNs (synthetic windows) ---

WALKER_SETUP = "nesterov2022"
WALKER_TASK = "walker2d"
WALKER_MODELS = tuple(sequence_models(WALKER_SETUP, WALKER_TASK))  # all seven
WALKER_TOL = 1e-7  # both papers' tolerance for the sequence tasks
WALKER_SOLVER = SolverSpec(method="dopri5", rtol=WALKER_TOL, atol=WALKER_TOL, adjoint=True)
WALKER_KEEP = 0.9  # the ODE-LSTM loader keeps each raw step with probability 0.9
WALKER_SMALL = "32x16"  # windows x steps: the default asv case
WALKER_FULL = "256x64"  # the paper's batch (256) of 64-step windows
WALKER_SIZES = (WALKER_SMALL, WALKER_FULL)
WALKER_FULL_ENV = "ODEBENCH_BENCH_WALKER_FULL"


def walker_full_enabled() -> bool:
    """Whether the full-size Walker benchmarks run (``ODEBENCH_BENCH_WALKER_FULL`` set)."""
    return bool(os.environ.get(WALKER_FULL_ENV))


def walker_size(size: str) -> tuple[int, int]:
    """``"256x64"`` -> (256 windows, 64 steps)."""
    windows, steps = size.split("x")
    return int(windows), int(steps)


def walker_batch(windows: int, steps: int, seed: int = DATA_SEED,
                 ) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A fixed synthetic Walker batch ``((times, x), y)``, float32, 17 channels.

    ``x``/``y``: consecutive slices of one seeded standard-normal sequence per window (y is
    the next step of x). ``times``: the raw-step gaps of the loader's keep-probability-0.9
    process (1 + the number of dropped steps before a kept one, geometric: mostly 1,
    sometimes 2-3); the model divides them by 64.
    """
    generator = torch.Generator().manual_seed(seed)
    series = torch.randn(windows, steps + 1, N_INPUTS[WALKER_TASK], generator=generator)
    uniform = torch.rand(windows, steps, generator=generator, dtype=torch.float64)
    dropped = torch.floor(torch.log1p(-uniform) / math.log(1.0 - WALKER_KEEP))
    times = (1.0 + dropped).to(torch.float32)
    return (times, series[:, :-1].contiguous()), series[:, 1:].contiguous()


def walker_train_case(model_name: str, size: str = WALKER_SMALL) -> TrainStepCase:
    """The ``nesterov2022`` Walker2D ODE-RNN ``model_name`` (paper variant) at initialisation
    on :func:`walker_batch` of ``size`` windows x steps.

    float32, dopri5 at rtol = atol = 1e-7 with the adjoint, the setup's loss (MSE to the next
    step), gradient clipping (1.0) and the first epoch's Adam learning rate, as
    ``odebench.tasks.sequences.run`` trains it (without the adjoint-norm probe).
    """
    windows, steps = walker_size(size)
    cfg = sequence_task.resolve(WALKER_TASK, WALKER_SETUP, {})
    x, y = walker_batch(windows, steps)
    torch.manual_seed(MODEL_SEED)
    model = build_ode_rnn(WALKER_SETUP, WALKER_TASK, model_name, WALKER_SOLVER, steps,
                          forecast_len=cfg["forecast_len"], variant=cfg["variant"],
                          alignment=cfg["alignment"])
    sequence_task.shrink_parameters(model, cfg["param_shrink"])
    schedule = sequence_task.lr_schedule(cfg, model_name) or {}
    return TrainStepCase(model, x, y, sequence_task.SequenceLoss(cfg["loss_weights"]),
                         lr=schedule.get(0, cfg["lr"]), grad_clip=cfg["grad_clip"])


TRAIN_CASES: dict[str, Callable[[str], TrainStepCase]] = {
    "pointcloud": pointcloud_train_case,
    "mnist": mnist_train_case,
    **{f"walker2d/{size}": (lambda name, size=size: walker_train_case(name, size))
       for size in WALKER_SIZES},
}
# Cases whose step takes many seconds: no warm-up step (the first call's extra cost is
# negligible there, a second full step is not).
COLD_TASKS = {f"walker2d/{WALKER_FULL}"}
_WARM_CASES: dict[tuple[str, str], TrainStepCase] = {}
_FIRST_STEP_NFE: dict[tuple[str, str], tuple[int, int]] = {}


def warm_train_case(task: str, model_name: str) -> TrainStepCase:
    """A case of ``TRAIN_CASES[task]``, built and warmed up once per process (asv re-runs
    ``setup`` before every timed call; ``COLD_TASKS`` get no warm-up), then reset to step 0."""
    key = (task, model_name)
    if key not in _WARM_CASES:
        case = TRAIN_CASES[task](model_name)
        if task not in COLD_TASKS:
            case.step()  # warm-up: the first autograd/adjoint call is slow
        _WARM_CASES[key] = case
    case = _WARM_CASES[key]
    case.reset()
    return case


def first_step_nfe(task: str, model_name: str) -> tuple[int, int]:
    """Forward and backward NFE of the first iteration of a fresh case (cached per process)."""
    key = (task, model_name)
    if key not in _FIRST_STEP_NFE:
        _, meter = TRAIN_CASES[task](model_name).step()  # fresh: no warm-up
        _FIRST_STEP_NFE[key] = (meter.forward, meter.backward)
    return _FIRST_STEP_NFE[key]


class _TrainStepTime:
    """Base of the ``time_train_step`` benchmarks; subclasses set ``task`` and ``params``.

    The leading underscore keeps asv from collecting the base itself. Parameters after the
    model go to :meth:`case_task`, which names the ``TRAIN_CASES`` entry (default ``task``).
    """

    task = ""
    param_names = ["model"]
    number = 1  # one iteration per sample, from freshly reset state

    def case_task(self, *extra: str) -> str:
        return self.task

    def setup(self, model_name: str, *extra: str) -> None:
        torch.set_num_threads(1)
        self.case = warm_train_case(self.case_task(*extra), model_name)

    def time_train_step(self, model_name: str, *extra: str) -> None:
        """One training iteration (see the subclass for its solver and loss)."""
        self.case.step()


class _TrainStepNFE:
    """Base of the exact forward/backward NFE of the first training iteration (seed 0)."""

    task = ""
    param_names = ["model"]
    unit = "NFE"

    def case_task(self, *extra: str) -> str:
        return self.task

    def setup(self, model_name: str, *extra: str) -> None:
        torch.set_num_threads(1)
        self.forward_nfe, self.backward_nfe = first_step_nfe(self.case_task(*extra),
                                                             model_name)

    def track_forward_nfe(self, model_name: str, *extra: str) -> int:
        """Vector-field calls of the forward solve."""
        return self.forward_nfe

    def track_backward_nfe(self, model_name: str, *extra: str) -> int:
        """Vector-field calls of the adjoint solve inside ``loss.backward()``."""
        return self.backward_nfe
