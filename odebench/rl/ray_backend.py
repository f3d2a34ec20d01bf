"""Ray actors as rollout workers, with :mod:`odebench.rl.scheduling`'s chunking, per-task
timeout, logged retries and error rules (as :class:`~odebench.rl.pool_backend.PoolBackend`).

``address=None`` starts a local Ray instance bound to 127.0.0.1 (no dashboard) unless Ray is
already initialised in this process, in which case that session is used. A cluster address is
probed first (:func:`probe_address`) within ``connect_timeout_s``: a TCP connection to the GCS
port, then the HTTP/2 handshake every gRPC server (Ray's GCS, its client server) answers at
once. ``ray.init`` on a port that accepts connections but is not Ray waits on Ray's own
retries for minutes; the probe turns that, a refused port and an unreachable host into one
:class:`RayAddressError` line naming the address.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from odebench.rl.policy_spec import PolicySpec, RolloutPolicy
from odebench.rl.rollout import ObsNormLike, RolloutResult
from odebench.rl.scheduling import Batch, Reply, Retry, Task, log_to_stderr, run_chunks
from odebench.rl.worker import RolloutJob, checked_batch, checked_policy

RAY_INSTALL_HINT = 'pip install "ray>=2.40"'
DEFAULT_CONNECT_TIMEOUT_S = 10.0
# RFC 9113 Sec. 3.4: the client preface; a server's first frame must be SETTINGS (type 4).
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
HTTP2_SETTINGS = 0x04


class RayAddressError(RuntimeError):
    """A Ray address that refuses, does not answer, or does not speak Ray's protocol."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise ImportError(f"the Ray backend needs the 'ray' package: {RAY_INSTALL_HINT}") from error
    return ray


def split_address(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``host:port`` or ``ray://host:port``; ValueError naming it if not."""
    host, sep, port = str(address).removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"ray_address must look like 'host:port' (or 'ray://host:port'), "
                         f"got {address!r}")
    return host.strip("[]"), int(port)


def _hint(port: int) -> str:
    return (f"start a cluster there with `ray start --head --port={port}` "
            "or use backend: pool")


def probe_address(address: str, timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`RayAddressError` (one line) unless a gRPC server (Ray's GCS) answers at
    ``address`` within ``timeout_s`` seconds in all."""
    host, port = split_address(address)
    deadline = time.monotonic() + timeout_s
    problem = f"ray address {address}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except ConnectionRefusedError:
        raise RayAddressError(f"{problem}: connection refused (nothing listens on port "
                              f"{port}); {_hint(port)}") from None
    except TimeoutError:
        raise RayAddressError(f"{problem}: no answer to a TCP connection within "
                              f"{timeout_s:g}s (host down or port filtered); "
                              f"{_hint(port)}") from None
    except OSError as error:
        raise RayAddressError(f"{problem}: cannot connect ({error.strerror or error}); "
                              f"{_hint(port)}") from None
    with sock:
        try:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock.sendall(HTTP2_PREFACE)
            header = _receive(sock, 9, deadline)
        except TimeoutError:
            raise RayAddressError(
                f"{problem}: accepts TCP connections but sent no Ray (gRPC) answer within "
                f"{timeout_s:g}s, so it is not a Ray GCS port; {_hint(port)}") from None
        except OSError as error:
            raise RayAddressError(f"{problem}: connection failed during the Ray handshake "
                                  f"({error.strerror or error}); {_hint(port)}") from None
    if len(header) < 9 or header[3] != HTTP2_SETTINGS:
        seen = f"answered {header[:24]!r}" if header else "closed the connection"
        raise RayAddressError(f"{problem}: {seen} instead of Ray's gRPC (HTTP/2) handshake, "
                              f"so it is not a Ray GCS port; {_hint(port)}")


def _receive(sock: socket.socket, count: int, deadline: float) -> bytes:
    """Up to ``count`` bytes, fewer if the peer closes; TimeoutError past ``deadline``."""
    data = b""
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data


def connect(ray: Any, address: str, timeout_s: float) -> None:
    """``ray.init(address)`` after :func:`probe_address`; its connection errors as one line."""
    if address not in ("auto", "local"):
        probe_address(address, timeout_s)
    try:
        ray.init(address=address, log_to_driver=False)
    except (ConnectionError, TimeoutError) as error:
        lines = str(error).strip().splitlines() or [type(error).__name__]
        port = split_address(address)[1] if ":" in address else 6379
        raise RayAddressError(f"ray address {address}: ray.init failed: {lines[0]}; "
                              f"{_hint(port)}") from error


class RayBackend:
    """``workers`` Ray actors (1 CPU each), each with its own environment cache.

    ``timeout_s``, ``retries`` and ``log`` as for :class:`~odebench.rl.pool_backend.PoolBackend`
    (a timed-out or failed actor is killed and a fresh one takes the retry)."""

    def __init__(self, policy: RolloutPolicy | PolicySpec, env_id: str, horizon: int | None,
                 workers: int = 2, address: str | None = None,
                 connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
                 timeout_s: float | None = None, retries: int | None = None,
                 log: Callable[[str], None] = log_to_stderr):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        ray = self._ray = import_ray()
        self.policy = checked_policy(policy, env_id)
        self.env_id, self.horizon = env_id, horizon
        self.workers = workers
        self.retry = (Retry(timeout_s, log=log) if retries is None
                      else Retry(timeout_s, retries, log))
        self._batches = 0
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            if address is None:
                ray.init(address="local", include_dashboard=False, num_cpus=workers,
                         _node_ip_address="127.0.0.1", log_to_driver=False)
            else:
                connect(ray, address, connect_timeout_s)
        self._actor = ray.remote(num_cpus=1, max_restarts=0)(RolloutJob)
        self._args = (policy, env_id, horizon)
        self._started = 0                      # actors started so far (names them in logs)
        self._actors: list[Any] = [None] * workers
        self._names = [""] * workers
        for worker in range(workers):
            self._new_actor(worker)
        self._running: dict[int, Any] = {}     # worker -> ObjectRef of its current chunk

    def _new_actor(self, worker: int) -> None:
        self._started += 1
        self._actors[worker] = self._actor.remote(*self._args)
        self._names[worker] = f"Ray actor #{self._started}"

    def evaluate(self, flat: np.ndarray, seeds: np.ndarray,
                 obs_norm: ObsNormLike | None = None) -> RolloutResult:
        flat, seeds = checked_batch(self.policy, self.env_id, flat, seeds)
        self._batches += 1
        batch = Batch(self.env_id, self._batches, len(seeds), self.horizon)
        return run_chunks(flat, seeds, obs_norm, self.workers, self, batch, self.retry)

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
            except ray.exceptions.RayActorError as error:
                first = (str(error).strip().splitlines() or [type(error).__name__])[0]
                replies.append((worker, "died", f"died ({first})"))
            except ray.exceptions.RayError as error:
                replies.append((worker, "error", str(error)))
        return replies

    def describe(self, worker: int) -> str:
        return self._names[worker]

    def replace(self, worker: int) -> None:
        self._running.pop(worker, None)
        self._ray.kill(self._actors[worker], no_restart=True)
        self._new_actor(worker)

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
