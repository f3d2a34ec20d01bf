"""The statistical rule behind every claim's verdict: holds, contradicted or inconclusive.

A claim reduces to one or more *comparisons*, each a per-seed quantity ``d`` whose mean the
claim says is positive:

- ``x`` beats ``y`` (lower is better) by a margin ``m``: ``d = y − x − m·|y|``;
  higher is better: ``d = x − y − m·|y|`` (``m = 0``: plainly better; ``m < 0``: "not worse
  by more than |m|");
- ``x`` within a threshold ``c`` (lower): ``d = c − x``; (higher): ``d = x − c``.

Seeds pair the two sides when both have the same seeds (a seed fixes the data and the
initialisation of every model of an experiment): ``d`` is taken seed by seed. Otherwise the
two sides are independent samples (Welch). The rule, at ``ALPHA = 0.05`` one-sided:

- the two-sided ``1 − 2·ALPHA`` (90 %) Student-t interval ``[low, high]`` of the mean of ``d``;
- **holds** when ``low > 0``, **contradicted** when ``high < 0``, **inconclusive** otherwise
  (an exact tie, ``d = 0`` on every seed, is inconclusive);
- a comparison of two models, or of a model with a threshold, on fewer than 2 seeds per
  side is inconclusive (one seed has no spread); a deterministic quantity (zero spread on 2 or
  more seeds) is decided by its sign, and so is the one run of a deterministic experiment (no
  seed changes it: the optimiser flows), ``exact=True``.

For an inconclusive comparison with a measured spread, :func:`seeds_needed` gives the number
of seeds at which the measured mean difference would clear the interval (a t-based estimate
at the same ALPHA, same spread).

A *table reproduction* ("reproduce Table N within the reference's spread") is not a
difference of means but a band check, cell by cell (:func:`reproduces`): the paper's printed
number must lie in our runs' spread, ``mean ± max(SPREAD_STDS·sd, RELATIVE_FLOOR·|mean|)``
(about 95 % of runs for normal spread; the floor keeps zero-spread statistics from failing on
round-off). The same band flags a user's cell against the reference in ``odebench compare``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
HOLDS, CONTRADICTED, INCONCLUSIVE = "holds", "contradicted", "inconclusive"
MAX_SEEDS_SHOWN = 1000   # beyond this, "> 1000 seeds" (the effect is ~0 at this spread)
SPREAD_STDS = 2.0        # a set of runs' spread: mean ± SPREAD_STDS·sd ...
RELATIVE_FLOOR = 0.01    # ... but never narrower than ± 1 % of |mean|


@dataclass(frozen=True)
class Comparison:
    """One tested difference: its outcome, the mean of ``d`` and its interval, the seeds."""

    outcome: str
    effect: float               # mean of d
    low: float                  # the interval of the mean of d (1 − 2·ALPHA, two-sided)
    high: float
    n: int                      # seeds (paired) or the smaller side's seeds (unpaired)
    paired: bool
    seeds_needed: int | None = None  # inconclusive only: seeds the spread would need
    note: str = ""

    def text(self, scale: float = 1.0) -> str:
        """``d = 0.12 [0.05, 0.19], 5 seeds paired``."""
        def f(v: float) -> str:
            return "–" if not math.isfinite(v) else f"{v * scale:.3g}"

        seeds = f"{self.n} seed{'s' if self.n != 1 else ''}"
        kind = "paired" if self.paired else "unpaired"
        interval = f" [{f(self.low)}, {f(self.high)}]" if math.isfinite(self.low) else ""
        need = ""
        if self.outcome == INCONCLUSIVE and self.seeds_needed:
            need = (f"; ~{self.seeds_needed} seeds needed" if self.seeds_needed
                    <= MAX_SEEDS_SHOWN else f"; > {MAX_SEEDS_SHOWN} seeds needed")
        return f"d = {f(self.effect)}{interval}, {seeds} {kind}{need}" + (
            f" ({self.note})" if self.note else "")


def decide(low: float, high: float) -> str:
    if low > 0:
        return HOLDS
    if high < 0:
        return CONTRADICTED
    return INCONCLUSIVE


def _t(df: float) -> float:
    return float(stats.t.ppf(1 - ALPHA, df))


def seeds_needed(mean: float, sd: float) -> int | None:
    """Seeds at which a one-sample t interval of this ``mean`` and ``sd`` excludes 0
    (``None`` when there is no effect or no spread to size it by)."""
    if not (math.isfinite(mean) and math.isfinite(sd)) or mean == 0 or sd == 0:
        return None
    n = 2
    while n <= MAX_SEEDS_SHOWN:
        if _t(n - 1) * sd / math.sqrt(n) < abs(mean):
            return n
        n += 1
    return MAX_SEEDS_SHOWN + 1


def one_sample(d: Sequence[float], paired: bool = True, note: str = "") -> Comparison:
    """The rule on per-seed values ``d`` (the claim: their mean is positive)."""
    values = np.asarray([v for v in d if math.isfinite(v)], dtype=float)
    n = len(values)
    if n == 0:
        return Comparison(INCONCLUSIVE, math.nan, math.nan, math.nan, 0, paired,
                          note=note or "no values")
    mean = float(values.mean())
    if n < 2:
        return Comparison(INCONCLUSIVE, mean, math.nan, math.nan, 1, paired,
                          note=note or "one seed: no spread")
    sd = float(values.std(ddof=1))
    half = _t(n - 1) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    outcome = decide(low, high)
    return Comparison(outcome, mean, low, high, n, paired,
                      seeds_needed(mean, sd) if outcome == INCONCLUSIVE else None, note)


def two_sample(x: Sequence[float], y: Sequence[float]) -> Comparison:
    """The rule on independent samples: the claim is ``mean(x) − mean(y) > 0`` (Welch)."""
    a = np.asarray([v for v in x if math.isfinite(v)], dtype=float)
    b = np.asarray([v for v in y if math.isfinite(v)], dtype=float)
    n = min(len(a), len(b))
    if n == 0:
        return Comparison(INCONCLUSIVE, math.nan, math.nan, math.nan, 0, False,
                          note="no values")
    mean = float(a.mean() - b.mean())
    if n < 2:
        return Comparison(INCONCLUSIVE, mean, math.nan, math.nan, n, False,
                          note="one seed: no spread")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return Comparison(decide(mean, mean), mean, mean, mean, n, False)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = _t(df) * se
    low, high = mean - half, mean + half
    outcome = decide(low, high)
    per_seed_sd = se * math.sqrt(n)  # se = per_seed_sd / sqrt(n) at n seeds per side
    return Comparison(outcome, mean, low, high, n, False,
                      seeds_needed(mean, per_seed_sd) if outcome == INCONCLUSIVE else None)


def _exact(d: float) -> Comparison:
    """A deterministic experiment's one run: its value is exact, decided by its sign."""
    return Comparison(decide(d, d), d, d, d, 1, True, note="deterministic: one run is exact")


