"""Widths by the papers' own rule: as many parameters as the task's NODE, never more.

Both papers size every model of a table to (about) the NODE model's parameter count. A
family with no row in a task's table (``ModelFamily.size_knob`` set) gets the largest value
of its knob whose model, built by the task's own builder, has no more parameters than the
NODE model of that table built by the same builder. The other width comes from the NODE row
(order-1 families) or the HBNODE row (order-2 families). The models are counted as
:mod:`~odebench.models.architectures` assembles them, below the option defaults
(:mod:`~odebench.models.defaults` sizes through here; nothing here imports it back).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

from odebench.models.architectures import parameter_count
from odebench.models.registry import MODELS
from odebench.models.tables import INPUT_CHANNELS, ModelOptionError, task_widths

SIZED_FROM = "node"  # the row whose parameter count is the budget
KINDS = {"pointcloud": "mlp", "mnist": "conv", "cifar10": "conv", "silverbox": "linear"}
KIND_NOTES = {
    "mlp": "an MLP field on vector states",
    "conv": "a conv field on image states",
    "linear": "the Silverbox init test's f, one linear layer on [h, V1(t)] with no hidden "
              "width",
}


class SizingError(ModelOptionError):
    """No knob value fits the parameter budget, or the family cannot be sized on a task."""


def largest_width(count: Callable[[int], int], budget: int, low: int = 1,
                  high: int = 4096) -> int:
    """The largest ``k`` in ``[low, high]`` with ``count(k) <= budget`` (``count``
    non-decreasing). Doubles up from ``low`` and then bisects, so no model much larger than
    the answer is ever built; ``high`` when even it fits."""
    if count(low) > budget:
        raise SizingError(f"even the smallest width {low} has {count(low)} parameters, over "
                          f"the budget of {budget}")
    fits, step = low, 1
    while fits < high:  # count(fits) <= budget
        probe = min(fits + step, high)
        if count(probe) > budget:
            break
        fits, step = probe, 2 * step
    else:
        return fits
    over = probe  # count(over) > budget
    while over - fits > 1:
        mid = (fits + over) // 2
        fits, over = (mid, over) if count(mid) <= budget else (fits, mid)
    return fits


def _unavailable(model: str, task: str, why: str) -> SizingError:
    return SizingError(f"{model} is not available on task {task}: {why}")


def sized_widths(setup: str, task: str, model: str) -> dict[str, Any]:
    """(n, h) of a family with no row in ``setup``'s ``task`` table, and how it was sized:
    ``{"n", "h", "size_knob", "sized_from", "budget", "n_params"}`` (computed once)."""
    return dict(_sized_widths(setup, task, model))


@functools.cache
def _sized_widths(setup: str, task: str, model: str) -> dict[str, Any]:
    widths = task_widths(setup, task)
    family = MODELS[model]
    kind = KINDS[task]
    if family.size_knob not in ("n", "h"):
        raise _unavailable(model, task, f"it has no width in the {setup} table and no "
                                        f"size_knob to size it by")
    if kind not in family.kinds:
        raise _unavailable(model, task, f"{model} builds {' / '.join(family.kinds)} fields; "
                                        f"{task} needs {KIND_NOTES[kind]}")
    if SIZED_FROM not in widths:
        raise _unavailable(model, task, f"the {setup} table has no {SIZED_FROM} row to take "
                                        f"the budget from")
    row = "hbnode" if family.order > 1 and "hbnode" in widths else SIZED_FROM
    n_ref, h_ref = widths[row]
    if family.size_knob == "h" and h_ref is None:
        raise _unavailable(model, task, f"its size knob is the hidden width h, and "
                                        f"{KIND_NOTES[kind]}")
    with torch.random.fork_rng(devices=[]):  # sizing must not move the caller's seed
        budget = parameter_count(setup, task, SIZED_FROM, *widths[SIZED_FROM])
        if family.size_knob == "n":
            def count(k: int) -> int:
                return parameter_count(setup, task, model, k, h_ref)
            low = INPUT_CHANNELS[task]
        else:
            def count(k: int) -> int:
                return parameter_count(setup, task, model, n_ref, k)
            low = 1
        try:
            # each knob unit adds at least one parameter, so the budget bounds the knob
            knob = largest_width(count, budget, low=low, high=max(budget, low))
        except SizingError as err:
            raise SizingError(f"{model} on {setup}/{task}: {err}") from None
        n, h = (knob, h_ref) if family.size_knob == "n" else (n_ref, knob)
        return {"n": n, "h": h, "size_knob": family.size_knob, "sized_from": SIZED_FROM,
                "budget": budget, "n_params": count(knob)}
