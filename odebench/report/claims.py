"""Claims ledger: the papers' quantitative and ordinal claims (:mod:`odebench.report.claims_data`)
evaluated on the run records of a profile, into ``results/<profile>/claims.{csv,md}``.

A claim is data (:class:`~odebench.report.claim_types.Claim`): where the paper makes it, one
sentence, the experiment and metric that test it, and a comparison kind (:data:`KINDS`) with
its models, settings, threshold or margin. Every claim is evaluated on per-run records of
completed runs only (:func:`load_records`), seed by seed (:mod:`odebench.report.claim_tests`,
by the rule of :mod:`odebench.report.verdict_stats`): ``holds``, ``contradicted``,
``inconclusive`` (with the seeds the measured spread would need), or ``not run`` (with the
reason, e.g. the experiment is not in this profile, with the compute it needs). A claim naming
a metric that the records of an experiment that did run do not have is an error
(:class:`ClaimError`), never a silent ``not run``.
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
from odebench.report.claim_tests import DETERMINISTIC, NotRun, check_claim
from odebench.report.claim_types import KINDS, Claim
from odebench.report.outcomes import COMPLETED, outcome_text, with_outcome
from odebench.report.tables import per_run, with_setting
from odebench.report.verdict_stats import ALPHA, CONTRADICTED, HOLDS, INCONCLUSIVE

NOT_RUN = "not run"
VERDICTS = (HOLDS, CONTRADICTED, INCONCLUSIVE, NOT_RUN)
# Epochs at which claims read a metric (``<metric>_at_epoch_<k>``): NesterovNODE Fig. 4
# shows the point-cloud features "after the first 100 epochs".
AT_EPOCHS = (100,)


class ClaimError(ValueError):
    """A claim that cannot be evaluated on records that exist (a metric no record has)."""


@dataclass
class Verdict:
    verdict: str
    measured: str = ""
    runs: list[str] = field(default_factory=list)
    reason: str = ""
    seeds: int = 0                       # the fewest seeds any of its comparisons had
    effect: float = math.nan             # the deciding comparison's mean difference d
    low: float = math.nan                # and its interval (1 − 2·ALPHA, two-sided)
    high: float = math.nan
    seeds_needed: int | None = None      # inconclusive: seeds the measured spread would need


# ---------------------------------------------------------------------------- run records

def _run_folder(experiment: str, model: str, setting: str, seed: Any) -> str:
    key = f"{model}@{setting}" if setting else str(model)
    return f"runs/{experiment}/{key}/seed{int(seed)}"


def _extra_statistics(epochs: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Per-run statistics the claims read beyond :data:`~odebench.report.tables.STATISTICS`:
    first-epoch NFEs, NFE growth (last / first epoch), backward / forward NFE, the drop of
    test accuracy from its best, the epoch of the best accuracy and the training loss there,
    test accuracy and loss at the epochs of :data:`AT_EPOCHS` (NaN for a shorter run),
    backward − forward NFE (means over epochs), and the adjoint retention
    ``‖a(T−t_max)‖ / ‖a(T)‖`` of the last epoch."""
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
        for column in ("test_accuracy", "loss"):
            if column in run:
                for k in AT_EPOCHS:
                    at = run.loc[run["epoch"] == k, column].dropna()
                    row[f"{column}_at_epoch_{k}"] = at.iloc[-1] if len(at) else math.nan
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
    if {"nfe_backward", "nfe_forward"} <= set(merged):
        merged["nfe_backward_minus_forward"] = merged["nfe_backward"] - merged["nfe_forward"]
    for column in ("max_h_norm", "final_h_norm"):  # the papers plot ‖h(t)‖ on a log scale
        if column in merged:
            merged[f"log10_{column}"] = np.log10(merged[column].where(merged[column] > 0))
    return merged


