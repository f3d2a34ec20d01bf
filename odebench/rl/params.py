"""Structured parameter vectors for ES: named blocks, each on its own manifold.

ES perturbs and updates one flat vector; policies read named blocks. A :class:`ParamSpec`
names a block, its shape and its manifold kind:

* ``euclidean``: R^shape (biases, unconstrained weights);
* ``symmetric``: symmetric n x n matrices (ODEtoODE's Q and N);
* ``stiefel``: a rows x cols matrix with orthonormal columns (tall) or rows (wide)
  (ODEtoODE's projections Omega_1, Omega_2, Eq. 5);
* ``orthogonal``: O(n) (ODEtoODE's W_0).

:class:`ParamLayout` maps between ``{name: array}`` and the flat vector, for one parameter
vector (shape ``[D]``) or a batch of them (``[P, D]``, one row per perturbation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import prod

import numpy as np

KINDS = ("euclidean", "symmetric", "stiefel", "orthogonal")


@dataclass(frozen=True)
class ParamSpec:
    """One named block of a policy's parameters."""

    name: str
    shape: tuple[int, ...]
    kind: str = "euclidean"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: unknown kind {self.kind!r}; "
                             f"valid: {', '.join(KINDS)}")
        square = len(self.shape) == 2 and self.shape[0] == self.shape[1]
        if self.kind in ("symmetric", "orthogonal") and not square:
            raise ValueError(f"parameter {self.name!r}: a {self.kind} block must be square, "
                             f"got shape {self.shape}")
        if self.kind == "stiefel" and len(self.shape) != 2:
            raise ValueError(f"parameter {self.name!r}: a stiefel block must be a matrix, "
                             f"got shape {self.shape}")

    @property
    def size(self) -> int:
        return prod(self.shape)


class ParamLayout:
    """The flat-vector layout of a list of :class:`ParamSpec` (in order)."""

    def __init__(self, specs: Sequence[ParamSpec]):
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate parameter names in {names}")
        self.specs = tuple(specs)
        self.offsets: dict[str, slice] = {}
        start = 0
        for spec in self.specs:
            self.offsets[spec.name] = slice(start, start + spec.size)
            start += spec.size
        self.size = start

    def spec(self, name: str) -> ParamSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(f"no parameter {name!r}; parameters: "
                       f"{', '.join(s.name for s in self.specs)}")

    def unflatten(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """``[D]`` -> ``{name: shape}``, or ``[P, D]`` -> ``{name: [P, *shape]}`` (views)."""
        flat = np.asarray(flat)
        if flat.shape[-1] != self.size:
            raise ValueError(f"parameter vector has {flat.shape[-1]} entries, layout needs "
                             f"{self.size}")
        lead = flat.shape[:-1]
        return {s.name: flat[..., self.offsets[s.name]].reshape(*lead, *s.shape)
                for s in self.specs}

    def flatten(self, blocks: Mapping[str, np.ndarray]) -> np.ndarray:
        """``{name: shape}`` -> ``[D]`` (or batched ``[P, *shape]`` -> ``[P, D]``)."""
        missing = [s.name for s in self.specs if s.name not in blocks]
        if missing:
            raise KeyError(f"missing parameter block(s): {', '.join(missing)}")
        first = np.asarray(blocks[self.specs[0].name])
        lead = first.shape[:first.ndim - len(self.specs[0].shape)]
        parts = [np.asarray(blocks[s.name]).reshape(*lead, s.size) for s in self.specs]
        return np.concatenate(parts, axis=-1)
