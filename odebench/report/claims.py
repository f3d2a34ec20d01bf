"""Claims ledger: the papers' quantitative and ordinal claims (:mod:`odebench.report.claims_data`)
evaluated on the run records of a profile, into ``results/<profile>/claims.{csv,md}``.

A claim is data (:class:`~odebench.report.claim_types.Claim`): where the paper makes it, one
sentence, the experiment and metric that test it, and a comparison kind (:data:`KINDS`) with
its models, settings, threshold or margin. Every claim is evaluated on per-run records of
completed runs only (:func:`load_records`); the verdict is ``holds``, ``does not hold`` or
``not run`` (with the reason, e.g. the experiment is not in this profile, with the compute it
needs). A claim naming a metric that the records of an experiment that did run do not have is
an error (:class:`ClaimError`), never a silent ``not run``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from odebench.records.atomic import atomic_write_text
from odebench.report.claim_types import KINDS, Claim
from odebench.report.outcomes import COMPLETED, outcome_text, with_outcome
from odebench.report.tables import per_run, with_setting

HOLDS, FAILS, NOT_RUN = "holds", "does not hold", "not run"


class ClaimError(ValueError):
    """A claim that cannot be evaluated on records that exist (a metric no record has)."""


@dataclass
class Verdict:
    verdict: str
    measured: str = ""
    runs: list[str] = field(default_factory=list)
    reason: str = ""


class _NotRun(Exception):
    pass


# ---------------------------------------------------------------------------- run records

def _run_folder(experiment: str, model: str, setting: str, seed: Any) -> str:
    key = f"{model}@{setting}" if setting else str(model)
    return f"runs/{experiment}/{key}/seed{int(seed)}"


def _extra_statistics(epochs: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Per-run statistics the claims read beyond :data:`~odebench.report.tables.STATISTICS`:
    first-epoch NFEs, NFE growth (last / first epoch), backward / forward NFE, the drop of
    test accuracy from its best, the epoch of the best accuracy and the training loss there,
    and the adjoint retention ``‖a(T−t_max)‖ / ‖a(T)‖`` of the last epoch."""
    from odebench.report.figures import adjoint_columns

    adjoint = adjoint_columns(epochs)
    extra = []
    for (model, setting, seed), run in epochs.sort_values("epoch").groupby(
            ["model", "setting", "seed"], sort=False):
        row: dict[str, Any] = {"model": model, "setting": setting, "seed": seed}
        for column in ("nfe_forward", "nfe_backward"):
            if column in run and run[column].notna().any():
                values = run[column].dropna()
                row[f"{column}_first"] = values.iloc[0]
                row[f"{column}_growth"] = (values.iloc[-1] / values.iloc[0]
                                           if values.iloc[0] else math.nan)
        if "test_accuracy" in run and run["test_accuracy"].notna().any():
            acc = run.dropna(subset=["test_accuracy"])
            best = acc["test_accuracy"].idxmax()
            row["accuracy_drop"] = acc["test_accuracy"].max() - acc["test_accuracy"].iloc[-1]
            row["epoch_of_best_accuracy"] = acc.loc[best, "epoch"]
            if "loss" in acc:
                row["loss_at_best_accuracy"] = acc.loc[best, "loss"]
        if adjoint:
            last = run.dropna(subset=adjoint[:1]).tail(1)
            if len(last):
                first, far = last[adjoint[0]].iloc[0], last[adjoint[-1]].iloc[0]
                row["adjoint_retention"] = far / first if first else math.nan
        extra.append(row)
    merged = records.merge(pd.DataFrame(extra), on=["model", "setting", "seed"], how="left")
    if {"nfe_backward_last", "nfe_forward_last"} <= set(merged):
        merged["nfe_backward_over_forward"] = (merged["nfe_backward_last"]
                                               / merged["nfe_forward_last"])
    return merged


