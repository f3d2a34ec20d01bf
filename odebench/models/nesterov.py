"""NesterovNODE / GNesterovNODE (Nesterov NODE paper, Eqs. 15 and 18) as first-order systems.

Paper form (``variant="paper"``): state ``[x, m]``, h = sigma(k(t)) x with
k(t) = t^(-r/2) e^(t/2) (Eq. 18, first line; Eq. 15 for sigma = identity),

    x' = sigma(m),   m' = -m - sigma(f(h, t)) - xi h,   read-out h(T) = sigma(k(T)) x(T).

NesterovNODE is sigma = identity, xi = 0 (App. B). Eq. 18 uses h = sigma(k) x inside the
dynamics too; the App. B proof (Eq. 24) substitutes the raw k there instead:
``sigma_k_in_field=False`` gives that reading (sigma(k) then only in the read-out).
The paper leaves [x, m](t0) open; like the official code we start from the model's initial
state (input and learned velocity) as [x0, m0], so h(t0) = sigma(k(t0)) x0.
``sigma_on_f=False`` / ``sigma_on_k=False`` leave f / k(t) ungated (sigma then acts on m
alone): the official point-cloud code's plain NesterovNODE, whose x' = tanh(m).

Official-code form (``variant="official_code"``, docs/PAPERS.md, paper vs code): the
state ``[z1, z2]`` is read as (h, h') inside the field, m~ = c(t) z1 + z2 / k(t) with
c(t) = (r/(2t) - 1/2) t^(r/2) e^(-t/2), f is evaluated at z1, and the field returns
``[sigma(m~), -m~ - sigma(f(z1, t)) - xi z1]``; read-out sigma(k(T)) z1(T). Not equivalent
to the paper form; all published numbers come from it. The official code solves it with
plain dopri5, which may step past T and interpolate back, so this variant is solved without
torchdiffeq's ``step_t`` (:attr:`NesterovNODEDynamics.stays_in_interval` is False); the
paper form keeps every step inside [t0, T].
"""

from __future__ import annotations

import torch
from torch import nn

from odebench.models.base import Dynamics
from odebench.models.gates import make_sigma
from odebench.models.hbnode import Coupling

VARIANTS = ("paper", "official_code")
DEFAULT_R = 3.0  # Nesterov factor r = 3 (Eq. 9; Sec. 6.1 ablates r in {3, 5, 10})


def nesterov_factor(t: torch.Tensor, r: float = DEFAULT_R) -> torch.Tensor:
    """k(t) = t^(-r/2) e^(t/2), so that 2k' + (r/t) k = k (Eq. 12 with 3 -> r)."""
    return t.pow(-r / 2) * torch.exp(t / 2)


class UnknownVariantError(ValueError):
    """A Nesterov variant other than ``paper`` / ``official_code``."""


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise UnknownVariantError(f"unknown variant {variant!r}; valid: {', '.join(VARIANTS)}")
    return variant


class NesterovNODEDynamics(Dynamics):
    """(G)NesterovNODE on ``[x, m]`` (paper) or ``[h, h']``-read state (official code)."""

    order = 2

    def __init__(self, field: nn.Module, r: float = DEFAULT_R, variant: str = "paper",
                 sigma: str = "identity",  # NesterovNODE: sigma = identity (App. B)
                 xi: float = 0.0, xi_learnable: bool = False,  # NesterovNODE: xi = 0
                 sigma_k_in_field: bool = True,  # Eq. 18 as printed: h = sigma(k) x
                 sigma_on_f: bool = True, sigma_on_k: bool = True):  # Eq. 18: sigma(f), sigma(k)
        super().__init__(field)
        if not r > 0:
            raise ValueError(f"the Nesterov factor r must be > 0, got {r!r}")
        self.r = float(r)
        self.variant = check_variant(variant)
        self.sigma = make_sigma(sigma)
        self.coupling = Coupling.make(xi, xi_learnable)
        self.sigma_k_in_field = sigma_k_in_field
        self.sigma_on_f = sigma_on_f
        self.sigma_on_k = sigma_on_k

    @property
    def stays_in_interval(self) -> bool:
        """Paper form: k(t) = t^(-r/2) e^(t/2) is singular at t = 0, so adaptive steps stop at
        the interval ends (``step_t``). Official-code form: plain dopri5, as the code runs it."""
        return self.variant == "paper"

    def factor(self, t: torch.Tensor) -> torch.Tensor:
        return nesterov_factor(t, self.r)

    def gated_factor(self, t: torch.Tensor) -> torch.Tensor:
        """sigma(k(t)), or k(t) itself with ``sigma_on_k=False``."""
        k = self.factor(t)
        return self.sigma(k) if self.sigma_on_k else k

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        if self.variant == "paper":
            m = z[:, 1]
            h = (self.gated_factor(t) if self.sigma_k_in_field else self.factor(t)) * z[:, 0]
        else:
            k = self.factor(t)
            h = z[:, 0]
            c = (self.r / (2 * t) - 0.5) / k
            m = c * h + z[:, 1] / k
        f = self.field(t, h)
        dm = -m - (self.sigma(f) if self.sigma_on_f else f)
        if self.coupling is not None:
            dm = dm - self.coupling() * h
        return torch.stack((self.sigma(m), dm), dim=1)

    def readout(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """h(t) = sigma(k(t)) x(t) (Eq. 15 / 18; k(t) x(t) with ``sigma_on_k=False``)."""
        return self.gated_factor(t) * z[:, 0]
