"""How each kind of claim (:data:`~odebench.report.claim_types.KINDS`) is tested on the
per-seed records of its experiment, by the rule of :mod:`odebench.report.verdict_stats`:
every comparison a claim makes is taken seed by seed (paired where the seeds match) and
decided at α = 0.05 one-sided; the claim's verdict combines them (all must hold, or a count).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import pandas as pd

from odebench.report.claim_types import Claim
from odebench.report.verdict_stats import (
    CONTRADICTED,
    HOLDS,
    INCONCLUSIVE,
    Comparison,
    all_of,
    beats,
    count_of,
    one_sample,
    reproduces,
    within,
)


class NotRun(Exception):
    """The records cannot test the claim (a model, setting or metric missing): the reason;
    ``missing``: the models absent from the records, when that is why."""

    def __init__(self, reason: str, missing: Sequence[str] = ()):
        super().__init__(reason)
        self.missing = tuple(missing)


def _absent(models: Sequence[str]) -> NotRun:
    return NotRun(f"{', '.join(models)} not in the records", missing=models)


@dataclass(frozen=True)
class Outcome:
    """A claim's outcome on records: the verdict, the comparison that decided it, the evidence
    text, and the fewest seeds any comparison had."""

    verdict: str
    deciding: Comparison | None
    evidence: str
    seeds: int


Values = dict[int, float]  # seed -> value


def _stem(value: str) -> str:
    value = str(value).partition("=")[2] or str(value)
    return value.replace("/", ".").split(".")[-1].split("-v")[0].lower()


def _number(setting: str) -> float:
    try:
        return float(str(setting).partition("=")[2] or setting)
    except ValueError:
        return math.nan


def _select_settings(available: Sequence[str], wanted: Sequence[str],
                     exclude: Sequence[str] = ()) -> list[str]:
    """The settings named by ``wanted`` (all when empty) less ``exclude``; :class:`NotRun`
    when a named one has no record."""
    def match(selector: str) -> list[str]:
        if selector in ("@min", "@max"):
            numbers = {s: _number(s) for s in available if not math.isnan(_number(s))}
            if not numbers:
                return []
            pick = (min if selector == "@min" else max)(numbers.values())
            return [s for s, n in numbers.items() if n == pick]
        return [s for s in available if s == selector or _stem(s) == selector.lower()
                or str(s).partition("=")[2] == selector]

    chosen = list(available) if not wanted else []
    missing = []
    for selector in wanted:
        found = match(selector)
        if not found:
            missing.append(selector)
        chosen += [s for s in found if s not in chosen]
    if missing:
        raise NotRun(f"setting(s) {', '.join(missing)} not run in this profile")
    dropped = {s for selector in exclude for s in match(selector)}
    chosen = [s for s in chosen if s not in dropped]
    if not chosen:
        raise NotRun("no setting left to compare")
    return chosen


def _fmt(number: float) -> str:
    if number is None or (isinstance(number, float) and math.isnan(number)):
        return "–"
    return f"{number:.4g}"


def _mean(values: Values) -> float:
    return float(sum(values.values()) / len(values)) if values else math.nan


def _per_seed(records: pd.DataFrame, metric: str) -> dict[tuple[str, str], Values]:
    """{(setting, model): {seed: value}} of ``metric`` over the completed runs."""
    part = records.dropna(subset=[metric])
    out: dict[tuple[str, str], Values] = {}
    for (setting, model), group in part.groupby(["setting", "model"], sort=False):
        out[(setting, model)] = {int(s): float(v) for s, v in zip(group["seed"], group[metric],
                                                                  strict=True)}
    return out


def _cells(claim: Claim, records: pd.DataFrame) -> list[tuple[str, dict[str, Values]]]:
    """(label, {subject: per-seed values}) for each comparison the claim makes: per selected
    setting on the model axis, per model in ``models`` on the setting axis."""
    values = _per_seed(records, claim.metric)
    if not values:
        raise NotRun(f"no completed run recorded {claim.metric}")
    settings = list(dict.fromkeys(s for s, _ in values))
    if claim.axis == "model":
        return [(setting or "–", {m: v for (s, m), v in values.items() if s == setting})
                for setting in _select_settings(settings, claim.settings, claim.exclude)]
    models = claim.models or tuple(dict.fromkeys(m for _, m in values))
    cells = []
    for model in models:
        part = {s: v for (s, m), v in values.items() if m == model}
        if not part:
            raise NotRun(f"model {model} not in the records", missing=(model,))
        cells.append((model, part))
    return cells


def _resolve(subjects: Sequence[str], available: Sequence[str], axis: str) -> list[str]:
    if axis == "model":
        return [s for s in subjects if s in available]
    return _select_settings(available, subjects)


def _deciding(parts: Sequence[Comparison], verdict: str) -> Comparison | None:
    """The comparison that decided a verdict: the weakest that holds, the strongest against,
    or the one that needs the most seeds."""
    if not parts:
        return None
    if verdict == HOLDS:
        return min(parts, key=lambda p: p.low if math.isfinite(p.low) else p.effect)
    if verdict == CONTRADICTED:
        against = [p for p in parts if p.outcome == CONTRADICTED] or list(parts)
        return min(against, key=lambda p: p.high if math.isfinite(p.high) else p.effect)
    open_ = [p for p in parts if p.outcome == INCONCLUSIVE] or list(parts)
    return max(open_, key=lambda p: p.seeds_needed or 0)


def _best_of(claim: Claim, values: dict[str, Values], a: list[str],
             b: list[str], exact: bool = False) -> tuple[str, list[Comparison], str]:
    """``a`` (its best model by mean) among the best ``top``: fewer than ``top`` of ``b`` may
    be at least as good; each other model compared with it seed by seed."""
    pick = min if claim.direction == "lower" else max
    best = pick(a, key=lambda s: _mean(values[s]))
    parts = [beats(values[best], values[y], claim.direction, exact=exact) for y in b]
    verdict = count_of([p.outcome for p in parts], len(b) - claim.top + 1)
    shown = ", ".join(f"{s} {_fmt(_mean(values[s]))}" for s in dict.fromkeys([*a, *b]))
    return verdict, parts, shown


DETERMINISTIC = "deterministic"  # a records column: the experiment does not depend on the seed


def is_deterministic(records: pd.DataFrame) -> bool:
    """Records of an experiment that no seed changes (the optimiser flows): one run is exact."""
    return DETERMINISTIC in records and bool(records[DETERMINISTIC].fillna(False).all())


def compare(claim: Claim, records: pd.DataFrame) -> Outcome:
    """The outcome of a ``better``, ``every_run_better``, ``best_of``, ``wins``, ``ordering``
    or ``threshold`` claim (the others: :func:`check_claim`)."""
    kind = claim.kind
    cells = _cells(claim, records)
    exact = is_deterministic(records)
    verdicts, evidence, everything = [], [], []
    seen: set[str] = set()
    for label, values in cells:
        available = list(values)
        a = _resolve(claim.a, available, claim.axis) if claim.a else available
        if claim.axis == "model":
            seen.update(s for s in claim.a if s in available)
            if claim.a and not a:
                continue  # none of a in this setting: compared where they ran
        b = (_resolve(claim.b, available, claim.axis) if claim.b
             else [s for s in available if s not in a])
        shown = ", ".join(f"{s} {_fmt(_mean(values[s]))}" for s in dict.fromkeys([*a, *b]))
        if kind == "better":
            if not b:
                raise NotRun(f"{', '.join(claim.b) or 'no other model'} has no completed "
                             f"run to compare {', '.join(a)} with ({label})")
            parts = [beats(values[x], values[y], claim.direction, claim.margin, exact)
                     for x in a for y in b]
            verdict = all_of(parts)
        elif kind in ("best_of", "wins"):
            if not b:
                raise NotRun(f"nothing to compare {', '.join(a)} with ({label})")
            verdict, parts, shown = _best_of(claim, values, a, b, exact)
            if kind == "wins":
                pick = min if claim.direction == "lower" else max
                best = pick(values, key=lambda s: _mean(values[s]))
                shown = f"best {best} {_fmt(_mean(values[best]))}"
        elif kind == "ordering":
            step = "higher" if claim.direction == "increasing" else "lower"
            parts = [beats(values[nxt], values[prev], step, exact=exact)
                     for prev, nxt in pairwise(a)]
            verdict = all_of(parts)
            shown = " → ".join(f"{s} {_fmt(_mean(values[s]))}" for s in a)
        elif kind == "every_run_better":
            if not b:
                raise NotRun(f"nothing to compare {', '.join(a)} with ({label})")
            parts = [every_run(values[x], values[y], claim.direction) for x in a for y in b]
            verdict = all_of(parts)
        elif kind == "threshold":
            assert claim.threshold is not None
            parts = [within(values[s], claim.threshold, claim.direction, exact) for s in a]
            verdict = all_of(parts)
            shown = ", ".join(f"{s} {_fmt(_mean(values[s]))}" for s in a) + (
                f" ({'≤' if claim.direction == 'lower' else '≥'} {claim.threshold:g})")
        else:  # pragma: no cover - validated
            raise ValueError(f"claim {claim.id}: unknown kind {kind!r}")
        verdicts.append(verdict)
        everything += parts
        decided = _deciding(parts, verdict)
        detail = f"{shown}; {verdict}" + (f": {decided.text()}" if decided else "")
        evidence.append(f"{label}: {detail}" if len(cells) > 1 or label != "–" else detail)
    never = [s for s in claim.a if claim.axis == "model" and s not in seen]
    if never:
        raise _absent(never)
    if not verdicts:
        raise NotRun("nothing to compare")
    seeds = min((p.n for p in everything), default=0)
    if kind == "wins":
        share = claim.threshold if claim.threshold is not None else 0.5
        needed = math.ceil(share * len(verdicts))
        verdict = count_of(verdicts, needed)
        wins = sum(v == HOLDS for v in verdicts)
        return Outcome(verdict, _deciding(everything, verdict),
                       f"best in {wins}/{len(verdicts)} settings beyond doubt (needs "
                       f"≥ {needed}); " + "; ".join(evidence), seeds)
    verdict = all_of([_as_comparison(v) for v in verdicts])
    return Outcome(verdict, _deciding(everything, verdict), "; ".join(evidence), seeds)


def every_run(x: Values, y: Values, direction: str) -> Comparison:
    """``x`` better than ``y`` in every run: seed by seed where both ran the same seeds, else
    every run of ``x`` against every run of ``y``; holds when each difference is positive,
    contradicted otherwise (a statement about each run, so no interval)."""
    sign = 1.0 if direction == "higher" else -1.0
    common = sorted(set(x) & set(y))
    paired = bool(x) and set(x) == set(y)
    pairs = [(x[s], y[s]) for s in common] if paired else [(u, v) for u in x.values()
                                                            for v in y.values()]
    d = [sign * (u - v) for u, v in pairs]
    if not d:
        return Comparison(INCONCLUSIVE, math.nan, math.nan, math.nan, 0, paired,
                          note="no runs to compare")
    ok = all(math.isfinite(v) and v > 0 for v in d)
    return Comparison(HOLDS if ok else CONTRADICTED, float(sum(d) / len(d)), min(d), max(d),
                      len(d), paired, note=f"{sum(v > 0 for v in d)}/{len(d)} runs better")


def _gap_widens(claim: Claim, records: pd.DataFrame) -> Outcome:
    """``a``'s advantage over each of ``b`` (per seed: ``b`` − ``a`` when lower is better)
    larger at each next setting of ``settings`` than at the one before (paired by seed)."""
    values = _per_seed(records, claim.metric)
    if not values:
        raise NotRun(f"no completed run recorded {claim.metric}")
    settings = _select_settings(list(dict.fromkeys(s for s, _ in values)), claim.settings,
                                claim.exclude)
    if len(settings) < 2:
        raise NotRun("needs at least two settings to compare the gap along")
    sign = 1.0 if claim.direction == "lower" else -1.0
    parts, evidence = [], []
    for x in claim.a:
        for y in claim.b:
            gaps = []
            for setting in settings:
                xs, ys = values.get((setting, x)), values.get((setting, y))
                common = sorted(set(xs or ()) & set(ys or ()))
                if not common:
                    raise NotRun(f"{x} and {y} have no common seed at {setting}")
                gaps.append({k: sign * (ys[k] - xs[k]) for k in common})
            parts += [beats(nxt, prev, "higher") for prev, nxt in pairwise(gaps)]
            evidence.append(f"{x} vs {y}: gap " + " → ".join(
                f"{_fmt(_mean(g))} ({s})" for g, s in zip(gaps, settings, strict=True)))
    verdict = all_of(parts)
    decided = _deciding(parts, verdict)
    return Outcome(verdict, decided, "; ".join(evidence) + f"; {verdict}"
                   + (f": {decided.text()}" if decided else ""),
                   min((p.n for p in parts), default=0))


def _as_comparison(verdict: str) -> Comparison:
    return Comparison(verdict, math.nan, math.nan, math.nan, 0, True)


def _bound(records: pd.DataFrame, bound: str | float) -> pd.Series:
    return records[bound] if isinstance(bound, str) else pd.Series(bound, index=records.index)


def _within_bounds(claim: Claim, records: pd.DataFrame) -> Outcome:
    """Every record of the claim's models (in the selected settings) has the metric within
    ``bounds`` (for a (lower, upper) pair of min/max columns ``metric = "<min>|<max>"``): a
    statement about each run, so holds when every run is within and contradicted when any
    run is outside (``threshold``: the share of each model's runs that must be within)."""
    part = _subset(claim, records)
    low_col, _, high_col = claim.metric.partition("|")
    high_col = high_col or low_col
    lower, upper = claim.bounds or (-math.inf, math.inf)
    ok = (part[low_col] >= _bound(part, lower)) & (part[high_col] <= _bound(part, upper))
    share = 1.0 if claim.threshold is None else claim.threshold
    worst, passed = [], []
    for model, group in part.assign(ok=ok).groupby("model", sort=False):
        passed.append(float(group["ok"].mean()) >= share)
        worst.append(f"{model}: {int(group['ok'].sum())}/{len(group)} within, range "
                     f"[{_fmt(group[low_col].min())}, {_fmt(group[high_col].max())}]")
    seeds = int(part["seed"].nunique()) if "seed" in part else len(part)
    verdict = HOLDS if all(passed) else CONTRADICTED
    needed = "" if share == 1.0 else f", each model needs ≥ {share:.0%} within"
    return Outcome(verdict, None, f"{verdict}: " + "; ".join(worst)
                   + f" ({len(part)} records, every one checked{needed})", seeds)


def _subset(claim: Claim, records: pd.DataFrame) -> pd.DataFrame:
    part = records
    if claim.a:
        missing = [m for m in claim.a if m not in set(records["model"])]
        if missing:
            raise _absent(missing)
        part = part[part["model"].isin(claim.a)]
    settings = _select_settings(list(dict.fromkeys(part["setting"])), claim.settings,
                                claim.exclude)
    part = part[part["setting"].isin(settings)]
    part = part.dropna(subset=claim.metric.split("|"))
    if part.empty:
        raise NotRun(f"no completed run recorded {claim.metric}")
    return part


def learning(gains: Sequence[float]) -> Comparison:
    """Whether a policy learned on an environment: its ES gain (final − initial return) is
    positive beyond doubt (holds), negative beyond doubt (contradicted: it got worse), or
    neither (inconclusive)."""
    return one_sample(list(gains))


def _learning(claim: Claim, records: pd.DataFrame) -> Outcome:
    """ODEtoODE Fig. 2: which policies learned on which environments (:func:`learning`)."""
    settings = _select_settings(list(dict.fromkeys(records["setting"])), claim.settings,
                                claim.exclude)
    part = records[records["setting"].isin(settings)]

    def learned(env: str, model: str) -> Comparison | None:
        group = part[(part["setting"] == env) & (part["model"] == model)]
        return None if group.empty else learning(group["gain"].tolist())

    models = list(claim.a) or sorted(set(part["model"]))
    missing = [m for m in models if m not in set(part["model"])]
    if missing:
        raise _absent(missing)

    def word(c: Comparison) -> str:
        return {HOLDS: "learned", CONTRADICTED: "got worse"}.get(c.outcome, "undecided")

    if claim.kind in ("learns_everywhere", "fails_on"):
        table = {(e, m): learned(e, m) for e in settings for m in models}
        parts = [c for c in table.values() if c is not None]
        if claim.kind == "learns_everywhere":
            verdict = all_of(parts)
        else:  # fails on: no policy learned (a gain that is not positive beyond doubt)
            verdict = (CONTRADICTED if any(c.outcome == HOLDS for c in parts)
                       else HOLDS if all(c.outcome == CONTRADICTED for c in parts)
                       else INCONCLUSIVE)
        text = "; ".join(f"{m} on {e}: {word(c)} (gain {c.text()})"
                         for (e, m), c in table.items() if c is not None)
        return Outcome(verdict, _deciding(parts, verdict), text, min(c.n for c in parts))
    others = list(claim.a) or [m for m in sorted(set(part["model"])) if m not in claim.b]
    absent = [m for m in others if m not in set(part["model"])]
    if absent:
        raise _absent(absent)
    if len(settings) < 2:
        raise NotRun("needs more than one environment")
    if not others:
        raise NotRun("no baseline was run")
    outcomes, evidence, parts = [], [], []
    for model in others:
        cells = {e: learned(e, model) for e in settings}
        cells = {e: c for e, c in cells.items() if c is not None}
        parts += cells.values()
        failed = [e for e, c in cells.items() if c.outcome == CONTRADICTED]
        possible = [e for e, c in cells.items() if c.outcome != HOLDS]
        if len(failed) >= claim.top:
            outcomes.append(HOLDS)
            evidence.append(f"{model}: got worse on {', '.join(failed)}")
        elif cells and len(possible) < claim.top and claim.settings:
            # the claim named every task it is about, and all ran: no failure is left to find
            outcomes.append(CONTRADICTED)
            evidence.append(f"{model}: learned on all but {len(possible)} "
                            f"(needs {claim.top} failures)" if possible
                            else f"{model}: learned everywhere")
        elif cells and len(possible) < claim.top:
            # "fails on some task" over the paper's tasks: learning on the tasks this profile
            # ran does not rule out a failure on one it did not run
            outcomes.append(INCONCLUSIVE)
            evidence.append(f"{model}: learned on {len(cells) - len(possible)} of the "
                            f"{len(cells)} tasks run (a failure on another task is not ruled out)")
        else:
            outcomes.append(INCONCLUSIVE)
            evidence.append(f"{model}: " + ", ".join(f"{e} {word(c)}" for e, c in cells.items()))
    verdict = all_of([_as_comparison(o) for o in outcomes])
    return Outcome(verdict, _deciding(parts, verdict), "; ".join(evidence),
                   min((c.n for c in parts), default=0))


def _reproduces_table(claim: Claim, records: pd.DataFrame) -> Outcome:
    """Each printed cell of a paper's table (``targets``) within our runs' spread of the same
    cell (:func:`~odebench.report.verdict_stats.reproduces`): holds when every cell is,
    contradicted when any is not; :class:`NotRun` when a cell has no runs."""
    values = _per_seed(records, claim.metric)
    if not values:
        raise NotRun(f"no completed run recorded {claim.metric}")
    available = list(dict.fromkeys(s for s, _ in values))
    parts: list[Comparison] = []
    evidence, missing = [], []
    for model, setting, target in claim.targets:
        settings = [s for s in available if (s, model) in values]
        if setting:
            settings = [s for s in settings if s == setting or _stem(s) == setting.lower()
                        or str(s).partition("=")[2] == setting]
        label = f"{model}@{setting}" if setting else model
        if len(settings) != 1:
            missing.append(label)
            continue
        runs = values[(settings[0], model)]
        part = reproduces(list(runs.values()), target)
        parts.append(part)
        evidence.append(f"{label} {'within' if part.outcome == HOLDS else part.outcome}"
                        f" ({part.note})")
    if missing:
        raise NotRun(f"cell(s) without runs: {', '.join(missing)}")
    verdict = all_of(parts)
    inside = sum(p.outcome == HOLDS for p in parts)
    decided = _deciding(parts, verdict)
    return Outcome(verdict, decided, f"{inside}/{len(parts)} printed cells within our spread "
                   f"(mean ± max(2 sd, 1 %)); " + "; ".join(evidence),
                   min(p.n for p in parts))


def check_claim(claim: Claim, records: pd.DataFrame) -> Outcome:
    """The outcome of any claim on its experiment's per-run records (:class:`NotRun` when
    they cannot test it)."""
    if claim.kind == "within_bounds":
        return _within_bounds(claim, records)
    if claim.kind in ("learns_everywhere", "each_fails_somewhere", "fails_on"):
        return _learning(claim, records)
    if claim.kind == "gap_widens":
        return _gap_widens(claim, records)
    if claim.kind == "reproduces_table":
        return _reproduces_table(claim, records)
    return compare(claim, records)
