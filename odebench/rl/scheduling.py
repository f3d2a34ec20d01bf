"""Chunked, retry-once scheduling of a batch of rollouts over workers (pool and Ray).

The P rows are cut into consecutive chunks (:func:`chunk_rows`, a function of P and the worker
count only); an idle worker takes the next chunk, so episodes that end early (Hopper, Walker2d,
Humanoid terminate) do not leave one worker idle while another finishes a long slice. Results
are concatenated in chunk order, so the outcome does not depend on which worker ran what.

A chunk whose worker raises, dies or (with ``timeout_s``) stops answering is run once more on
the replacement of that worker; a second failure stops the batch with
:class:`~odebench.rl.worker.WorkerError` carrying the worker's traceback. A partial result is
never returned.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Protocol

import numpy as np

from odebench.rl.rollout import ObsNorm, ObsNormLike, RolloutResult
from odebench.rl.worker import WorkerError, split_rows

MIN_CHUNK_ROWS = 16       # below this, per-step policy calls dominate the cost of a chunk
CHUNKS_PER_WORKER = 4

Task = tuple[np.ndarray, np.ndarray, ObsNorm | None]
Reply = tuple[int, str, Any]   # (worker, "ok" | "error", RolloutResult | message)


class Dispatcher(Protocol):
    """What a backend provides: start a task on a worker, wait for replies, replace a worker."""

    def submit(self, worker: int, task: Task) -> None: ...

    def wait(self, workers: list[int], timeout_s: float | None) -> list[Reply]: ...

    def replace(self, worker: int) -> None: ...


def chunk_rows(count: int, workers: int) -> list[slice]:
    """Up to ``CHUNKS_PER_WORKER`` chunks per worker, of at least ``MIN_CHUNK_ROWS`` rows
    where the batch allows, and at least one chunk per worker."""
    chunks = min(workers * CHUNKS_PER_WORKER, max(workers, count // MIN_CHUNK_ROWS))
    return split_rows(count, chunks)


def run_chunks(flat: np.ndarray, seeds: np.ndarray, obs_norm: ObsNormLike | None,
               workers: int, dispatcher: Dispatcher, env_id: str, worker_kind: str = "worker",
               timeout_s: float | None = None) -> RolloutResult:
    """The batch's rollouts over ``workers`` through ``dispatcher``, results in row order."""
    slices = chunk_rows(len(seeds), workers)
    norm = ObsNorm.of(obs_norm)
    queue = deque(range(len(slices)))
    idle = list(range(workers))
    busy: dict[int, tuple[int, float]] = {}          # worker -> (chunk, start time)
    results: dict[int, RolloutResult] = {}
    failed: dict[int, str] = {}                      # chunk -> first failure
    while queue or busy:
        while queue and idle:
            worker, chunk = idle.pop(0), queue.popleft()
            dispatcher.submit(worker, (flat[slices[chunk]], seeds[slices[chunk]], norm))
            busy[worker] = (chunk, time.monotonic())
        replies = dispatcher.wait(list(busy), _time_left(busy, timeout_s))
        if not replies and timeout_s is not None:
            replies = [(w, "error", f"no answer within timeout_s={timeout_s}")
                       for w, (_, start) in busy.items() if time.monotonic() - start >= timeout_s]
        for worker, status, payload in replies:
            chunk, _ = busy.pop(worker)
            if status == "ok":
                results[chunk] = payload
                idle.append(worker)
                continue
            dispatcher.replace(worker)
            if chunk in failed:
                for other in busy:                   # their replies must not outlive the batch
                    dispatcher.replace(other)
                rows = slices[chunk]
                raise WorkerError(
                    f"rows {rows.start}:{rows.stop} of a {len(seeds)}-row batch on {env_id} "
                    f"failed on {worker_kind} {worker} and again on a fresh {worker_kind}; "
                    f"first failure: {failed[chunk].strip().splitlines()[-1]}", payload)
            failed[chunk] = payload
            idle.insert(0, worker)                   # the fresh worker takes the retry
            queue.appendleft(chunk)
    return RolloutResult.concat([results[k] for k in range(len(slices))])


def _time_left(busy: dict[int, tuple[int, float]], timeout_s: float | None) -> float | None:
    if timeout_s is None or not busy:
        return None
    oldest = min(start for _, start in busy.values())
    return max(0.0, oldest + timeout_s - time.monotonic())
