"""The ES estimators and return normalisations (odebench.rl.es): forward Monte Carlo, antithetic
pairs and [15]'s orthogonal antithetic pairs on a quadratic with a known gradient; orthogonal
directions; returns divided by their spread; non-finite candidate returns.

Statistical checks use 5 standard errors computed from the samples themselves (a false failure
per coordinate has probability ~6e-7); every draw is seeded.
"""

from __future__ import annotations

import numpy as np
import pytest

from odebench.rl.es import (
    ES,
    ESConfig,
    es_gradient,
    finite_returns,
    normalise_returns,
    orthogonal_directions,
)
from odebench.rl.params import ParamLayout, ParamSpec
from tests.test_es import Quadratic

STANDARD_ERRORS = 5.0
ESTIMATORS = ("forward", "antithetic", "orthogonal_antithetic")


def estimates(estimator: str, normalisation: str = "none", evaluations: int = 20,
              repeats: int = 3000, offset: float = 0.0, sigma: float = 0.1,
              seed: int = 1) -> tuple[Quadratic, np.ndarray]:
    """``repeats`` gradient estimates of ``Quadratic() + offset`` through :class:`ES`, each
    from ``evaluations`` returns (D = 5, so 10 orthogonal directions make two full blocks)."""
    quadratic = Quadratic()
    layout = ParamLayout([ParamSpec("x", (quadratic.theta.size,))])
    config = ESConfig(sigma=sigma, perturbations=evaluations, estimator=estimator,
                      return_normalisation=normalisation, perturbation="ambient")
    es = ES(layout, config, seed)
    rows = []
    for _ in range(repeats):
        eps, candidates = es.ask(quadratic.theta)
        rows.append(es.gradient(eps, quadratic(candidates) + offset))
    return quadratic, np.array(rows)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_every_estimator_is_unbiased_on_a_quadratic(estimator):
    quadratic, draws = estimates(estimator)
    true = quadratic.gradient()
    error = np.abs(draws.mean(axis=0) - true)
    standard_error = draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
    assert np.all(error <= STANDARD_ERRORS * standard_error), (error, standard_error)
    # the tolerance is informative: small against the gradient itself
    assert STANDARD_ERRORS * standard_error.max() < 0.15 * np.abs(true).max()


def test_pairs_and_orthogonality_lower_the_variance_at_equal_evaluations():
    variance = {name: estimates(name)[1].var(axis=0).sum() for name in ESTIMATORS}
    # F(θ+σε) - F(θ-σε) is linear in ε on a quadratic: F(θ) and the curvature cancel
    assert variance["antithetic"] < 0.5 * variance["forward"], variance
    # a full orthogonal block spans every direction once: only the chi norms still vary
    assert variance["orthogonal_antithetic"] < 0.7 * variance["antithetic"], variance


def test_a_return_offset_swamps_forward_mc_on_raw_returns_but_not_pairs():
    """The failure measured on HalfCheetah (θ's return ≈ -620 around σ-perturbations): a
    constant offset adds (offset/σ)² per coordinate to forward MC's variance on raw returns;
    antithetic differences and centred normalisations remove it."""
    plain = estimates("forward", repeats=500)[1].var(axis=0).sum()
    shifted = estimates("forward", repeats=500, offset=-600.0)[1].var(axis=0).sum()
    assert shifted > 1e4 * plain
    for estimator, normalisation in (("antithetic", "none"), ("forward", "mean")):
        _, base = estimates(estimator, normalisation, repeats=50)
        _, moved = estimates(estimator, normalisation, repeats=50, offset=-600.0)
        np.testing.assert_allclose(moved, base, rtol=1e-6, atol=1e-9)


def test_orthogonal_directions_are_orthogonal_within_each_block_only():
    dim, count = 6, 15  # blocks of rows 0-5, 6-11, 12-14
    eps = orthogonal_directions(np.random.default_rng(3), count, dim)
    assert eps.shape == (count, dim)
    for start in range(0, count, dim):
        block = eps[start:start + dim]
        gram = block @ block.T
        off_diagonal = gram - np.diag(np.diag(gram))
        assert np.abs(off_diagonal).max() < 1e-12 * np.diag(gram).max()
    across = eps[:dim] @ eps[dim:2 * dim].T
    assert np.abs(across).max() > 0.1  # independent blocks are not orthogonal to each other
    # the norms are those of the Gaussian rows drawn (chi(D)); the RNG advances the same way
    gaussian = np.random.default_rng(3).standard_normal((count, dim))
    np.testing.assert_allclose(np.linalg.norm(eps, axis=1), np.linalg.norm(gaussian, axis=1),
                               rtol=1e-12)


def test_orthogonal_directions_are_standard_normal_on_average():
    """E[εε^T] = I, which makes the estimator unbiased."""
    rng = np.random.default_rng(4)
    dim = 4
    draws = np.concatenate([orthogonal_directions(rng, dim, dim) for _ in range(4000)])
    second = np.einsum("ni,nj->nij", draws, draws)
    mean = second.mean(axis=0)
    standard_error = second.std(axis=0, ddof=1) / np.sqrt(len(draws))
    assert np.all(np.abs(mean - np.eye(dim)) <= STANDARD_ERRORS * standard_error)


def test_return_normalisations():
    returns = np.array([-600.0, -590.0, -620.0, -605.0])
    std = normalise_returns(returns, "std")
    np.testing.assert_allclose(std, returns / returns.std(), rtol=1e-15)
    zscore = normalise_returns(returns, "zscore")
    assert zscore.mean() == pytest.approx(0.0, abs=1e-12)
    assert zscore.std() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(normalise_returns(returns, "mean"), returns - returns.mean())
    np.testing.assert_array_equal(normalise_returns(returns, "none"), returns)
    np.testing.assert_allclose(normalise_returns(returns, "ranks"), [1 / 6, 0.5, -0.5, -1 / 6])
    for name in ("std", "zscore"):  # equal returns carry no direction
        np.testing.assert_array_equal(normalise_returns(np.full(4, -3.0), name), np.zeros(4))
    # with antithetic pairs std and zscore give the same gradient, invariant to return scale
    rng = np.random.default_rng(5)
    eps, paired = rng.standard_normal((3, 2)), rng.standard_normal(6)
    by_std = es_gradient(eps, paired, 0.1, antithetic=True, normalisation="std")
    np.testing.assert_allclose(by_std, es_gradient(eps, paired, 0.1, antithetic=True,
                                                   normalisation="zscore"), rtol=1e-12)
    np.testing.assert_allclose(by_std, es_gradient(eps, 1e3 * paired - 7.0, 0.1,
                                                   antithetic=True, normalisation="std"),
                               rtol=1e-12)


def test_non_finite_returns_are_scored_as_the_worst_finite_one():
    clean, bad = finite_returns(np.array([1.0, np.nan, 3.0, -np.inf, np.inf]))
    np.testing.assert_array_equal(clean, [1.0, 1.0, 3.0, 1.0, 1.0])
    assert bad == 3
    untouched = np.array([2.0, -1.0])
    clean, bad = finite_returns(untouched)
    assert bad == 0 and clean is not None and np.array_equal(clean, untouched)
    clean, bad = finite_returns(np.array([np.nan, np.inf]))  # nothing to score against
    assert bad == 2 and not np.isfinite(clean).any()
    with pytest.raises(ValueError, match="NaN"):  # the estimator itself never takes them
        es_gradient(np.zeros((2, 3)), np.array([0.0, np.nan]), 0.1)
