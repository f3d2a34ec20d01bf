"""The committed reference at a glance (`odebench reference-status`): which pieces are done
(machine, wall time), which experiments have tables, and the claims ledger's counts per verdict.
README.md quotes its output in a generated section, so the headline cannot drift from the
committed results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from odebench.report.landing import counts_sentence, verdict_counts

PIECES_DIR = "pieces"  # as odebench.tasks.pieces (not imported: it loads torch)


def _pieces_total(config: dict[str, Any], results_dir: Path) -> str:
    """How many pieces are done and their summed job time, the measured part of the
    reference's size."""
    names = list(config.get("pieces") or {})
    hours = [json.loads(path.read_text()).get("job_hours") or 0.0
             for path in (results_dir / PIECES_DIR / f"{name}.json" for name in names)
             if path.is_file()]
    return (f"{len(hours)} of {len(names)} pieces done, {sum(hours):.2f} h of summed job time "
            "(core-hours: one core per job).")


def _piece_rows(config: dict[str, Any], results_dir: Path) -> list[str]:
    rows = []
    for name in config.get("pieces") or {}:
        path = results_dir / PIECES_DIR / f"{name}.json"
        if not path.is_file():
            rows.append(f"| {name} | not run yet | | | |")
            continue
        record = json.loads(path.read_text())
        machine = record.get("machine", {})
        rows.append(f"| {name} | {record['runs']} runs | {record.get('span_hours')} | "
                    f"{record.get('job_hours')} | {machine.get('cores')}-core "
                    f"{machine.get('cpu', '?')}, commit {_commit_text(record)} |")
    return rows


def _commit_text(record: dict[str, Any]) -> str:
    """The piece's commit, marked when the code or configs it ran had uncommitted changes."""
    changes = record.get("uncommitted_code_changes")
    commit = record.get("commit") or "?"
    return f"{commit} + uncommitted changes to {', '.join(changes)}" if changes else commit


OVERVIEW = "figures/claims_overview.png"  # as odebench.report.report_page (matplotlib-free)
PAGE = "report.html"


def _headline(results_dir: Path) -> list[str]:
    """The claims-by-verdict figure linked to the full report, when both were built."""
    if not ((results_dir / OVERVIEW).is_file() and (results_dir / PAGE).is_file()):
        return []
    return [f"[![claims by verdict]({results_dir / OVERVIEW})]({results_dir / PAGE})", "",
            f"Full report (ledger, every table and figure): `{results_dir / PAGE}` (open it in "
            f"a browser); the ledger alone: `{results_dir / 'claims.md'}`.", ""]


def reference_status(config: dict[str, Any], results_dir: str | Path,
                     headline: bool = False) -> str:
    """Markdown: the ledger's counts (or that there is none yet), with ``headline`` the
    claims figure linked to report.html, the experiments with tables, and one row per piece
    (runs, span and summed job hours, machine)."""
    results_dir = Path(results_dir)
    ledger = results_dir / "claims.csv"
    counts = (counts_sentence(verdict_counts(ledger)) + "."
              if ledger.is_file() else "no claims ledger yet (`make reference-report`).")
    tables = sorted(p.stem for p in (results_dir / "tables").glob("*.md"))
    lines = [f"Reference profile `{config.get('profile')}` (`{results_dir}`): {counts}", "",
             *(_headline(results_dir) if headline else []),
             "Experiments with tables: " + (", ".join(f"`{t}`" for t in tables) or "none yet")
             + ".", "",
             "| piece | runs | span (h) | job time (h) | machine |", "|---|---|---|---|---|",
             *_piece_rows(config, results_dir), "", _pieces_total(config, results_dir)]
    return "\n".join(lines) + "\n"
