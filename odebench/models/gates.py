"""The bounded activation sigma of the generalized models, chosen by name.

Names: ``identity``, ``tanh`` and ``hardtanh:a`` (HardTanh(-a, a)); e.g. ``hardtanh:5`` is the
papers' HTanh (HBNODE App. E, NesterovNODE App. D).
"""

from __future__ import annotations

from torch import nn

SIGMA_FORMS = ("identity", "tanh", "hardtanh:<a>")


class UnknownSigmaError(ValueError):
    """A sigma name that is not one of :data:`SIGMA_FORMS`."""


def make_sigma(name: str) -> nn.Module:
    """The activation module named ``name`` (see the module docstring)."""
    if name == "identity":
        return nn.Identity()
    if name == "tanh":
        return nn.Tanh()
    kind, _, bound = str(name).partition(":")
    if kind == "hardtanh":
        try:
            a = float(bound)
        except ValueError:
            a = float("nan")
        if a > 0:
            return nn.Hardtanh(-a, a)
    raise UnknownSigmaError(f"unknown sigma {name!r}; valid: {', '.join(SIGMA_FORMS)} "
                            "(a > 0, e.g. hardtanh:5)")
