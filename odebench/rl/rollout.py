"""Batched episodes: P environments stepped in lockstep, one batched policy call per step.

Each of the P parameter vectors gets its own environment, reset with its own seed. The policy's
``prepare`` runs once for the batch; every step calls ``act`` once on the still-active episodes
(``rows``). An episode ends at termination, truncation (the env's time limit) or ``horizon``
steps, whichever comes first.

Actions are clipped to the action space bounds, which the paper does not specify (its output
layer is linear, unbounded). The MuJoCo models clamp ``ctrl`` to the same range anyway, but the
envs' control cost is computed from the action as passed, so clipping changes the reward of
out-of-range actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium
import numpy as np

from odebench.rl.envs import make_env
from odebench.rl.policy_spec import RolloutPolicy


class PolicyEnvMismatchError(ValueError):
    """A policy whose parameter, observation or action sizes do not fit the environment."""


@dataclass(frozen=True)
class ObsNorm:
    """Observation normalisation ``(obs - mean) / std`` (the ES master keeps running stats)."""

    mean: np.ndarray
    std: np.ndarray

    def apply(self, obs: np.ndarray) -> np.ndarray:
        return (obs - self.mean) / self.std

    @classmethod
    def of(cls, value: ObsNorm | tuple[np.ndarray, np.ndarray] | None) -> ObsNorm | None:
        """An :class:`ObsNorm` from itself, a ``(mean, std)`` pair, or None."""
        if value is None or isinstance(value, ObsNorm):
            return value
        mean, std = value
        return cls(np.asarray(mean, np.float64), np.asarray(std, np.float64))


ObsNormLike = ObsNorm | tuple[np.ndarray, np.ndarray]


@dataclass
class RolloutResult:
    """Per-episode returns and lengths, plus sums over every finite raw observation the policy
    saw (a blown-up episode's NaN states never reach the observation statistics)."""

    returns: np.ndarray      # [P] float64
    steps: np.ndarray        # [P] int64
    obs_sum: np.ndarray      # [d]
    obs_sumsq: np.ndarray    # [d]
    obs_count: int

    @classmethod
    def concat(cls, parts: Sequence[RolloutResult]) -> RolloutResult:
        """Results of consecutive slices of a batch, in order, as one result."""
        return cls(np.concatenate([p.returns for p in parts]),
                   np.concatenate([p.steps for p in parts]),
                   np.sum([p.obs_sum for p in parts], axis=0),
                   np.sum([p.obs_sumsq for p in parts], axis=0),
                   int(sum(p.obs_count for p in parts)))


class EnvCache:
    """Environments kept per env id and reused across rollouts (one cache per worker)."""

    def __init__(self) -> None:
        self._envs: dict[str, list[gymnasium.Env]] = {}

    def get(self, env_id: str, count: int) -> list[gymnasium.Env]:
        envs = self._envs.setdefault(env_id, [])
        while len(envs) < count:
            envs.append(make_env(env_id))
        return envs[:count]

    def close(self) -> None:
        for envs in self._envs.values():
            for env in envs:
                env.close()
        self._envs.clear()


DEFAULT_CACHE = EnvCache()


def check_fit(policy: RolloutPolicy, env_id: str, obs_dim: int, act_dim: int,
              size: int | None = None) -> None:
    """Raise :class:`PolicyEnvMismatchError` when ``policy`` cannot drive an environment with
    these dimensions (``size``: the entries per parameter vector, when known)."""
    problems = []
    if size is not None and policy.layout().size != size:
        problems.append(f"parameter vectors have {size} entries, the policy's layout "
                        f"{policy.layout().size}")
    for attribute, env_value in (("obs_dim", obs_dim), ("act_dim", act_dim)):
        value = getattr(policy, attribute, None)
        if value is not None and value != env_value:
            problems.append(f"policy {attribute}={value}, environment {env_value}")
    if problems:
        raise PolicyEnvMismatchError(
            f"policy {policy.name!r} does not fit {env_id} (observation dim {obs_dim}, action "
            f"dim {act_dim}): {'; '.join(problems)}")


def rollout_batch(policy: RolloutPolicy, flat: np.ndarray, env_id: str, horizon: int | None,
                  seeds: Sequence[int],
                  obs_norm: ObsNormLike | None = None,
                  envs: EnvCache | Sequence[gymnasium.Env] | None = None) -> RolloutResult:
    """One episode per row of ``flat [P, D]``, env ``i`` reset with ``seeds[i]``.

    ``horizon=None`` uses the environment's registered time limit; a longer horizon is capped
    by it. ``obs_norm`` (an :class:`ObsNorm` or ``(mean, std)``) normalises what the policy
    sees; the returned statistics are of raw observations. ``envs`` defaults to this
    process's :data:`DEFAULT_CACHE`.
    """
    obs_norm = ObsNorm.of(obs_norm)
    flat = np.atleast_2d(np.asarray(flat, np.float64))
    count = flat.shape[0]
    if len(seeds) != count:
        raise ValueError(f"{count} parameter vectors but {len(seeds)} seeds")
    cache = DEFAULT_CACHE if envs is None else envs
    envs = cache.get(env_id, count) if isinstance(cache, EnvCache) else list(cache)[:count]
    if len(envs) < count:
        raise ValueError(f"{count} parameter vectors but only {len(envs)} environments")
    space = envs[0].action_space
    check_fit(policy, env_id, envs[0].observation_space.shape[0], space.shape[0], flat.shape[1])
    limit = horizon if horizon is not None else envs[0].spec.max_episode_steps
    if limit is None:
        raise ValueError(f"{env_id} has no registered time limit: pass a horizon")
    low, high = space.low, space.high

    obs = np.stack([env.reset(seed=int(seed))[0] for env, seed in zip(envs, seeds, strict=True)])
    returns = np.zeros(count)
    steps = np.zeros(count, np.int64)
    obs_sum = np.zeros(obs.shape[1])
    obs_sumsq = np.zeros(obs.shape[1])
    obs_count = 0
    params = policy.prepare(flat)
    active = np.arange(count)
    for _ in range(limit):
        seen = obs[active]
        finite = seen[np.isfinite(seen).all(axis=1)]
        obs_sum += finite.sum(axis=0)
        obs_sumsq += np.square(finite).sum(axis=0)
        obs_count += len(finite)
        inputs = seen if obs_norm is None else obs_norm.apply(seen)
        actions = policy.act(params, inputs, None if len(active) == count else active)
        if actions.shape != (len(active), low.shape[0]):
            raise PolicyEnvMismatchError(
                f"policy {policy.name!r} returned actions of shape {actions.shape} for "
                f"{len(active)} observations; {env_id} needs [{len(active)}, {low.shape[0]}]")
        actions = np.clip(actions, low, high)
        still = []
        for row, action in zip(active, actions, strict=True):
            obs[row], reward, terminated, truncated, _ = envs[row].step(action)
            returns[row] += reward
            steps[row] += 1
            if not (terminated or truncated):
                still.append(row)
        if not still:
            break
        active = np.asarray(still)
    return RolloutResult(returns, steps, obs_sum, obs_sumsq, obs_count)
