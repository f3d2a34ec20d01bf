"""ODEtoODE flow blocks on R^n (Choromanski et al. 2020, "An Ode to an ODE", Eqs. 2, 5, 6).

The nested system ``x' = f(W_t x + b)``, ``W' = W b_psi(t, W)`` with b_psi skew and W_0 in O(n)
is discretised with step eta on [0, T] (N = T / eta steps) as in Eqs. 5-6, the ``G -> W`` typo
of Eq. 6 fixed::

    W_i = W_{i-1} exp(eta b_psi(t_{i-1}, W_{i-1})),   x_i = x_{i-1} + eta f(W_i x_{i-1} + b)

Step i uses the already-updated W_i (an explicit loop; torchdiffeq's Euler would use W_{i-1}).
The W-sequence depends on the parameters only, so :meth:`WeightFlow.weights` computes it once
per call and every sample of a batch reuses it. :func:`iso_weight_sequence` is the same
recurrence as a batched function of (Q, N, W_0), for many parameter vectors at once (the ES
policies of :mod:`odebench.rl`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from odebench.models.fields import activation as make_activation
from odebench.solvers.counting import add_forward_evaluations
from odebench.solvers.lie import (
    W_FACTORS,
    WFactor,
    bracket,
    check_orthogonal,
    exp_factor,
    haar_orthogonal,
    skew,
    steps_for,
    sym,
)

DEFAULT_T = 1.0  # horizon T = 1 (Eq. 5; Sec. 5.1.2: integration on [0, 1])
DEFAULT_ETA = 0.01  # eta = 0.01 for the supervised ODEtoODE runs (Sec. 5.2.2)
DEFAULT_ACTIVATION = "abs"  # f = |x| (Sec. 5.1.1)
GATE_INPUTS = ("time", "constant")
W0_MODES = ("learned", "haar")

Generator = Callable[[float, torch.Tensor], torch.Tensor]


def iso_generator(q: torch.Tensor, n: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``b_iso(W) = [W^T Q W, N]`` (Sec. 3.1), batched over leading axes; skew-symmetric only
    when Q and N are symmetric."""
    return bracket(w.mT @ q @ w, n)


def weight_sequence(generator: Generator, w0: torch.Tensor, steps: int, eta: float,
                    factor: WFactor = exp_factor) -> torch.Tensor:
    """``W_i = W_{i-1} factor(b(t_{i-1}, W_{i-1}), eta)``, i = 1..N (Eq. 6, ``G -> W`` fixed).

    ``w0`` is ``[..., n, n]`` (a batch of initial matrices); returns ``W_1..W_N`` as
    ``[..., N, n, n]``. With ``exp_factor`` each step is one batched matrix exponential.
    """
    w, sequence = w0, []
    for i in range(steps):
        w = w @ factor(generator(i * eta, w), eta)
        sequence.append(w)
    return torch.stack(sequence, dim=-3)


def iso_weight_sequence(q: torch.Tensor, n: torch.Tensor, w0: torch.Tensor, steps: int,
                        eta: float, factor: WFactor = exp_factor) -> torch.Tensor:
    """The ISO-ODEtoODE W-sequence (Eq. 6) for a batch: ``q``, ``n``, ``w0`` ``[..., h, h]``
    (broadcasting), result ``[..., N, h, h]``.

    Computes literally what it is given: for non-symmetric Q, N (ambient ES perturbations,
    Sec. 4.2) the generator is not skew and W leaves O(h); nothing is projected.
    """
    return weight_sequence(lambda _t, w: iso_generator(q, n, w), w0, steps, eta, factor)


