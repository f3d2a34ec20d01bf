"""The unit of work every backend runs: rollouts of one policy on one env id, with the worker's
own environment cache; plus the checks and row split shared by all backends."""

from __future__ import annotations

import numpy as np

from odebench.rl.envs import env_dims
from odebench.rl.policy_spec import PolicySpec, RolloutPolicy, resolve_policy
from odebench.rl.rollout import (
    EnvCache,
    ObsNormLike,
    PolicyEnvMismatchError,
    RolloutResult,
    check_fit,
    rollout_batch,
)


class WorkerError(RuntimeError):
    """A task of a batch failed on every try (its retries on fresh workers spent): the message
    is one line naming the task and each failure; ``worker_traceback`` holds the last
    worker's traceback (or how it ended)."""

    def __init__(self, message: str, worker_traceback: str):
        super().__init__(message)
        self.worker_traceback = worker_traceback


class RolloutJob:
    """Rollouts of one policy on one environment id, reusing this worker's environments."""

    def __init__(self, policy: RolloutPolicy | PolicySpec, env_id: str, horizon: int | None):
        self.policy = resolve_policy(policy)
        self.env_id = env_id
        self.horizon = horizon
        self.envs = EnvCache()

    def run(self, flat: np.ndarray, seeds: np.ndarray,
            obs_norm: ObsNormLike | None = None) -> RolloutResult:
        return rollout_batch(self.policy, flat, self.env_id, self.horizon, seeds, obs_norm,
                             self.envs)

    def close(self) -> None:
        self.envs.close()


def split_rows(count: int, parts: int) -> list[slice]:
    """``count`` rows as at most ``parts`` consecutive, near-equal, non-empty slices."""
    parts = max(1, min(parts, count))
    bounds = [part * count // parts for part in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def checked_policy(policy: RolloutPolicy | PolicySpec, env_id: str) -> RolloutPolicy:
    """The policy object, after checking in this process that it fits ``env_id``."""
    built = resolve_policy(policy)
    check_fit(built, env_id, *env_dims(env_id))
    return built


def checked_batch(policy: RolloutPolicy, env_id: str, flat: np.ndarray,
                  seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``flat`` as float64 ``[P, D]`` and ``seeds`` as int64 ``[P]``, sizes checked."""
    flat = np.atleast_2d(np.asarray(flat, np.float64))
    seeds = np.asarray(seeds, np.int64).reshape(-1)
    if flat.ndim != 2 or flat.shape[1] != policy.layout().size:
        raise PolicyEnvMismatchError(
            f"policy {policy.name!r} on {env_id} needs parameter vectors [P, "
            f"{policy.layout().size}], got {flat.shape}")
    if len(seeds) != len(flat):
        raise ValueError(f"{len(flat)} parameter vectors but {len(seeds)} seeds")
    return flat, seeds

