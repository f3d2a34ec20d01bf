"""The claims ledger's counts per verdict, as a short HTML fragment for the first page of
`snakemake --report` (``odebench ledger-counts``; the full ledger is a result of its own)."""

from __future__ import annotations

import csv
import html
from pathlib import Path

from odebench.records.atomic import atomic_write_text
from odebench.report.claims import VERDICTS


class LedgerError(ValueError):
    """A claims.csv that cannot be counted (no verdict column, no claims, unreadable)."""


def verdict_counts(ledger: str | Path) -> dict[str, int]:
    """Claims per verdict of ``ledger`` (a claims.csv): holds, contradicted, inconclusive,
    not run (each
    present, 0 or more), then any other verdict found, in order of first appearance."""
    path = Path(ledger)
    if not path.is_file():
        raise FileNotFoundError(f"no claims ledger at {path}: build it first (`snakemake "
                                "--cores all`, or `odebench claims --config <config>`)")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as error:
        raise LedgerError(f"{path} is not a readable CSV ({error}): rebuild it with "
                          "`odebench claims --config <config>`") from error
    if not rows:
        raise LedgerError(f"{path} holds no claims: rebuild it with `odebench claims "
                          "--config <config>`")
    if "verdict" not in rows[0]:
        raise LedgerError(f"{path} has no 'verdict' column (columns: {', '.join(rows[0])}): "
                          "rebuild it with `odebench claims --config <config>`")
    counts = dict.fromkeys(VERDICTS, 0)
    for row in rows:
        verdict = (row["verdict"] or "").strip() or "no verdict"
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


def counts_sentence(counts: dict[str, int]) -> str:
    """``99 claims: 3 holds, 1 contradicted, 5 inconclusive, 90 not run`` (plain text)."""
    total = sum(counts.values())
    noun = "claim" if total == 1 else "claims"
    return f"{total} {noun}: " + ", ".join(f"{n} {verdict}" for verdict, n in counts.items())


def counts_html(counts: dict[str, int]) -> str:
    """The counts as one HTML paragraph for the report's first page."""
    return (f'<p class="odebench-ledger-counts"><strong>Claims ledger</strong>: '
            f"{html.escape(counts_sentence(counts))}.</p>\n")


def write_counts(ledger: str | Path, out: str | Path) -> Path:
    """:func:`counts_html` of ``ledger``'s verdicts, written atomically to ``out``."""
    atomic_write_text(out, counts_html(verdict_counts(ledger)))
    return Path(out)