def _completed(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    done = frame[frame["outcome"] == COMPLETED]
    stopped = frame.drop_duplicates(["model", "setting", "seed"])
    stopped = stopped[stopped["outcome"] != COMPLETED]
    return done, (outcome_text(stopped["outcome"].value_counts()) if len(stopped) else "")


def records_from(epochs: pd.DataFrame, runs: pd.DataFrame, experiment: str,
                 kind: str | None) -> tuple[pd.DataFrame, str]:
    """Per-run records of the completed runs (columns ``model``, ``setting``, ``seed``,
    ``run`` and the metrics) from an experiment's aggregate frames, and the text of the runs
    left out (``1 diverged``)."""
    from odebench.report.optim_flows import optim_summary
    from odebench.report.rl import final_returns
    from odebench.tasks.experiments import format_value

    epochs = with_setting(epochs)
    runs = with_setting(runs) if not runs.empty else runs
    if kind == "rl":
        per_seed = final_returns(epochs)
        per_seed["gain"] = per_seed["final_return"] - per_seed["initial_return"]
        per_seed["setting"] = "env=" + per_seed["env"].map(format_value)
        per_seed = per_seed.rename(columns={"policy": "model"})
        frame = with_outcome(per_seed, runs)
        done, left = _completed(frame)
        done = done.assign(setting=done["env"])  # settings by environment id
        done["run"] = [_run_folder(experiment, m, "env=" + format_value(s), seed)
                       for m, s, seed in zip(done["model"], done["env"], done["seed"],
                                             strict=True)]
        return done, left
    frame = with_outcome(epochs, runs)
    done, left = _completed(frame)
    done = done.assign(run=[_run_folder(experiment, m, s, seed) for m, s, seed in
                            zip(done["model"], done["setting"], done["seed"], strict=True)])
    if kind == "optim":
        rows = []
        for run, part in done.groupby("run", sort=False):
            summary = optim_summary(part.sort_values(["model", "epoch"]))
            rows.append(summary.assign(run=run, seed=part["seed"].iloc[0]))
        table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        return table.rename(columns={"method": "model", "problem": "setting"}), left
    if kind == "structure":
        values = done.assign(value=done["value"].where(done["applicable"].astype(bool)))
        wide = values.pivot_table(index=["model", "phase", "seed", "run"], columns="property",
                                  values="value", aggfunc="mean", dropna=False)
        wide = wide.reset_index().rename(columns={"phase": "setting"})
        wide.columns.name = None
        return wide, left
    if kind == "theory":
        theory = done.copy()
        integrator = theory["phase"] == "integrator"
        theory["setting"] = theory["phase"].where(~integrator, theory.get("w_step"))
        return theory, left
    if kind == "mnistc":
        from odebench.report.odetoode import ROWS

        summaries = runs[runs["status"] == COMPLETED] if "status" in runs else runs
        rows = []
        for _, r in summaries.iterrows():
            for corruption in ROWS:
                column = f"final_test_accuracy_{corruption}"
                if column in r and pd.notna(r[column]):
                    rows.append({"model": r["model"], "setting": corruption,
                                 "seed": r["seed"], "accuracy": 100 * float(r[column]),
                                 "run": _run_folder(experiment, r["model"], r["setting"],
                                                    r["seed"])})
        return pd.DataFrame(rows), left
    records = per_run(done.drop(columns=["outcome", "run"]))
    if records.empty:
        return records, left
    records = _extra_statistics(done, records)
    records["run"] = [_run_folder(experiment, m, s, seed) for m, s, seed in
                      zip(records["model"], records["setting"], records["seed"], strict=True)]
    return records, left


def load_records(results_dir: str | Path, experiment: str,
                 planned: Sequence[str] | None = None) -> tuple[pd.DataFrame, str] | None:
    """:func:`records_from` the aggregate files of ``experiment`` (only the rows of the
    ``planned`` ``<run>/seed<k>`` folders, when given); None when there are none."""
    from odebench.report.build import NoRunsError, _load_aggregate, experiment_kind

    try:
        epochs, runs = _load_aggregate(Path(results_dir), experiment, planned)
    except NoRunsError:
        return None
    if epochs.empty:
        return None
    return records_from(epochs, runs, experiment, experiment_kind(runs))


# ---------------------------------------------------------------------------- comparisons

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
    """The settings named by ``wanted`` (all when empty) less ``exclude``; :class:`_NotRun`
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
        raise _NotRun(f"setting(s) {', '.join(missing)} not run in this profile")
    dropped = {s for selector in exclude for s in match(selector)}
    chosen = [s for s in chosen if s not in dropped]
    if not chosen:
        raise _NotRun("no setting left to compare")
    return chosen


def _fmt(number: float) -> str:
    if number is None or (isinstance(number, float) and math.isnan(number)):
        return "–"
    return f"{number:.4g}"


def _means(records: pd.DataFrame, metric: str) -> pd.Series:
    """Mean of ``metric`` over runs per (setting, model), NaN-free."""
    part = records.dropna(subset=[metric])
    return part.groupby(["setting", "model"], sort=False)[metric].mean()


def _beats(x: float, y: float, direction: str, margin: float) -> bool:
    if direction == "lower":
        return bool(x < y * (1 - margin)) if y >= 0 else bool(x < y * (1 + margin))
    return bool(x > y * (1 + margin)) if y >= 0 else bool(x > y * (1 - margin))


def _cells(claim: Claim, records: pd.DataFrame) -> list[tuple[str, dict[str, float]]]:
    """(label, {subject: mean}) for each comparison the claim makes: per selected setting on
    the model axis, per model in ``models`` on the setting axis."""
    means = _means(records, claim.metric)
    if means.empty:
        raise _NotRun(f"no completed run recorded {claim.metric}")
    settings = list(dict.fromkeys(means.index.get_level_values(0)))
    if claim.axis == "model":
        cells = []
        for setting in _select_settings(settings, claim.settings, claim.exclude):
            cells.append((setting or "–", dict(means.loc[setting])))
        return cells
    models = claim.models or tuple(dict.fromkeys(means.index.get_level_values(1)))
    cells = []
    for model in models:
        part = means.xs(model, level=1) if model in means.index.get_level_values(1) else None
        if part is None:
            raise _NotRun(f"model {model} not in the records")
        cells.append((model, dict(part)))
    return cells


def _resolve(subjects: Sequence[str], available: Sequence[str], axis: str) -> list[str]:
    if axis == "model":
        return [s for s in subjects if s in available]
    return _select_settings(available, subjects)


def _compare(claim: Claim, records: pd.DataFrame) -> tuple[bool, str]:
    kind = claim.kind
    if kind in ("within_bounds",):
        return _within_bounds(claim, records)
    if kind in ("learns_everywhere", "each_fails_somewhere", "fails_on"):
        return _learning(claim, records)
    cells = _cells(claim, records)
    verdicts, evidence = [], []
    wins, seen = 0, set()
    for label, values in cells:
        available = list(values)
        a = _resolve(claim.a, available, claim.axis) if claim.a else available
        if claim.axis == "model":
            seen.update(s for s in claim.a if s in available)
            if claim.a and not a:
                continue  # none of a in this setting: compared where they ran
        b = (_resolve(claim.b, available, claim.axis) if claim.b
             else [s for s in available if s not in a])
        shown = ", ".join(f"{s} {_fmt(values[s])}" for s in dict.fromkeys([*a, *b]))
        if kind == "better":
            if not b:
                raise _NotRun(f"{', '.join(claim.b) or 'no other model'} has no completed "
                              f"run to compare {', '.join(a)} with ({label})")
            ok = all(_beats(values[x], values[y], claim.direction, claim.margin)
                     for x in a for y in b)
        elif kind in ("best_of", "wins"):
            if not b:
                raise _NotRun(f"nothing to compare {', '.join(a)} with ({label})")
            best_a = (min if claim.direction == "lower" else max)(values[x] for x in a)
            better_others = sum(_beats(values[y], best_a, claim.direction, 0.0)
                                or values[y] == best_a for y in b)
            ok = better_others < claim.top
        elif kind == "ordering":
            ordered = [values[s] for s in a]
            steps = np.diff(ordered)
            ok = bool(np.all(steps > 0) if claim.direction == "increasing"
                      else np.all(steps < 0))
            shown = " → ".join(f"{s} {_fmt(values[s])}" for s in a)
        elif kind == "threshold":
            assert claim.threshold is not None
            ok = all((values[s] <= claim.threshold) if claim.direction == "lower"
                     else (values[s] >= claim.threshold) for s in a)
            shown = ", ".join(f"{s} {_fmt(values[s])}" for s in a) + (
                f" ({'≤' if claim.direction == 'lower' else '≥'} {claim.threshold:g})")
        else:  # pragma: no cover - validated
            raise ClaimError(f"claim {claim.id}: unknown kind {kind!r}")
        wins += ok
        verdicts.append(ok)
        if kind == "wins":
            best = (min if claim.direction == "lower" else max)(values, key=values.get)
            shown = f"best {best} {_fmt(values[best])}"
        evidence.append(f"{label}: {shown}" if len(cells) > 1 or label != "–" else shown)
    never = [s for s in claim.a if claim.axis == "model" and s not in seen]
    if never:
        raise _NotRun(f"{', '.join(never)} not in the records")
    if not verdicts:
        raise _NotRun("nothing to compare")
    if kind == "wins":
        needed = claim.threshold if claim.threshold is not None else 0.5
        ok = wins >= needed * len(verdicts)
        return ok, f"best in {wins}/{len(verdicts)} (needs ≥ {needed:.0%}); " + "; ".join(
            evidence)
    return all(verdicts), "; ".join(evidence)


def _bound(records: pd.DataFrame, bound: str | float) -> pd.Series:
    return records[bound] if isinstance(bound, str) else pd.Series(bound, index=records.index)


def _within_bounds(claim: Claim, records: pd.DataFrame) -> tuple[bool, str]:
    """Every record of the claim's models (in the selected settings) has the metric within
    ``bounds``; for a (lower, upper) pair of min/max columns use ``metric = "<min>|<max>"``."""
    part = _subset(claim, records)
    low_col, _, high_col = claim.metric.partition("|")
    high_col = high_col or low_col
    lower, upper = claim.bounds or (-math.inf, math.inf)
    low_ok = part[low_col] >= _bound(part, lower)
    high_ok = part[high_col] <= _bound(part, upper)
    ok = low_ok & high_ok
    worst = []
    for model, group in part.assign(ok=ok).groupby("model", sort=False):
        worst.append(f"{model}: {int(group['ok'].sum())}/{len(group)} within, range "
                     f"[{_fmt(group[low_col].min())}, {_fmt(group[high_col].max())}]")
    return bool(ok.all()), "; ".join(worst)


def _subset(claim: Claim, records: pd.DataFrame) -> pd.DataFrame:
    part = records
    if claim.a:
        missing = [m for m in claim.a if m not in set(records["model"])]
        if missing:
            raise _NotRun(f"{', '.join(missing)} not in the records")
        part = part[part["model"].isin(claim.a)]
    settings = _select_settings(list(dict.fromkeys(part["setting"])), claim.settings,
                                claim.exclude)
    part = part[part["setting"].isin(settings)]
    columns = [c for c in claim.metric.split("|")]
    part = part.dropna(subset=columns)
    if part.empty:
        raise _NotRun(f"no completed run recorded {claim.metric}")
    return part


def _learning(claim: Claim, records: pd.DataFrame) -> tuple[bool, str]:
    """ODEtoODE Fig. 2: a policy *learned* on an env by :func:`odebench.report.rl.learned`
    (mean gain over seeds positive and above the seed spread of the final return)."""
    from odebench.report.rl import learned

    settings = _select_settings(list(dict.fromkeys(records["setting"])), claim.settings,
                                claim.exclude)
    part = records[records["setting"].isin(settings)]

    def did_learn(env: str, model: str) -> bool | None:
        group = part[(part["setting"] == env) & (part["model"] == model)]
        if group.empty:
            return None
        row = pd.Series({"gain_mean": group["gain"].mean(),
                         "final_return_std": group["final_return"].std(ddof=1)})
        return learned(row)

    models = list(claim.a) or sorted(set(part["model"]))
    missing = [m for m in models if m not in set(part["model"])]
    if missing:
        raise _NotRun(f"{', '.join(missing)} not in the records")
    if claim.kind == "learns_everywhere":
        table = {(e, m): did_learn(e, m) for e in settings for m in models}
        ok = all(v for v in table.values() if v is not None)
        return ok, "; ".join(f"{m} on {e}: {'learned' if v else 'did not learn'}"
                             for (e, m), v in table.items() if v is not None)
    if claim.kind == "fails_on":
        table = {(e, m): did_learn(e, m) for e in settings for m in models}
        ok = not any(v for v in table.values() if v is not None)
        return ok, "; ".join(f"{m} on {e}: {'learned' if v else 'did not learn'}"
                             for (e, m), v in table.items() if v is not None)
    others = [m for m in sorted(set(part["model"])) if m not in claim.b]
    if len(settings) < 2:
        raise _NotRun("needs more than one environment")
    evidence, failing = [], []
    for model in others:
        failed = [e for e in settings if did_learn(e, model) is False]
        evidence.append(f"{model}: fails on {', '.join(failed)}" if failed
                        else f"{model}: learned everywhere")
        failing.append(bool(failed))
    if not failing:
        raise _NotRun("no baseline was run")
    return all(failing), "; ".join(evidence)


# ---------------------------------------------------------------------------- the ledger

def check_columns(claim: Claim, records: pd.DataFrame) -> None:
    """:class:`ClaimError` naming the claim, experiment and column when the records of an
    experiment that ran lack a column the claim reads."""
    for column in claim.columns():
        for part in column.split("|"):
            if part not in records.columns:
                raise ClaimError(f"claim {claim.id}: experiment {claim.experiment!r} has no "
                                 f"column {part!r} in its run records (columns: "
                                 f"{', '.join(sorted(map(str, records.columns)))})")


def evaluate(claim: Claim, records: pd.DataFrame | None, configured: bool = True,
             left_out: str = "") -> Verdict:
    """One claim's verdict on the completed runs' ``records`` of its experiment (None: no
    records); ``configured``: the experiment is part of this profile."""
    need = f"; {claim.needs.text()}" if claim.needs else ""
    if not configured:
        return Verdict(NOT_RUN, reason=f"experiment {claim.experiment} is not in this profile"
                       + need)
    if records is None:
        return Verdict(NOT_RUN, reason=f"no run records of {claim.experiment} yet" + need)
    if records.empty:
        return Verdict(NOT_RUN, reason=f"no completed run of {claim.experiment}"
                       + (f" ({left_out})" if left_out else "") + need)
    check_columns(claim, records)
    try:
        ok, measured = _compare(claim, records)
    except _NotRun as why:
        return Verdict(NOT_RUN, reason=str(why)
                       + (f"; left out: {left_out}" if left_out else "") + need)
    used = sorted(set(records["run"])) if "run" in records else []
    models = set(claim.a) | set(claim.b) | set(claim.models)
    if claim.axis == "model" and models and claim.b:
        used = sorted(set(records.loc[records["model"].isin(models), "run"]))
    elif claim.axis == "model" and claim.a and claim.kind in ("threshold", "within_bounds"):
        used = sorted(set(records.loc[records["model"].isin(claim.a), "run"]))
    reason = f"left out: {left_out}" if left_out else ""
    return Verdict(HOLDS if ok else FAILS, measured, used, reason)


def validate(claims: Sequence[Claim]) -> None:
    """Structural checks of the ledger itself (unique ids, known kinds, required fields)."""
    seen = set()
    for claim in claims:
        if claim.id in seen:
            raise ClaimError(f"duplicate claim id {claim.id}")
        seen.add(claim.id)
        if claim.kind not in KINDS:
            raise ClaimError(f"claim {claim.id}: unknown kind {claim.kind!r}")
        if claim.axis not in ("model", "setting"):
            raise ClaimError(f"claim {claim.id}: axis must be model or setting")
        if claim.kind == "threshold" and claim.threshold is None:
            raise ClaimError(f"claim {claim.id}: threshold claims need a threshold")
        if claim.kind == "within_bounds" and claim.bounds is None:
            raise ClaimError(f"claim {claim.id}: within_bounds claims need bounds")
        if claim.kind in ("better", "ordering") and not claim.a:
            raise ClaimError(f"claim {claim.id}: {claim.kind} claims need a")


def claims_table(claims: Sequence[Claim], records: Mapping[str, tuple[pd.DataFrame, str] | None],
                 configured: Sequence[str]) -> pd.DataFrame:
    """One row per claim: id, paper, where, claim, experiment, metric, verdict, measured,
    runs, reason (``records``: experiment -> (records, left out) or None)."""
    validate(claims)
    rows = []
    for claim in claims:
        loaded = records.get(claim.experiment)
        frame, left = loaded if loaded is not None else (None, "")
        verdict = evaluate(claim, frame, claim.experiment in configured, left)
        rows.append({"id": claim.id, "paper": claim.paper, "where": claim.where,
                     "claim": claim.sentence, "experiment": claim.experiment,
                     "metric": claim.metric, "kind": claim.kind, "verdict": verdict.verdict,
                     "measured": verdict.measured, "runs": " ".join(verdict.runs),
                     "reason": verdict.reason,
                     "needs": claim.needs.text() if claim.needs else "",
                     "note": claim.note})
    return pd.DataFrame(rows)


def claims_markdown(table: pd.DataFrame, profile: str) -> str:
    counts = table["verdict"].value_counts()
    lines = [f"# Claims ledger ({profile} profile)", "",
             "Each claim of the papers' result sections, tested on the completed runs of this "
             "profile (means over seeds). " + ", ".join(
                 f"{counts.get(v, 0)} {v}" for v in (HOLDS, FAILS, NOT_RUN)) + ".", ""]
    for paper, part in table.groupby("paper", sort=False):
        lines += [f"## {paper}", "", "| id | where | claim | verdict | measured | runs |",
                  "|---|---|---|---|---|---|"]
        for _, r in part.iterrows():
            verdict = r["verdict"] + (f" ({r['reason']})" if r["reason"] else "")
            runs = r["runs"].split()
            shown = (", ".join(runs[:4]) + (f" … ({len(runs)} runs)" if len(runs) > 4 else "")
                     if runs else "–")
            cells = [r["id"], r["where"], r["claim"] + (f" *Test:* {r['note']}"
                                                        if r["note"] else ""),
                     verdict, r["measured"] or "–", shown]
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def build_claims(results_dir: str | Path, configured: Sequence[str], profile: str = "",
                 claims: Sequence[Claim] | None = None,
                 plans: Mapping[str, Sequence[str]] | None = None) -> dict[str, Path]:
    """Evaluate the ledger on ``results_dir``'s aggregates and write ``claims.csv`` and
    ``claims.md`` there atomically. ``configured``: the experiments of the profile;
    ``plans``: their planned ``<run>/seed<k>`` folders (rows of other runs are left out).
    :class:`~odebench.report.build.NoRunsError` when no configured experiment has any."""
    from odebench.report.build import NoRunsError
    from odebench.report.claims_data import CLAIMS

    results_dir = Path(results_dir)
    claims = CLAIMS if claims is None else claims
    plans = plans or {}
    records = {e: load_records(results_dir, e, plans.get(e))
               for e in dict.fromkeys(c.experiment for c in claims) if e in configured}
    if records and all(record is None for record in records.values()):
        raise NoRunsError(f"no aggregated run records under {results_dir / 'aggregate'} for any "
                          f"experiment the claims test ({', '.join(records)}); run the "
                          "workflow first (`snakemake --cores all`, with the same "
                          "--configfile), or aggregate what exists with `odebench report`")
    table = claims_table(claims, records, configured)
    outputs = {"csv": results_dir / "claims.csv", "md": results_dir / "claims.md"}
    results_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    atomic_write_text(outputs["csv"], buffer.getvalue())
    atomic_write_text(outputs["md"], claims_markdown(table, profile or results_dir.name))
    return outputs
