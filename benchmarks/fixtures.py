"""The fixed cases every benchmark measures: seeded data, model, loss (and optimizer)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional

from odebench.data.mnist import digits_standin
from odebench.data.pointcloud import nested_circles
from odebench.models.base import ContinuousDepthModel
from odebench.models.defaults import task_models
from odebench.models.images import build_image_model
from odebench.models.pointcloud import build_pointcloud_model
from odebench.solvers import NFEMeter, SolverSpec, count_nfe
from odebench.tasks import image_classification as image_task
from odebench.tasks import pointcloud as pointcloud_task

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
    """

    model: ContinuousDepthModel
    x: torch.Tensor
    y: torch.Tensor
    loss_fn: nn.Module
    lr: float
    grad_clip: float | None = None

    def __post_init__(self) -> None:
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        self.initial_params = [p.detach().clone() for p in self.model.parameters()]

    def reset(self) -> None:
        with torch.no_grad():
            for param, initial in zip(self.model.parameters(), self.initial_params, strict=True):
                param.copy_(initial)
        self.optimizer.state.clear()
        self.optimizer.zero_grad(set_to_none=True)

    def copy(self) -> TrainStepCase:
        """An independent deep copy (same modules and initial parameters, own optimizer)."""
        return TrainStepCase(copy.deepcopy(self.model), self.x, self.y, self.loss_fn, self.lr,
                             self.grad_clip)

    def step(self, probe: Callable[[], None] | None = None) -> tuple[torch.Tensor, NFEMeter]:
        """What ``odebench.tasks.trainer.train`` does per iteration, minus its bookkeeping.

        zero_grad; inside ``count_nfe()``: forward through the model (``solve_with``), loss,
        finiteness check and ``backward()``; gradient clipping if set; Adam step. The
        per-iteration metric and the row sums are left out. ``probe`` (checks only) runs
        between the loss and the backward pass.
        """
        model, optimizer = self.model, self.optimizer
        optimizer.zero_grad(set_to_none=True)
        with count_nfe() as meter:
            loss = self.loss_fn(model(self.x), self.y)
            if probe is not None:
                probe()
            if math.isfinite(float(loss.detach())):
                loss.backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
        optimizer.step()
        return loss, meter


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


TRAIN_CASES: dict[str, Callable[[str], TrainStepCase]] = {
    "pointcloud": pointcloud_train_case,
    "mnist": mnist_train_case,
}
_WARM_CASES: dict[tuple[str, str], TrainStepCase] = {}


def warm_train_case(task: str, model_name: str) -> TrainStepCase:
    """:func:`pointcloud_train_case` / :func:`mnist_train_case`, built and warmed up once per
    process (asv re-runs ``setup`` before every timed call), then reset to step 0."""
    key = (task, model_name)
    if key not in _WARM_CASES:
        case = TRAIN_CASES[task](model_name)
        case.step()  # warm-up: the first autograd/adjoint call is slow
        _WARM_CASES[key] = case
    case = _WARM_CASES[key]
    case.reset()
    return case


class _TrainStepTime:
    """Base of the ``time_train_step`` benchmarks; subclasses set ``task`` and ``params``.

    The leading underscore keeps asv from collecting the base itself.
    """

    task = ""
    param_names = ["model"]
    number = 1  # one iteration per sample, from freshly reset state

    def setup(self, model_name: str) -> None:
        torch.set_num_threads(1)
        self.case = warm_train_case(self.task, model_name)

    def time_train_step(self, model_name: str) -> None:
        """One training iteration (see the subclass for its solver and loss)."""
        self.case.step()


class _TrainStepNFE:
    """Base of the exact forward/backward NFE of the first training iteration (seed 0)."""

    task = ""
    param_names = ["model"]
    unit = "NFE"

    def setup(self, model_name: str) -> None:
        torch.set_num_threads(1)
        _, meter = TRAIN_CASES[self.task](model_name).step()  # fresh: no warm-up
        self.forward_nfe = meter.forward
        self.backward_nfe = meter.backward

    def track_forward_nfe(self, model_name: str) -> int:
        """Vector-field calls of the forward solve."""
        return self.forward_nfe

    def track_backward_nfe(self, model_name: str) -> int:
        """Vector-field calls of the adjoint solve inside ``loss.backward()``."""
        return self.backward_nfe
