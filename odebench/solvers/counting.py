"""Exact counts of vector-field evaluations, split into forward solve and backward pass."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

NO_ADJOINT_NOTE = (
    "adjoint=False: gradients flow by backpropagation through the solver's operations, "
    "so the backward pass evaluates the vector field 0 times"
)
ADJOINT_NOTE = "adjoint=True: backward NFE counts the evaluations of the adjoint solve"


@dataclass
class NFECounts:
    """Vector-field evaluations of one solve (or of everything a meter saw)."""

    forward: int = 0
    backward: int = 0
    adjoint: bool = False

    @property
    def backward_note(self) -> str:
        """Why the backward count is what it is (0 without adjoint by construction)."""
        return ADJOINT_NOTE if self.adjoint else NO_ADJOINT_NOTE

    def reset(self) -> None:
        self.forward = 0
        self.backward = 0


class NFEMeter(NFECounts):
    """Sums the counts of every solve started while it is active (see :func:`count_nfe`).

    A meter captured by a solve keeps counting that solve's backward evaluations even after
    the ``with`` block has closed, so a trainer opens one meter per iteration around both
    the forward pass and ``loss.backward()``.
    """


_ACTIVE_METERS: contextvars.ContextVar[tuple[NFEMeter, ...]] = contextvars.ContextVar(
    "odebench_active_nfe_meters", default=()
)


@contextlib.contextmanager
def count_nfe(meter: NFEMeter | None = None) -> Iterator[NFEMeter]:
    """Open a meter that sums the NFE of every solve started inside the block.

    Meters nest: an outer meter also sees the solves counted by an inner one.
    """
    meter = meter if meter is not None else NFEMeter()
    token = _ACTIVE_METERS.set(_ACTIVE_METERS.get() + (meter,))
    try:
        yield meter
    finally:
        _ACTIVE_METERS.reset(token)


def active_meters() -> tuple[NFEMeter, ...]:
    return _ACTIVE_METERS.get()


def add_forward_evaluations(count: int) -> None:
    """Count ``count`` field evaluations of an explicit fixed-step loop that does not go
    through :func:`odebench.solvers.solve` (the ODEtoODE flows) as forward NFE in every active
    meter; its backward pass is backpropagation, 0 evaluations."""
    for meter in _ACTIVE_METERS.get():
        meter.forward += count


class CountingField:
    """Wraps a vector field ``f(t, y)`` and counts its calls by phase.

    The phase is ``"forward"`` while the forward solve runs and ``"backward"`` afterwards,
    so any later call (the adjoint solve inside ``loss.backward()``) is a backward NFE.
    A plain callable (not an ``nn.Module``) keeps the per-call cost to one attribute check;
    the solver passes the field's parameters to the adjoint explicitly.
    """

    __slots__ = ("field", "counts", "meters", "phase")

    def __init__(self, field: Callable, counts: NFECounts, meters: tuple[NFEMeter, ...]):
        self.field = field
        self.counts = counts
        self.meters = meters
        self.phase = "forward"

    def __call__(self, t: torch.Tensor, y):
        if self.phase == "forward":
            self.counts.forward += 1
            for meter in self.meters:
                meter.forward += 1
        else:
            self.counts.backward += 1
            for meter in self.meters:
                meter.backward += 1
        return self.field(t, y)
