"""The one door to ODE solving: :func:`solve` over the lean solver or torchdiffeq, with exact
NFE counts."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from odebench.solvers.counting import CountingField, NFECounts, active_meters
from odebench.solvers.lean import LEAN_METHODS, lean_odeint
from odebench.solvers.lean_adjoint import lean_odeint_adjoint

State = torch.Tensor | tuple[torch.Tensor, ...]


# torchdiffeq 0.2.5's solver names (its private SOLVERS table; tests/test_solvers.py checks
# that they agree). Written out so that importing the solver door does not import torchdiffeq
# (and scipy with it): jobs on the default lean backend never load it.
METHODS: tuple[str, ...] = ("adaptive_heun", "bosh3", "dopri5", "dopri8", "euler",
                            "explicit_adams", "fehlberg2", "fixed_adams", "heun2", "heun3",
                            "implicit_adams", "midpoint", "rk4", "scipy_solver")
FIXED_STEP_METHODS = frozenset({"euler", "midpoint", "rk4", "heun2", "heun3",
                                "explicit_adams", "implicit_adams"})


BACKENDS = ("torchdiffeq", "lean")


class SolverConfigError(ValueError):
    """A solver setting is invalid; the message names the setting and the valid choices."""


@dataclass(frozen=True)
class SolverSpec:
    """Everything that selects a numerical solve, validated on construction."""

    method: str = "dopri5"
    rtol: float = 1e-7
    atol: float = 1e-7
    adjoint: bool = True
    options: dict[str, Any] | None = None
    # lean (odebench.solvers.lean: torchdiffeq's steps, NFE and outputs bit for bit on a
    # tensor state at less per-step overhead; its adjoint takes torchdiffeq's backward steps,
    # odebench.solvers.lean_adjoint) or torchdiffeq. None: lean for the methods it has
    # (dopri5, rk4, euler) on a tensor state, torchdiffeq for the others and tuple states.
    backend: str | None = None
    backend_chosen: bool = dataclasses.field(default=True, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.backend is None:
            object.__setattr__(self, "backend_chosen", False)
            object.__setattr__(self, "backend",
                               "lean" if self.method in LEAN_METHODS else "torchdiffeq")
        if self.backend not in BACKENDS:
            raise SolverConfigError(f"unknown solver backend {self.backend!r}; valid: "
                                    f"{', '.join(BACKENDS)}")
        if self.backend == "lean":
            if self.method not in LEAN_METHODS:
                raise SolverConfigError(f"backend lean solves {', '.join(LEAN_METHODS)}, not "
                                        f"{self.method!r}; set solver_backend: torchdiffeq "
                                        "(SolverSpec(backend='torchdiffeq'))")
        if self.method not in METHODS:
            raise SolverConfigError(
                f"unknown solver method {self.method!r}; valid: {', '.join(METHODS)}"
            )
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SolverConfigError(f"{name} must be a positive number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise SolverConfigError(f"{name} must be a positive finite number, got {value!r}")
        step = (self.options or {}).get("step_size")
        if step is not None and not (isinstance(step, (int, float)) and step > 0):
            raise SolverConfigError(f"options.step_size must be a positive number, got {step!r}")


@dataclass
class Solution:
    """The solution at the requested times and the NFE counts of this solve.

    ``nfe.backward`` keeps growing while ``loss.backward()`` runs the adjoint solve, so read
    it after the backward pass.
    """

    ys: State
    nfe: NFECounts


def solve(
    field: Callable[[torch.Tensor, State], State],
    y0: State,
    t: torch.Tensor | Sequence[float],
    method: str = "dopri5",
    rtol: float = 1e-7,
    atol: float = 1e-7,
    options: dict[str, Any] | None = None,
    adjoint: bool = True,
    adjoint_params: Sequence[torch.Tensor] | None = None,
    backend: str | None = None,
) -> Solution:
    """Solve ``dy/dt = field(t, y)`` from ``y0`` on the grid ``t`` and count evaluations.

    ``y0`` is a tensor or a tuple of tensors; ``t`` is converted to ``y0``'s dtype and
    device. ``backend`` is ``"lean"`` (the default for dopri5, rk4 and euler) or
    ``"torchdiffeq"`` (the default for its other methods); both take the same steps. With
    ``adjoint=True`` gradients come from the adjoint solve, whose evaluations are counted as
    backward NFE; with plain backprop the backward NFE is 0
    (``Solution.nfe.backward_note`` says why). Every meter opened with
    :func:`~odebench.solvers.counting.count_nfe` around the call also receives the counts.
    """
    spec = SolverSpec(method=method, rtol=rtol, atol=atol, adjoint=adjoint, options=options,
                      backend=backend)
    return solve_with(spec, field, y0, t, adjoint_params=adjoint_params)


def solve_with(
    spec: SolverSpec,
    field: Callable[[torch.Tensor, State], State],
    y0: State,
    t: torch.Tensor | Sequence[float],
    adjoint_params: Sequence[torch.Tensor] | None = None,
) -> Solution:
    """:func:`solve` with a prevalidated :class:`SolverSpec` (the hot path of training)."""
    reference = y0[0] if isinstance(y0, tuple) else y0
    t = torch.as_tensor(t, dtype=reference.dtype, device=reference.device)
    counts = NFECounts(adjoint=spec.adjoint)
    counted = CountingField(field, counts, active_meters())
    kwargs: dict[str, Any] = dict(rtol=spec.rtol, atol=spec.atol, method=spec.method,
                                  options=dict(spec.options) if spec.options else None)
    if spec.adjoint and adjoint_params is None:
        adjoint_params = tuple(field.parameters()) if isinstance(field, nn.Module) else ()
    try:
        if spec.backend == "lean" and isinstance(y0, tuple) and not spec.backend_chosen:
            spec = replace(spec, backend="torchdiffeq")  # the default: lean has no tuples
        if spec.backend == "lean":
            if isinstance(y0, tuple):
                raise SolverConfigError("backend lean solves a tensor state, not a tuple: use "
                                        "backend: torchdiffeq")
            if spec.adjoint:
                ys = lean_odeint_adjoint(counted, y0, t, adjoint_params=tuple(adjoint_params),
                                         **kwargs)
            else:
                ys = lean_odeint(counted, y0, t, **kwargs)
        else:
            import torchdiffeq  # only on this backend (it imports scipy)

            if spec.adjoint:
                ys = torchdiffeq.odeint_adjoint(counted, y0, t,
                                                adjoint_params=tuple(adjoint_params), **kwargs)
            else:
                ys = torchdiffeq.odeint(counted, y0, t, **kwargs)
    finally:
        counted.phase = "backward"
    return Solution(ys=ys, nfe=counts)
