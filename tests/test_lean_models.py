"""Equality of the lean and torchdiffeq backends on every model of the project.

For each task's models (point cloud, MNIST/CIFAR10 conv fields, the ODE-RNN hybrids of plane
vibration and Walker2D, Silverbox), in float64, with the adjoint and with backpropagation:
the same forward and backward NFE, bit-identical outputs, bit-identical adjoint gradients, and
backpropagated gradients equal to round-off (1e-10 relative: autograd sums the same terms
through graphs built differently), also where torchdiffeq's autograd differentiates its
step-size arithmetic (the first step size, the ``step_t`` clamps of the paper-form
NesterovNODE / GNesterovNODE). Where torchdiffeq gives up on a solve, lean gives up with the
same message.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from odebench.data.pointcloud import train_test_circles
from odebench.models.defaults import sized_models, task_models
from odebench.models.images import build_image_model
from odebench.models.pointcloud import build_pointcloud_model
from odebench.models.sequence_models import SEQUENCE_TASKS, build_ode_rnn, sequence_models
from odebench.models.silverbox import build_silverbox_model
from odebench.solvers import SolverSpec, count_nfe
from odebench.solvers.lean import SolverBlowupError

TORCHDIFFEQ = SolverSpec(method="dopri5", rtol=1e-5, atol=1e-5, adjoint=True,
                         backend="torchdiffeq")
SEQUENCE_SETUPS = {"plane_vibration": ("hbnode2021",), "walker2d": ("hbnode2021", "nesterov2022")}


def _float64(build):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        return build()
    finally:
        torch.set_default_dtype(previous)


def _outputs(out) -> torch.Tensor:
    parts = out if isinstance(out, tuple) else (out,)
    return torch.cat([p.reshape(-1) for p in parts])


def _run(model, spec: SolverSpec, inputs):
    model.solver = spec
    model.zero_grad(set_to_none=True)
    with count_nfe() as meter:
        out = _outputs(model(inputs))
        (out.sin() * torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype)).sum().backward()
    grads = [p.grad for p in model.parameters()]
    return out.detach(), (meter.forward, meter.backward), grads


def assert_backends_agree(model, inputs, adjoint: bool, tol: float = 1e-5) -> None:
    model.eval()  # fixed weights between the two runs (spectral norm, dropout)
    reference = replace(TORCHDIFFEQ, adjoint=adjoint, rtol=tol, atol=tol)
    try:
        out_ref, nfe_ref, grad_ref = _run(model, reference, inputs)
    except AssertionError as error:  # torchdiffeq gave up: lean must give up the same way
        with pytest.raises(SolverBlowupError) as lean_error:
            _run(model, replace(reference, backend="lean"), inputs)
        assert str(lean_error.value) == str(error)
        return
    out, nfe, grad = _run(model, replace(reference, backend="lean"), inputs)
    assert nfe == nfe_ref and nfe[0] > 0, (nfe, nfe_ref)
    assert nfe[1] > 0 if adjoint else nfe[1] == 0
    assert torch.equal(out, out_ref), (out - out_ref).abs().max()
    for a, b in zip(grad, grad_ref, strict=True):
        assert (a is None) == (b is None)
        if a is None:
            continue
        if adjoint:
            assert torch.equal(a, b), (a - b).abs().max()
        else:  # autograd sums the same terms through differently built graphs: round-off
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


POINTCLOUD = [(setup, name) for setup in ("nesterov2022", "hbnode2021")
              for name in [*task_models(setup, "pointcloud"), *sized_models(setup, "pointcloud")]]


@pytest.mark.parametrize(("setup", "name"), POINTCLOUD)
def test_pointcloud_models_with_the_adjoint(setup, name):
    model = _float64(lambda: build_pointcloud_model(setup, name, TORCHDIFFEQ))
    (x, _), _ = train_test_circles(16, 4, 0)
    assert_backends_agree(model, x, adjoint=True)


IMAGES = [(setup, task, name) for setup in ("hbnode2021", "nesterov2022")
          for task in ("mnist", "cifar10")
          for name in [*task_models(setup, task), *sized_models(setup, task)]]
IMAGE_SHAPES = {"mnist": (1, 5, 5), "cifar10": (3, 5, 5)}


@pytest.mark.parametrize("adjoint", [True, False])
@pytest.mark.parametrize(("setup", "task", "name"), IMAGES)
def test_image_models(setup, task, name, adjoint):
    shape = IMAGE_SHAPES[task]
    model = _float64(lambda: build_image_model(setup, task, name, TORCHDIFFEQ,
                                               image_shape=shape))
    # A fiftieth of the depth: the sized structured conv fields are stiff at initialisation
    # (gradnode on MNIST: 5,744 evaluations over [0, 1] even at 1e-3).
    model.t_span = model.t_span * 0.02
    x = torch.randn(2, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert_backends_agree(model, x, adjoint)


SEQUENCES = [(setup, task, name, variant) for task in SEQUENCE_TASKS
             for setup in SEQUENCE_SETUPS[task] for name in sequence_models(setup, task)
             for variant in ("paper", "official_code")]


@pytest.mark.parametrize("adjoint", [True, False])
@pytest.mark.parametrize(("setup", "task", "name", "variant"), SEQUENCES)
def test_ode_rnn_models(setup, task, name, variant, adjoint):
    forecast = 3 if task == "plane_vibration" else 0
    model = _float64(lambda: build_ode_rnn(setup, task, name, TORCHDIFFEQ, window=3,
                                           forecast_len=forecast, variant=variant))
    k = 5 if task == "plane_vibration" else 17
    g = torch.Generator().manual_seed(2)
    times = torch.tensor([[1.0, 2.0, 1.0], [1.0, 1.0, 3.0]], dtype=torch.float64)
    x = torch.randn(2, 3, k, dtype=torch.float64, generator=g)
    assert_backends_agree(model, (times, x), adjoint)


SILVERBOX = [(setup, name) for setup in ("hbnode2021", "nesterov2022")
             for name in task_models(setup, "silverbox")]


class _Trajectory(torch.nn.Module):
    """A Silverbox model's h over its first evaluation times (the task solves segment by
    segment; a whole 0..63 trajectory under backprop is needlessly large for a test)."""

    def __init__(self, model, steps: int):
        super().__init__()
        self.model, self.steps = model, steps

    @property
    def solver(self):
        return self.model.solver

    @solver.setter
    def solver(self, spec):
        self.model.solver = spec

    def forward(self, x):
        return self.model.h_trajectory(x, self.model.evaluation_times[:self.steps])


@pytest.mark.parametrize(("setup", "name"), SILVERBOX)
def test_silverbox_models(setup, name):
    model = _float64(lambda: build_silverbox_model(
        setup, name, TORCHDIFFEQ, lambda t: torch.sin(0.3 * t).reshape(1, 1)))
    x = torch.tensor([[0.2], [-0.1]], dtype=torch.float64)
    assert_backends_agree(_Trajectory(model, 4), x, adjoint=False)
