"""MODELS: one line per model family; the name appears in every config, table and figure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from odebench.models.base import Dynamics
from odebench.models.hbnode import HBNODEDynamics
from odebench.models.node import NODEDynamics


@dataclass(frozen=True)
class ModelFamily:
    """How to build a family's dynamics around a vector field.

    ``order`` is the number of state blocks (1: [h], 2: [h, m]); ``field_input`` maps the
    state size n to the field's input size n* (SONODE: 2n).
    """

    name: str
    label: str
    make_dynamics: Callable[[nn.Module], Dynamics]
    order: int
    field_input: Callable[[int], int] = lambda n: n

    @property
    def learned_initial_velocity(self) -> bool:
        return self.order > 1


MODELS: dict[str, ModelFamily] = {
    "node": ModelFamily("node", "NODE", NODEDynamics, order=1),
    "hbnode": ModelFamily("hbnode", "HBNODE", HBNODEDynamics, order=2),
}


class UnknownModelError(ValueError):
    """A model name that is not registered (or not run by a setup on a task)."""


def model_family(name: str, allowed: list[str] | None = None) -> ModelFamily:
    """Look a family up; ``allowed`` narrows the choice to what a setup ran on a task."""
    valid = [m for m in MODELS if allowed is None or m in allowed]
    if name not in valid:
        raise UnknownModelError(f"unknown model {name!r}; valid: {', '.join(valid)}")
    return MODELS[name]
