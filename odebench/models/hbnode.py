"""HBNODE (Xia et al. 2021, Eq. 10): dh/dt = m, dm/dt = -gamma*m + f(h, t)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from odebench.models.base import Dynamics


class Damping(nn.Module):
    """gamma = eps * sigmoid(omega), a learnable scalar (HBNODE Sec. 2.2).

    Defaults: eps = 1 and omega_0 = -3 (HBNODE Sec. 5 / App. E: "gamma = sigmoid(theta),
    initialized theta = -3"), so gamma_0 = sigmoid(-3) ~ 0.0474.
    """

    def __init__(self, omega0: float = -3.0, eps: float = 1.0, learnable: bool = True):
        super().__init__()
        self.eps = eps
        self.omega = nn.Parameter(torch.tensor([omega0]), requires_grad=learnable)

    def forward(self) -> torch.Tensor:
        return self.eps * torch.sigmoid(self.omega)


class Coupling(nn.Module):
    """The skip coefficient xi of GHBNODE/GNesterovNODE: ``softplus(chi)`` or a fixed value.

    ``xi0`` is the (initial) value of xi; learnable xi stores chi_0 = softplus^-1(xi0)
    (HBNODE Sec. 3: "xi = softplus(chi)"). A fixed xi is a buffer, not a parameter.
    """

    def __init__(self, xi0: float, learnable: bool = True):
        super().__init__()
        if not (math.isfinite(xi0) and xi0 >= 0):
            raise ValueError(f"xi must be a finite number >= 0, got {xi0!r}")
        if learnable and xi0 <= 0:
            raise ValueError("a learnable xi = softplus(chi) must start above 0")
        self.learnable = learnable
        if learnable:
            self.chi = nn.Parameter(torch.tensor([math.log(math.expm1(xi0))]))
        else:
            self.register_buffer("xi", torch.tensor([float(xi0)]))

    def forward(self) -> torch.Tensor:
        return F.softplus(self.chi) if self.learnable else self.xi

    @classmethod
    def make(cls, xi: float, learnable: bool) -> Coupling | None:
        """None where the term vanishes (xi = 0, fixed), so no scalar is tracked."""
        return None if (xi == 0 and not learnable) else cls(xi, learnable)


class HBNODEDynamics(Dynamics):
    """State ``[h, m]``; the generic adjoint of this stacked system is Eq. 13 (Prop. 2)."""

    order = 2

    def __init__(self, field: nn.Module, damping: Damping | None = None):
        super().__init__(field)
        self.damping = damping if damping is not None else Damping()

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h, m = z[:, 0], z[:, 1]
        gamma = self.damping()
        dm = self.field(t, h) - gamma * m
        return torch.stack((m, dm), dim=1)