def _final_distance(table: pd.DataFrame) -> pd.DataFrame:
    """``final_distance``: ‖(x, y) − x*‖₂ at the end of each 2-D optimisation run (x* the
    problem's minimiser; NaN for a problem without one, such as the cycle quadratic)."""
    from odebench.structure.optim_flows import OBJECTIVES_2D

    star = [OBJECTIVES_2D[p][2] if p in OBJECTIVES_2D else (math.nan, math.nan)
            for p in table["setting"]]
    x = table["final_x"] - [s[0] for s in star]
    y = table["final_y"] - [s[1] for s in star]
    return table.assign(final_distance=(x ** 2 + y ** 2) ** 0.5)


@dataclass(frozen=True)
class LeftOut:
    """The runs of an experiment that did not complete, left out of its claims: their text
    (``1 diverged``, what ``str`` gives) and their models."""

    text: str = ""
    models: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.text)


def _completed(frame: pd.DataFrame) -> tuple[pd.DataFrame, LeftOut]:
    done = frame[frame["outcome"] == COMPLETED]
    stopped = frame.drop_duplicates(["model", "setting", "seed"])
    stopped = stopped[stopped["outcome"] != COMPLETED]
    if not len(stopped):
        return done, LeftOut()
    return done, LeftOut(outcome_text(stopped["outcome"].value_counts()),
                         frozenset(map(str, stopped["model"])))


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
        table = table.rename(columns={"method": "model", "problem": "setting"})
        # ODE solves of fixed objectives from fixed starts: no seed changes them
        table = table.assign(**{DETERMINISTIC: True})
        return (_final_distance(table) if len(table) else table), left
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
             left_out: LeftOut | str = "") -> Verdict:
    """One claim's verdict on the completed runs' ``records`` of its experiment (None: no
    records); ``configured``: the experiment is part of this profile. A claim whose models
    ran but never completed (every run diverged or stopped) is inconclusive, not "not run"."""
    need = f"; {claim.needs.text()}" if claim.needs else ""
    if not configured:
        return Verdict(NOT_RUN, reason=f"experiment {claim.experiment} is not in this profile"
                       + need)
    if records is None:
        return Verdict(NOT_RUN, reason=f"no run records of {claim.experiment} yet" + need)
    if records.empty:
        if left_out:
            return Verdict(INCONCLUSIVE, reason=f"no completed run of {claim.experiment} "
                           f"({left_out}): nothing to compare")
        return Verdict(NOT_RUN, reason=f"no completed run of {claim.experiment}" + need)
    check_columns(claim, records)
    try:
        outcome = check_claim(claim, records)
    except NotRun as why:
        stopped = getattr(left_out, "models", frozenset())
        if why.missing and set(why.missing) <= stopped:
            return Verdict(INCONCLUSIVE, reason=f"{', '.join(why.missing)} ran but no run of "
                           f"{'it' if len(why.missing) == 1 else 'them'} completed "
                           f"({left_out} in all): nothing to compare")
        return Verdict(NOT_RUN, reason=str(why)
                       + (f"; left out: {left_out}" if left_out else "") + need)
    used = sorted(set(records["run"])) if "run" in records else []
    models = set(claim.a) | set(claim.b) | set(claim.models)
    if claim.axis == "model" and models and claim.b:
        used = sorted(set(records.loc[records["model"].isin(models), "run"]))
    elif claim.axis == "model" and claim.a and claim.kind in ("threshold", "within_bounds"):
        used = sorted(set(records.loc[records["model"].isin(claim.a), "run"]))
    reason = f"left out: {left_out}" if left_out else ""
    deciding = outcome.deciding
    return Verdict(outcome.verdict, outcome.evidence, used, reason, outcome.seeds,
                   *((deciding.effect, deciding.low, deciding.high, deciding.seeds_needed)
                     if deciding else (math.nan, math.nan, math.nan, None)))


