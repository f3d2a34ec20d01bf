"""``odebench compare``: a results folder against the reference, per table cell and per claim.

A *cell* is one statistic of one table row: (experiment, model, setting, outcome, statistic)
of the mean ± std tables (``tables/<experiment>.csv``: columns ``model, setting, outcome,
runs, <stat>_mean, <stat>_std``) and of the RL table (``policy`` and ``env`` take the places
of model and setting). Other layouts (MNIST-C, theory, structure, optimiser flows) are skipped
with a line saying so. A cell is flagged (:func:`flag_cell`):

* ``within``: the results' mean lies in the reference's mean ± max(2·std, 1 % of |mean|);
* ``outside``: it does not;
* ``no spread (1 run)``: the reference has one run (no std), so nothing to judge against;
* ``missing in results`` / ``missing in reference``: the cell exists on one side only.

The 1 % relative floor keeps statistics that do not vary between seeds (environment steps,
fixed-step NFE; std 0) from flagging round-off as ``outside``.

Claims (``claims.csv``) are matched by id: the reference's verdict against the results',
flagged ``same``, ``differs``, ``not run`` (on either side) or ``missing in ...``.

Both folders must hold run records of this odebench's records schema
(:data:`~odebench.records.run_record.RECORDS_SCHEMA`); another version is refused in one line.
Reads tables, aggregates and summaries only; imports no torch.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pandas as pd

from odebench.records.atomic import atomic_write_text
from odebench.records.run_record import RECORDS_SCHEMA, read_summaries
from odebench.report.formatting import mean_std, value
from odebench.report.verdict_stats import RELATIVE_FLOOR, SPREAD_STDS, spread_half_width

WITHIN = "within"
OUTSIDE = "outside"
NO_SPREAD = "no spread (1 run)"
MISSING_RESULTS = "missing in results"
MISSING_REFERENCE = "missing in reference"
CELL_FLAGS = (WITHIN, OUTSIDE, NO_SPREAD, MISSING_RESULTS, MISSING_REFERENCE)
SHOWN_FIRST = (OUTSIDE, MISSING_RESULTS, MISSING_REFERENCE, NO_SPREAD)  # compare.md's order

SAME = "same"
DIFFERS = "differs"
NOT_RUN = "not run"  # the claims ledger's verdict for a claim without runs
CLAIM_FLAGS = (SAME, DIFFERS, NOT_RUN, MISSING_RESULTS, MISSING_REFERENCE)

# table layout -> (row key, column key) renamed to (model, setting)
LAYOUTS: dict[str, tuple[str, str]] = {"model": ("model", "setting"), "rl": ("policy", "env")}
CELL_KEYS = ["model", "setting", "outcome", "statistic"]
RULE = (f"A cell is *within* when the results' mean lies in the reference's mean ± "
        f"max({SPREAD_STDS:g}·std, {100 * RELATIVE_FLOOR:g} % of |mean|), else *outside*; a "
        f"reference of one run has *no spread* to judge against. Timing statistics compare "
        f"hardware as much as models.")


class CompareError(RuntimeError):
    """Folders that cannot be compared: missing, empty, or of another records schema."""


def _tables(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted((folder / "tables").glob("*.csv"))}


def require_tables(folder: Path, role: str, config: str) -> dict[str, Path]:
    """The ``tables/<experiment>.csv`` of ``folder``; :class:`CompareError` saying what to run
    first when it has none (``role``: results or reference; ``config``: for the message)."""
    if not folder.is_dir():
        fix = ("pass --reference <a results folder with tables/>" if role == "reference"
               else f"run the workflow first (`snakemake --cores all --configfile {config}`)")
        raise CompareError(f"{role} folder {folder} does not exist: {fix}")
    tables = _tables(folder)
    if tables:
        return tables
    recorded = (any((folder / "runs").glob("*/*/seed*/summary.json"))
                or any((folder / "aggregate").glob("*_runs.csv")))
    if role == "reference":
        raise CompareError(f"reference folder {folder} holds no tables/*.csv: pass --reference "
                           "<a results folder built by `odebench report`>, e.g. the committed "
                           "results/reference/papers")
    if recorded:
        raise CompareError(f"results folder {folder} has run records but no tables/*.csv: run "
                           f"`odebench report --config {config}` first")
    raise CompareError(f"results folder {folder} holds no runs, aggregates or tables: run the "
                       f"workflow first (`snakemake --cores all --configfile {config}`), then "
                       f"`odebench report --config {config}`")


def records_schemas(folder: Path, experiment: str, role: str = "results") -> set[int]:
    """The records schemas of ``experiment``'s runs in ``folder``: from the summaries under
    ``runs/``, else from ``aggregate/<experiment>_runs.csv`` (0: written before the field);
    :class:`CompareError` when there is neither."""
    runs = read_summaries(folder, experiment)
    path = folder / "aggregate" / f"{experiment}_runs.csv"
    if runs.empty and path.is_file() and path.stat().st_size > 1:
        runs = pd.read_csv(path)
    if runs.empty:
        raise CompareError(f"{role} folder {folder}: tables/{experiment}.csv has no run records"
                           f" and no {path.relative_to(folder)} to tell its records schema: "
                           "rebuild the folder (its workflow, then `odebench report`)")
    if "records_schema" not in runs:
        return {0}
    return {int(v) for v in runs["records_schema"].fillna(0)}


def check_schema(folder: Path, role: str, experiments: Iterable[str]) -> None:
    """:class:`CompareError` naming the folder, the versions found and the one expected when
    any run of ``experiments`` carries another records schema than :data:`RECORDS_SCHEMA`."""
    found = set().union(*(records_schemas(folder, e, role) for e in experiments))
    other = sorted(found - {RECORDS_SCHEMA})
    if not other:
        return
    if max(other) > RECORDS_SCHEMA:
        fix = "written by a newer odebench: update odebench to compare it"
    else:
        fix = "older than this odebench: retrain its runs with this one, then odebench report"
    raise CompareError(f"{role} folder {folder}: run records of records schema "
                       f"{', '.join(map(str, other))}, expected {RECORDS_SCHEMA} ({fix})")


def table_layout(table: pd.DataFrame) -> str | None:
    """``model`` (mean ± std per model x setting), ``rl`` (per policy x env), else None."""
    for name, keys in LAYOUTS.items():
        if {*keys, "outcome", "runs"} <= set(table.columns):
            return name
    return None


def long_cells(table: pd.DataFrame, layout: str) -> pd.DataFrame:
    """One row per (model, setting, outcome, statistic): ``runs``, ``mean``, ``std``."""
    row_key, column_key = LAYOUTS[layout]
    stats = [c.removesuffix("_mean") for c in table.columns
             if c.endswith("_mean") and f"{c.removesuffix('_mean')}_std" in table]
    rows = []
    for _, r in table.iterrows():
        setting = "" if pd.isna(r[column_key]) else str(r[column_key])
        for stat in stats:
            if pd.notna(r[f"{stat}_mean"]):
                rows.append({"model": str(r[row_key]), "setting": setting,
                             "outcome": str(r["outcome"]), "statistic": stat,
                             "runs": int(r["runs"]), "mean": float(r[f"{stat}_mean"]),
                             "std": float(r[f"{stat}_std"])})
    return pd.DataFrame(rows, columns=[*CELL_KEYS, "runs", "mean", "std"])


def tolerance(mean: float, std: float) -> float:
    """Half-width of the reference's spread: max(2·std, 1 % of |mean|)."""
    return spread_half_width(mean, std)


