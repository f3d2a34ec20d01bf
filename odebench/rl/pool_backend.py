"""Persistent worker processes (multiprocessing 'forkserver' or 'spawn'), each holding its own
environment cache, talking to this process over pipes. Chunking, the per-task timeout, the
logged retries on a fresh worker and :class:`~odebench.rl.worker.WorkerError` are
:mod:`odebench.rl.scheduling`'s; a worker given up on (timed out, e.g. stopped with SIGSTOP) is
killed with SIGKILL and replaced by a fresh process."""

from __future__ import annotations

import multiprocessing as mp
import signal
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np

from odebench.rl.policy_spec import PolicySpec, RolloutPolicy
from odebench.rl.rollout import ObsNormLike, RolloutResult
from odebench.rl.scheduling import Batch, Reply, Retry, Task, log_to_stderr, run_chunks
from odebench.rl.worker import RolloutJob, checked_batch, checked_policy

START_METHODS = ("forkserver", "spawn")
READY = "ready"          # a worker's first message: started, imports and job built
START_TIMEOUT_S = 60.0   # a worker's start-up (not part of any task's timeout)


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
    """Worker loop: ``(flat, seeds, obs_norm)`` in, ``("ok", result)`` or ``("error", tb)`` out.
    Ctrl-C is the parent's to handle (it stops the pool); a worker ignores SIGINT, so that an
    interrupted run prints no traceback per worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:  # built before the first task, so that start-up never counts against a task's timeout
        job: RolloutJob | None = RolloutJob(policy, env_id, horizon)
        _one_core()
    except Exception:
        job = None  # the first task builds it again, and reports the error
    conn.send((READY, None))
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
    sender: threading.Thread | None = None   # sends the current task (may block on a full pipe)
    ready: bool = False                      # its READY message has been read

    def send(self, data: bytes) -> None:
        """Send a pickled task from a thread: a stopped worker never reads a task larger than
        the pipe buffer, and that must not block this process past the task timeout."""
        def send() -> None:
            try:
                self.conn.send_bytes(data)
            except OSError:
                pass                         # the worker died; its sentinel reports it
        self.sender = threading.Thread(target=send, name="odebench-pool-send", daemon=True)
        self.sender.start()

    def sending(self) -> bool:
        return self.sender is not None and self.sender.is_alive()


def _death_note(worker: _Worker) -> str:
    worker.process.join(1.0)
    code = worker.process.exitcode
    cause = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0
             else f"exit code {code}")
    return (f"died ({cause}) without a Python traceback; its stderr (inherited) may say more")


def _stop(worker: _Worker, grace_s: float = 2.0, kill: bool = False) -> None:
    """Ask the worker to exit (or, with ``kill`` or a task still being sent, SIGKILL it at
    once: that also ends a worker stopped with SIGSTOP), then close its pipe."""
    if not kill and not worker.sending():
        try:
            worker.conn.send(None)
        except OSError:
            pass
        worker.process.join(grace_s)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join(grace_s)
    if worker.sender is not None:
        worker.sender.join(grace_s)          # unblocked by the reader's death (EPIPE)
    worker.conn.close()


def _await_ready(workers: list[_Worker], timeout_s: float | None = None) -> None:
    """Wait (at most ``timeout_s``, default :data:`START_TIMEOUT_S`, in all) for each worker's
    READY message, so that the task timeouts measure tasks only; a worker that died or is
    slower is left to the scheduler (its task times out, or reports the death)."""
    deadline = time.monotonic() + (START_TIMEOUT_S if timeout_s is None else timeout_s)
    for worker in workers:
        if worker.ready:
            continue
        try:
            if worker.conn.poll(max(0.0, deadline - time.monotonic())):
                worker.ready = worker.conn.recv()[0] == READY
        except (EOFError, OSError):
            pass  # died while starting: its first task reports it


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        _stop(worker)
    workers.clear()


class PoolBackend:
    """``workers`` persistent processes, each running chunks of the batch's rows.

    ``timeout_s``: seconds one task (chunk) may take before its worker is killed and the task
    retried (None: :func:`~odebench.rl.scheduling.auto_timeout`); ``retries``: retries per
    task; ``log``: where each retry is reported (one line)."""

    def __init__(self, policy: RolloutPolicy | PolicySpec, env_id: str, horizon: int | None,
                 workers: int = 2, start_method: str = "forkserver",
                 timeout_s: float | None = None, retries: int | None = None,
                 log: Callable[[str], None] = log_to_stderr):
        if start_method not in START_METHODS:
            raise ValueError(f"start_method must be one of {START_METHODS}, got "
                             f"{start_method!r} ('fork' is unsafe with threaded libraries)")
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.policy = checked_policy(policy, env_id)
        self.env_id, self.horizon = env_id, horizon
        self.workers = workers
        self.retry = (Retry(timeout_s, log=log) if retries is None
                      else Retry(timeout_s, retries, log))
        self._batches = 0
        self._args = (policy, env_id, horizon)
        self._context = mp.get_context(start_method)
        if start_method == "forkserver":
            self._context.set_forkserver_preload(["odebench.rl.worker"])
        self._pool = [self._start() for _ in range(workers)]
        self._finalizer = weakref.finalize(self, _stop_all, self._pool)
        _await_ready(self._pool)

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child, *self._args), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def evaluate(self, flat: np.ndarray, seeds: np.ndarray,
                 obs_norm: ObsNormLike | None = None) -> RolloutResult:
        flat, seeds = checked_batch(self.policy, self.env_id, flat, seeds)
        self._batches += 1
        batch = Batch(self.env_id, self._batches, len(seeds), self.horizon)
        return run_chunks(flat, seeds, obs_norm, self.workers, self, batch, self.retry)

    def pids(self) -> list[int | None]:
        """The process ids of the current workers, in worker order."""
        return [worker.process.pid for worker in self._pool]

    # --- Dispatcher (odebench.rl.scheduling) ---------------------------------------------------

    def submit(self, worker: int, task: Task) -> None:
        self._pool[worker].send(bytes(ForkingPickler.dumps(task)))

    def wait(self, workers: list[int], timeout_s: float | None) -> list[Reply]:
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

    def describe(self, worker: int) -> str:
        return f"worker pid {self._pool[worker].process.pid}"

    def replace(self, worker: int) -> None:
        _stop(self._pool[worker], grace_s=2.0, kill=True)
        self._pool[worker] = self._start()
        _await_ready([self._pool[worker]])

    @staticmethod
    def _receive(worker: _Worker) -> tuple[str, Any] | None:
        """The worker's reply, ``("died", note)`` if it died, None if it is still busy (a late
        READY message is read and skipped)."""
        while worker.conn.poll():
            try:
                reply = worker.conn.recv()
            except (EOFError, OSError):
                return "died", _death_note(worker)
            if reply[0] != READY:
                return reply
            worker.ready = True
        if not worker.process.is_alive():
            return "died", _death_note(worker)
        return None

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> PoolBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