def beats(x: dict[int, float], y: dict[int, float], direction: str,
          margin: float = 0.0, exact: bool = False) -> Comparison:
    """``x`` better than ``y`` (per-seed values, keyed by seed) by more than ``margin``·|y|:
    paired on the seeds both have when they have the same seeds, else Welch. ``exact``: the
    experiment is deterministic (no seed changes it), so one run each is decided by its sign."""
    sign = 1.0 if direction == "higher" else -1.0
    if x and set(x) == set(y):
        d = [sign * (x[s] - y[s]) - margin * abs(y[s]) for s in sorted(x)]
        if exact and len(d) == 1 and math.isfinite(d[0]):
            return _exact(d[0])
        return one_sample(d, paired=True)
    y_mean = float(np.mean(list(y.values()))) if y else math.nan
    shifted = [sign * v for v in x.values()]
    other = [sign * v + margin * abs(y_mean) for v in y.values()]
    return two_sample(shifted, other)


def within(x: dict[int, float], threshold: float, direction: str,
           exact: bool = False) -> Comparison:
    """``x`` at most (``lower``) or at least (``higher``) ``threshold`` on average; one seed
    is decided by its value (no interval)."""
    sign = 1.0 if direction == "higher" else -1.0
    d = [sign * (v - threshold) for _, v in sorted(x.items())]
    if exact and len(d) == 1 and math.isfinite(d[0]):
        return _exact(d[0])
    if len(d) == 1 and math.isfinite(d[0]):
        return Comparison(decide(d[0], d[0]), d[0], math.nan, math.nan, 1, True,
                          note="one run: its value, no interval")
    return one_sample(d, paired=True)


def spread_half_width(mean: float, sd: float) -> float:
    """Half-width of a set of runs' spread: max(SPREAD_STDS·sd, RELATIVE_FLOOR·|mean|)."""
    return max(SPREAD_STDS * sd, RELATIVE_FLOOR * abs(mean))


def reproduces(values: Sequence[float], target: float) -> Comparison:
    """Whether a printed number ``target`` lies in the spread of our runs' ``values``:
    ``d = half-width − |target − mean|`` (positive: inside). Holds when inside, contradicted
    when outside; fewer than 2 runs is inconclusive (no spread to judge by). A band check on
    each cell, so ``low = high = d`` (no interval of its own)."""
    runs = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    n = len(runs)
    if n < 2:
        mean = float(runs.mean()) if n else math.nan
        return Comparison(INCONCLUSIVE, math.nan, math.nan, math.nan, n, False,
                          note=f"paper {target:.4g}, ours {mean:.4g}: one run, no spread"
                          if n else "no values")
    mean, sd = float(runs.mean()), float(runs.std(ddof=1))
    half = spread_half_width(mean, sd)
    d = half - abs(target - mean)
    return Comparison(HOLDS if d >= 0 else CONTRADICTED, d, d, d, n, False,
                      note=f"paper {target:.4g} vs ours {mean:.4g} ± {half:.2g}")


def all_of(parts: Sequence[Comparison]) -> str:
    """A claim made of several comparisons that must all hold: holds when every one holds,
    contradicted when any is contradicted, else inconclusive."""
    outcomes = [p.outcome for p in parts]
    if outcomes and all(o == HOLDS for o in outcomes):
        return HOLDS
    if CONTRADICTED in outcomes:
        return CONTRADICTED
    return INCONCLUSIVE


def count_of(outcomes: Sequence[str], needed: int) -> str:
    """At least ``needed`` of ``outcomes`` must hold: holds when that many hold, contradicted
    when so many are contradicted that ``needed`` cannot be reached, else inconclusive."""
    holds = sum(o == HOLDS for o in outcomes)
    against = sum(o == CONTRADICTED for o in outcomes)
    if holds >= needed:
        return HOLDS
    if len(outcomes) - against < needed:
        return CONTRADICTED
    return INCONCLUSIVE
