"""The shape every model shares: initial state -> first-order system -> read-out -> head."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from odebench.solvers import FIXED_STEP_METHODS, NFECounts, SolverSpec, solve_with


@dataclass(frozen=True)
class FieldSpec:
    """What a task's builder asks a self-built family for (``ModelFamily.builds_field``).

    ``kind``: ``mlp`` (vector states ``[batch, n]``), ``conv`` (image states
    ``[batch, n, H, W]``) or ``linear`` (Silverbox: one linear layer on [h, V1(t)]);
    ``n``: state size per block; ``h``: hidden width (None on Silverbox);
    ``time_dependent``: whether the task's paper fields see t.
    """

    task: str
    kind: str
    n: int
    h: int | None
    time_dependent: bool = False


class UnsupportedFieldError(ValueError):
    """A self-built family that cannot be built for a task's kind of field."""


class Dynamics(nn.Module):
    """A first-order system on a state ``z`` of shape ``[batch, order, *features]``.

    ``z[:, 0]`` is the position (h, or x for NesterovNODE); further blocks are velocities or
    momenta. Subclasses implement :meth:`forward` and may override :meth:`readout`.
    """

    order: int = 1
    # True when adaptive solves must never step past either end of the integration interval
    # (the paper-form NesterovNODE, whose k(t) is singular at t = 0); a subclass may make it a
    # property (NesterovNODE's official-code form is solved without step_t, as its code is).
    stays_in_interval: bool = False

    def __init__(self, field: nn.Module):
        super().__init__()
        self.field = field

    def readout(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The hidden state h(t) the head sees (default: the position block)."""
        return z[:, 0]

    def solve_context(self) -> contextlib.AbstractContextManager:
        """Entered around every solve: a field whose weights are recomputed on access
        (spectral normalisation) computes them once per solve here, so that every
        evaluation of one solve sees the same field."""
        return contextlib.nullcontext()


class ZeroAugment(nn.Module):
    """NODE/ANODE initial state: the input padded with zero channels to ``n`` (dim 1)."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        extra = self.n - x.shape[1]
        if extra < 0:
            raise ValueError(f"input has {x.shape[1]} channels, more than the state size {self.n}")
        if extra:
            pad = x.new_zeros((x.shape[0], extra, *x.shape[2:]))
            x = torch.cat((x, pad), dim=1)
        return x.unsqueeze(1)


class LearnedVelocity(nn.Module):
    """Second-order initial state: ``cat(x, net(x))`` split into ``order`` blocks of ``n``.

    The net outputs ``order*n - c`` channels (HBNODE paper App. E: "concatenated with x,
    then split"), so h0 holds x plus learned channels and the last block is m0.
    """

    def __init__(self, net: nn.Module, n: int, order: int = 2):
        super().__init__()
        self.net = net
        self.n = n
        self.order = order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.cat((x, self.net(x)), dim=1)
        if z.shape[1] != self.order * self.n:
            raise ValueError(f"initial state has {z.shape[1]} channels, expected "
                             f"{self.order}*{self.n}")
        return z.reshape(z.shape[0], self.order, self.n, *z.shape[2:])


class ContinuousDepthModel(nn.Module):
    """``head(readout(ODESolve(dynamics, initial(x), t0 -> T)))`` through the solver door."""

    def __init__(self, initial: nn.Module, dynamics: Dynamics, head: nn.Module,
                 solver: SolverSpec, t_span: Sequence[float] = (0.0, 1.0)):
        super().__init__()
        self.initial = initial
        self.dynamics = dynamics
        self.head = head
        self.solver = solver
        self.register_buffer("t_span", torch.tensor(list(t_span)), persistent=False)
        self.last_nfe: NFECounts | None = None

    def integrate(self, x: torch.Tensor, times: torch.Tensor | None = None) -> torch.Tensor:
        """The state trajectory ``[len(times), batch, order, *features]``."""
        times = self.t_span if times is None else times
        with self.dynamics.solve_context():
            solution = solve_with(solver_for(self.solver, self.dynamics, times), self.dynamics,
                                  self.initial(x), times.to(x.dtype))
        self.last_nfe = solution.nfe
        return solution.ys

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """h(T): the read-out of the final state."""
        z_t = self.integrate(x)[-1]
        return self.dynamics.readout(self.t_span[-1].to(x.dtype), z_t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden(x))


def solver_for(spec: SolverSpec, dynamics: Dynamics, times: torch.Tensor) -> SolverSpec:
    """``spec``, plus torchdiffeq's ``step_t`` at the interval ends when
    ``dynamics.stays_in_interval`` (an adaptive step would otherwise overshoot the end and
    interpolate back, as the official codes' plain dopri5 solves do)."""
    if not dynamics.stays_in_interval or spec.method in FIXED_STEP_METHODS:
        return spec
    ends = torch.stack((times[0], times[-1])).detach().to("cpu", torch.float64)
    return replace(spec, options={**(spec.options or {}), "step_t": ends})


def count_parameters(model: nn.Module) -> int:
    """Every registered parameter, trainable or frozen (as the papers count them)."""
    return sum(p.numel() for p in model.parameters())
