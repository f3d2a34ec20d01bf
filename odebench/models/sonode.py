"""SONODE (Norcliffe et al. 2020): dh/dt = v, dv/dt = f([h, v], t)."""

from __future__ import annotations

import torch

from odebench.models.base import Dynamics


class SONODEDynamics(Dynamics):
    """State ``[h, v]``; f sees h and v concatenated on the feature/channel axis (n* = 2n)."""

    order = 2

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h, v = z[:, 0], z[:, 1]
        return torch.stack((v, self.field(t, torch.cat((h, v), dim=1))), dim=1)
