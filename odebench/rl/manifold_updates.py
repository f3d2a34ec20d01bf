"""Riemannian ascent steps on structured ES parameters (ODEtoODE Eqs. 8-9, Theorem 1's SRGD).

Per block kind, for an ambient gradient ``g`` of the block and a step ``alpha`` (maximisation):

* ``euclidean``: ``x + alpha g``;
* ``symmetric``: ``X + alpha (g + g^T) / 2``;
* ``orthogonal`` and tall ``stiefel`` (``Ω^T Ω = I``): ``exp(alpha (g Ω^T - Ω g^T)) Ω``;
* wide ``stiefel`` (``Ω Ω^T = I``), rule ``"transpose"``: ``Ω exp(alpha (Ω^T g - g^T Ω))``, the
  tall rule applied to ``Ω^T``; rule ``"literal"``: Eq. 9 as printed, ``exp(alpha (g Ω^T -
  Ω g^T)) Ω``, which never changes the row space of a wide Ω (docs/PAPERS.md, ODEtoODE).

The exponentials are of skew matrices, hence orthogonal, so a point on its manifold stays on it
to rounding error, with no re-orthonormalisation. Matrix exponentials use ``scipy.linalg.expm``
(the paper's choice, Sec. 5.1), batched over leading axes: it is orthogonal to ~1e-16 for skew
input of every norm, whereas float64 ``torch.linalg.matrix_exp`` (torch 2.13) is off by up to
~1e-11 for 1-norms in about [0.015, 0.05), which 1,000 updates accumulate to ~1e-10.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.linalg import expm

from odebench.rl.params import ParamLayout, ParamSpec
from odebench.solvers.lie import orthogonality_defect, skew

WIDE_STIEFEL_RULES = ("transpose", "literal")


def is_wide(spec: ParamSpec) -> bool:
    """True for a Stiefel block with fewer rows than columns (``Ω Ω^T = I``)."""
    return spec.kind == "stiefel" and spec.shape[0] < spec.shape[1]


def _transpose(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _right_multiplied(spec: ParamSpec, wide_stiefel: str) -> bool:
    return is_wide(spec) and wide_stiefel == "transpose"


def riemannian_direction(spec: ParamSpec, point: np.ndarray, grad: np.ndarray,
                         wide_stiefel: str = "transpose") -> np.ndarray:
    """The Riemannian ascent direction of one block (Eq. 9): ``g``, ``sym(g)`` or a skew generator.

    ``point`` has the block's shape; ``grad`` may carry leading batch axes. For the matrix
    manifolds the result is the skew matrix that the exponential map is applied to: left
    (rows x rows) except for wide Stiefel blocks under the ``"transpose"`` rule (cols x cols).
    """
    if spec.kind == "euclidean":
        return grad
    if spec.kind == "symmetric":
        return 0.5 * (grad + _transpose(grad))
    if _right_multiplied(spec, wide_stiefel):
        return _transpose(point) @ grad - _transpose(grad) @ point
    return grad @ _transpose(point) - point @ _transpose(grad)


def step_block(spec: ParamSpec, point: np.ndarray, grad: np.ndarray, alpha: float,
               wide_stiefel: str = "transpose") -> np.ndarray:
    """One block moved by ``alpha`` along its Riemannian ascent direction (SRGD, Theorem 1)."""
    direction = riemannian_direction(spec, point, grad, wide_stiefel)
    if spec.kind in ("euclidean", "symmetric"):
        return point + alpha * direction
    rotation = expm(alpha * direction)
    if _right_multiplied(spec, wide_stiefel):
        return point @ rotation
    return rotation @ point


def riemannian_update(layout: ParamLayout, theta: np.ndarray, grad: np.ndarray, alpha: float,
                      wide_stiefel: str = "transpose") -> np.ndarray:
    """``theta`` ``[D]`` moved by ``alpha`` along the Riemannian direction of ``grad``.

    ``grad`` is ``[D]`` (one update, result ``[D]``) or ``[P, D]`` (P moves from the same
    point, result ``[P, D]``; how projected perturbations are made).
    """
    if wide_stiefel not in WIDE_STIEFEL_RULES:
        raise ValueError(f"wide_stiefel must be one of {', '.join(WIDE_STIEFEL_RULES)}, "
                         f"got {wide_stiefel!r}")
    points, grads = layout.unflatten(theta), layout.unflatten(grad)
    moved = {spec.name: step_block(spec, points[spec.name], grads[spec.name], alpha,
                                   wide_stiefel)
             for spec in layout.specs}
    return layout.flatten(moved)


def constraint_residuals(layout: ParamLayout, theta: np.ndarray) -> dict[str, float | np.ndarray]:
    """Frobenius distance of each constrained block from its manifold (ODEtoODE Sec. 4.2).

    Tall Stiefel ``||Ω^T Ω - I||``, wide Stiefel ``||Ω Ω^T - I||``, orthogonal ``||W^T W - I||``,
    symmetric ``||Q - Q^T||``; Euclidean blocks are left out. ``theta`` ``[D]`` gives floats,
    ``[P, D]`` gives arrays ``[P]``.
    """
    blocks = layout.unflatten(np.asarray(theta, dtype=np.float64))
    residuals: dict[str, float | np.ndarray] = {}
    for spec in layout.specs:
        if spec.kind == "euclidean":
            continue
        block = torch.from_numpy(np.ascontiguousarray(blocks[spec.name]))
        if spec.kind == "symmetric":
            value = torch.linalg.matrix_norm(skew(block))
        else:
            value = orthogonality_defect(block.transpose(-1, -2) if is_wide(spec) else block)
        array = value.numpy()
        residuals[spec.name] = float(array) if array.ndim == 0 else array
    return residuals
