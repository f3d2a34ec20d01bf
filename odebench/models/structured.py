"""Structure-preserving vector fields (review "Structure Preserving Deep Learning",
Celledoni et al. 2021): each family builds its own field from a :class:`FieldSpec`.

* ``antisymnode``  z' = tanh(A z + b), A = S - S^T - gamma I (review Sec. 2.1.1, Haber-Ruthotto)
* ``gradnode``     z' = -A^T tanh(A z + b)  (review Eq. 16, Theorem 2.1: -mu*^2 <= nu <= 0)
* ``hamnode``      z' = p, p' = -A^T tanh(A z + b)  (review Sec. 2.1.2)
* ``hamhbnode``    z' = p, p' = -gamma p - A^T tanh(A z + b)  (review Sec. 3.2)
* ``couplingnode`` z1' = f1(z2), z2' = f2(z1): a shear system (volume preserving)
* ``iresnode``     z' = c g(z), g spectrally normalised with 1-Lipschitz ELU (i-ResNet)

On vector states A is an ``h x n`` matrix; on image states ``[batch, n, H, W]`` A z is a
3x3 'same' convolution and A^T its adjoint ``conv_transpose2d`` with the same weight. The
fields are autonomous (a time-dependent potential would not conserve energy).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from odebench.models.base import Dynamics, FieldSpec, UnsupportedFieldError
from odebench.models.hbnode import Damping

GAMMA_ANTISYM = 0.01  # review Sec. 2.1.1: A = S - S^T - gamma I with a small gamma >= 0
IRES_C = 0.9  # Lip(f) <= c < 1: an Euler step of size 1 is an invertible i-ResNet block
KERNEL = 3  # image fields: 3x3 'same' convolutions


def log_cosh(x: torch.Tensor) -> torch.Tensor:
    """log cosh x, stable for large |x| (its derivative is tanh x)."""
    a = x.abs()
    return a + torch.log1p(torch.exp(-2.0 * a)) - math.log(2.0)


def _sum_features(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).sum(1)


class Affine(nn.Module):
    """``A z + b`` and the adjoint ``A^T y``: a matrix (vector states) or a 3x3 conv."""

    def __init__(self, n: int, h: int, conv: bool):
        super().__init__()
        self.conv = conv
        self.op = nn.Conv2d(n, h, KERNEL, padding=KERNEL // 2) if conv else nn.Linear(n, h)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.op(z)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        w = self.op.weight
        if self.conv:
            return F.conv_transpose2d(y, w, padding=KERNEL // 2)
        return y @ w

    def min_singular_value(self) -> float:
        """sigma_min of A (vector states; the reshaped kernel for conv states)."""
        w = self.op.weight.detach().flatten(1)
        return float(torch.linalg.svdvals(w).min())


def _check_h(spec: FieldSpec, model: str) -> int:
    if spec.h is None or spec.h < 1:
        raise UnsupportedFieldError(f"{model} needs a hidden width h >= 1, got {spec.h!r}")
    return spec.h


# --- antisymnode --------------------------------------------------------------------------

class AntisymmetricDynamics(Dynamics):
    """z' = tanh(A z + b), A = S - S^T - gamma I: Re(eig A) = -gamma (review Sec. 2.1.1)."""

    order = 1
    structure = ("antisymmetric",)

    def __init__(self, n: int, conv: bool = False, gamma: float = GAMMA_ANTISYM):
        super().__init__(nn.Identity())
        self.conv, self.n, self.gamma = conv, n, gamma
        shape = (n, n, KERNEL, KERNEL) if conv else (n, n)
        fan_in = n * (KERNEL * KERNEL if conv else 1)
        bound = 1.0 / math.sqrt(fan_in)
        self.S = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.empty(n).uniform_(-bound, bound))

    def weight(self) -> torch.Tensor:
        """A (``n x n``), or for conv states the 3x3 kernel of the conv operator A."""
        eye = torch.eye(self.n, dtype=self.S.dtype, device=self.S.device)
        if not self.conv:
            return self.S - self.S.T - self.gamma * eye
        delta = torch.zeros_like(self.S)
        delta[:, :, KERNEL // 2, KERNEL // 2] = eye
        # the adjoint of a 'same' conv is the conv with channels swapped and kernel flipped
        return self.S - self.S.transpose(0, 1).flip(2, 3) - self.gamma * delta

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h, a = z[:, 0], self.weight()
        if self.conv:
            pre = F.conv2d(h, a, self.b, padding=KERNEL // 2)
        else:
            pre = h @ a.T + self.b
        return torch.tanh(pre).unsqueeze(1)


def make_antisymnode(spec: FieldSpec) -> Dynamics:
    return AntisymmetricDynamics(spec.n, conv=spec.kind == "conv")


# --- gradnode -----------------------------------------------------------------------------

class GradientFlowDynamics(Dynamics):
    """z' = -A^T tanh(A z + b) = -grad V, V(z) = sum log cosh(A z + b) (review Eq. 16)."""

    order = 1
    structure = ("gradient_flow",)

    def __init__(self, n: int, h: int, conv: bool = False):
        super().__init__(nn.Identity())
        self.affine = Affine(n, h, conv)

    def potential(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return _sum_features(log_cosh(self.affine(h)))

    def min_singular_value(self) -> float:
        return self.affine.min_singular_value()

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return (-self.affine.adjoint(torch.tanh(self.affine(z[:, 0])))).unsqueeze(1)


def make_gradnode(spec: FieldSpec) -> Dynamics:
    return GradientFlowDynamics(spec.n, _check_h(spec, "gradnode"), conv=spec.kind == "conv")


# --- hamnode / hamhbnode -------------------------------------------------------------------

class HamiltonianDynamics(Dynamics):
    """State [z, p]: z' = p, p' = -A^T tanh(A z + b); H = |p|^2/2 + sum log cosh(A z + b)."""

    order = 2
    structure: tuple[str, ...] = ("hamiltonian",)

    def __init__(self, n: int, h: int, conv: bool = False):
        super().__init__(nn.Identity())
        self.affine = Affine(n, h, conv)

    def grad_kinetic(self, t: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return p

    def grad_potential(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.affine.adjoint(torch.tanh(self.affine(z)))

    def separable(self) -> tuple[Callable, Callable]:
        """(dT/dp, dV/dz) on the blocks (H = T(p) + V(z))."""
        return self.grad_kinetic, self.grad_potential

    def energy(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        q, p = z[:, 0], z[:, 1]
        return 0.5 * _sum_features(p * p) + _sum_features(log_cosh(self.affine(q)))

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        q, p = z[:, 0], z[:, 1]
        return torch.stack((p, -self.grad_potential(t, q)), dim=1)


class DampedHamiltonianDynamics(HamiltonianDynamics):
    """HBNODE with a gradient force: p' = -gamma p - A^T tanh(A z + b) (review Sec. 3.2)."""

    structure = ("damped_hamiltonian",)

    def __init__(self, n: int, h: int, conv: bool = False, damping: Damping | None = None):
        super().__init__(n, h, conv)
        self.damping = damping if damping is not None else Damping()

    def damping_rate(self) -> torch.Tensor:
        """gamma (detached: a read-only hook; the dynamics use ``self.damping()``)."""
        return self.damping().detach()

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        q, p = z[:, 0], z[:, 1]
        return torch.stack((p, -self.damping() * p - self.grad_potential(t, q)), dim=1)


def make_hamnode(spec: FieldSpec) -> Dynamics:
    return HamiltonianDynamics(spec.n, _check_h(spec, "hamnode"), conv=spec.kind == "conv")


def make_hamhbnode(spec: FieldSpec) -> Dynamics:
    return DampedHamiltonianDynamics(spec.n, _check_h(spec, "hamhbnode"),
                                     conv=spec.kind == "conv")


# --- couplingnode -------------------------------------------------------------------------

class ShearField(nn.Module):
    """f(t, x) = fc_n(tanh(fc_h(x))) (or 3x3 convs on image states)."""

    def __init__(self, n: int, h: int, conv: bool):
        super().__init__()
        if conv:
            self.net = nn.Sequential(nn.Conv2d(n, h, KERNEL, padding=KERNEL // 2), nn.Tanh(),
                                     nn.Conv2d(h, n, KERNEL, padding=KERNEL // 2))
        else:
            self.net = nn.Sequential(nn.Linear(n, h), nn.Tanh(), nn.Linear(h, n))

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CouplingDynamics(Dynamics):
    """State [z1, z2]: z1' = f1(z2), z2' = f2(z1); divergence-free (volume preserving), and
    a symplectic-Euler step is two additive coupling layers (exactly invertible)."""

    order = 2
    structure = ("volume_preserving",)

    def __init__(self, n: int, h: int, conv: bool = False):
        super().__init__(nn.Identity())
        self.f1 = ShearField(n, h, conv)
        self.f2 = ShearField(n, h, conv)

    def shear_blocks(self) -> tuple[Callable, Callable]:
        return self.f1, self.f2

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        z1, z2 = z[:, 0], z[:, 1]
        return torch.stack((self.f1(t, z2), self.f2(t, z1)), dim=1)


def make_couplingnode(spec: FieldSpec) -> Dynamics:
    return CouplingDynamics(spec.n, _check_h(spec, "couplingnode"), conv=spec.kind == "conv")


# --- iresnode -----------------------------------------------------------------------------

class LipschitzDynamics(Dynamics):
    """z' = c g(z), g = fc_n . ELU . fc_h . ELU . fc_h with spectrally normalised layers, so
    Lip(f) <= c; with c < 1 an Euler step of size 1 is an i-ResNet block."""

    order = 1
    structure = ("lipschitz_bounded",)

    def __init__(self, n: int, h: int, c: float = IRES_C, power_iterations: int = 5):
        super().__init__(nn.Identity())
        if not 0 < c:
            raise ValueError(f"the Lipschitz factor c must be > 0, got {c!r}")
        self.c = c

        def sn(layer: nn.Linear) -> nn.Module:
            return spectral_norm(layer, n_power_iterations=power_iterations)

        self.g = nn.Sequential(sn(nn.Linear(n, h)), nn.ELU(), sn(nn.Linear(h, h)), nn.ELU(),
                               sn(nn.Linear(h, n)))

    def lipschitz_bound(self) -> float:
        return self.c

    def solve_context(self) -> contextlib.AbstractContextManager:
        """One power iteration per solve (per training step, as i-ResNet), not one per
        evaluation: in training mode every access would otherwise change the field."""
        return parametrize.cached()

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return (self.c * self.g(z[:, 0])).unsqueeze(1)


def make_iresnode(spec: FieldSpec) -> Dynamics:
    if spec.kind != "mlp":
        raise UnsupportedFieldError(
            "iresnode: spectral_norm normalises a conv's reshaped kernel, which does not "
            "bound the conv operator's Lipschitz constant")
    return LipschitzDynamics(spec.n, _check_h(spec, "iresnode"))
