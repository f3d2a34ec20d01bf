"""Ray actors as rollout workers, with :mod:`odebench.rl.scheduling`'s chunking, retry-once
and error rules (as :class:`~odebench.rl.pool_backend.PoolBackend`).

``address=None`` starts a local Ray instance bound to 127.0.0.1 (no dashboard) unless Ray is
already initialised in this process, in which case that session is used. A cluster address is
first probed with a plain TCP connection to its GCS port, so an address nobody answers fails
within ``connect_timeout_s`` instead of waiting on Ray's own retries.
"""

from __future__ import annotations

import socket
from typing import Any

import numpy as np

from odebench.rl.policy_spec import PolicySpec, RolloutPolicy
from odebench.rl.rollout import ObsNormLike, RolloutResult
from odebench.rl.scheduling import Reply, Task, run_chunks
from odebench.rl.worker import RolloutJob, checked_batch, checked_policy

RAY_INSTALL_HINT = 'pip install "ray>=2.40"'


def import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise ImportError(f"the Ray backend needs the 'ray' package: {RAY_INSTALL_HINT}") from error
    return ray


def probe_address(address: str, timeout_s: float) -> None:
    """Raise ConnectionError unless something accepts TCP connections at ``host:port``."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"Ray address must look like 'host:port' (or 'ray://host:port'), "
                         f"got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise ConnectionError(
            f"no Ray cluster answers at {address} ({error.__class__.__name__}: {error}, within "
            f"{timeout_s:g}s); start one with `ray start --head --node-ip-address=127.0.0.1 "
            f"--port={port}` or pass address=None for a local loopback instance") from error


class RayBackend:
    """``workers`` Ray actors (1 CPU each), each with its own environment cache."""

    def __init__(self, policy: RolloutPolicy | PolicySpec, env_id: str, horizon: int | None,
                 workers: int = 2, address: str | None = None, connect_timeout_s: float = 3.0,
                 timeout_s: float | None = None):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        ray = self._ray = import_ray()
        self.policy = checked_policy(policy, env_id)
        self.env_id, self.horizon = env_id, horizon
        self.workers, self.timeout_s = workers, timeout_s
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            if address is None:
                ray.init(address="local", include_dashboard=False, num_cpus=workers,
                         _node_ip_address="127.0.0.1", log_to_driver=False)
            else:
                if address not in ("auto", "local"):
                    probe_address(address, connect_timeout_s)
                ray.init(address=address, log_to_driver=False)
        self._actor = ray.remote(num_cpus=1, max_restarts=0)(RolloutJob)
        self._args = (policy, env_id, horizon)
        self._actors = [self._actor.remote(*self._args) for _ in range(workers)]
        self._running: dict[int, Any] = {}     # worker -> ObjectRef of its current chunk

    def evaluate(self, flat: np.ndarray, seeds: np.ndarray,
                 obs_norm: ObsNormLike | None = None) -> RolloutResult:
        flat, seeds = checked_batch(self.policy, self.env_id, flat, seeds)
        return run_chunks(flat, seeds, obs_norm, self.workers, self, self.env_id, "Ray actor",
                          self.timeout_s)

    # --- Dispatcher (odebench.rl.scheduling) ---------------------------------------------------

    def submit(self, worker: int, task: Task) -> None:
        self._running[worker] = self._actors[worker].run.remote(*task)

    def wait(self, workers: list[int], timeout_s: float | None) -> list[Reply]:
        ray = self._ray
        owner = {self._running[w]: w for w in workers}
        ready, _ = ray.wait(list(owner), num_returns=1, timeout=timeout_s)
        replies: list[Reply] = []
        for ref in ready:
            worker = owner[ref]
            del self._running[worker]
            try:
                replies.append((worker, "ok", ray.get(ref)))
            except ray.exceptions.RayError as error:
                replies.append((worker, "error", str(error)))
        return replies

    def replace(self, worker: int) -> None:
        self._running.pop(worker, None)
        self._ray.kill(self._actors[worker], no_restart=True)
        self._actors[worker] = self._actor.remote(*self._args)

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor, no_restart=True)
        self._actors = []
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> RayBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
