"""Persistent worker processes (multiprocessing 'forkserver' or 'spawn'), each holding its own
environment cache, talking to this process over pipes. Chunking, the retry on a fresh worker
and :class:`~odebench.rl.worker.WorkerError` are :mod:`odebench.rl.scheduling`'s."""

from __future__ import annotations

import multiprocessing as mp
import signal
import sys
import traceback
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np

from odebench.rl.policy_spec import PolicySpec, RolloutPolicy
from odebench.rl.rollout import ObsNormLike, RolloutResult
from odebench.rl.scheduling import Reply, Task, run_chunks
from odebench.rl.worker import RolloutJob, checked_batch, checked_policy

START_METHODS = ("forkserver", "spawn")


def _one_core() -> None:
    """A worker is one core: cap BLAS/OpenMP thread pools (threadpoolctl, when installed) and
    torch's intra-op threads (when a policy imported torch)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(1)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _serve(conn: Connection, policy: RolloutPolicy | PolicySpec, env_id: str,
           horizon: int | None) -> None:
    """Worker loop: ``(flat, seeds, obs_norm)`` in, ``("ok", result)`` or ``("error", tb)`` out."""
    job = None
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            if job is None:
                job = RolloutJob(policy, env_id, horizon)
                _one_core()
            reply: tuple[str, Any] = ("ok", job.run(*task))
        except Exception:
            reply = ("error", traceback.format_exc())
        conn.send(reply)


@dataclass
class _Worker:
    process: mp.process.BaseProcess
    conn: Connection


def _death_note(worker: _Worker) -> str:
    worker.process.join(1.0)
    code = worker.process.exitcode
    cause = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0
             else f"exit code {code}")
    return (f"worker process {worker.process.pid} died ({cause}) without a Python traceback; "
            "its stderr (inherited) may say more")


def _stop(worker: _Worker, grace_s: float = 2.0) -> None:
    try:
        worker.conn.send(None)
    except OSError:
        pass
    worker.process.join(grace_s)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join(grace_s)
    worker.conn.close()


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        _stop(worker)
    workers.clear()


class PoolBackend:
    """``workers`` persistent processes, each running chunks of the batch's rows."""

    def __init__(self, policy: RolloutPolicy | PolicySpec, env_id: str, horizon: int | None,
                 workers: int = 2, start_method: str = "forkserver",
                 timeout_s: float | None = None):
        if start_method not in START_METHODS:
            raise ValueError(f"start_method must be one of {START_METHODS}, got "
                             f"{start_method!r} ('fork' is unsafe with threaded libraries)")
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.policy = checked_policy(policy, env_id)
        self.env_id, self.horizon = env_id, horizon
        self.workers, self.timeout_s = workers, timeout_s
        self._args = (policy, env_id, horizon)
        self._context = mp.get_context(start_method)
        if start_method == "forkserver":
            self._context.set_forkserver_preload(["odebench.rl.worker"])
        self._pool = [self._start() for _ in range(workers)]
        self._lost: dict[int, str] = {}     # workers whose task could not even be sent
        self._finalizer = weakref.finalize(self, _stop_all, self._pool)

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child, *self._args), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def evaluate(self, flat: np.ndarray, seeds: np.ndarray,
                 obs_norm: ObsNormLike | None = None) -> RolloutResult:
        flat, seeds = checked_batch(self.policy, self.env_id, flat, seeds)
        return run_chunks(flat, seeds, obs_norm, self.workers, self, self.env_id,
                          timeout_s=self.timeout_s)

    # --- Dispatcher (odebench.rl.scheduling) ---------------------------------------------------

    def submit(self, worker: int, task: Task) -> None:
        try:
            self._pool[worker].conn.send(task)
        except OSError:
            self._lost[worker] = _death_note(self._pool[worker])

    def wait(self, workers: list[int], timeout_s: float | None) -> list[Reply]:
        lost = [(w, "error", self._lost.pop(w)) for w in workers if w in self._lost]
        if lost:
            return lost
        handles = {}
        for w in workers:
            handles[self._pool[w].conn] = w
            handles[self._pool[w].process.sentinel] = w
        replies = []
        for w in sorted({handles[handle] for handle in wait(list(handles), timeout_s)}):
            reply = self._receive(self._pool[w])
            if reply is not None:
                replies.append((w, *reply))
        return replies

    def replace(self, worker: int) -> None:
        self._lost.pop(worker, None)
        _stop(self._pool[worker], grace_s=0.5)
        self._pool[worker] = self._start()

    @staticmethod
    def _receive(worker: _Worker) -> tuple[str, Any] | None:
        """The worker's reply, ``("error", note)`` if it died, None if it is still busy."""
        if worker.conn.poll():
            try:
                return worker.conn.recv()
            except (EOFError, OSError):
                return "error", _death_note(worker)
        if not worker.process.is_alive():
            return "error", _death_note(worker)
        return None

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> PoolBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
