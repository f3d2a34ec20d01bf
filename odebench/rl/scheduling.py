"""Chunked scheduling of a batch of rollouts over workers (pool and Ray), with retries.

The P rows are cut into consecutive chunks, the batch's *tasks* (:func:`chunk_rows`, a
function of P and the worker count only); an idle worker takes the next task, so episodes that
end early (Hopper, Walker2d, Humanoid terminate) do not leave one worker idle while another
finishes a long slice. Results are concatenated in task order, so the outcome does not depend
on which worker ran what, nor on how often a task was retried.

A task whose worker raises, dies or stops answering within the per-task timeout
(:attr:`Retry.timeout_s`; stopped with SIGSTOP, deadlocked, swapping) is abandoned: that
worker is killed and replaced, and the task runs again on the fresh worker. Every retry is
logged in one line naming the worker, the task and the reason. After :attr:`Retry.retries`
retries of one task the batch stops with a one-line :class:`~odebench.rl.worker.WorkerError`
naming the task and every failure. A partial result is never returned.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from odebench.rl.rollout import ObsNorm, ObsNormLike, RolloutResult
from odebench.rl.worker import WorkerError, split_rows

MIN_CHUNK_ROWS = 16       # below this, per-step policy calls dominate the cost of a chunk
CHUNKS_PER_WORKER = 4
# The automatic per-task timeout: a fixed allowance for a fresh worker (imports, environment
# construction: 16 dm_control humanoids take 1.5 s) plus 10 ms per row-step of the task, about
# 8x the slowest rollouts measured (Humanoid-v5 with ODEtoODE h = 64: 1.3 ms per row-step on
# one core; HalfCheetah-v5: 0.07 ms). A 50-row, 1000-step Humanoid task (k = 200, one worker)
# gets 560 s against ~65 s of work, so only a stopped or stuck worker reaches it.
TIMEOUT_BASE_S = 60.0
TIMEOUT_PER_ROW_STEP_S = 0.01
DEFAULT_HORIZON = 1000    # gymnasium's MuJoCo time limit, when no horizon is given
DEFAULT_RETRIES = 2       # a transient fault, and one more, before the run stops

Task = tuple[np.ndarray, np.ndarray, ObsNorm | None]
# (worker, status, payload): "ok" -> RolloutResult; "error" -> the worker's traceback;
# "died" -> a one-line note on how the worker process or actor ended.
Reply = tuple[int, str, Any]


def log_to_stderr(message: str) -> None:
    print(f"odebench: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Retry:
    """How a batch treats a failing task: ``timeout_s`` per task (None: :func:`auto_timeout`
    of its rows and horizon), ``retries`` on a fresh worker, each retry reported to ``log``."""

    timeout_s: float | None = None
    retries: int = DEFAULT_RETRIES
    log: Callable[[str], None] = field(default=log_to_stderr)

    def __post_init__(self) -> None:
        timeout = self.timeout_s
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(
                timeout, int | float) or not 0 < timeout < float("inf")):
            raise ValueError(f"task_timeout must be a positive number of seconds or null "
                             f"(automatic), got {self.timeout_s!r}")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) \
                or self.retries < 0:
            raise ValueError(f"task_retries must be a non-negative integer, got "
                             f"{self.retries!r}")

    def task_timeout(self, rows: int, horizon: int | None) -> float:
        return self.timeout_s if self.timeout_s is not None else auto_timeout(rows, horizon)


def auto_timeout(rows: int, horizon: int | None) -> float:
    """Seconds a task of ``rows`` episodes of ``horizon`` steps may take (see the constants)."""
    return TIMEOUT_BASE_S + TIMEOUT_PER_ROW_STEP_S * rows * (horizon or DEFAULT_HORIZON)


class Dispatcher(Protocol):
    """What a backend provides: start a task on a worker, wait for replies, replace a worker,
    and name a worker for the log (``worker pid 1234``)."""

    def submit(self, worker: int, task: Task) -> None: ...

    def wait(self, workers: list[int], timeout_s: float | None) -> list[Reply]: ...

    def replace(self, worker: int) -> None: ...

    def describe(self, worker: int) -> str: ...


@dataclass(frozen=True)
class Batch:
    """One batch's identity in messages: env id, its number on the backend, its size, horizon."""

    env_id: str
    number: int
    rows: int
    horizon: int | None


