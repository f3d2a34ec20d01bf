"""ES estimator, Riemannian updates and the ask/tell optimiser (odebench.rl.es, ODEtoODE Sec. 4.2).

All float64 and seeded. Statistical checks use a bound of 5 standard errors computed from the
samples themselves (a false failure per coordinate has probability ~6e-7).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from odebench.rl.es import ES, ESConfig, centred_ranks, constraint_residuals, es_gradient
from odebench.rl.manifold_updates import riemannian_update
from odebench.rl.params import ParamLayout, ParamSpec
from odebench.solvers.lie import haar_orthogonal, stiefel

ON_MANIFOLD = 1e-10
STANDARD_ERRORS = 5.0

MANIFOLD_SPECS = (
    ParamSpec("b", (4,)),
    ParamSpec("Q", (3, 3), "symmetric"),
    ParamSpec("tall", (6, 2), "stiefel"),
    ParamSpec("wide", (2, 5), "stiefel"),
    ParamSpec("W", (3, 3), "orthogonal"),
)


def special_orthogonal(n: int, generator: torch.Generator) -> np.ndarray:
    w = haar_orthogonal(n, generator=generator).numpy()
    if np.linalg.det(w) < 0:
        w[:, 0] *= -1.0
    return w


def random_point(layout: ParamLayout, seed: int) -> np.ndarray:
    """A parameter vector with every block on its manifold (orthogonal blocks in SO(n))."""
    generator = torch.Generator().manual_seed(seed)
    blocks = {}
    for spec in layout.specs:
        if spec.kind == "stiefel":
            blocks[spec.name] = stiefel(*spec.shape, generator=generator).numpy()
        elif spec.kind == "orthogonal":
            blocks[spec.name] = special_orthogonal(spec.shape[0], generator)
        else:
            gaussian = torch.randn(spec.shape, generator=generator, dtype=torch.float64).numpy()
            blocks[spec.name] = 0.5 * (gaussian + gaussian.T) if spec.kind == "symmetric" \
                else gaussian
    return layout.flatten(blocks)


def max_residual(layout: ParamLayout, theta: np.ndarray) -> float:
    return max(float(np.max(r)) for r in constraint_residuals(layout, theta).values())


def min_residual(layout: ParamLayout, theta: np.ndarray) -> float:
    return min(float(np.min(r)) for r in constraint_residuals(layout, theta).values())


# --- the estimator -------------------------------------------------------------------------

class Quadratic:
    """F(x) = -||A(x - c)||^2: F_σ = F - σ² tr(A^T A), so ∇F_σ = ∇F = -2 A^T A (x - c)."""

    def __init__(self, dim: int = 5, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.a = rng.standard_normal((dim, dim)) / np.sqrt(dim)
        self.c = rng.standard_normal(dim)
        self.theta = self.c + 0.5 * rng.standard_normal(dim)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        residual = (x - self.c) @ self.a.T
        return -np.sum(residual**2, axis=-1)

    def gradient(self) -> np.ndarray:
        return -2.0 * self.a.T @ self.a @ (self.theta - self.c)


def independent_estimates(antithetic: bool, evaluations: int = 100, repeats: int = 2000,
                          sigma: float = 0.1, seed: int = 1) -> tuple[Quadratic, np.ndarray]:
    """``repeats`` independent ES gradient estimates, each from ``evaluations`` calls of F."""
    quadratic, rng = Quadratic(), np.random.default_rng(seed)
    k = evaluations // 2 if antithetic else evaluations
    estimates = []
    for _ in range(repeats):
        eps = rng.standard_normal((k, quadratic.theta.size))
        signs = (1.0, -1.0) if antithetic else (1.0,)
        candidates = np.concatenate([quadratic.theta + s * sigma * eps for s in signs])
        estimates.append(es_gradient(eps, quadratic(candidates), sigma, antithetic=antithetic))
    return quadratic, np.array(estimates)


@pytest.mark.parametrize("antithetic", [False, True], ids=["plain", "antithetic"])
def test_estimator_is_unbiased_on_a_quadratic(antithetic):
    quadratic, estimates = independent_estimates(antithetic)
    true = quadratic.gradient()
    mean = estimates.mean(axis=0)
    standard_error = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(mean - true) <= STANDARD_ERRORS * standard_error)
    # the bound is informative: 5 standard errors are small against the gradient itself
    assert STANDARD_ERRORS * standard_error.max() < 0.1 * np.abs(true).max()


def test_antithetic_pairs_have_lower_variance_for_equal_evaluations():
    _, plain = independent_estimates(antithetic=False)
    _, paired = independent_estimates(antithetic=True)
    # on a quadratic F(θ+σε) - F(θ-σε) is linear in ε: the F(θ) offset and curvature cancel
    assert paired.var(axis=0).sum() < 0.5 * plain.var(axis=0).sum()


def test_plain_estimator_is_the_paper_formula():
    rng = np.random.default_rng(0)
    eps, returns, sigma = rng.standard_normal((7, 3)), rng.standard_normal(7), 0.3
    expected = sum(f * e for f, e in zip(returns, eps, strict=True)) / (sigma * 7)
    np.testing.assert_allclose(es_gradient(eps, returns, sigma), expected, rtol=1e-14)
    both = np.concatenate([returns, -returns[::-1]])
    expected = sum((p - m) * e for p, m, e in zip(both[:7], both[7:], eps, strict=True))
    np.testing.assert_allclose(es_gradient(eps, both, sigma, antithetic=True),
                               expected / (2 * sigma * 7), rtol=1e-14)


def test_rank_shaping_and_mean_baseline():
    ranks = centred_ranks(np.array([3.0, -1.0, 10.0, 3.0, 0.5]))
    np.testing.assert_allclose(ranks, [0.125, -0.5, 0.5, 0.125, -0.25])
    rng = np.random.default_rng(2)
    eps, returns = rng.standard_normal((9, 4)), rng.standard_normal(9)
    shaped = es_gradient(eps, returns, 0.1, normalisation="ranks")
    # invariant under any increasing transform of the returns
    np.testing.assert_allclose(es_gradient(eps, np.exp(3 * returns), 0.1,
                                           normalisation="ranks"), shaped, rtol=1e-14)
    np.testing.assert_allclose(shaped, es_gradient(eps, centred_ranks(returns), 0.1))
    np.testing.assert_allclose(es_gradient(eps, returns, 0.1, normalisation="mean"),
                               es_gradient(eps, returns - returns.mean(), 0.1), rtol=1e-14)


def test_estimator_rejects_bad_inputs():
    eps = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"returns must have shape \(8,\)"):
        es_gradient(eps, np.zeros(4), 0.1, antithetic=True)
    with pytest.raises(ValueError, match="NaN"):
        es_gradient(eps, np.array([0.0, np.nan, 1.0, 2.0]), 0.1)
    with pytest.raises(ValueError, match="return_normalisation must be one of none, mean, std, "
                                         "zscore, ranks, got 'median'"):
        es_gradient(eps, np.zeros(4), 0.1, normalisation="median")


# --- Riemannian updates --------------------------------------------------------------------

def test_constraints_hold_after_1000_random_updates():
    layout = ParamLayout(MANIFOLD_SPECS)
    start = random_point(layout, seed=0)
    riemannian = ES(layout, ESConfig(step=0.05), seed=0)
    euclidean = ES(layout, ESConfig(step=0.05, update="euclidean"), seed=0)
    rng = np.random.default_rng(3)
    theta, drifting = start, start
    for _ in range(1000):
        grad = rng.standard_normal(layout.size)
        theta = riemannian.update(theta, grad)
        drifting = euclidean.update(drifting, grad)
    residuals = constraint_residuals(layout, theta)
    assert set(residuals) == {"Q", "tall", "wide", "W"}
    assert max(residuals.values()) < ON_MANIFOLD, residuals
    assert np.linalg.norm(theta - start) > 1.0  # it did move
    assert min_residual(layout, drifting) > 1e-2  # the Euclidean ablation leaves every manifold


def row_space_projector(omega: np.ndarray) -> np.ndarray:
    return omega.T @ omega


def test_literal_wide_rule_never_changes_the_row_space():
    layout = ParamLayout([ParamSpec("wide", (3, 7), "stiefel")])
    start = random_point(layout, seed=4)
    rng = np.random.default_rng(5)
    grads = rng.standard_normal((200, layout.size))
    moved = {}
    for rule in ("literal", "transpose"):
        theta = start
        for grad in grads:
            theta = riemannian_update(layout, theta, grad, 0.05, rule)
        assert max_residual(layout, theta) < ON_MANIFOLD
        moved[rule] = np.linalg.norm(row_space_projector(theta.reshape(3, 7))
                                     - row_space_projector(start.reshape(3, 7)))
    assert moved["literal"] < 1e-10  # the rows of U Ω span the rows of Ω
    assert moved["transpose"] > 0.5


def test_only_the_transpose_rule_maximises_a_wide_stiefel_objective():
    """max tr(C^T Ω) over wide Ω is ||C||_* (nuclear norm); the literal rule stays in Ω_0's row
    space, where the best is ||C Ω_0^T||_* < ||C||_*."""
    layout = ParamLayout([ParamSpec("wide", (2, 6), "stiefel")])
    start = random_point(layout, seed=6)
    c = np.random.default_rng(7).standard_normal((2, 6))
    best = np.linalg.norm(c, "nuc")
    literal_bound = np.linalg.norm(c @ start.reshape(2, 6).T, "nuc")
    assert literal_bound < best - 0.5
    reached = {}
    for rule in ("literal", "transpose"):
        theta = start
        for _ in range(500):  # exact gradient of tr(C^T Ω) is C
            theta = riemannian_update(layout, theta, c.ravel(), 0.1, rule)
        reached[rule] = float(np.sum(c.ravel() * theta))
    assert reached["transpose"] == pytest.approx(best, abs=1e-8)
    assert reached["literal"] <= literal_bound + 1e-9


def test_projected_perturbations_stay_on_the_manifold_and_ambient_ones_do_not():
    layout = ParamLayout(MANIFOLD_SPECS)
    theta = random_point(layout, seed=8)
    config = {"perturbations": 32, "estimator": "antithetic"}
    projected = ES(layout, ESConfig(perturbation="projected", **config), seed=1)
    ambient = ES(layout, ESConfig(perturbation="ambient", **config), seed=1)
    eps_p, on = projected.ask(theta)
    eps_a, off = ambient.ask(theta)
    np.testing.assert_array_equal(eps_p, eps_a)
    assert on.shape == off.shape == (32, layout.size)
    assert max_residual(layout, on) < ON_MANIFOLD
    assert min_residual(layout, off) > 1e-3
    np.testing.assert_allclose(off[:16] + off[16:], np.tile(2 * theta, (16, 1)), rtol=0,
                               atol=1e-14)
    b = layout.offsets["b"]  # Euclidean blocks are perturbed identically
    np.testing.assert_array_equal(on[:, b], off[:, b])


def test_residuals_of_known_off_manifold_points():
    layout = ParamLayout([ParamSpec("tall", (5, 2), "stiefel"), ParamSpec("wide", (2, 5),
                                                                          "stiefel")])
    theta = 2.0 * random_point(layout, seed=9)  # Ω^T Ω = 4 I, so ||Ω^T Ω - I||_F = 3 sqrt(2)
    for residual in constraint_residuals(layout, theta).values():
        assert residual == pytest.approx(3 * np.sqrt(2), rel=1e-12)


# --- the optimiser -------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", ["constant", "srgd"])
def test_step_sizes(schedule):
    layout = ParamLayout([ParamSpec("x", (3,))])
    es = ES(layout, ESConfig(step=0.5, schedule=schedule), seed=0)
    rng, theta = np.random.default_rng(0), np.zeros(3)
    for tau in range(1, 7):
        alpha = 0.5 / np.sqrt(tau) if schedule == "srgd" else 0.5  # Theorem 1: α_τ ∝ τ^{-1/2}
        assert es.step_size() == es.step_size(tau) == pytest.approx(alpha, rel=1e-15)
        grad = rng.standard_normal(3)
        new = es.update(theta, grad)
        np.testing.assert_allclose(new - theta, alpha * grad, rtol=1e-12)
        theta = new
    assert es.iteration == 6


class ConcaveObjective:
    """-||b - b*||² - ||Q - Q*||² + tr(C_1^T Ω_tall) + tr(C_2^T Ω_wide) + tr(R^T W), with R in
    SO(3) like W_0; its maximum is ||C_1||_* + ||C_2||_* + 3."""

    def __init__(self, layout: ParamLayout, seed: int = 10):
        rng = np.random.default_rng(seed)
        self.layout = layout
        q = rng.standard_normal((3, 3))
        self.targets = {"b": rng.standard_normal(4), "Q": q + q.T,
                        "tall": rng.standard_normal((6, 2)), "wide": rng.standard_normal((2, 5)),
                        "W": special_orthogonal(3, torch.Generator().manual_seed(seed))}
        self.maximum = (np.linalg.norm(self.targets["tall"], "nuc")
                        + np.linalg.norm(self.targets["wide"], "nuc") + 3.0)

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        blocks, t = self.layout.unflatten(theta), self.targets
        value = -np.sum((blocks["b"] - t["b"]) ** 2, axis=-1)
        value = value - np.sum((blocks["Q"] - t["Q"]) ** 2, axis=(-1, -2))
        for name in ("tall", "wide", "W"):
            value = value + np.sum(blocks[name] * t[name], axis=(-1, -2))
        return value


@pytest.mark.parametrize("perturbation", ["ambient", "projected"])
def test_es_ascends_a_concave_objective_on_manifolds(perturbation):
    layout = ParamLayout(MANIFOLD_SPECS)
    objective = ConcaveObjective(layout)
    config = ESConfig(perturbations=60, step=0.05, estimator="antithetic",
                      return_normalisation="none", perturbation=perturbation)
    es, theta = ES(layout, config, seed=11), random_point(layout, seed=12)
    start_gap = objective.maximum - objective(theta)
    for _ in range(300):
        eps, candidates = es.ask(theta)
        theta = es.tell(theta, eps, objective(candidates))
    gap = objective.maximum - objective(theta)
    assert gap >= -1e-9  # nothing beats the maximum: the iterate is feasible
    assert gap < 0.02 * start_gap, (start_gap, gap)
    assert max_residual(layout, theta) < ON_MANIFOLD


def test_resume_is_bit_identical():
    layout = ParamLayout(MANIFOLD_SPECS)
    objective = ConcaveObjective(layout)
    config = ESConfig(perturbations=8, schedule="srgd", step=0.002)

    def run(es: ES, theta: np.ndarray, iterations: int) -> tuple[np.ndarray, list[np.ndarray]]:
        noises = []
        for _ in range(iterations):
            eps, candidates = es.ask(theta)
            theta = es.tell(theta, eps, objective(candidates))
            noises.append(eps)
        return theta, noises

    original = ES(layout, config, seed=13)
    checkpoint_theta, _ = run(original, random_point(layout, seed=14), 5)
    checkpoint = json.loads(json.dumps(original.state_dict()))
    final, noises = run(original, checkpoint_theta, 3)

    resumed = ES(layout, config, seed=999)
    resumed.load_state_dict(checkpoint)
    assert resumed.iteration == 5
    resumed_final, resumed_noises = run(resumed, checkpoint_theta, 3)
    for a, b in zip(noises, resumed_noises, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(final, resumed_final)
    with pytest.raises(KeyError, match="rng"):
        resumed.load_state_dict({"iteration": 1})


@pytest.mark.parametrize(("field", "value", "hint"), [
    ("sigma", 0.0, "positive finite"), ("sigma", float("nan"), "positive finite"),
    ("step", -0.01, "positive finite"), ("step", float("inf"), "positive finite"),
    ("perturbations", 0, "positive integer"), ("perturbations", 2.5, "positive integer"),
    ("perturbations", True, "positive integer"),
    ("perturbations", 7, "even with estimator orthogonal_antithetic"),
    ("estimator", "central", "forward, antithetic, orthogonal_antithetic, got 'central'"),
    ("return_normalisation", "median", "none, mean, std, zscore, ranks, got 'median'"),
    ("perturbation", "retract", "ambient, projected"),
    ("update", "adam", "riemannian, euclidean"), ("schedule", "cosine", "constant, srgd"),
    ("wide_stiefel", "rows", "transpose, literal"),
])
def test_bad_config_values_are_named(field, value, hint):
    with pytest.raises(ValueError, match=rf"ES {field} must be .*{hint}"):
        ESConfig(**{field: value})


def test_paper_defaults():
    config = ESConfig()
    assert (config.sigma, config.step, config.perturbations) == (0.1, 0.01, 200)
    # ours where the paper is silent: [15]'s orthogonal antithetic pairs, std-divided returns;
    # the paper's ambient perturbation (Sec. 4.2) and Riemannian update (Sec. 5.1.2)
    assert config.estimator == "orthogonal_antithetic" and config.antithetic
    assert config.return_normalisation == "std"
    assert (config.perturbation, config.update, config.schedule, config.wide_stiefel) == (
        "ambient", "riemannian", "constant", "transpose")
    # k counts evaluations under every estimator: 100 pairs or 200 forward directions
    assert config.evaluations == 200 and config.directions == 100
    forward = ESConfig(estimator="forward", return_normalisation="none")
    assert forward.evaluations == forward.directions == 200 and not forward.antithetic
    with pytest.raises(ValueError, match="ES perturbations must be even with estimator "
                                         "antithetic"):
        ESConfig(perturbations=201, estimator="antithetic")
    assert ESConfig(perturbations=201, estimator="forward").directions == 201


def test_tell_checks_shapes():
    layout = ParamLayout([ParamSpec("x", (3,))])
    es = ES(layout, ESConfig(perturbations=4), seed=0)
    eps, candidates = es.ask(np.zeros(3))
    assert eps.shape == (2, 3) and candidates.shape == (4, 3)  # 2 antithetic pairs
    with pytest.raises(ValueError, match=r"eps must have shape \(2, 3\)"):
        es.tell(np.zeros(3), eps[:1], np.zeros(2))
    forward = ES(layout, ESConfig(perturbations=4, estimator="forward"), seed=0)
    eps, candidates = forward.ask(np.zeros(3))
    assert eps.shape == candidates.shape == (4, 3)
    with pytest.raises(ValueError, match=r"theta must have shape \(3,\)"):
        es.ask(np.zeros(4))
