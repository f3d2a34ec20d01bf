"""NODE (Chen et al. 2018): dh/dt = f(h, t)  (HBNODE paper Eq. 1)."""

from __future__ import annotations

import torch

from odebench.models.base import Dynamics


class NODEDynamics(Dynamics):
    """State ``[h]``; ANODE is this system on a zero-augmented h."""

    order = 1

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.field(t, z[:, 0]).unsqueeze(1)
