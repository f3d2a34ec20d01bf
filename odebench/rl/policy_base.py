"""Shared machinery of the batched ES policies (ODEtoODE Sec. 5.1.2): every policy is

    s -> x_0 = A_in s -> (flow or layers in R^h) -> a = A_out x

evaluated for P parameter vectors at once. :meth:`ProjectedPolicy.prepare` turns a ``[P, D]``
batch into a :class:`PolicyCache` (per-vector work such as a weight sequence is done there);
:meth:`ProjectedPolicy.act` then costs one batched matrix-vector product per layer for all
rows together. ``rows`` selects which cached vector each observation uses, so a rollout can
step only its still-active episodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from odebench.rl.params import ParamLayout, ParamSpec
from odebench.solvers.lie import haar_orthogonal, steps_for, stiefel

Activation = Callable[[np.ndarray], np.ndarray]

ACTIVATIONS: dict[str, Activation] = {
    "abs": np.abs,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "identity": lambda z: z,
}
DEFAULT_HIDDEN = 16  # h = 16 on every task but Gym Humanoid (Sec. 5.1.2)
HUMANOID_HIDDEN = 64  # h = 64 on OpenAI Gym Humanoid, all methods but HyperNet (Sec. 5.1.2)
DEFAULT_T = 1.0  # integration on [0, 1] (Sec. 5.1.2)
DEFAULT_ETA = 0.04  # eta = 0.04, so N = 25 Euler steps (Sec. 5.1.2)
PAPER_ACTIVATION = "abs"  # sigma(x) = |x| "as a nonlinear mapping", every policy (Sec. 5.1.1)


def numpy_activation(name: str, owner: str = "policy") -> Activation:
    """The elementwise nonlinearity ``name``; ValueError naming ``owner`` and the valid names."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"{owner}: unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def check_flag(owner: str, option: str, value: object) -> bool:
    """``value`` if it is a bool; else ValueError naming the policy and the option."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{owner}: option {option} must be true or false, got {value!r}")
    return bool(value)


def check_choice(owner: str, option: str, value: object, valid: tuple[str, ...]) -> str:
    """``value`` if it is one of ``valid``; else ValueError naming the policy and the option."""
    if value not in valid:
        raise ValueError(f"{owner}: option {option} must be one of {', '.join(valid)}, "
                         f"got {value!r}")
    return str(value)


def matvec(matrices: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``[R, a, b] x [R, b] -> [R, a]``: one batched product (numpy's stacked matmul)."""
    return np.matmul(matrices, vectors[..., None])[..., 0]


def take(array: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """``array[rows]`` along the parameter-vector axis, or ``array`` itself for all rows."""
    return array if rows is None else array[rows]


def torch_generator(rng: np.random.Generator) -> torch.Generator:
    """A torch generator seeded from ``rng`` (for the Haar/Stiefel samplers of lie.py)."""
    return torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))


