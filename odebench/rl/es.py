"""Evolution strategies with Riemannian updates (ODEtoODE Sec. 4.2 and 5.1).

The estimator is the Gaussian-smoothing Monte Carlo gradient of Sec. 4.2,
``(1/(σk)) Σ_w F(θ + σ ε_w) ε_w`` (``estimator: forward`` on raw returns), or by default the
structured form of the paper's reference [15] (Choromanski et al., ICML 2018): k/2 directions,
orthogonal within blocks of D and rescaled to chi-distributed norms, each evaluated as +ε and
-ε, on returns divided by their standard deviation. Updates move each parameter block on its
own manifold (:mod:`odebench.rl.manifold_updates`). A training loop alternates::

    eps, candidates = es.ask(theta)        # eps: [directions, D]; candidates: [k, D]
    returns = evaluate(candidates)         # one return per candidate, in the same order
    returns, bad = finite_returns(returns) # a non-finite return scored as the worst finite one
    theta = es.tell(theta, eps, returns)

Everything is numpy float64 and deterministic given the seed; :meth:`ES.state_dict` holds the
iteration count and the RNG state, so a resumed run repeats the original bit for bit.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from odebench.rl.manifold_updates import (
    WIDE_STIEFEL_RULES,
    constraint_residuals,
    riemannian_update,
)
from odebench.rl.params import ParamLayout

__all__ = ["ES", "ESConfig", "centred_ranks", "constraint_residuals", "es_gradient",
           "finite_returns", "normalise_returns", "orthogonal_directions"]

ESTIMATORS = ("forward", "antithetic", "orthogonal_antithetic")
NORMALISATIONS = ("none", "mean", "std", "zscore", "ranks")
PERTURBATIONS = ("ambient", "projected")
UPDATES = ("riemannian", "euclidean")
SCHEDULES = ("constant", "srgd")
CHOICES: dict[str, Sequence[str]] = {
    "estimator": ESTIMATORS, "return_normalisation": NORMALISATIONS,
    "perturbation": PERTURBATIONS, "update": UPDATES, "schedule": SCHEDULES,
    "wide_stiefel": WIDE_STIEFEL_RULES,
}


def _check_choice(field: str, value: Any, options: Sequence[str]) -> None:
    if value not in options:
        raise ValueError(f"ES {field} must be one of {', '.join(options)}, got {value!r}")


@dataclass(frozen=True)
class ESConfig:
    """ES hyperparameters; the defaults are the paper's (Sec. 4.2, 5.1) where it gives them.

    ``perturbation``: ``"ambient"`` evaluates θ + σε (the theory's literal form, which leaves
    the manifolds); ``"projected"`` gives symmetric blocks σ sym(ε) and moves Stiefel and
    orthogonal blocks by the exponential map along ε's Riemannian direction, so every
    candidate stays on its manifold. ``update``: ``"riemannian"`` (Eqs. 8-9) or
    ``"euclidean"`` (θ + α g everywhere; ablation). ``schedule``: ``"constant"`` α = step or
    ``"srgd"`` α_τ = step τ^{-1/2} (step = 1 is Theorem 1 exactly). ``wide_stiefel``: the
    update rule of wide Stiefel blocks, for updates and projected perturbations alike (see
    :mod:`odebench.rl.manifold_updates`).

    ``perturbations`` k counts the candidates evaluated per iteration under every estimator:
    ``forward`` draws k i.i.d. Gaussian directions (Sec. 4.2's plain Monte Carlo);
    ``antithetic`` k/2 i.i.d. directions, each as +ε and -ε; ``orthogonal_antithetic`` k/2
    directions orthogonal within blocks of D, as [15] (:func:`orthogonal_directions`).
    ``return_normalisation`` (:func:`normalise_returns`): ``none`` raw returns (the theory's),
    ``mean`` minus their mean, ``std`` divided by their standard deviation, ``zscore`` both,
    ``ranks`` centred ranks.
    """

    sigma: float = 0.1  # perturbation stddev (Sec. 5.1: "stddev = 0.1")
    step: float = 0.01  # step size δ (Sec. 5.1: δ = 0.01)
    perturbations: int = 200  # k candidates per iteration (Sec. 5.1: k = 200, following [15])
    # Ours where the paper is silent ("standard Monte Carlo procedure [15]"): [15]'s
    # orthogonal antithetic directions on std-divided returns. Forward MC on raw returns (the
    # theory, Sec. 4.2) does not learn HalfCheetah at k = 200, σ = 0.1, δ = 0.01 (docs/PAPERS.md).
    estimator: str = "orthogonal_antithetic"
    return_normalisation: str = "std"
    # Sec. 4.2: F(θ + σε), ambient; only the update is Riemannian (Sec. 5.1.2). projected
    # (ours) keeps every perturbed policy's W_i orthogonal: needed on Gym Humanoid (h = 64),
    # where ambient noise makes ODEtoODE's W-sequence non-finite at θ0 (docs/PAPERS.md).
    perturbation: str = "ambient"
    update: str = "riemannian"  # exp-map updates of Eqs. 8-9 (Sec. 5.1.2)
    schedule: str = "constant"  # constant δ in the experiments (Sec. 5.1); srgd: Theorem 1
    wide_stiefel: str = "transpose"  # tall rule on Ω^T [derived; docs/PAPERS.md]; literal: Eq. 9

    def __post_init__(self) -> None:
        for name in ("sigma", "step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or value <= 0:
                raise ValueError(f"ES {name} must be a positive finite number, got {value!r}")
        k = self.perturbations
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"ES perturbations must be a positive integer, got {k!r}")
        for name, options in CHOICES.items():
            _check_choice(name, getattr(self, name), options)
        if self.antithetic and k % 2:
            raise ValueError(f"ES perturbations must be even with estimator {self.estimator} "
                             f"(k/2 antithetic pairs), got {k}; use an even k or "
                             "estimator: forward")

    @property
    def antithetic(self) -> bool:
        """Whether candidates come in +ε / -ε pairs (the estimators but ``forward``)."""
        return self.estimator != "forward"

    @property
    def directions(self) -> int:
        """Noise directions per iteration: k, or k/2 with antithetic pairs."""
        return self.perturbations // 2 if self.antithetic else self.perturbations

    @property
    def evaluations(self) -> int:
        """Candidates per iteration: k under every estimator."""
        return self.perturbations

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def centred_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks of ``values`` mapped linearly onto ``[-0.5, 0.5]`` (ties share their mean rank)."""
    values = np.asarray(values, dtype=np.float64)
    count = values.size
    if count < 2:
        return np.zeros_like(values)
    ranks = np.empty(count)
    ranks[np.argsort(values, kind="stable")] = np.arange(count)
    _, groups, sizes = np.unique(values, return_inverse=True, return_counts=True)
    ranks = np.bincount(groups, weights=ranks)[groups] / sizes[groups]
    return ranks / (count - 1) - 0.5


def normalise_returns(returns: np.ndarray, normalisation: str) -> np.ndarray:
    """The weights the estimator uses for ``returns`` (statistics over the whole batch).

    ``none``: the returns; ``mean``: minus their mean; ``std``: divided by their standard
    deviation; ``zscore``: both; ``ranks``: :func:`centred_ranks`. A batch of equal returns
    (standard deviation 0) has no direction to follow: ``std`` and ``zscore`` give zeros.
    Under antithetic pairs only differences within a pair count, so ``std`` = ``zscore`` and
    ``mean`` = ``none`` there.
    """
    _check_choice("return_normalisation", normalisation, NORMALISATIONS)
    returns = np.asarray(returns, dtype=np.float64)
    if normalisation == "ranks":
        return centred_ranks(returns)
    if normalisation in ("mean", "zscore"):
        returns = returns - returns.mean()
    if normalisation in ("std", "zscore"):
        std = returns.std()
        return returns / std if std > 0 else np.zeros_like(returns)
    return returns


def finite_returns(returns: np.ndarray) -> tuple[np.ndarray, int]:
    """``returns`` with each non-finite entry scored as the worst finite return of the batch,
    and the number replaced (a candidate that blew up counts as the worst one seen, and its
    antithetic partner keeps its pair). With no finite return the batch is returned as is:
    it carries no information and the caller skips the update."""
    returns = np.asarray(returns, dtype=np.float64)
    finite = np.isfinite(returns)
    bad = int(returns.size - finite.sum())
    if bad == 0 or bad == returns.size:
        return returns, bad
    return np.where(finite, returns, returns[finite].min()), bad


def orthogonal_directions(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    """``count`` Gaussian directions ``[count, D]``, orthogonal within consecutive blocks of
    ``dim`` rows ([15], Choromanski et al. 2018): each block of Gaussian rows Gram-Schmidt
    orthogonalised (QR, signs fixed so the directions are uniform) and every row rescaled to
    its own Gaussian norm, which is chi(D)-distributed and independent of the direction. Each
    row is marginally N(0, I), so the estimator stays unbiased. Consumes the same normals as
    ``rng.standard_normal((count, dim))``."""
    gaussian = rng.standard_normal((count, dim))
    out = np.empty_like(gaussian)
    for start in range(0, count, dim):
        block = gaussian[start:start + dim]
        q, r = np.linalg.qr(block.T)
        signs = np.sign(np.diag(r))
        signs[signs == 0] = 1.0
        out[start:start + dim] = (q * signs).T * np.linalg.norm(block, axis=1)[:, None]
    return out


def es_gradient(eps: np.ndarray, returns: np.ndarray, sigma: float, *,
                antithetic: bool = False, normalisation: str = "none") -> np.ndarray:
    """The Monte Carlo gradient of the Gaussian smoothing F_σ (Sec. 4.2), shape ``[D]``.

    Forward: ``(1/(σn)) Σ_w F_w ε_w`` with ``returns`` ``[n]`` for θ + σε_w. Antithetic:
    ``returns`` ``[2n]``, first θ + σε_w then θ - σε_w (the order of :meth:`ES.ask`), and
    ``(1/(2σn)) Σ_w (F⁺_w - F⁻_w) ε_w``. The returns are first weighted by
    :func:`normalise_returns` over all candidates.
    """
    eps = np.asarray(eps, dtype=np.float64)
    returns = np.asarray(returns, dtype=np.float64)
    _check_choice("return_normalisation", normalisation, NORMALISATIONS)
    if eps.ndim != 2:
        raise ValueError(f"eps must be [k, D], got shape {eps.shape}")
    k = eps.shape[0]
    expected = 2 * k if antithetic else k
    if returns.shape != (expected,):
        raise ValueError(f"returns must have shape ({expected},) for {k} perturbations"
                         f"{' (antithetic pairs)' if antithetic else ''}, got {returns.shape}")
    if not np.all(np.isfinite(returns)):
        raise ValueError("returns contain NaN or infinite values")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
    weights = normalise_returns(returns, normalisation)
    if antithetic:
        return (weights[:k] - weights[k:]) @ eps / (2.0 * sigma * k)
    return weights @ eps / (sigma * k)


class ES:
    """Ask/tell evolution strategies on a :class:`ParamLayout`'s flat parameter vector."""

    def __init__(self, layout: ParamLayout, config: ESConfig, seed: int):
        self.layout = layout
        self.config = config
        self.rng = np.random.default_rng(seed)
        self.iteration = 0  # τ: the number of updates made so far

    def step_size(self, tau: int | None = None) -> float:
        """α of update τ (default: the next one): step, or step τ^{-1/2} under srgd.

        τ counts updates from 1; update τ uses the gradient at θ^(τ-1), the parameters the
        returns were measured at (Theorem 1's θ^(τ) there is a typo).
        """
        tau = self.iteration + 1 if tau is None else tau
        if tau < 1:
            raise ValueError(f"update index tau starts at 1, got {tau}")
        if self.config.schedule == "srgd":
            return self.config.step / math.sqrt(tau)
        return self.config.step

    def _check_theta(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.layout.size,):
            raise ValueError(f"theta must have shape ({self.layout.size},), got {theta.shape}")
        return theta

    def perturb(self, theta: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """The candidates for noise ``eps`` ``[n, D]``: ``[n, D]``, or ``[2n, D]`` (+ then -)."""
        theta = self._check_theta(theta)
        signs = (1.0, -1.0) if self.config.antithetic else (1.0,)
        sigma = self.config.sigma
        if self.config.perturbation == "projected":
            moves = [riemannian_update(self.layout, theta, sign * eps, sigma,
                                       self.config.wide_stiefel) for sign in signs]
        else:
            moves = [theta + sign * sigma * eps for sign in signs]
        return np.concatenate(moves, axis=0)

    def ask(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Draw the iteration's directions ``[n, D]``; return them and the k candidates."""
        theta = self._check_theta(theta)
        shape = (self.config.directions, self.layout.size)
        if self.config.estimator == "orthogonal_antithetic":
            eps = orthogonal_directions(self.rng, *shape)
        else:
            eps = self.rng.standard_normal(shape)
        return eps, self.perturb(theta, eps)

    def gradient(self, eps: np.ndarray, returns: np.ndarray) -> np.ndarray:
        """:func:`es_gradient` under this config (the ambient gradient, before projection)."""
        cfg = self.config
        return es_gradient(eps, returns, cfg.sigma, antithetic=cfg.antithetic,
                           normalisation=cfg.return_normalisation)

    def update(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """One ascent step α_τ along ``grad`` (Riemannian or Euclidean); advances τ."""
        theta = self._check_theta(theta)
        grad = np.asarray(grad, dtype=np.float64)
        if grad.shape != theta.shape:
            raise ValueError(f"gradient must have shape {theta.shape}, got {grad.shape}")
        alpha = self.step_size()
        if self.config.update == "riemannian":
            new_theta = riemannian_update(self.layout, theta, grad, alpha,
                                          self.config.wide_stiefel)
        else:
            new_theta = theta + alpha * grad
        self.iteration += 1
        return new_theta

    def tell(self, theta: np.ndarray, eps: np.ndarray, returns: np.ndarray) -> np.ndarray:
        """The new parameters after the returns of :meth:`ask`'s candidates."""
        eps = np.asarray(eps, dtype=np.float64)
        if eps.shape != (self.config.directions, self.layout.size):
            raise ValueError(f"eps must have shape ({self.config.directions}, "
                             f"{self.layout.size}), got {eps.shape}")
        return self.update(theta, self.gradient(eps, returns))

    def state_dict(self) -> dict[str, Any]:
        """Iteration count and RNG state (plain Python values, JSON-serialisable)."""
        return {"iteration": self.iteration,
                "rng": copy.deepcopy(self.rng.bit_generator.state)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output, so the next :meth:`ask` repeats the original."""
        missing = {"iteration", "rng"} - set(state)
        if missing:
            raise KeyError(f"ES state is missing {', '.join(sorted(missing))}")
        iteration = state["iteration"]
        if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
            raise ValueError(f"ES state iteration must be a non-negative integer, "
                             f"got {iteration!r}")
        self.rng.bit_generator.state = copy.deepcopy(state["rng"])
        self.iteration = iteration
