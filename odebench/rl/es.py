"""Evolution strategies with Riemannian updates (ODEtoODE Sec. 4.2 and 5.1).

The estimator is the Gaussian-smoothing Monte Carlo gradient of Sec. 4.2,
``(1/(σk)) Σ_w F(θ + σ ε_w) ε_w``; updates move each parameter block on its own manifold
(:mod:`odebench.rl.manifold_updates`). A training loop alternates::

    eps, candidates = es.ask(theta)        # candidates: [k, D], or [2k, D] when antithetic
    returns = evaluate(candidates)         # one return per candidate, in the same order
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

__all__ = ["ES", "ESConfig", "centred_ranks", "constraint_residuals", "es_gradient"]

BASELINES = ("none", "mean")
PERTURBATIONS = ("ambient", "projected")
UPDATES = ("riemannian", "euclidean")
SCHEDULES = ("constant", "srgd")
CHOICES: dict[str, Sequence[str]] = {
    "baseline": BASELINES, "perturbation": PERTURBATIONS, "update": UPDATES,
    "schedule": SCHEDULES, "wide_stiefel": WIDE_STIEFEL_RULES,
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
    """

    sigma: float = 0.1  # perturbation stddev (Sec. 5.1: "stddev = 0.1")
    step: float = 0.01  # step size δ (Sec. 5.1: δ = 0.01)
    perturbations: int = 200  # k per iteration (Sec. 5.1: k = 200, following [15])
    antithetic: bool = False  # plain forward MC estimator (Sec. 4.2; docs/PAPERS.md)
    rank_shaping: bool = False  # raw returns in the estimator (Sec. 4.2; docs/PAPERS.md)
    baseline: str = "none"  # no baseline subtraction (Sec. 4.2; docs/PAPERS.md)
    # Unspecified by the paper (Sec. 5.1.2: "standard Monte Carlo"). Ours: projected, so every
    # perturbed policy keeps orthogonal W_i; ambient θ + σε (the theory's literal form, Sec.
    # 4.2) let Q, N, W0 leave their manifolds and ODEtoODE's W-sequence overflow to NaN on
    # HalfCheetah within 10 iterations (h = 16, σ = 0.1, k = 16) and at once on Humanoid (h = 64).
    perturbation: str = "projected"
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
        for name in ("antithetic", "rank_shaping"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"ES {name} must be True or False, "
                                 f"got {getattr(self, name)!r}")
        for name, options in CHOICES.items():
            _check_choice(name, getattr(self, name), options)

    @property
    def evaluations(self) -> int:
        """Candidates per iteration: k, or 2k with antithetic pairs."""
        return 2 * self.perturbations if self.antithetic else self.perturbations

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


def es_gradient(eps: np.ndarray, returns: np.ndarray, sigma: float, *,
                antithetic: bool = False, rank_shaping: bool = False,
                baseline: str = "none") -> np.ndarray:
    """The Monte Carlo gradient of the Gaussian smoothing F_σ (Sec. 4.2), shape ``[D]``.

    Plain: ``(1/(σk)) Σ_w F_w ε_w`` with ``returns`` ``[k]`` for θ + σε_w. Antithetic:
    ``returns`` ``[2k]``, first θ + σε_w then θ - σε_w (the order of :meth:`ES.ask`), and
    ``(1/(2σk)) Σ_w (F⁺_w - F⁻_w) ε_w``. Rank shaping replaces the returns by their centred
    ranks over all candidates; baseline ``"mean"`` subtracts their mean.
    """
    eps = np.asarray(eps, dtype=np.float64)
    returns = np.asarray(returns, dtype=np.float64)
    _check_choice("baseline", baseline, BASELINES)
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
    weights = centred_ranks(returns) if rank_shaping else returns
    if baseline == "mean":
        weights = weights - weights.mean()
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
        """The candidates for noise ``eps`` ``[k, D]``: ``[k, D]``, or ``[2k, D]`` (+ then -)."""
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
        """Draw k standard normal perturbations; return them and the candidates to evaluate."""
        theta = self._check_theta(theta)
        eps = self.rng.standard_normal((self.config.perturbations, self.layout.size))
        return eps, self.perturb(theta, eps)

    def gradient(self, eps: np.ndarray, returns: np.ndarray) -> np.ndarray:
        """:func:`es_gradient` under this config (the ambient gradient, before projection)."""
        cfg = self.config
        return es_gradient(eps, returns, cfg.sigma, antithetic=cfg.antithetic,
                           rank_shaping=cfg.rank_shaping, baseline=cfg.baseline)

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
        if eps.shape != (self.config.perturbations, self.layout.size):
            raise ValueError(f"eps must have shape ({self.config.perturbations}, "
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