class WeightFlow(nn.Module):
    """Explicit-Euler flow ``x_i = x_{i-1} + eta f(W_i x_{i-1} + b_i)``, i = 1..N, whose
    ``W_1..W_N`` (and biases) come from the parameters alone; subclasses define
    :meth:`weights` and, if the bias varies with the step, :meth:`biases`.

    ``x`` has shape ``[batch, width]``; ``W x`` is ``x @ W^T``.
    """

    def __init__(self, width: int, T: float = DEFAULT_T, eta: float = DEFAULT_ETA,
                 activation: str = DEFAULT_ACTIVATION, bias: bool = True):
        super().__init__()
        self.width, self.T, self.eta = width, float(T), float(eta)
        self.steps = steps_for(self.T, self.eta)
        self.activation = make_activation(activation)
        # b = 0 at initialisation (the paper leaves the init of b unspecified).
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None

    @property
    def nfe(self) -> int:
        """Evaluations of f per forward pass (N = T / eta)."""
        return self.steps

    def step_times(self) -> torch.Tensor:
        """``t_0..t_{N-1}`` (``t_i = i eta``): the left end of each step, shape ``[N]``."""
        reference = next(self.parameters(), None)
        dtype = reference.dtype if reference is not None else torch.get_default_dtype()
        device = reference.device if reference is not None else None
        return torch.arange(self.steps, dtype=dtype, device=device) * self.eta

    def weights(self) -> torch.Tensor:
        """``W_1..W_N``, shape ``[N, width, width]``, from the parameters only."""
        raise NotImplementedError

    def biases(self) -> torch.Tensor | None:
        """The bias of each step, shape ``[N, width]`` (a view for a constant bias), or None."""
        return None if self.bias is None else self.bias.expand(self.steps, self.width)

    def trajectory(self, x: torch.Tensor, weights: torch.Tensor | None = None,
                   ) -> list[torch.Tensor]:
        """``[x_0, ..., x_N]``, every state in the autograd graph (for gradient ratios).

        The N evaluations of f count as forward NFE in any open NFE meter."""
        weights = self.weights() if weights is None else weights
        biases = self.biases()
        add_forward_evaluations(self.steps)
        states = [x]
        for i in range(self.steps):
            z = x @ weights[i].mT
            if biases is not None:
                z = z + biases[i]
            x = x + self.eta * self.activation(z)
            states.append(x)
        return states

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """``x_N`` for ``x_0 = x``; ``weights`` (from :meth:`weights`) skips recomputing them."""
        return self.trajectory(x, weights)[-1]

    def forward_per_sample(self, x: torch.Tensor) -> torch.Tensor:
        """As :meth:`forward`, but recomputing the W-sequence for every sample (benchmark
        baseline only: the result is the same, the cost N matrix flows per sample)."""
        return torch.cat([self.forward(x[j:j + 1]) for j in range(x.shape[0])])


