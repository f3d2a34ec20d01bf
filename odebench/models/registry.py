"""MODELS: one line per model family; the name appears in every config, table and figure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from odebench.models.base import Dynamics
from odebench.models.ghbnode import GHBNODEDynamics
from odebench.models.hbnode import HBNODEDynamics
from odebench.models.nesterov import NesterovNODEDynamics
from odebench.models.node import NODEDynamics
from odebench.models.sonode import SONODEDynamics
from odebench.models.structured import (
    make_antisymnode,
    make_couplingnode,
    make_gradnode,
    make_hamhbnode,
    make_hamnode,
    make_iresnode,
)

GATE_OPTIONS = ("sigma", "xi", "xi_learnable")


@dataclass(frozen=True)
class ModelFamily:
    """How to build a family's dynamics around a vector field.

    ``order`` is the number of state blocks (1: [h], 2: [h, m]); ``field_input`` maps the
    state size n to the field's input size n* (SONODE: 2n); ``options`` are the keyword
    arguments ``make_dynamics(field, **options)`` takes (see ``defaults.model_options``).

    A family that builds its own field (``builds_field``) has ``make_dynamics(spec)`` take a
    :class:`~odebench.models.base.FieldSpec` (task, kind, n, h) instead, for the field
    ``kinds`` it can be built for (``mlp``: point cloud, ``conv``: images, ``linear``:
    Silverbox). ``size_knob`` (``"n"`` or ``"h"``) is the width searched, on a task whose
    paper table has no row for the family, for the largest value whose model has no more
    parameters than that table's NODE model (``odebench.models.sizing``); None: the family
    runs only where a paper table gives its widths.
    """

    name: str
    label: str
    make_dynamics: Callable[..., Dynamics]
    order: int
    field_input: Callable[[int], int] = lambda n: n
    options: tuple[str, ...] = ()
    size_knob: str | None = None
    builds_field: bool = False
    kinds: tuple[str, ...] = ("mlp", "conv", "linear")

    @property
    def learned_initial_velocity(self) -> bool:
        return self.order > 1


MODELS: dict[str, ModelFamily] = {
    "node": ModelFamily("node", "NODE", NODEDynamics, order=1),
    "anode": ModelFamily("anode", "ANODE", NODEDynamics, order=1),  # NODE on zero-padded h
    "sonode": ModelFamily("sonode", "SONODE", SONODEDynamics, order=2,
                          field_input=lambda n: 2 * n),
    "hbnode": ModelFamily("hbnode", "HBNODE", HBNODEDynamics, order=2),
    "ghbnode": ModelFamily("ghbnode", "GHBNODE", GHBNODEDynamics, order=2,
                           options=(*GATE_OPTIONS, "sigma_on_f")),
    # sigma (identity but for the official point-cloud code's x' = tanh(m)) gates m; f and
    # k(t) only where sigma_on_f / sigma_on_k say so (see defaults.GATES)
    "nesterovnode": ModelFamily("nesterovnode", "NesterovNODE", NesterovNODEDynamics, order=2,
                                options=("r", "variant", "sigma", "sigma_on_f", "sigma_on_k")),
    "gnesterovnode": ModelFamily("gnesterovnode", "GNesterovNODE", NesterovNODEDynamics,
                                 order=2,
                                 options=("r", "variant", *GATE_OPTIONS, "sigma_k_in_field")),
    # Structure-preserving families (review "Structure Preserving Deep Learning", Celledoni
    # et al. 2021; odebench.models.structured), sized to each task's NODE parameter budget.
    "antisymnode": ModelFamily("antisymnode", "AntisymNODE", make_antisymnode, order=1,
                               size_knob="n", builds_field=True, kinds=("mlp", "conv")),
    "gradnode": ModelFamily("gradnode", "GradientNODE", make_gradnode, order=1,
                            size_knob="h", builds_field=True, kinds=("mlp", "conv")),
    "hamnode": ModelFamily("hamnode", "HamiltonianNODE", make_hamnode, order=2,
                           size_knob="h", builds_field=True, kinds=("mlp", "conv")),
    "hamhbnode": ModelFamily("hamhbnode", "HamiltonianHBNODE", make_hamhbnode, order=2,
                             size_knob="h", builds_field=True, kinds=("mlp", "conv")),
    "couplingnode": ModelFamily("couplingnode", "CouplingNODE", make_couplingnode, order=2,
                                size_knob="h", builds_field=True, kinds=("mlp", "conv")),
    "iresnode": ModelFamily("iresnode", "iResNODE", make_iresnode, order=1,
                            size_knob="h", builds_field=True, kinds=("mlp",)),
}


class UnknownModelError(ValueError):
    """A model name that is not registered (or not run by a setup on a task)."""


def model_family(name: str, allowed: list[str] | None = None, where: str = "") -> ModelFamily:
    """Look a family up; ``allowed`` narrows the choice to what a setup ran on a task.

    ``where`` (e.g. ``"hbnode2021/mnist"``) is named in the error message.
    """
    valid = [m for m in MODELS if allowed is None or m in allowed]
    if name not in valid:
        context = f" for {where}" if where else ""
        raise UnknownModelError(f"unknown model {name!r}{context}; valid: {', '.join(valid)}")
    return MODELS[name]