def chunk_rows(count: int, workers: int) -> list[slice]:
    """Up to ``CHUNKS_PER_WORKER`` chunks per worker, of at least ``MIN_CHUNK_ROWS`` rows
    where the batch allows, and at least one chunk per worker."""
    chunks = min(workers * CHUNKS_PER_WORKER, max(workers, count // MIN_CHUNK_ROWS))
    return split_rows(count, chunks)


def reason_of(status: str, payload: Any, timeout_s: float) -> str:
    """A failure as one line: ``timed out (...)``, ``raised <the traceback's last line>``, or
    the death note (``died (...)``)."""
    if status == "timeout":
        return f"timed out (no answer within task_timeout {timeout_s:g}s)"
    lines = str(payload).strip().splitlines() or ["(no message)"]
    return f"raised {lines[-1]}" if status == "error" else lines[-1]


def run_chunks(flat: np.ndarray, seeds: np.ndarray, obs_norm: ObsNormLike | None,
               workers: int, dispatcher: Dispatcher, batch: Batch,
               retry: Retry | None = None) -> RolloutResult:
    """The batch's rollouts over ``workers`` through ``dispatcher``, results in row order."""
    retry = retry or Retry()
    slices = chunk_rows(len(seeds), workers)
    norm = ObsNorm.of(obs_norm)
    queue = deque(range(len(slices)))
    idle = list(range(workers))
    busy: dict[int, tuple[int, float, float]] = {}   # worker -> (task, deadline, timeout)
    results: dict[int, RolloutResult] = {}
    failures: dict[int, list[tuple[str, str]]] = {}  # task -> (worker, reason) per failure
    while queue or busy:
        while queue and idle:
            worker, task = idle.pop(0), queue.popleft()
            rows = slices[task]
            dispatcher.submit(worker, (flat[rows], seeds[rows], norm))
            timeout = retry.task_timeout(rows.stop - rows.start, batch.horizon)
            busy[worker] = (task, time.monotonic() + timeout, timeout)
        replies = dispatcher.wait(list(busy), _time_left(busy))
        answered, now = {reply[0] for reply in replies}, time.monotonic()
        replies += [(w, "timeout", None) for w, (_, end, _) in busy.items()
                    if w not in answered and now >= end]
        for worker, status, payload in replies:
            task, _, timeout = busy.pop(worker)
            if status == "ok":
                results[task] = payload
                idle.append(worker)
                continue
            reason = reason_of(status, payload, timeout)
            failed_on = dispatcher.describe(worker)
            dispatcher.replace(worker)
            failures.setdefault(task, []).append((failed_on, reason))
            name = _task_name(task, slices, batch)
            if len(failures[task]) > retry.retries:
                for other in busy:                   # their replies must not outlive the batch
                    dispatcher.replace(other)
                raise WorkerError(f"{name} failed {len(failures[task])} times (task_retries="
                                  f"{retry.retries}): {_grouped(failures[task])}",
                                  payload if status == "error" else reason)
            retry.log(f"retry {len(failures[task])}/{retry.retries} of {name}: {failed_on} "
                      f"{reason}; running it on fresh {dispatcher.describe(worker)}")
            idle.insert(0, worker)                   # the fresh worker takes the retry
            queue.appendleft(task)
    return RolloutResult.concat([results[k] for k in range(len(slices))])


def _grouped(failures: list[tuple[str, str]]) -> str:
    """``w1, w2: reason; w3: other reason`` in order of first occurrence."""
    workers: dict[str, list[str]] = {}
    for worker, reason in failures:
        workers.setdefault(reason, []).append(worker)
    return "; ".join(f"{', '.join(names)}: {reason}" for reason, names in workers.items())


def _task_name(task: int, slices: list[slice], batch: Batch) -> str:
    rows = slices[task]
    return (f"task {task + 1}/{len(slices)} (rows {rows.start}:{rows.stop}) of batch "
            f"{batch.number} ({batch.rows} rollouts on {batch.env_id})")


def _time_left(busy: dict[int, tuple[int, float, float]]) -> float | None:
    if not busy:
        return None
    return max(0.0, min(end for _, end, _ in busy.values()) - time.monotonic())
