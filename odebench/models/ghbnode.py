"""GHBNODE (Xia et al. 2021, Eq. 15): dh/dt = sigma(m), dm/dt = -gamma*m + f(h, t) - xi*h."""

from __future__ import annotations

import torch
from torch import nn

from odebench.models.gates import make_sigma
from odebench.models.hbnode import Coupling, Damping, HBNODEDynamics


class GHBNODEDynamics(HBNODEDynamics):
    """State ``[h, m]``; HBNODE is the case sigma = identity, xi = 0 (HBNODE footnote 4).

    ``sigma_on_f`` also applies sigma to f (m' = -gamma*m + sigma(f) - xi*h), the GHBNODE
    form the NesterovNODE paper compares against. ``coupling`` holds xi (None when xi = 0).
    """

    def __init__(self, field: nn.Module, sigma: str = "tanh",  # HBNODE Sec. 3: "tanh"
                 sigma_on_f: bool = False,  # HBNODE Eq. 15: sigma on m only
                 xi: float = 0.0, xi_learnable: bool = False, damping: Damping | None = None):
        super().__init__(field, damping)
        self.sigma = make_sigma(sigma)
        self.sigma_on_f = sigma_on_f
        self.coupling = Coupling.make(xi, xi_learnable)

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h, m = z[:, 0], z[:, 1]
        f = self.field(t, h)
        if self.sigma_on_f:
            f = self.sigma(f)
        dm = f - self.damping() * m
        if self.coupling is not None:
            dm = dm - self.coupling() * h
        return torch.stack((self.sigma(m), dm), dim=1)
