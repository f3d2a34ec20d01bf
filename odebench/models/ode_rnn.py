"""ODE-RNN hybrids (Rubanova et al. 2019) with any model of the family as the ODE part.

HBNODE paper Sec. 5.3/5.4 and NesterovNODE paper Sec. 5.3: between observations the joint
state ``z = [batch, order, n]`` flows with the model's dynamics over the observation gap, at
each observation an RNN cell jumps on the joint state with the input, and a dense layer reads
the hidden state h out.

The gap is handled as in both official codes: every flow integrates over the setup's interval
``t_span`` (HBNODE [0, 1], NesterovNODE [1, 2]) with the vector field multiplied by
``dt / time_scale`` per sample, i.e. over a duration ``dt / time_scale``.

Output alignment (``alignment``):

- ``after_flow`` (default, every model): ``z_i = jump(z, x_i)``, ``z <- flow(z_i, dt_i)``,
  prediction_i = readout(z), so prediction_i has seen x_0..x_i (HBNODE code ``rnn_out=False``).
- ``before_jump``: the official Walker NODE/ANODE baselines (``rnn_out=True``):
  ``z <- flow(s_i, dt_i)``, ``s_{i+1} = jump(z, x_i)``, prediction_i = readout(s_i), which has
  seen only x_0..x_{i-1}, so those baselines forecast one step further than the others.

Two behaviours of the official ``ODE_RNN_with_Grad_Listener`` (HeavyBallNODE ``base.py``
@17a3d5a from L251, NesterovNODE ``base.py`` likewise) are switches here:

- ``adjoint_scale="last"``: the code sets the gap scale as state of its one vector field
  (``self.ode.update(t[i])``, L281/L287; ``update(ones)`` before the forecast, L298), and
  ``odeint_adjoint`` calls that field again in the backward pass, so every step's adjoint solve
  uses the scale set last. Forward values are unchanged; gradients are not those of the
  forward map. ``"per_step"`` (default) keeps each solve's own scale: exact adjoint gradients.
  Only adjoint solves are affected (plain backprop records each step's scale).
- ``read_tail=True`` (``before_jump`` only): the code reads out every RNN state, the one after
  the last jump included, and drops it (``outlayer(h_rnn)[:-1]``), so the last flow's adjoint
  runs on a zero gradient: more backward NFE, the same gradient.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from odebench.models.base import Dynamics, solver_for
from odebench.models.nesterov import NesterovNODEDynamics
from odebench.solvers import SolverSpec, solve_with

ALIGNMENTS = ("after_flow", "before_jump")
ADJOINT_SCALES = ("per_step", "last")


class ScaledDynamics(nn.Module):
    """``scale[b] * dynamics(t, z)``: the per-sample gap scaling of the official ``update``."""

    def __init__(self, dynamics: Dynamics, scale: torch.Tensor):
        super().__init__()
        self.dynamics = dynamics
        self.set_scale(scale)

    def set_scale(self, scale: torch.Tensor) -> None:
        """Rebind the scale (later calls, the adjoint's included, see the new one)."""
        self.scale = scale.reshape(-1, *([1] * 2))  # [batch, 1, 1] against [batch, order, n]

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.scale * self.dynamics(t, z)


class LinearJump(nn.Module):
    """Plane-vibration RNN cell ``z + W_x x + sum_j W_j z_j`` (HBNODE App. E.4:
    ``input_{dn+k} -> fc_{dn}``; code: a residual linear jump, one bias per layer)."""

    def __init__(self, n: int, order: int, n_inputs: int):
        super().__init__()
        self.inputs = nn.Linear(n_inputs, order * n)
        self.blocks = nn.ModuleList(nn.Linear(n, order * n) for _ in range(order))

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        update = self.inputs(x)
        for j, block in enumerate(self.blocks):
            update = update + block(z[:, j])
        return z + update.reshape(z.shape)


class MLPJump(nn.Module):
    """Walker RNN cell ``input_{dn+k} -> fc_{h1} -> Tanh -> fc_{h2} -> Tanh -> fc_{dn}``
    (HBNODE App. E.5, NesterovNODE App. D.5); ``residual`` adds z (official code: the
    second-order models' cell is residual, the NODE/ANODE cell is not)."""

    def __init__(self, n: int, order: int, n_inputs: int, h1: int, h2: int, residual: bool):
        super().__init__()
        self.residual = residual
        self.net = nn.Sequential(nn.Linear(order * n + n_inputs, h1), nn.Tanh(),
                                 nn.Linear(h1, h2), nn.Tanh(), nn.Linear(h2, order * n))

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        out = self.net(torch.cat((z.flatten(1), x), dim=1)).reshape(z.shape)
        return z + out if self.residual else out


class WindowInitial(nn.Module):
    """z_0 from the whole flattened input window, ``Linear(T*k -> width)`` then zero
    padding up to ``order*n`` (HBNODE plane-vibration code ``ic``; ANODE: width 5)."""

    def __init__(self, window: int, n_inputs: int, n: int, order: int, width: int | None = None):
        super().__init__()
        self.n, self.order = n, order
        self.dense = nn.Linear(window * n_inputs, width or order * n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _padded(self.dense(x.flatten(1)), self.order, self.n)


class FirstObservationInitial(nn.Module):
    """z_0 = [Linear(k -> width)(x_0), 0, ...] (official Walker ANODE-RNN ``IC``)."""

    def __init__(self, n_inputs: int, n: int, order: int, width: int):
        super().__init__()
        self.n, self.order = n, order
        self.dense = nn.Linear(n_inputs, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _padded(self.dense(x[:, 0]), self.order, self.n)


def _padded(values: torch.Tensor, order: int, n: int) -> torch.Tensor:
    extra = order * n - values.shape[1]
    if extra < 0:
        raise ValueError(f"initial layer gives {values.shape[1]} values, more than the state "
                         f"size {order}*{n}")
    if extra:
        values = torch.cat((values, values.new_zeros(values.shape[0], extra)), dim=1)
    return values.reshape(values.shape[0], order, n)


class NesterovAlgebraic(nn.Module):
    """The official Nesterov ODE-RNN's ``calc_algebraic_factor`` after every flow:
    ``(x, m) -> (h, h') = (k(T) x, k(T) (m - c(T) h))`` with r = 3, c(t) = (3/(2t) - 1/2)/k(t).

    ``skip_first_sample`` reproduces the code's bug: it splits dim 0 as if it were time, so
    batch element 0 keeps its untransformed state (NesterovNODE spec item 8).
    """

    def __init__(self, t_end: float, skip_first_sample: bool = True):
        super().__init__()
        self.t_end = float(t_end)
        self.skip_first_sample = skip_first_sample

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        t = torch.tensor(self.t_end, dtype=z.dtype, device=z.device)
        k = t.pow(-1.5) * torch.exp(t / 2)
        x, m = z[:, 0], z[:, 1]
        h = k * x
        dh = k * (m - (1.5 * t.sqrt() * torch.exp(-t / 2) - 0.5 / k) * h)
        out = torch.stack((h, dh), dim=1)
        if self.skip_first_sample:
            out = torch.cat((z[:1], out[1:]), dim=0)
        return out


class ODERNN(nn.Module):
    """``(times [B, T], x [B, T, k]) -> predictions [B, T, C]`` (see the module docstring).

    With ``forecast_len > 0`` (plane vibration) it returns ``(reconstruction, next_step,
    forecast)``: the read-out of each post-jump state (compared with x), the per-step
    predictions (compared with y) and the read-out at times 0..F-1 (raw steps) flowing on
    from the last state (HBNODE code ``multiforecast``). After a forward pass
    ``jump_states`` holds the post-jump states z_t that the adjoint-norm probe differentiates.
    """

    def __init__(self, dynamics: Dynamics, jump: nn.Module, output: nn.Module,
                 solver: SolverSpec, t_span: Sequence[float], initial: nn.Module | None = None,
                 alignment: str = "after_flow", time_scale: float = 1.0, forecast_len: int = 0,
                 after_flow: nn.Module | None = None, readout_position: bool = False,
                 adjoint_scale: str = "per_step", read_tail: bool = False):
        super().__init__()
        if alignment not in ALIGNMENTS:
            raise ValueError(f"unknown alignment {alignment!r}; valid: {', '.join(ALIGNMENTS)}")
        if adjoint_scale not in ADJOINT_SCALES:
            raise ValueError(f"unknown adjoint_scale {adjoint_scale!r}; valid: "
                             f"{', '.join(ADJOINT_SCALES)}")
        self.adjoint_scale = adjoint_scale
        self.read_tail = read_tail
        if not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
        self.dynamics = dynamics
        self.jump = jump
        self.output = output
        self.initial = initial
        self.after_flow = after_flow
        self.solver = solver
        self.alignment = alignment
        self.time_scale = float(time_scale)
        self.forecast_len = int(forecast_len)
        # The official Nesterov ODE-RNN already holds h in the first block after its
        # algebraic transform, so it reads z[:, 0] instead of sigma(k(T)) x.
        self.readout_position = readout_position
        self.register_buffer("t_span", torch.tensor([float(v) for v in t_span]),
                             persistent=False)
        self.jump_states: list[torch.Tensor] = []

    def _trajectory(self, z: torch.Tensor, scale: torch.Tensor, times: torch.Tensor,
                    shared: ScaledDynamics | None = None) -> torch.Tensor:
        """The solve from z at ``times`` with the field scaled by ``scale``: on a fresh field,
        or on ``shared`` with its scale rebound (``adjoint_scale="last"``)."""
        times = times.to(z.dtype)
        if shared is None:
            field = ScaledDynamics(self.dynamics, scale)
        else:
            shared.set_scale(scale)
            field = shared
        return solve_with(solver_for(self.solver, self.dynamics, times), field, z, times).ys

    def _flow(self, z: torch.Tensor, scale: torch.Tensor,
              shared: ScaledDynamics | None = None) -> torch.Tensor:
        """The state after one gap: the setup's interval with the field scaled by ``scale``."""
        return self._trajectory(z, scale, self.t_span, shared)[-1]

    def _after_flow(self, z: torch.Tensor) -> torch.Tensor:
        return z if self.after_flow is None else self.after_flow(z)

    def hidden(self, z: torch.Tensor) -> torch.Tensor:
        """The hidden state h the output layer reads from a state z."""
        if self.readout_position:
            return z[:, 0]
        return self.dynamics.readout(self.t_span[-1].to(z.dtype), z)

    def forward(self, inputs: tuple[torch.Tensor, torch.Tensor]):
        times, x = inputs
        if times.shape != x.shape[:2]:
            raise ValueError(f"times {tuple(times.shape)} do not match inputs "
                             f"{tuple(x.shape)} ([batch, steps] vs [batch, steps, channels])")
        batch, steps = times.shape
        scales = times.to(x.dtype) / self.time_scale
        order, n = self.dynamics.order, self._state_size()
        z = (self.initial(x) if self.initial is not None
             else x.new_zeros(batch, order, n))
        # adjoint_scale="last": one field for every solve of this pass (the code's self.ode)
        shared = (ScaledDynamics(self.dynamics, scales[:, 0])
                  if self.adjoint_scale == "last" else None)
        jumped, flowed = [], []
        if self.alignment == "after_flow":
            for i in range(steps):
                z = self.jump(z, x[:, i])
                jumped.append(z)
                z = self._after_flow(self._flow(z, scales[:, i], shared))
                flowed.append(z)
            next_step = self._read(flowed)
        else:
            for i in range(steps):
                jumped.append(z)
                z = self._after_flow(self._flow(z, scales[:, i], shared))
                z = self.jump(z, x[:, i])
            # read_tail: the code's outlayer(h_rnn)[:-1] also reads the unused last state
            next_step = (self._read([*jumped, z])[:, :-1] if self.read_tail
                         else self._read(jumped))
        self.jump_states = jumped
        if not self.forecast_len:
            return next_step
        ones = torch.ones(batch, dtype=x.dtype, device=x.device)
        if shared is not None:
            shared.set_scale(ones)  # base.py L298: update(ones) even without a forecast solve
        times_out = self.t_span[0].to(x.dtype) + torch.arange(
            self.forecast_len, dtype=x.dtype, device=x.device)
        forecast = (self._trajectory(z, ones, times_out, shared) if self.forecast_len > 1
                    else z.unsqueeze(0))
        return self._read(jumped), next_step, self._read(list(forecast.unbind(0)))

    def _read(self, states: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack([self.output(self.hidden(z)) for z in states], dim=1)

    def _state_size(self) -> int:
        return self.output.in_features


def is_nesterov(dynamics: Dynamics) -> bool:
    return isinstance(dynamics, NesterovNODEDynamics)
