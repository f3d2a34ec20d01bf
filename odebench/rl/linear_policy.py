"""The linear policy ``a = W s + c`` (W: [m, d]), a reference for the batched policy interface."""

from __future__ import annotations

import numpy as np

from odebench.rl.params import ParamLayout, ParamSpec


class LinearPolicy:
    """``a = W s + c`` for each of P cached parameter vectors; rows act independently."""

    name = "linear"

    def __init__(self, obs_dim: int, act_dim: int, init_std: float = 0.0):
        self.obs_dim = obs_dim
        self.act_dim = act_dim
        self.init_std = init_std
        self._layout = ParamLayout(self.specs())

    def specs(self) -> list[ParamSpec]:
        return [ParamSpec("W", (self.act_dim, self.obs_dim)), ParamSpec("c", (self.act_dim,))]

    def layout(self) -> ParamLayout:
        return self._layout

    def initial(self, rng: np.random.Generator) -> np.ndarray:
        """W ~ N(0, init_std^2 / d) (zero by default, as in ARS), c = 0."""
        flat = np.zeros(self._layout.size)
        weights = self._layout.offsets["W"]
        flat[weights] = rng.normal(0.0, self.init_std / np.sqrt(self.obs_dim),
                                   weights.stop - weights.start)
        return flat

    def prepare(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """``[P, D]`` -> contiguous ``W [P, m, d]`` and ``c [P, m]``."""
        blocks = self._layout.unflatten(np.atleast_2d(np.asarray(flat, np.float64)))
        return {name: np.ascontiguousarray(block) for name, block in blocks.items()}

    def act(self, cache: dict[str, np.ndarray], obs: np.ndarray,
            rows: np.ndarray | None = None) -> np.ndarray:
        """``obs [R, d]`` -> ``[R, m]``; ``rows`` picks the cached vectors (None: all P)."""
        weights, bias = cache["W"], cache["c"]
        if rows is not None:
            weights, bias = weights[rows], bias[rows]
        return np.matmul(weights, obs[:, :, None])[:, :, 0] + bias
