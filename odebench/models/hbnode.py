"""HBNODE (Xia et al. 2021, Eq. 10): dh/dt = m, dm/dt = -gamma*m + f(h, t)."""

from __future__ import annotations

import torch
from torch import nn

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
