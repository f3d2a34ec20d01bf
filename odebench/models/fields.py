"""Vector-field networks f(t, h) that the model dynamics are built from."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "elu": nn.ELU,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "identity": nn.Identity,
}


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name]()


class MLPField(nn.Module):
    """``input_{n_in(+1)} -> fc_h -> act -> fc_h -> act -> fc_n`` (HBNODE App. E.2).

    With ``time_dependent`` the time is concatenated to the input (NesterovNODE code),
    adding one input weight per hidden unit.
    """

    def __init__(self, n_in: int, hidden: int, n_out: int, act: str = "elu",
                 time_dependent: bool = False):
        super().__init__()
        self.time_dependent = time_dependent
        self.net = nn.Sequential(
            nn.Linear(n_in + int(time_dependent), hidden), activation(act),
            nn.Linear(hidden, hidden), activation(act),
            nn.Linear(hidden, n_out),
        )

    def forward(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        if self.time_dependent:
            h = torch.cat((h, t.expand(h.shape[0], 1).to(h.dtype)), dim=1)
        return self.net(h)


def velocity_mlp(n_in: int, hidden: int, n_out: int) -> nn.Module:
    """Initial-velocity net ``input -> fc_h -> HTanh -> fc_h -> HTanh -> fc_n`` (App. E.2)."""
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.Hardtanh(-5.0, 5.0),  # HTanh = HardTanh(-5, 5), App. E
        nn.Linear(hidden, hidden), nn.Hardtanh(-5.0, 5.0),
        nn.Linear(hidden, n_out),
    )
