"""The solver door: accuracy on closed forms, adjoint = backprop, exact NFE counts."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from odebench.solvers import METHODS, SolverConfigError, count_nfe, solve


class Decay(nn.Module):
    """dy/dt = -k y, with an independent call counter."""

    def __init__(self, k: float = 0.7):
        super().__init__()
        self.k = nn.Parameter(torch.tensor(k, dtype=torch.float64))
        self.calls = 0

    def forward(self, t, y):
        self.calls += 1
        return -self.k * y


class Oscillator(nn.Module):
    """x' = v, v' = -w^2 x on a tuple state."""

    def __init__(self, omega: float = 2.0):
        super().__init__()
        self.omega = omega
        self.calls = 0

    def forward(self, t, state):
        self.calls += 1
        x, v = state
        return v, -self.omega ** 2 * x


class MLP(nn.Module):
    def __init__(self, dim: int = 3):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, 8), nn.Tanh(), nn.Linear(8, dim)).double()
        self.calls = 0

    def forward(self, t, y):
        self.calls += 1
        return self.net(y) * torch.cos(t)


@pytest.mark.parametrize("adjoint", [False, True])
def test_exponential_decay_matches_closed_form_on_a_grid(adjoint):
    y0 = torch.tensor([1.0, -2.0], dtype=torch.float64)
    t = torch.linspace(0, 3, 7, dtype=torch.float64)
    solution = solve(Decay(0.7), y0, t, rtol=1e-9, atol=1e-9, adjoint=adjoint)
    exact = y0[None] * torch.exp(-0.7 * t)[:, None]
    assert torch.allclose(solution.ys, exact, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("method", ["dopri8", "bosh3"])
def test_other_adaptive_methods_reach_the_closed_form(method):
    y0 = torch.tensor([1.0, -2.0], dtype=torch.float64)
    solution = solve(Decay(0.7), y0, [0.0, 3.0], method=method, rtol=1e-9, atol=1e-9,
                     adjoint=False)
    exact = y0 * math.exp(-0.7 * 3.0)
    assert torch.allclose(solution.ys[-1].detach(), exact, rtol=1e-5)


def test_fixed_step_rk4_matches_closed_form():
    y0 = torch.tensor([1.0], dtype=torch.float64)
    solution = solve(Decay(1.0), y0, [0.0, 1.0], method="rk4", options={"step_size": 0.01},
                     adjoint=False)
    assert abs(float(solution.ys[-1].detach()) - math.exp(-1.0)) < 1e-9
    assert solution.nfe.forward == 4 * 100  # four stages per step, 100 steps


def test_harmonic_oscillator_tuple_state_matches_closed_form():
    field = Oscillator(2.0)
    x0 = torch.tensor([1.0, 0.5], dtype=torch.float64)
    v0 = torch.tensor([0.0, 1.0], dtype=torch.float64)
    t = torch.linspace(0, 2 * math.pi, 9, dtype=torch.float64)
    xs, vs = solve(field, (x0, v0), t, rtol=1e-10, atol=1e-10, adjoint=False).ys
    w = 2.0
    exact_x = x0 * torch.cos(w * t)[:, None] + v0 / w * torch.sin(w * t)[:, None]
    exact_v = -x0 * w * torch.sin(w * t)[:, None] + v0 * torch.cos(w * t)[:, None]
    assert torch.allclose(xs, exact_x, atol=1e-8)
    assert torch.allclose(vs, exact_v, atol=1e-8)


def _gradients(adjoint: bool):
    torch.manual_seed(3)
    field = MLP()
    y0 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.0, 0.5, 1.5], dtype=torch.float64)
    solution = solve(field, y0, t, rtol=1e-11, atol=1e-11, adjoint=adjoint)
    loss = (solution.ys[1] ** 2).sum() + solution.ys[-1].sin().sum()
    loss.backward()
    return [y0.grad.clone()] + [p.grad.clone() for p in field.parameters()], solution.nfe


def test_adjoint_gradients_equal_backprop_gradients():
    backprop, _ = _gradients(adjoint=False)
    adjoint, _ = _gradients(adjoint=True)
    for expected, actual in zip(backprop, adjoint, strict=True):
        relative = (actual - expected).norm() / expected.norm()
        assert relative <= 1e-6, float(relative)


def test_forward_nfe_equals_independent_counter_and_backward_counts_by_mode():
    for adjoint in (False, True):
        field = MLP()
        y0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
        solution = solve(field, y0, [0.0, 1.0], rtol=1e-6, atol=1e-6, adjoint=adjoint)
        assert solution.nfe.forward == field.calls > 0
        calls_before = field.calls
        solution.ys[-1].sum().backward()
        assert solution.nfe.backward == field.calls - calls_before
        if adjoint:
            assert solution.nfe.backward > 0
        else:
            assert solution.nfe.backward == 0
            assert "backpropagation" in solution.nfe.backward_note


def test_meter_sums_nested_solves_and_resets_per_iteration():
    field = MLP()
    counts = []
    for _ in range(2):  # two "iterations", each an RNN-like loop of three solves
        with count_nfe() as outer:
            y = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
            per_solve = []
            for _ in range(3):
                with count_nfe() as inner:
                    solution = solve(field, y, [0.0, 0.3], rtol=1e-6, atol=1e-6, adjoint=True)
                y = solution.ys[-1]
                per_solve.append(solution.nfe)
                assert inner.forward == solution.nfe.forward
            y.sum().backward()
        assert outer.forward == sum(n.forward for n in per_solve)
        assert outer.backward == sum(n.backward for n in per_solve) > 0
        counts.append((outer.forward, outer.backward))
    assert all(f < 200 for f, _ in counts)  # a fresh meter per iteration: no carry-over


def test_plain_function_field_with_explicit_adjoint_params():
    weight = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    y0 = torch.ones(2, dtype=torch.float64)
    solution = solve(lambda t, y: -weight * y, y0, [0.0, 1.0], adjoint=True,
                     adjoint_params=(weight,))
    solution.ys[-1].sum().backward()
    assert weight.grad is not None and solution.nfe.backward > 0
    expected = -2 * math.exp(-0.3)  # d/dw sum(exp(-w)) over two entries
    assert abs(float(weight.grad) - expected) < 1e-5


@pytest.mark.parametrize("kwargs,needle", [
    ({"method": "dopri6"}, "dopri5"),
    ({"rtol": -1e-3}, "rtol"),
    ({"atol": float("nan")}, "atol"),
    ({"rtol": "1e-3"}, "rtol"),
    ({"method": "euler", "options": {"step_size": 0}}, "step_size"),
])
def test_invalid_settings_are_named(kwargs, needle):
    with pytest.raises(SolverConfigError, match=needle):
        solve(Decay(), torch.ones(1, dtype=torch.float64), [0.0, 1.0], **kwargs)


def test_methods_list_torchdiffeq_solvers():
    assert {"dopri5", "rk4", "euler", "dopri8", "bosh3"} <= set(METHODS)


def test_method_names_are_torchdiffeqs_own():
    """The door lists torchdiffeq's solver names without importing it; they must agree."""
    from torchdiffeq._impl.odeint import SOLVERS

    from odebench.solvers import METHODS

    assert set(METHODS) == set(SOLVERS)


def test_training_job_imports_leave_out_other_tasks_pandas_and_torchdiffeq():
    """A point-cloud job loads its own task only: no pandas (records are written with csv), no
    scipy-backed loaders of other data sets, no torchdiffeq on the default lean backend."""
    import subprocess
    import sys

    code = ("import sys; from odebench.tasks.run import experiment_task; "
            "experiment_task({'experiments': {'pointcloud': {}}}, 'pointcloud'); "
            "import odebench.tasks.trainer; "
            "print(sorted(m for m in ('pandas', 'torchdiffeq', 'scipy.ndimage', "
            "'odebench.tasks.rl', 'odebench.data.cifar10') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
