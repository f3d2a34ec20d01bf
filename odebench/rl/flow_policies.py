"""The ODE policies of the RL experiments (ODEtoODE Sec. 5.1.2), batched over P parameter
vectors. All integrate on [0, T] = [0, 1] with N = T / eta = 25 explicit-Euler steps, and f is
the paper's sigma(x) = |x| (Sec. 5.1.1) unless ``activation`` says otherwise.

ODEtoODE, NANODE and HyperNet share the main flow ``x_i = x_{i-1} + eta f(W_i x_{i-1} [+ b])``
whose weights ``W_1..W_N`` depend on the parameters only: :meth:`prepare` computes them once
per parameter vector (``[N, P, h, h]``), :meth:`act` only multiplies. The bias b is in
ODEtoODE's Eq. 5 only; NANODE and HyperNet follow ``dx/dt = sigma(W_t x_t)`` (Sec. 5.1.2) and
take ``bias: true`` as a switch. BaseODE has no weight sequence (``x' = f(x)``, f an MLP).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from odebench.models.odetoode import iso_weight_sequence
from odebench.rl.params import ParamSpec
from odebench.rl.policy_base import (
    DEFAULT_ETA,
    DEFAULT_HIDDEN,
    DEFAULT_T,
    PAPER_ACTIVATION,
    EulerFlowPolicy,
    check_choice,
    check_flag,
    haar,
    lecun_normal,
    matvec,
    take,
)

NANODE_DEGREE = 5  # trigonometric-polynomial degree d = 5 in all RL runs (Sec. 5.1.2)
HYPERNET_HIDDEN = 16  # h = 16 for HyperNet on every task, Humanoid included (Sec. 5.1.2)
HYPERNET_DYN_HIDDEN = 16  # its dynamics net: two hidden layers of size s = 16 (Sec. 5.1.2)
# NANODE's W in Euler step i: at t_i, the step's own time point (W_i in Eq. 5, the paper's
# form), or at t_{i-1} (the left end, explicit Euler for a non-autonomous ODE; a switch).
W_TIMES = ("current", "previous")
# Not from the paper: torch threads for the batched matrix exponentials. Measured on the 2-core
# machine (P = 200, h = 16): 170 ms per exponential with 2 threads, 3.6 ms with 1.
EXPM_THREADS = 1


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads (None: leave as is), then restore."""
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class WeightSequencePolicy(EulerFlowPolicy):
    """Main flow ``x_i = x_{i-1} + eta f(W_i x_{i-1} + b)`` with a precomputed W-sequence;
    without the ``bias`` block (``has_bias`` False) ``x_i = x_{i-1} + eta f(W_i x_{i-1})``.

    Subclasses give :meth:`weight_sequence` (``[P, *block]`` blocks -> ``[N, P, h, h]``).
    """

    has_bias: bool = True

    def bias_specs(self) -> list[ParamSpec]:
        """``[bias (h,)]`` when the flow has one, else nothing."""
        return [ParamSpec("bias", (self.hidden,))] if self.has_bias else []

    def initial_bias(self) -> dict[str, np.ndarray]:
        """b = 0 (the paper gives no init), when the flow has one."""
        return {"bias": np.zeros(self.hidden)} if self.has_bias else {}

    def weight_sequence(self, blocks: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def prepare_core(self, blocks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        core = {"weights": np.ascontiguousarray(self.weight_sequence(blocks))}
        if self.has_bias:
            core["bias"] = np.ascontiguousarray(blocks["bias"])
        return core

    def flow(self, core: dict[str, np.ndarray], x: np.ndarray,
             rows: np.ndarray | None) -> np.ndarray:
        bias = take(core["bias"], rows) if self.has_bias else 0.0
        for weight in core["weights"]:  # W_1..W_N, each [P, h, h]
            x = x + self.eta * self.activation(matvec(take(weight, rows), x) + bias)
        return x


class ODEtoODEPolicy(WeightSequencePolicy):
    """ISO-ODEtoODE (Eqs. 5-6): ``g(s) = Omega_2 x_N``, ``x_0 = Omega_1 s``,
    ``W_i = W_{i-1} exp(eta (W_{i-1}^T Q W_{i-1} N - N W_{i-1}^T Q W_{i-1}))``.

    Blocks (in the paper's order): ``proj_in`` = Omega_1 in ST(h, d), ``proj_out`` = Omega_2
    in ST(m, h), ``bias`` = b, ``N`` and ``Q`` symmetric, ``W0`` in O(h). The W-sequence is
    one batched matrix exponential per step for all P vectors (``iso_weight_sequence``), and it
    uses the blocks as given: under ambient ES perturbations Q, N are not symmetric and W
    leaves O(h) (nothing is projected, Sec. 4.2). Since b is cubic in W, large perturbations
    can overflow: at h = 64 with sigma = 0.1 the sequence (and so the actions) is non-finite.

    Init (the paper gives none for Q, N, b): Q, N = sym(G) with G ~ N(0, 1/h) entrywise (as
    the supervised ``IsoGenerator``), b = 0, W_0 Haar, Omega_1, Omega_2 random Stiefel points.
    ``expm_threads``: torch threads while computing the sequence (see :data:`EXPM_THREADS`).
    """

    name = "odetoode"
    projection_kind = "stiefel"

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = DEFAULT_HIDDEN,
                 activation: str = PAPER_ACTIVATION, T: float = DEFAULT_T,
                 eta: float = DEFAULT_ETA, expm_threads: int | None = EXPM_THREADS):
        super().__init__(obs_dim, act_dim, hidden, activation, T, eta)
        self.expm_threads = expm_threads

    def core_specs(self) -> list[ParamSpec]:
        h = self.hidden
        return [ParamSpec("bias", (h,)), ParamSpec("N", (h, h), "symmetric"),
                ParamSpec("Q", (h, h), "symmetric"), ParamSpec("W0", (h, h), "orthogonal")]

    def initial_core(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        h = self.hidden
        symmetric = [lecun_normal((h, h), h, rng) for _ in range(2)]
        n, q = (0.5 * (g + g.T) for g in symmetric)
        return {"bias": np.zeros(h), "N": n, "Q": q, "W0": haar(h, rng)}

    def weight_sequence(self, blocks: dict[str, np.ndarray]) -> np.ndarray:
        q, n, w0 = (torch.from_numpy(np.ascontiguousarray(blocks[k])) for k in ("Q", "N", "W0"))
        with torch.no_grad(), torch_threads(self.expm_threads):
            sequence = iso_weight_sequence(q, n, w0, self.steps, self.eta)  # [P, N, h, h]
        return sequence.transpose(0, 1).numpy()


class NANODEPolicy(WeightSequencePolicy):
    """NANODE: ``dx/dt = f(W(t) x)`` (Sec. 5.1.2) with a degree-d trigonometric-polynomial W(t)::

        W(t) = A_0 + sum_{j=1..d} (A_j cos(2 pi j t / T) + B_j sin(2 pi j t / T))

    the basis of the supervised ``NANODEFlow`` (our reading; the paper says "degree-d
    trigonometric polynomials", d = 5). Euler step i uses ``W_i = W(t_i)``, the step's time
    point as in Eq. 5 (``w_time: previous``: W(t_{i-1}), the left end). ``bias: true`` adds
    a learned b, ``f(W(t) x + b)`` (not in the paper). Init (unspecified): A_0 ~ N(0, 1/h),
    harmonics 0 (NANODE = a constant-W ODE at init), b = 0.
    """

    name = "nanode"

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = DEFAULT_HIDDEN,
                 activation: str = PAPER_ACTIVATION, T: float = DEFAULT_T,
                 eta: float = DEFAULT_ETA, degree: int = NANODE_DEGREE, bias: bool = False,
                 w_time: str = "current"):
        if isinstance(degree, bool) or not isinstance(degree, int | np.integer) or degree < 1:
            raise ValueError(f"nanode: option degree must be an integer >= 1, got {degree!r}")
        self.degree = int(degree)
        self.has_bias = check_flag("nanode", "bias", bias)
        self.w_time = check_choice("nanode", "w_time", w_time, W_TIMES)
        super().__init__(obs_dim, act_dim, hidden, activation, T, eta)

    def core_specs(self) -> list[ParamSpec]:
        h, d = self.hidden, self.degree
        return [*self.bias_specs(), ParamSpec("A0", (h, h)),
                ParamSpec("cos", (d, h, h)), ParamSpec("sin", (d, h, h))]

    def initial_core(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        h, d = self.hidden, self.degree
        return {**self.initial_bias(), "A0": lecun_normal((h, h), h, rng),
                "cos": np.zeros((d, h, h)), "sin": np.zeros((d, h, h))}

    def times(self) -> np.ndarray:
        """The time of W in each Euler step, ``[N]``: t_i = i eta (``current``, i = 1..N) or
        t_{i-1} (``previous``)."""
        return (np.arange(self.steps) + (self.w_time == "current")) * self.eta

    def basis(self) -> tuple[np.ndarray, np.ndarray]:
        """``cos(2 pi j t / T)`` and ``sin(...)`` at :meth:`times`, each ``[N, degree]``."""
        times = self.times()
        angles = (2.0 * math.pi / self.T) * times[:, None] * np.arange(1, self.degree + 1)
        return np.cos(angles), np.sin(angles)

    def weight_sequence(self, blocks: dict[str, np.ndarray]) -> np.ndarray:
        cos, sin = self.basis()
        return (blocks["A0"][None] + np.einsum("nk,pkij->npij", cos, blocks["cos"])
                + np.einsum("nk,pkij->npij", sin, blocks["sin"]))


class HyperNetPolicy(WeightSequencePolicy):
    """HyperNet: ``W_t = reshape(z_t, h, h)`` with ``z' = g(z)``, g an MLP
    ``h^2 -> s -> s -> h^2`` (two hidden layers of size s = 16), and ``x' = f(W_t x)``
    (Sec. 5.1.2; ``bias: true`` adds a learned b, ``f(W_t x + b)``, not in the paper).

    Euler on both with the same step, the main flow using the updated W_i as in Eq. 5:
    ``z_i = z_{i-1} + eta g(z_{i-1})``, ``W_i = reshape(z_i)`` (row-major, W_t "at time t").
    W_t is unconstrained; z_0 is learned. h = s = 16 on every task (paper). Init
    (unspecified): z_0 = vec(Haar) (as the supervised ``HyperNetFlow``'s W_0), g's weights
    N(0, 1/fan_in), g's biases 0, b = 0.
    """

    name = "hypernet"

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = HYPERNET_HIDDEN,
                 activation: str = PAPER_ACTIVATION, T: float = DEFAULT_T,
                 eta: float = DEFAULT_ETA, dyn_hidden: int = HYPERNET_DYN_HIDDEN,
                 bias: bool = False):
        if isinstance(dyn_hidden, bool) or not isinstance(dyn_hidden, int | np.integer) \
                or dyn_hidden < 1:
            raise ValueError(f"hypernet: option dyn_hidden must be an integer >= 1, got "
                             f"{dyn_hidden!r}")
        self.dyn_hidden = int(dyn_hidden)
        self.has_bias = check_flag("hypernet", "bias", bias)
        super().__init__(obs_dim, act_dim, hidden, activation, T, eta)

    def core_specs(self) -> list[ParamSpec]:
        state, s = self.hidden**2, self.dyn_hidden
        return [*self.bias_specs(), ParamSpec("z0", (state,)),
                ParamSpec("g_w1", (s, state)), ParamSpec("g_b1", (s,)),
                ParamSpec("g_w2", (s, s)), ParamSpec("g_b2", (s,)),
                ParamSpec("g_w3", (state, s)), ParamSpec("g_b3", (state,))]

    def initial_core(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        h, state, s = self.hidden, self.hidden**2, self.dyn_hidden
        return {**self.initial_bias(), "z0": haar(h, rng).reshape(state),
                "g_w1": lecun_normal((s, state), state, rng), "g_b1": np.zeros(s),
                "g_w2": lecun_normal((s, s), s, rng), "g_b2": np.zeros(s),
                "g_w3": lecun_normal((state, s), s, rng), "g_b3": np.zeros(state)}

    def dynamics(self, blocks: dict[str, np.ndarray], z: np.ndarray) -> np.ndarray:
        """``g(z)`` for ``z [P, h^2]``, each row with its own weights."""
        hidden = self.activation(matvec(blocks["g_w1"], z) + blocks["g_b1"])
        hidden = self.activation(matvec(blocks["g_w2"], hidden) + blocks["g_b2"])
        return matvec(blocks["g_w3"], hidden) + blocks["g_b3"]

    def weight_sequence(self, blocks: dict[str, np.ndarray]) -> np.ndarray:
        z, sequence = blocks["z0"], []
        for _ in range(self.steps):
            z = z + self.eta * self.dynamics(blocks, z)
            sequence.append(z.reshape(-1, self.hidden, self.hidden))
        return np.stack(sequence)


class BaseODEPolicy(EulerFlowPolicy):
    """BaseODE: ``x' = F(x)`` with F an MLP ``h -> h -> h -> h`` (two hidden layers of size h,
    Sec. 5.1.2), activation f after each hidden layer, linear output; Euler
    ``x_i = x_{i-1} + eta F(x_{i-1})``. Init (unspecified): weights N(0, 1/h), biases 0.
    """

    name = "baseode"
    LAYERS = 3

    def core_specs(self) -> list[ParamSpec]:
        h = self.hidden
        return [spec for k in range(1, self.LAYERS + 1)
                for spec in (ParamSpec(f"f_w{k}", (h, h)), ParamSpec(f"f_b{k}", (h,)))]

    def initial_core(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        h, blocks = self.hidden, {}
        for k in range(1, self.LAYERS + 1):
            blocks[f"f_w{k}"], blocks[f"f_b{k}"] = lecun_normal((h, h), h, rng), np.zeros(h)
        return blocks

    def flow(self, core: dict[str, np.ndarray], x: np.ndarray,
             rows: np.ndarray | None) -> np.ndarray:
        layers = [(take(core[f"f_w{k}"], rows), take(core[f"f_b{k}"], rows))
                  for k in range(1, self.LAYERS + 1)]
        for _ in range(self.steps):
            z = x
            for k, (weight, bias) in enumerate(layers, start=1):
                z = matvec(weight, z) + bias
                if k < self.LAYERS:
                    z = self.activation(z)
            x = x + self.eta * z
        return x
