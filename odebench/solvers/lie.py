"""Matrix-group utilities for flows on O(n): skew/sym parts, Haar and Stiefel samples, and
one-step integrators of ``W' = W B`` with B skew-symmetric (ODEtoODE, Choromanski et al. 2020,
Sec. 3.2 and Eq. 6).

Every integrator here right-multiplies: ``W_next = W @ factor(B, eta)``. Only the exponential
factor is the paper's; the Cayley factor is a labelled ablation and the Euler factor the naive
baseline that leaves O(n).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

WStep = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
WFactor = Callable[[torch.Tensor, float], torch.Tensor]

STEP_RTOL = 1e-9  # relative tolerance of "eta divides T" in steps_for


def skew(a: torch.Tensor) -> torch.Tensor:
    """``a - a^T`` over the last two axes (the gated form ``F - F^T``, Sec. 3.1)."""
    return a - a.transpose(-1, -2)


def sym(a: torch.Tensor) -> torch.Tensor:
    """``(a + a^T) / 2`` over the last two axes."""
    return 0.5 * (a + a.transpose(-1, -2))


def bracket(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The Lie bracket ``[a, b] = a b - b a`` (skew when a and b are symmetric)."""
    return a @ b - b @ a


def haar_orthogonal(n: int, generator: torch.Generator | None = None,
                    dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """An ``n x n`` orthogonal matrix drawn from the Haar measure on O(n).

    QR of a standard Gaussian matrix, with the columns of Q multiplied by the signs of R's
    diagonal so the factorisation is unique (without it the law of Q is not Haar).
    """
    gaussian = torch.randn(n, n, generator=generator, dtype=dtype)
    q, r = torch.linalg.qr(gaussian)
    signs = torch.sign(torch.diagonal(r))
    signs[signs == 0] = 1.0
    return q * signs


def stiefel(rows: int, cols: int, generator: torch.Generator | None = None,
            dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A ``rows x cols`` point on the Stiefel manifold ST(rows, cols) (Eqs. 5-6).

    Tall (rows >= cols): the first columns of a Haar matrix, so ``Ω^T Ω = I``. Wide: the first
    rows, so ``Ω Ω^T = I``.
    """
    haar = haar_orthogonal(max(rows, cols), generator=generator, dtype=dtype)
    return haar[:, :cols] if rows >= cols else haar[:rows, :]


def exp_factor(b: torch.Tensor, eta: float) -> torch.Tensor:
    """``exp(eta b)``: orthogonal for skew b (the paper's Γ, Sec. 3.2)."""
    return torch.linalg.matrix_exp(eta * b)


def cayley_factor(b: torch.Tensor, eta: float) -> torch.Tensor:
    """``(I - eta/2 b)^{-1} (I + eta/2 b)``: orthogonal for skew b (ablation, not the paper's)."""
    eye = torch.eye(b.shape[-1], dtype=b.dtype, device=b.device)
    half = 0.5 * eta * b
    return torch.linalg.solve(eye - half, eye + half)


def euler_factor(b: torch.Tensor, eta: float) -> torch.Tensor:
    """``I + eta b``: the naive explicit Euler step, which drifts off O(n)."""
    eye = torch.eye(b.shape[-1], dtype=b.dtype, device=b.device)
    return eye + eta * b


def exp_step(w: torch.Tensor, b: torch.Tensor, eta: float) -> torch.Tensor:
    """``W exp(eta B)``: the Lie-Euler step of Eq. 6 (the paper's)."""
    return w @ exp_factor(b, eta)


def cayley_step(w: torch.Tensor, b: torch.Tensor, eta: float) -> torch.Tensor:
    """``W (I - eta/2 B)^{-1} (I + eta/2 B)``: Cayley retraction (ablation, not the paper's)."""
    return w @ cayley_factor(b, eta)


def euler_step(w: torch.Tensor, b: torch.Tensor, eta: float) -> torch.Tensor:
    """``W + eta W B``: naive explicit Euler (comparison only)."""
    return w + eta * w @ b


W_STEPS: dict[str, WStep] = {"exp": exp_step, "cayley": cayley_step, "euler": euler_step}
W_FACTORS: dict[str, WFactor] = {"exp": exp_factor, "cayley": cayley_factor,
                                 "euler": euler_factor}


def orthogonality_defect(w: torch.Tensor) -> torch.Tensor:
    """``||W^T W - I||_F`` over the last two axes (batched)."""
    eye = torch.eye(w.shape[-1], dtype=w.dtype, device=w.device)
    return torch.linalg.matrix_norm(w.transpose(-1, -2) @ w - eye)


def steps_for(T: float, eta: float) -> int:
    """The number of Euler steps ``N = T / eta``; ValueError unless eta divides T."""
    if not (math.isfinite(T) and math.isfinite(eta)) or T <= 0 or eta <= 0:
        raise ValueError(f"horizon T={T} and step eta={eta} must be positive and finite")
    steps = round(T / eta)
    if steps < 1 or abs(steps * eta - T) > STEP_RTOL * T:
        raise ValueError(f"step eta={eta} does not divide horizon T={T} "
                         f"(T/eta = {T / eta:.10g} is not an integer)")
    return steps


def check_orthogonal(w: torch.Tensor, name: str, atol: float = 1e-6) -> None:
    """ValueError naming ``name`` unless ``w`` is a square matrix with defect <= atol."""
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {tuple(w.shape)}")
    defect = float(orthogonality_defect(w.detach()))
    if not defect <= atol:  # also rejects NaN
        raise ValueError(f"{name} is not orthogonal: ||W^T W - I||_F = {defect:.3g} "
                         f"> atol = {atol:g}")