def experiment_verdicts(epochs: pd.DataFrame, runs: pd.DataFrame, experiment: str,
                        kind: str | None, claims: Sequence[Claim] | None = None) -> pd.DataFrame:
    """The ledger's claims on one experiment, tested on its aggregate frames by the ledger's
    rule: one row per claim (id, claim, verdict, evidence); for a table's claim section."""
    from odebench.report.claims_data import CLAIMS

    chosen = [c for c in (CLAIMS if claims is None else claims) if c.experiment == experiment]
    records, left = (records_from(epochs, runs, experiment, kind) if not epochs.empty
                     else (None, ""))
    rows = []
    for claim in chosen:
        verdict = evaluate(claim, records, True, left)
        rows.append({"id": claim.id, "claim": claim.sentence, "verdict": verdict.verdict,
                     "evidence": verdict.measured or verdict.reason})
    return pd.DataFrame(rows, columns=["id", "claim", "verdict", "evidence"])


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
        if claim.kind in ("better", "ordering", "every_run_better", "gap_widens") \
                and not claim.a:
            raise ClaimError(f"claim {claim.id}: {claim.kind} claims need a")
        if claim.kind == "reproduces_table" and not claim.targets:
            raise ClaimError(f"claim {claim.id}: reproduces_table claims need targets")
        if claim.kind == "gap_widens" and (not claim.b or len(claim.settings) < 2):
            raise ClaimError(f"claim {claim.id}: gap_widens claims need b and two or more "
                             "settings, in the order the gap grows")


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
                     "seeds": verdict.seeds, "effect": verdict.effect,
                     "effect_low": verdict.low, "effect_high": verdict.high,
                     "seeds_needed": verdict.seeds_needed,
                     "measured": verdict.measured, "runs": " ".join(verdict.runs),
                     "reason": verdict.reason,
                     "needs": claim.needs.text() if claim.needs else "",
                     "note": claim.note})
    return pd.DataFrame(rows)


RULE = (f"Each claim is tested seed by seed: every comparison it makes is a per-seed "
        f"difference d (paired by seed where both sides ran the same seeds, else Welch) that "
        f"the claim says is positive; its {100 * (1 - 2 * ALPHA):.0f} % t-interval decides: "
        f"**holds** when the interval lies above 0, **contradicted** when below, "
        f"**inconclusive** otherwise (a tie included; a comparison on one seed is always "
        f"inconclusive). A claim of several comparisons holds when all hold and is "
        f"contradicted when any is. The measured column gives each model's mean, the deciding "
        f"d with its interval and seeds, and for an inconclusive claim the seeds its spread "
        f"would need.")
TOY_NOTE = ("**Toy scale.** This profile runs every experiment at toy size (few epochs, one "
            "seed, stand-in data): its verdicts check that the pipeline works, not the "
            "papers' claims.")


def claims_markdown(table: pd.DataFrame, profile: str, toy: bool = False) -> str:
    """The ledger as Markdown: the counts per verdict, the rule, one table per paper;
    ``toy``: the profile is toy scale, said at the top."""
    counts = table["verdict"].value_counts()
    lines = [f"# Claims ledger ({profile} profile)", "",
             *([TOY_NOTE, ""] if toy else []),
             f"{len(table)} claims: " + ", ".join(f"{counts.get(v, 0)} {v}"
                                                   for v in VERDICTS) + ".", "", RULE, ""]
    for paper, part in table.groupby("paper", sort=False):
        lines += [f"## {paper}", "", "| id | where | claim | verdict | seeds | measured | runs |",
                  "|---|---|---|---|---|---|---|"]
        for _, r in part.iterrows():
            verdict = r["verdict"] + (f" ({r['reason']})" if r["reason"] else "")
            runs = r["runs"].split()
            shown = (", ".join(runs[:4]) + (f" … ({len(runs)} runs)" if len(runs) > 4 else "")
                     if runs else "–")
            seeds = str(int(r["seeds"])) if r["verdict"] != NOT_RUN and r["seeds"] else "–"
            cells = [r["id"], r["where"], r["claim"] + (f" *Test:* {r['note']}"
                                                        if r["note"] else ""),
                     verdict, seeds, r["measured"] or "–", shown]
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def build_claims(results_dir: str | Path, configured: Sequence[str], profile: str = "",
                 claims: Sequence[Claim] | None = None,
                 plans: Mapping[str, Sequence[str]] | None = None,
                 toy: bool = False) -> dict[str, Path]:
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
    atomic_write_text(outputs["md"], claims_markdown(table, profile or results_dir.name, toy))
    return outputs
