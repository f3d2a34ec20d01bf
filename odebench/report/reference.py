"""The papers' reference numbers, as data, keyed by experiment id and run key.

Numbers printed in the papers (NesterovNODE Tables 2-3; the HBNODE paper has no result table,
its results are figures only), and, where a paper gives figures only, numbers recovered from
the official repository's training logs; those say so in their header and note.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    column: str          # CSV column name
    header: str          # readable header, with the source
    values: dict[str, float]  # run key (model or model@setting=value) -> number
    note: str = ""       # printed under the markdown table (provenance details)


_TABLE2_SOURCE = "NesterovNODE Table 2 (best test acc., tol 1e-5)"
_LOGS = "ref.: official logs (not in the paper)"
_LOGS_COLUMN = "official_logs_test_mse"

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
    # HBNODE Fig. 9 plots these runs; the numbers are the official logs' last test MSE.
    "walker2d_hbnode2021": Reference(
        _LOGS_COLUMN, f"{_LOGS}: test MSE, epoch 500", {
            "node": 2.4703, "anode": 2.3440, "hbnode": 1.1683, "ghbnode": 1.1810},
        note="derived from the official HBNODE repository's logs (results/walker), "
             "1 run per model, test MSE at epoch 500; the paper prints no Walker2D numbers."),
    # HBNODE Fig. 8 plots plane vibration; only partial logs exist in the official repository.
    "plane_vibration": Reference(
        _LOGS_COLUMN, f"{_LOGS}: test forecast MSE", {"node": 0.0569, "hbnode": 0.0395},
        note="derived from the official HBNODE repository's partial plane-vibration logs "
             "(200 epochs); the paper prints no plane-vibration numbers."),
    # walker2d (NesterovNODE setup): the NesterovNODE paper shows Walker2D in figures only.
}
