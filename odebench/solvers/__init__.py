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
from odebench.solvers.symplectic import (
    INNER_SCHEMES,
    SYMPLECTIC_METHODS,
    conformal_symplectic,
    conformal_symplecticity_defect,
    energy_drift,
    stormer_verlet,
    symplectic_euler,
    symplecticity_defect,
)

__all__ = [
    "FIXED_STEP_METHODS", "INNER_SCHEMES", "METHODS", "NFECounts", "NFEMeter",
    "SYMPLECTIC_METHODS", "Solution", "SolverConfigError", "SolverSpec", "W_FACTORS", "W_STEPS",
    "bracket", "cayley_factor", "cayley_step", "check_orthogonal", "conformal_symplectic",
    "conformal_symplecticity_defect", "count_nfe", "energy_drift", "euler_factor", "euler_step",
    "exp_factor", "exp_step", "haar_orthogonal", "orthogonality_defect", "skew", "solve",
    "solve_with", "stiefel", "steps_for", "stormer_verlet", "sym", "symplectic_euler",
    "symplecticity_defect",
]
