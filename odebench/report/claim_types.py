"""What a claim of the ledger is, as data: :class:`Claim` (where the paper makes it, one
sentence, and its test) and :class:`Need` (the compute its experiment takes). The ledger's
entries are in :mod:`odebench.report.claims_data`; :mod:`odebench.report.claims` evaluates
them."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("better", "best_of", "ordering", "within_bounds", "threshold", "wins",
         "learns_everywhere", "each_fails_somewhere", "fails_on", "every_run_better",
         "gap_widens", "reproduces_table")


@dataclass(frozen=True)
class Need:
    """What running a claim's experiment at the paper's size takes (``resource``: GPU or CPU,
    ``hours``: estimated device-hours; ``basis``: how that figure was estimated)."""

    resource: str
    hours: float
    basis: str

    def text(self) -> str:
        return f"needs a {self.resource}: ~{self.hours:g} {self.resource}-hours ({self.basis})"


@dataclass(frozen=True)
class Claim:
    """One claim and its test.

    ``axis`` names what is compared: ``model`` (``a`` vs ``b`` are models, evaluated in each
    selected setting) or ``setting`` (``a`` vs ``b`` are settings, for each model in
    ``models``). ``b`` empty: every other model (setting) in the records. ``settings``:
    the settings (sweep values such as ``tol=0.001``, env stems such as ``Humanoid``, ``@min``/
    ``@max`` for the numeric extremes) a model-axis claim is evaluated in; empty: all of them;
    ``exclude`` removes some. ``direction``: ``lower`` or ``higher`` is better (``ordering``:
    ``increasing`` or ``decreasing`` along ``a``). ``margin``: ``a`` beats ``b`` when it is
    better by more than ``margin`` × ``b`` (negative: "not worse by more than").
    ``every_run_better``: ``a`` better than ``b`` in every run (seed), not on average.
    ``gap_widens``: ``a``'s advantage over each of ``b`` (per seed) grows along ``settings``
    (in the order given). ``within_bounds``: ``threshold`` is the share of each model's runs
    that must be within (None: every run). ``each_fails_somewhere``: each of ``a`` (empty:
    every model not in ``b``) fails on at least ``top`` environments. ``reproduces_table``:
    each of ``targets`` — (model, setting selector, "" for the model's only setting, the
    paper's printed number) — lies in the spread of our runs of that cell.
    """

    id: str
    paper: str
    where: str
    sentence: str
    experiment: str
    metric: str
    kind: str
    a: tuple[str, ...] = ()
    b: tuple[str, ...] = ()
    axis: str = "model"
    models: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    direction: str = "lower"
    margin: float = 0.0
    threshold: float | None = None
    bounds: tuple[str | float, str | float] | None = None  # within_bounds: columns or numbers
    top: int = 1
    targets: tuple[tuple[str, str, float], ...] = ()  # reproduces_table: the printed cells
    needs: Need | None = None
    note: str = ""

    def columns(self) -> list[str]:
        """The record columns the claim reads."""
        columns = [self.metric]
        if self.kind in ("learns_everywhere", "each_fails_somewhere", "fails_on"):
            columns = ["gain", "final_return"]
        for bound in self.bounds or ():
            if isinstance(bound, str):
                columns.append(bound)
        return columns
