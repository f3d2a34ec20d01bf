"""Vector-field networks f(t, h) that the model dynamics are built from."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class Abs(nn.Module):
    """``|x|`` elementwise: |f'| = 1 off zero (ODEtoODE, Choromanski et al. 2020, Sec. 5.1.1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.abs()


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "abs": Abs,
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


def tpad(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``c x H x W -> (c+1) x H x W``: a constant channel filled with t (HBNODE App. E)."""
    time = t.to(x.dtype).expand(x.shape[0], 1, *x.shape[2:])
    return torch.cat((x, time), dim=1)


class ConvField(nn.Module):
    """``input_{n*xHxW} -> tpad -> conv_{h,1} -> ReLU -> tpad -> conv_{h,3} -> ReLU -> tpad
    -> conv_{n,1}`` with 'same' padding (HBNODE App. E.3 / NesterovNODE App. D.3-D.4)."""

    def __init__(self, n_in: int, hidden: int, n_out: int):
        super().__init__()
        self.conv1 = nn.Conv2d(n_in + 1, hidden, 1)
        self.conv2 = nn.Conv2d(hidden + 1, hidden, 3, padding=1)
        self.conv3 = nn.Conv2d(hidden + 1, n_out, 1)

    def forward(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv1(tpad(t, h)))
        h = torch.relu(self.conv2(tpad(t, h)))
        return self.conv3(tpad(t, h))


def velocity_conv(c_in: int, hidden: int, n_out: int) -> nn.Module:
    """Image initial-velocity net ``conv_{h,1} -> LReLU -> conv_{h,3} -> LReLU -> conv_{2n-c,1}``.

    LReLU = LeakyReLU(0.3) (HBNODE App. E / NesterovNODE App. D).
    """
    return nn.Sequential(
        nn.Conv2d(c_in, hidden, 1), nn.LeakyReLU(0.3),
        nn.Conv2d(hidden, hidden, 3, padding=1), nn.LeakyReLU(0.3),
        nn.Conv2d(hidden, n_out, 1),
    )


class SignalLinearField(nn.Module):
    """``input_{n*+1} -> fc_n``: one linear layer on [h, u(t)] (Silverbox init test, E.1/D.1).

    ``signal(t)`` returns the input signal at t, shape ``[batch, 1]`` or ``[1, 1]``/scalar
    (broadcast over the batch).
    """

    def __init__(self, n_in: int, n_out: int, signal: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.signal = signal
        self.fc = nn.Linear(n_in + 1, n_out)

    def forward(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        u = torch.as_tensor(self.signal(t), dtype=h.dtype, device=h.device).reshape(-1, 1)
        return self.fc(torch.cat((h, u.expand(h.shape[0], 1)), dim=1))


class ConstantVelocity(nn.Module):
    """A learned constant initial velocity: bias-free ``Linear(c -> n_out)`` applied to ones
    shaped like the input (Silverbox init test, official code of both papers)."""

    def __init__(self, c_in: int, n_out: int):
        super().__init__()
        self.fc = nn.Linear(c_in, n_out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.ones_like(x))