def flag_cell(mean: float, reference_mean: float, reference_std: float) -> str:
    """The flag of one cell present on both sides (NaN std: one reference run)."""
    if math.isnan(reference_std):
        return NO_SPREAD
    inside = abs(mean - reference_mean) <= tolerance(reference_mean, reference_std)
    return WITHIN if inside else OUTSIDE


def compare_tables(results: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Cells of two long tables (:func:`long_cells`) side by side with their flag."""
    merged = results.merge(reference, on=CELL_KEYS, how="outer", suffixes=("", "_reference"),
                           indicator=True)
    flags = []
    for _, r in merged.iterrows():
        if r["_merge"] == "left_only":
            flags.append(MISSING_REFERENCE)
        elif r["_merge"] == "right_only":
            flags.append(MISSING_RESULTS)
        else:
            flags.append(flag_cell(r["mean"], r["mean_reference"], r["std_reference"]))
    merged["difference"] = merged["mean"] - merged["mean_reference"]
    merged["flag"] = flags
    merged = merged.rename(columns={"mean_reference": "reference_mean",
                                    "std_reference": "reference_std",
                                    "runs_reference": "reference_runs"})
    for column in ("runs", "reference_runs"):
        merged[column] = merged[column].astype("Int64")
    return merged.drop(columns="_merge")


def compare(results_dir: str | Path, reference_dir: str | Path,
            experiments: Sequence[str] | None = None, config: str = "<config>",
            log: Callable[[str], None] = print) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cells, claims) of ``results_dir`` against ``reference_dir``: one row per table cell
    of ``experiments`` (default: every table of either folder), one per claim; skipped
    experiments are told to ``log``. :class:`CompareError` for a folder without tables, of
    another records schema, or with no experiment's table in common."""
    results_dir, reference_dir = Path(results_dir), Path(reference_dir)
    ours = require_tables(results_dir, "results", config)
    theirs = require_tables(reference_dir, "reference", config)
    chosen = list(experiments) if experiments is not None else sorted({*ours, *theirs})
    common = [e for e in chosen if e in ours and e in theirs]
    if not common:
        raise CompareError(f"no experiment has a table in both {results_dir} "
                           f"({', '.join(sorted(ours))}) and {reference_dir} "
                           f"({', '.join(sorted(theirs))}): compare the same experiments")
    for experiment in chosen:
        if experiment not in common:
            fix = (f" (run `odebench report --config {config}`)" if experiment not in ours
                   else "")
            where = results_dir if experiment not in ours else reference_dir
            log(f"{experiment}: not compared: no tables/{experiment}.csv in {where}{fix}")
    tables = {e: (pd.read_csv(ours[e]), pd.read_csv(theirs[e])) for e in common}
    layouts = {e: _layout_of(e, *pair, log) for e, pair in tables.items()}
    compared = [e for e in common if layouts[e] is not None]
    check_schema(reference_dir, "reference", compared)
    check_schema(results_dir, "results", compared)
    frames = [compare_tables(long_cells(tables[e][0], layouts[e]),
                             long_cells(tables[e][1], layouts[e])).assign(experiment=e)
              for e in compared]
    columns = ["experiment", *CELL_KEYS, "runs", "mean", "std", "reference_runs",
               "reference_mean", "reference_std", "difference", "flag"]
    frames = [f for f in frames if not f.empty]
    cells = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return cells[columns], compare_claims(results_dir, reference_dir, config, log)


def _layout_of(experiment: str, mine: pd.DataFrame, reference: pd.DataFrame,
               log: Callable[[str], None]) -> str | None:
    """The layout both tables share (:func:`table_layout`), else None, said to ``log``."""
    layout = table_layout(mine)
    if layout is None or layout != table_layout(reference):
        log(f"{experiment}: not compared: its table is not a mean ± std table per model or "
            f"RL policy (compare reads those; columns: {', '.join(map(str, mine.columns[:4]))}"
            f", ...)")
        return None
    return layout


CLAIM_COLUMNS = ["id", "experiment", "reference_verdict", "verdict", "reference_effect",
                 "reference_effect_low", "reference_effect_high", "effect", "effect_low",
                 "effect_high", "flag"]


def flag_claim(verdict: object, reference_verdict: object) -> str:
    """``same``, ``differs``, ``not run`` (either side) or ``missing in ...`` (NaN verdict)."""
    if pd.isna(verdict):
        return MISSING_RESULTS
    if pd.isna(reference_verdict):
        return MISSING_REFERENCE
    if NOT_RUN in (verdict, reference_verdict):
        return NOT_RUN
    return SAME if verdict == reference_verdict else DIFFERS


def compare_claims(results_dir: Path, reference_dir: Path, config: str = "<config>",
                   log: Callable[[str], None] = print) -> pd.DataFrame:
    """One row per claim id of either ledger (``claims.csv``): both verdicts and effects, and
    the flag (:func:`flag_claim`); empty, said to ``log``, when a folder has no ledger."""
    paths = {"results": results_dir / "claims.csv", "reference": reference_dir / "claims.csv"}
    for role, path in paths.items():
        if not path.is_file():
            fix = (f": run `odebench claims --config {config}`" if role == "results" else "")
            log(f"claims: not compared: no ledger {path}{fix}")
            return pd.DataFrame(columns=CLAIM_COLUMNS)
    keep = ["id", "experiment", "verdict", "effect", "effect_low", "effect_high"]
    ours, theirs = (pd.read_csv(p).reindex(columns=keep) for p in paths.values())
    merged = ours.merge(theirs.rename(columns={c: f"reference_{c}" for c in keep[1:]}),
                        on="id", how="outer")
    merged["experiment"] = merged["experiment"].fillna(merged["reference_experiment"])
    merged["flag"] = [flag_claim(v, rv) for v, rv in
                      zip(merged["verdict"], merged["reference_verdict"], strict=True)]
    return merged[CLAIM_COLUMNS]


def _count(frame: pd.DataFrame, flags: Sequence[str]) -> str:
    """``13 within, 1 outside, 2 missing in results``: the first two flags always, the others
    where they occur."""
    counts = frame["flag"].value_counts()
    return ", ".join(f"{counts.get(f, 0)} {f}" for i, f in enumerate(flags)
                     if i < 2 or counts.get(f, 0))


def summary_lines(cells: pd.DataFrame, claims: pd.DataFrame) -> list[str]:
    """The counts per flag: one line for the table cells, one for the claims."""
    return [f"table cells: {len(cells)} compared: {_count(cells, CELL_FLAGS)}",
            f"claims: {len(claims)} compared: {_count(claims, CLAIM_FLAGS)}"]


def _shown(mean: float, std: float, runs: float) -> str:
    if pd.isna(mean):
        return "–"
    return f"{mean_std(mean, std)} ({int(runs)})"


def compare_markdown(cells: pd.DataFrame, claims: pd.DataFrame, results_dir: Path,
                     reference_dir: Path, notes: Sequence[str] = ()) -> str:
    """Counts, the rule, then per experiment every cell not within the reference's spread
    and every claim whose verdicts are not the same (``compare.csv`` has them all)."""
    lines = [f"# {results_dir} against the reference {reference_dir}", "",
             *(f"- {line}" for line in summary_lines(cells, claims)), "", RULE,
             "Cells are `mean ± std (runs)`; `compare.csv` lists every cell and claim.", ""]
    lines += [*(f"- {note}" for note in notes), ""] if notes else []
    for experiment, part in cells.groupby("experiment", sort=False):
        shown = part[part["flag"] != WITHIN]
        shown = shown.iloc[shown["flag"].map(SHOWN_FIRST.index).argsort(kind="stable")]
        lines += [f"## {experiment}", "",
                  f"{len(part) - len(shown)} of {len(part)} cells within the reference's "
                  "spread.", ""]
        if shown.empty:
            continue
        lines += ["| model | setting | outcome | statistic | results | reference | "
                  "difference | flag |", "|" + "---|" * 8]
        for _, r in shown.iterrows():
            cells_md = [r["model"], r["setting"] or "–", r["outcome"], r["statistic"],
                        _shown(r["mean"], r["std"], r["runs"]),
                        _shown(r["reference_mean"], r["reference_std"], r["reference_runs"]),
                        value(r["difference"]), r["flag"]]
            lines.append("| " + " | ".join(cells_md) + " |")
        lines.append("")
    differing = claims[claims["flag"] != SAME]
    lines += ["## Claims", "", f"{len(claims) - len(differing)} of {len(claims)} claims with "
              "the same verdict.", ""]
    if not differing.empty:
        lines += ["| id | experiment | reference | results | flag |", "|" + "---|" * 5]
        for _, r in differing.iterrows():
            row = [r["id"], r["experiment"], r["reference_verdict"], r["verdict"], r["flag"]]
            lines.append("| " + " | ".join("–" if pd.isna(x) else str(x) for x in row) + " |")
    return "\n".join(lines).rstrip() + "\n"


def write_compare(results_dir: str | Path, reference_dir: str | Path, cells: pd.DataFrame,
                  claims: pd.DataFrame, notes: Sequence[str] = ()) -> dict[str, Path]:
    """``compare.csv`` (cells then claims, a ``section`` column telling which) and
    ``compare.md`` in ``results_dir``, written atomically."""
    results_dir, reference_dir = Path(results_dir), Path(reference_dir)
    outputs = {"csv": results_dir / "compare.csv", "md": results_dir / "compare.md"}
    frames = [f for f in (cells.assign(section="table"), claims.assign(section="claim"))
              if not f.empty]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["section"])
    table = table[["section", *(c for c in table.columns if c != "section")]]
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    atomic_write_text(outputs["csv"], buffer.getvalue())
    atomic_write_text(outputs["md"], compare_markdown(cells, claims, results_dir,
                                                      reference_dir, notes))
    return outputs
