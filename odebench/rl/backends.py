"""Rollout backends behind one :class:`Evaluator` interface.

Every backend is bound to one policy (object or :class:`~odebench.rl.policy_spec.PolicySpec`),
env id and horizon. The pool and Ray backends cut the P rows of a batch into consecutive chunks
(a function of P and the worker count, :func:`~odebench.rl.scheduling.chunk_rows`), hand them
to idle workers and concatenate the results in row order. Each rollout depends only on its
parameter vector and seed (for policies whose rows act independently, see
:mod:`odebench.rl.policy_spec`), so returns are identical across backends and worker counts;
the summed observation statistics agree up to floating-point summation order.

* :class:`SerialBackend`: in this process.
* :class:`~odebench.rl.pool_backend.PoolBackend` (default): persistent worker processes.
* :class:`~odebench.rl.ray_backend.RayBackend`: Ray actors (needs ``ray``).

Pool and Ray share :mod:`odebench.rl.scheduling`'s fault rules: a task (chunk) that raises,
loses its worker or exceeds its timeout is retried on a fresh worker, each retry logged in one
line, up to a retry budget; then one-line :class:`~odebench.rl.worker.WorkerError`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from odebench.rl.policy_spec import PolicySpec, RolloutPolicy
from odebench.rl.pool_backend import PoolBackend
from odebench.rl.ray_backend import DEFAULT_CONNECT_TIMEOUT_S, RayAddressError, RayBackend
from odebench.rl.rollout import ObsNormLike, RolloutResult
from odebench.rl.scheduling import Retry
from odebench.rl.worker import RolloutJob, WorkerError, checked_batch, checked_policy

BACKENDS = ("pool", "serial", "ray")


class Evaluator(Protocol):
    """Rollouts of a bound policy: one episode per row of ``flat [P, D]`` with ``seeds[i]``."""

    def evaluate(self, flat: np.ndarray, seeds: np.ndarray,
                 obs_norm: ObsNormLike | None = None) -> RolloutResult: ...

    def close(self) -> None: ...


class SerialBackend:
    """All rows in this process, with this backend's own environment cache."""

    def __init__(self, policy: RolloutPolicy | PolicySpec, env_id: str, horizon: int | None):
        self.policy = checked_policy(policy, env_id)
        self.env_id = env_id
        self._job = RolloutJob(self.policy, env_id, horizon)

    def evaluate(self, flat: np.ndarray, seeds: np.ndarray,
                 obs_norm: ObsNormLike | None = None) -> RolloutResult:
        flat, seeds = checked_batch(self.policy, self.env_id, flat, seeds)
        return self._job.run(flat, seeds, obs_norm)

    def close(self) -> None:
        self._job.close()

    def __enter__(self) -> SerialBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_backend(name: str, policy: RolloutPolicy | PolicySpec, env_id: str,
                 horizon: int | None, workers: int = 2, address: str | None = None,
                 connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
                 retry: Retry | None = None) -> Evaluator:
    """``pool`` (default), ``serial`` or ``ray`` (``address`` is Ray's, probed within
    ``connect_timeout_s``); ``retry``: the per-task timeout, retries and retry log of the pool
    and Ray backends."""
    retry = retry or Retry()
    faults = {"timeout_s": retry.timeout_s, "retries": retry.retries, "log": retry.log}
    if name == "serial":
        return SerialBackend(policy, env_id, horizon)
    if name == "pool":
        return PoolBackend(policy, env_id, horizon, workers=workers, **faults)
    if name == "ray":
        return RayBackend(policy, env_id, horizon, workers=workers, address=address,
                          connect_timeout_s=connect_timeout_s, **faults)
    raise ValueError(f"unknown backend {name!r}; valid: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Evaluator", "PoolBackend", "RayAddressError", "RayBackend", "Retry",
           "SerialBackend", "WorkerError", "make_backend"]
