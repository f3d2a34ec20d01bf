"""The one door to ODE solving: torchdiffeq with exact forward/backward NFE counts."""

from odebench.solvers.counting import NFECounts, NFEMeter, count_nfe
from odebench.solvers.solve import (
    FIXED_STEP_METHODS,
    METHODS,
    Solution,
    SolverConfigError,
    SolverSpec,
    solve,
    solve_with,
)

__all__ = [
    "FIXED_STEP_METHODS", "METHODS", "NFECounts", "NFEMeter", "Solution", "SolverConfigError",
    "SolverSpec", "count_nfe", "solve", "solve_with",
]
