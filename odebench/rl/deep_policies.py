"""The unstructured deep baselines of the RL experiments (ODEtoODE Sec. 5.1.2), batched over P
parameter vectors: DeepNet (25 fully connected hidden layers) and DeepResNet (the same with
residual connections), between the linear projections every policy has.
"""

from __future__ import annotations

import numpy as np

from odebench.rl.params import ParamSpec
from odebench.rl.policy_base import (
    DEFAULT_HIDDEN,
    PAPER_ACTIVATION,
    ProjectedPolicy,
    lecun_normal,
    matvec,
    take,
)

DEEP_LAYERS = 25  # 25 hidden layers (Sec. 5.1.2, "t = 25")


class DeepNetPolicy(ProjectedPolicy):
    """DeepNet: ``x_0 = A_in s``, ``x_l = f(W_l x_{l-1} + c_l)`` for l = 1..25 width-w layers,
    ``a = A_out x_25``. Width w = ``hidden`` (chosen by parameter matching). f = |x|, the
    paper's nonlinearity for every policy (Sec. 5.1.1); ``activation: tanh`` (the usual
    ES-policy nonlinearity, and this class's default before) is a switch. Init (unspecified):
    W_l ~ N(0, 1/w), c_l = 0.
    """

    name = "deepnet"
    residual = False

    def __init__(self, obs_dim: int, act_dim: int, hidden: int = DEFAULT_HIDDEN,
                 activation: str = PAPER_ACTIVATION, depth: int = DEEP_LAYERS):
        if depth < 1:
            raise ValueError(f"{self.name}: depth must be >= 1, got {depth}")
        self.depth = int(depth)
        super().__init__(obs_dim, act_dim, hidden, activation)

    def core_specs(self) -> list[ParamSpec]:
        w, depth = self.hidden, self.depth
        return [ParamSpec("layer_w", (depth, w, w)), ParamSpec("layer_b", (depth, w))]

    def initial_core(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        w, depth = self.hidden, self.depth
        return {"layer_w": lecun_normal((depth, w, w), w, rng), "layer_b": np.zeros((depth, w))}

    def prepare_core(self, blocks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Layer-major ``[depth, P, ...]`` so each layer's weights are one contiguous batch."""
        return {name: np.ascontiguousarray(np.swapaxes(blocks[name], 0, 1))
                for name in ("layer_w", "layer_b")}

    def flow(self, core: dict[str, np.ndarray], x: np.ndarray,
             rows: np.ndarray | None) -> np.ndarray:
        for weight, bias in zip(core["layer_w"], core["layer_b"], strict=True):
            z = self.activation(matvec(take(weight, rows), x) + take(bias, rows))
            x = x + z if self.residual else z
        return x


class DeepResNetPolicy(DeepNetPolicy):
    """DeepResNet: DeepNet with residual connections, ``x_l = x_{l-1} + f(W_l x_{l-1} + c_l)``
    (unit step: a plain ResNet, not an ODE discretisation)."""

    name = "deepresnet"
    residual = True
