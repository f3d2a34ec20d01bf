"""The papers' published numbers, as data, keyed by experiment id and run key.

Only numbers printed in the papers are here (paper-nesterov.md §3); the HBNODE paper has no
result table (its results are figures only).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    column: str          # CSV column name
    header: str          # readable header, with the source
    values: dict[str, float]  # run key (model or model@setting=value) -> number


_TABLE2_SOURCE = "NesterovNODE Table 2 (best test acc., tol 1e-5)"

REFERENCES: dict[str, Reference] = {
    "cifar10": Reference("paper_best_test_accuracy", f"paper: {_TABLE2_SOURCE}", {
        "node": 0.5555, "anode": 0.6046, "sonode": 0.6049, "hbnode": 0.6049,
        "ghbnode": 0.6083, "nesterovnode": 0.6028, "gnesterovnode": 0.6159}),
    "mnist": Reference("paper_best_test_accuracy", f"paper: {_TABLE2_SOURCE}", {
        "node": 0.9657, "anode": 0.9809, "sonode": 0.9831, "hbnode": 0.9823,
        "ghbnode": 0.9822, "nesterovnode": 0.9827, "gnesterovnode": 0.9828}),
    "cifar10_factor": Reference(
        "paper_best_test_accuracy", "paper: NesterovNODE Table 3 (test acc.)", {
            "gnesterovnode@nesterov_factor=3": 0.6180,
            "gnesterovnode@nesterov_factor=5": 0.6192,
            "gnesterovnode@nesterov_factor=10": 0.6296}),
}