class IsoGenerator(nn.Module):
    """ISO-ODEtoODE generator ``b(W) = [W^T Q W, N]`` with learnable symmetric Q, N (Sec. 3.1).

    ``Q = sym(P_Q)``, ``N = sym(P_N)``. Init: P ~ N(0, 1/n) entrywise, so ||Q||_2, ||N||_2 are
    about sqrt(2) for every n (the paper does not give the init). Autonomous: t is ignored.
    """

    uses_w = True

    def __init__(self, n: int, init_std: float | None = None):
        super().__init__()
        self.dim = n
        std = 1.0 / math.sqrt(n) if init_std is None else init_std  # unspecified by the paper
        self.p_q = nn.Parameter(torch.randn(n, n) * std)
        self.p_n = nn.Parameter(torch.randn(n, n) * std)

    def q_matrix(self) -> torch.Tensor:
        return sym(self.p_q)

    def n_matrix(self) -> torch.Tensor:
        return sym(self.p_n)

    def symmetric_pair(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Q, N)``."""
        return self.q_matrix(), self.n_matrix()

    def forward(self, t: float | torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        q, n = self.symmetric_pair()
        return iso_generator(q, n, w)


class GatedMatrices(nn.Module):
    """``sum_i a_i F_i(t)`` over k gates, unconstrained (shared by the gated ODEtoODE and the
    gated HyperNet).

    ``gate_input="time"`` (default): ``F_i(t) = A_i + t B_i``, i.e. ``Linear(1 -> n*n)`` on t
    (bias A_i, weight B_i); ``"constant"``: ``F_i = A_i``. The paper leaves the inputs and the
    architecture of F_i unspecified (Sec. 3.1). Init: A_i, B_i ~ N(0, 1/(4n)) entrywise, so
    ``||skew(A_i)||_2`` is about sqrt(2); gates ``a_i = 1/sqrt(k)``, so the scale of the sum
    does not depend on k (both unspecified).
    """

    def __init__(self, n: int, gates: int = 1, gate_input: str = "time"):
        super().__init__()
        if gates < 1:
            raise ValueError(f"gates must be >= 1, got {gates}")
        if gate_input not in GATE_INPUTS:
            raise ValueError(f"unknown gate_input {gate_input!r}; valid: {', '.join(GATE_INPUTS)}")
        self.dim, self.gate_input = n, gate_input
        std = 0.5 / math.sqrt(n)  # F_i init, unspecified by the paper
        self.gates = nn.Parameter(torch.full((gates,), 1.0 / math.sqrt(gates)))
        self.offsets = nn.Parameter(torch.randn(gates, n, n) * std)
        self.slopes = (nn.Parameter(torch.randn(gates, n, n) * std) if gate_input == "time"
                       else None)

    def forward(self, t: float | torch.Tensor) -> torch.Tensor:
        """Shape ``t.shape + (n, n)`` (``t`` a scalar or a tensor of times)."""
        total = torch.einsum("k,kij->ij", self.gates, self.offsets)
        t = torch.as_tensor(t, dtype=total.dtype, device=total.device)
        if self.slopes is None:
            return total.expand(*t.shape, self.dim, self.dim)
        slope = torch.einsum("k,kij->ij", self.gates, self.slopes)
        return total + t[..., None, None] * slope


class GatedGenerator(nn.Module):
    """Gated-ODEtoODE-k generator ``b(t) = sum_i a_i (F_i(t) - F_i(t)^T)`` (Sec. 3.1).

    Computed as ``skew(sum_i a_i F_i(t))`` (skew is linear). F_i see t only, not W (our
    reading; see :class:`GatedMatrices` for ``gate_input`` and the init), so the whole
    sequence of generators is evaluated in one batched call.
    """

    uses_w = False

    def __init__(self, n: int, gates: int = 1, gate_input: str = "time"):
        super().__init__()
        self.dim = n
        self.gated = GatedMatrices(n, gates, gate_input)

    def forward(self, t: float | torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
        return skew(self.gated(t))


class ODEtoODEFlow(WeightFlow):
    """The ODEtoODE block on R^width (Eqs. 2, 5, 6); see the module docstring.

    * ``generator``: :class:`IsoGenerator` or :class:`GatedGenerator` of size ``width``.
    * ``w0="learned"`` (default; W_0 is a trained parameter in the RL policy, Eq. 6):
      ``W_0 = H exp(skew(P))`` with H a fixed Haar buffer and P a parameter initialised to 0,
      so W_0 stays on O(n) under any optimiser. ``"haar"``: ``W_0 = H``, fixed (Sec. 3.1).
    * ``w0_matrix``: use this orthogonal matrix as H instead of a Haar sample (converted to
      the default dtype; ValueError naming ``w0`` if it is not square and orthogonal).
    * ``w_step``: ``"exp"`` (the paper's), ``"cayley"`` (ablation) or ``"euler"`` (naive).
    * ``bias``: the constant b of Eq. 5 (zero init).
    """

    def __init__(self, width: int, generator: nn.Module, T: float = DEFAULT_T,
                 eta: float = DEFAULT_ETA, activation: str = DEFAULT_ACTIVATION,
                 w0: str = "learned", w_step: str = "exp", bias: bool = True,
                 w0_matrix: torch.Tensor | None = None):
        super().__init__(width, T, eta, activation, bias)
        if getattr(generator, "dim", None) != width:
            raise ValueError(f"generator size {getattr(generator, 'dim', None)} != width {width}")
        if w0 not in W0_MODES:
            raise ValueError(f"unknown w0 {w0!r}; valid: {', '.join(W0_MODES)}")
        if w_step not in W_FACTORS:
            raise ValueError(f"unknown w_step {w_step!r}; valid: {', '.join(W_FACTORS)}")
        self.generator, self.w0_mode, self.w_step = generator, w0, w_step
        dtype = torch.get_default_dtype()
        if w0_matrix is None:
            base = haar_orthogonal(width, dtype=dtype)
        else:
            w0_matrix = torch.as_tensor(w0_matrix)
            check_orthogonal(w0_matrix, "w0")
            if w0_matrix.shape[0] != width:
                raise ValueError(f"w0 has size {w0_matrix.shape[0]}, the flow width is {width}")
            base = w0_matrix.detach().to(dtype).clone()
        self.register_buffer("w0_base", base)
        self.w0_log = nn.Parameter(torch.zeros(width, width)) if w0 == "learned" else None

    def initial_weight(self) -> torch.Tensor:
        """``W_0`` (orthogonal)."""
        if self.w0_log is None:
            return self.w0_base
        return self.w0_base @ torch.linalg.matrix_exp(skew(self.w0_log))

    def weights(self) -> torch.Tensor:
        factor, eta = W_FACTORS[self.w_step], self.eta
        w = self.initial_weight()
        if isinstance(self.generator, IsoGenerator):  # Q, N symmetrised once, not per step
            q, n = self.generator.symmetric_pair()
            return iso_weight_sequence(q, n, w, self.steps, eta, factor)
        if self.generator.uses_w:
            return weight_sequence(self.generator, w, self.steps, eta, factor)
        sequence = []  # b(t) does not see W: all N factors in one batched call
        for step_factor in factor(self.generator(self.step_times(), None), eta).unbind(0):
            w = w @ step_factor
            sequence.append(w)
        return torch.stack(sequence)
