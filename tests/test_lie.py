"""O(n) utilities of ODEtoODE's matrix flow (odebench.solvers.lie)."""

from __future__ import annotations

import math

import pytest
import torch

from odebench.solvers import (
    W_STEPS,
    bracket,
    cayley_step,
    check_orthogonal,
    euler_step,
    exp_step,
    haar_orthogonal,
    orthogonality_defect,
    skew,
    steps_for,
    stiefel,
    sym,
)

DTYPE = torch.float64


def random_symmetric(n: int, generator: torch.Generator) -> torch.Tensor:
    return sym(torch.randn(n, n, generator=generator, dtype=DTYPE))


def iso_flow(step, steps: int, n: int = 8, eta: float = 0.01, seed: int = 0) -> torch.Tensor:
    """W after ``steps`` steps of W' = W [W^T Q W, N] (generator recomputed every step)."""
    generator = torch.Generator().manual_seed(seed)
    q, n_matrix = random_symmetric(n, generator), random_symmetric(n, generator)
    w = haar_orthogonal(n, generator=generator)
    for _ in range(steps):
        w = step(w, bracket(w.T @ q @ w, n_matrix), eta)
    return w


@pytest.mark.parametrize("name", ["exp", "cayley"])
def test_structure_preserving_steps_stay_orthogonal_over_1e4_steps(name):
    w = iso_flow(W_STEPS[name], steps=10_000)
    assert float(orthogonality_defect(w)) <= 1e-10


def test_euler_step_drifts_off_the_orthogonal_group():
    defect = float(orthogonality_defect(iso_flow(euler_step, steps=100)))
    assert math.isfinite(defect) and defect > 1e-6


def test_registry_and_step_formulas():
    assert W_STEPS == {"exp": exp_step, "cayley": cayley_step, "euler": euler_step}
    generator = torch.Generator().manual_seed(1)
    w = haar_orthogonal(5, generator=generator)
    b = skew(torch.randn(5, 5, generator=generator, dtype=DTYPE))
    eye = torch.eye(5, dtype=DTYPE)
    torch.testing.assert_close(exp_step(w, b, 0.1), w @ torch.linalg.matrix_exp(0.1 * b))
    torch.testing.assert_close(cayley_step(w, b, 0.1),
                               w @ torch.linalg.inv(eye - 0.05 * b) @ (eye + 0.05 * b))
    torch.testing.assert_close(euler_step(w, b, 0.1), w + 0.1 * w @ b)
    # Cayley agrees with exp to second order: the gap shrinks like eta^3.
    gaps = [float((exp_step(w, b, eta) - cayley_step(w, b, eta)).norm()) for eta in (0.1, 0.05)]
    assert 6.0 < gaps[0] / gaps[1] < 10.0


def test_haar_samples_are_orthogonal_with_unit_determinant():
    generator = torch.Generator().manual_seed(2)
    for n in (1, 3, 16):
        w = haar_orthogonal(n, generator=generator)
        assert w.dtype == DTYPE and w.shape == (n, n)
        assert float(orthogonality_defect(w)) < 1e-13
        assert abs(abs(float(torch.linalg.det(w))) - 1.0) < 1e-12


def test_haar_first_entry_moments():
    """For Haar W on O(n): E W[0,0] = 0 and E W[0,0]^2 = 1/n. The bound is 5 standard errors
    (Var W00^2 = 3/(n(n+2)) - 1/n^2). Without the sign correction W[0,0] < 0 always
    (Householder QR), so the mean test fails by ~0.4 there."""
    n, samples = 4, 4000
    generator = torch.Generator().manual_seed(3)
    first = torch.stack([haar_orthogonal(n, generator=generator)[0, 0] for _ in range(samples)])
    mean_bound = 5.0 * math.sqrt(1.0 / n / samples)
    square_bound = 5.0 * math.sqrt((3.0 / (n * (n + 2)) - 1.0 / n**2) / samples)
    assert abs(float(first.mean())) < mean_bound
    assert abs(float((first**2).mean()) - 1.0 / n) < square_bound


def test_stiefel_tall_and_wide():
    generator = torch.Generator().manual_seed(4)
    tall, wide = stiefel(7, 3, generator=generator), stiefel(3, 7, generator=generator)
    assert tall.shape == (7, 3) and wide.shape == (3, 7)
    torch.testing.assert_close(tall.T @ tall, torch.eye(3, dtype=DTYPE), atol=1e-13, rtol=0)
    torch.testing.assert_close(wide @ wide.T, torch.eye(3, dtype=DTYPE), atol=1e-13, rtol=0)
    square = stiefel(4, 4, generator=generator)
    assert float(orthogonality_defect(square)) < 1e-13
    assert stiefel(2, 2, dtype=torch.float32).dtype == torch.float32


def test_skew_and_sym_parts():
    a = torch.randn(3, 5, 5, dtype=DTYPE)  # batched
    assert torch.equal(skew(a).mT, -skew(a))
    assert torch.equal(sym(a).mT, sym(a))
    torch.testing.assert_close(sym(a) + 0.5 * skew(a), a)
    s1, s2 = sym(a[0]), sym(a[1])
    assert torch.equal(bracket(s1, s2).T, -bracket(s1, s2))


def test_orthogonality_defect_is_batched():
    w = torch.stack([torch.eye(3, dtype=DTYPE), 2.0 * torch.eye(3, dtype=DTYPE)])
    torch.testing.assert_close(orthogonality_defect(w), torch.tensor([0.0, 3.0 * math.sqrt(3)],
                                                                     dtype=DTYPE))


def test_steps_for():
    assert steps_for(1.0, 0.01) == 100
    assert steps_for(1.0, 0.04) == 25
    assert steps_for(2.0, 0.01) == 200
    assert steps_for(2.0, 2.0 / 25) == 25
    with pytest.raises(ValueError, match=r"eta=0\.03.*T=1"):
        steps_for(1.0, 0.03)
    with pytest.raises(ValueError, match=r"eta=3.*T=1"):
        steps_for(1.0, 3.0)
    for horizon, eta in ((1.0, 0.0), (1.0, -0.1), (0.0, 0.1), (1.0, math.nan)):
        with pytest.raises(ValueError, match="positive and finite"):
            steps_for(horizon, eta)


def test_check_orthogonal():
    check_orthogonal(haar_orthogonal(6), "w0")
    with pytest.raises(ValueError, match=r"w0 must be a square matrix.*\(3, 4\)"):
        check_orthogonal(torch.zeros(3, 4), "w0")
    with pytest.raises(ValueError, match="w0 must be a square"):
        check_orthogonal(torch.eye(3).expand(2, 3, 3), "w0")
    with pytest.raises(ValueError, match=r"omega is not orthogonal.*= 5\.2 "):
        check_orthogonal(2.0 * torch.eye(3), "omega")
    with pytest.raises(ValueError, match="not orthogonal.*nan"):
        check_orthogonal(torch.full((2, 2), math.nan), "w0")
    perturbed = torch.eye(4, dtype=DTYPE)
    perturbed[0, 1] = 1e-8
    check_orthogonal(perturbed, "w0")
    with pytest.raises(ValueError, match="not orthogonal"):
        check_orthogonal(perturbed, "w0", atol=1e-10)