def haar(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed ``n x n`` orthogonal matrix (float64)."""
    return haar_orthogonal(n, generator=torch_generator(rng)).numpy()


def stiefel_point(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """A random point of ST(rows, cols): orthonormal columns (tall) or rows (wide)."""
    return stiefel(rows, cols, generator=torch_generator(rng)).numpy()


def lecun_normal(shape: tuple[int, ...], fan_in: int, rng: np.random.Generator) -> np.ndarray:
    """N(0, 1/fan_in) entries: the init of every unconstrained weight (paper unspecified)."""
    return rng.normal(0.0, fan_in**-0.5, size=shape)


@dataclass
class PolicyCache:
    """What :meth:`ProjectedPolicy.prepare` computed for P parameter vectors."""

    size: int  # P
    proj_in: np.ndarray  # [P, h, obs_dim]
    proj_out: np.ndarray  # [P, act_dim, h]
    core: dict[str, np.ndarray] = field(default_factory=dict)  # policy-specific, leading P


class ProjectedPolicy:
    """Base class: the two linear projections and the batched act; subclasses give the middle.

    Subclasses define :meth:`core_specs`, :meth:`initial_core`, :meth:`prepare_core` and
    :meth:`flow` (``x_0 [R, h] -> x_out [R, h]``). Projections carry no bias ("linear
    projection", Sec. 5.1.2). They start at a Stiefel point for every policy, so all policies
    see observations at the same scale; only ODEtoODE keeps them on the manifold
    (``projection_kind``).
    """

    name: ClassVar[str]
    projection_kind: ClassVar[str] = "euclidean"

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = DEFAULT_HIDDEN,
                 activation: str = PAPER_ACTIVATION):
        for label, value in (("obs_dim", obs_dim), ("act_dim", act_dim), ("hidden", hidden)):
            if not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{self.name}: {label} must be a positive integer, got {value!r}")
        self.obs_dim, self.act_dim, self.hidden = int(obs_dim), int(act_dim), int(hidden)
        self.activation_name = activation
        self.activation = numpy_activation(activation, self.name)
        self._layout: ParamLayout | None = None

    # --- parameters ---

    def core_specs(self) -> list[ParamSpec]:
        raise NotImplementedError

    def initial_core(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def specs(self) -> list[ParamSpec]:
        h, kind = self.hidden, self.projection_kind
        return [ParamSpec("proj_in", (h, self.obs_dim), kind),
                ParamSpec("proj_out", (self.act_dim, h), kind), *self.core_specs()]

    def layout(self) -> ParamLayout:
        if self._layout is None:
            self._layout = ParamLayout(self.specs())
        return self._layout

    @property
    def width(self) -> int:
        """The matched knob, ``hidden`` (flow dimension h, or DeepNet's layer width)."""
        return self.hidden

    @property
    def num_params(self) -> int:
        """D, the ambient dimension of the flat parameter vector."""
        return self.layout().size

    def initial(self, rng: np.random.Generator) -> np.ndarray:
        """A flat ``[D]`` starting point, every block on its manifold."""
        blocks = {"proj_in": stiefel_point(self.hidden, self.obs_dim, rng),
                  "proj_out": stiefel_point(self.act_dim, self.hidden, rng),
                  **self.initial_core(rng)}
        return self.layout().flatten(blocks)

    # --- evaluation ---

    def prepare_core(self, blocks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-vector precomputation from the ``[P, *shape]`` blocks (default: the blocks)."""
        return {name: np.ascontiguousarray(value) for name, value in blocks.items()
                if name not in ("proj_in", "proj_out")}

    def prepare(self, flat: np.ndarray) -> PolicyCache:
        """``[P, D]`` (or one ``[D]`` vector, P = 1) -> the cache :meth:`act` reads."""
        flat = np.asarray(flat, dtype=np.float64)
        if flat.ndim == 1:
            flat = flat[None]
        if flat.ndim != 2:
            raise ValueError(f"{self.name}: parameters must be [P, D], got shape {flat.shape}")
        blocks = self.layout().unflatten(flat)
        return PolicyCache(size=flat.shape[0],
                           proj_in=np.ascontiguousarray(blocks["proj_in"]),
                           proj_out=np.ascontiguousarray(blocks["proj_out"]),
                           core=self.prepare_core(blocks))

    def flow(self, core: dict[str, np.ndarray], x: np.ndarray,
             rows: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def hidden_state(self, cache: PolicyCache, obs: np.ndarray,
                     rows: np.ndarray | None = None) -> np.ndarray:
        """The hidden state before the output projection (ODEtoODE: x_N), ``[R, h]``."""
        obs, rows = self._check_inputs(cache, obs, rows)
        return self.flow(cache.core, matvec(take(cache.proj_in, rows), obs), rows)

    def act(self, cache: PolicyCache, obs: np.ndarray,
            rows: np.ndarray | None = None) -> np.ndarray:
        """``obs [R, obs_dim] -> actions [R, act_dim]``; observation r uses cached vector
        ``rows[r]`` (``rows=None``: R == P, row r uses vector r). Actions are not clipped."""
        obs, rows = self._check_inputs(cache, obs, rows)
        x = self.flow(cache.core, matvec(take(cache.proj_in, rows), obs), rows)
        return matvec(take(cache.proj_out, rows), x)

    def _check_inputs(self, cache: PolicyCache, obs: np.ndarray, rows: np.ndarray | None,
                      ) -> tuple[np.ndarray, np.ndarray | None]:
        obs = np.asarray(obs, dtype=np.float64)
        if obs.ndim != 2 or obs.shape[1] != self.obs_dim:
            raise ValueError(f"{self.name}: observations must be [R, {self.obs_dim}], "
                             f"got shape {obs.shape}")
        if rows is None:
            if obs.shape[0] != cache.size:
                raise ValueError(f"{self.name}: {obs.shape[0]} observations for {cache.size} "
                                 "parameter vectors; pass rows to step a subset")
            return obs, None
        rows = np.asarray(rows)
        if rows.shape != (obs.shape[0],) or not np.issubdtype(rows.dtype, np.integer):
            raise ValueError(f"{self.name}: rows must be {obs.shape[0]} integer indices, got "
                             f"shape {rows.shape} dtype {rows.dtype}")
        if rows.size and (rows.min() < 0 or rows.max() >= cache.size):
            raise ValueError(f"{self.name}: rows must index the {cache.size} cached parameter "
                             f"vectors, got range [{rows.min()}, {rows.max()}]")
        return obs, rows


class EulerFlowPolicy(ProjectedPolicy):
    """A :class:`ProjectedPolicy` whose middle is N explicit-Euler steps on [0, T]."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = DEFAULT_HIDDEN,
                 activation: str = PAPER_ACTIVATION, T: float = DEFAULT_T,
                 eta: float = DEFAULT_ETA):
        super().__init__(obs_dim, act_dim, hidden, activation)
        self.T, self.eta = float(T), float(eta)
        self.steps = steps_for(self.T, self.eta)
