"""asv benchmarks of one Walker2D training batch of the seven ``nesterov2022`` ODE-RNNs.

``WalkerTrainBatch`` times one training iteration as ``odebench.tasks.trainer.train`` runs it
for ``odebench.tasks.sequences``: zero_grad, the ODE-RNN forward over the window (a jump and a
dopri5 solve per step, rtol = atol = 1e-7, the papers' tolerance, with the adjoint), MSE to
the next step, adjoint backward, the gradient norm, clipping at 1.0 and the Adam step (the
adjoint-norm probe the sequence task also runs is left out). ``WalkerTrainBatchNFE`` tracks
the forward and backward NFE of that iteration (summed over the window's solves, seed 0).

The batch is synthetic and fixed (``benchmarks.fixtures.walker_batch``): seeded standard-normal
windows of 17 channels (y = the next step of x), raw-step gaps from a seeded keep-probability
0.9 process (mostly 1, sometimes 2-3; the model divides them by 64), float32. Parameter
``size`` = windows x steps:

* ``32x16`` (default, always runs): 32 windows of 16 steps, 0.4-0.9 s a call on one CPU
  thread (320 forward and 320 backward NFE for most models), so ``asv run --quick`` stays
  fast.
* ``256x64``: the paper's batch (256) of 64-step windows, a few seconds a call on one CPU
  thread (NODE 2.6 s, HBNODE 3.6 s, 1280/1280 NFE, on a shared 2-core machine) plus about
  2 s to build and seed the case per benchmark process. Skipped unless
  ``ODEBENCH_BENCH_WALKER_FULL`` is set, e.g.
  ``ODEBENCH_BENCH_WALKER_FULL=1 .venv/bin/asv run --python=same --bench Walker``.

Both classes sample once per model and size (``number = repeat = rounds = 1``, no warm-up
calls) under a 600 s timeout.
"""

from __future__ import annotations

from benchmarks.fixtures import (
    WALKER_FULL,
    WALKER_FULL_ENV,
    WALKER_MODELS,
    WALKER_SIZES,
    _TrainStepNFE,
    _TrainStepTime,
    walker_full_enabled,
)


def _skip_unless_enabled(size: str) -> None:
    if size == WALKER_FULL and not walker_full_enabled():
        raise NotImplementedError(f"set {WALKER_FULL_ENV}=1 to run the {size} Walker batch")


class _WalkerBase:
    params = [list(WALKER_MODELS), list(WALKER_SIZES)]
    param_names = ["model", "size"]
    timeout = 600.0
    number = 1
    repeat = 1
    rounds = 1  # asv's former ``processes``: one benchmark process per model and size
    warmup_time = 0.0

    def case_task(self, size: str) -> str:
        return f"walker2d/{size}"


class WalkerTrainBatch(_WalkerBase, _TrainStepTime):
    """Wall time of one training iteration on the Walker batch (1 CPU thread); ``setup``
    restores the initial parameters and an empty Adam state before the timed call."""

    def setup(self, model_name: str, size: str) -> None:
        _skip_unless_enabled(size)
        super().setup(model_name, size)


class WalkerTrainBatchNFE(_WalkerBase, _TrainStepNFE):
    """Exact forward and backward NFE of the first training iteration on the Walker batch."""

    def setup(self, model_name: str, size: str) -> None:
        _skip_unless_enabled(size)
        super().setup(model_name, size)
