"""The one door to ODE solving: torchdiffeq with exact forward/backward NFE counts, and the
O(n) integrators of ODEtoODE's matrix flow (:mod:`odebench.solvers.lie`)."""

from odebench.solvers.counting import NFECounts, NFEMeter, count_nfe
from odebench.solvers.lie import (
    W_FACTORS,
    W_STEPS,
    bracket,
    cayley_factor,
    cayley_step,
    check_orthogonal,
    euler_factor,
    euler_step,
    exp_factor,
    exp_step,
    haar_orthogonal,
    orthogonality_defect,
    skew,
    steps_for,
    stiefel,
    sym,
)
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
    "SolverSpec", "W_FACTORS", "W_STEPS", "bracket", "cayley_factor", "cayley_step",
    "check_orthogonal", "count_nfe", "euler_factor", "euler_step", "exp_factor", "exp_step",
    "haar_orthogonal", "orthogonality_defect", "skew", "solve", "solve_with", "stiefel",
    "steps_for", "sym",
]
