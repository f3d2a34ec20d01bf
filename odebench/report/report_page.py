"""One static HTML page of a results folder (``odebench report-page``): what the runs are (profile,
scale, the reference's pieces with machine and commit), the claims ledger's counts as a figure
(``figures/claims_overview.png``, the README's headline), the full ledger, and every experiment's
table and figure. Built from tables, figures and ``claims.csv`` that ``odebench report`` and
``odebench claims`` wrote: no training, no torch."""

from __future__ import annotations

import html
import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from odebench.records.atomic import atomic_write_text  # noqa: E402
from odebench.report.claims import CONTRADICTED, HOLDS, INCONCLUSIVE, NOT_RUN  # noqa: E402
from odebench.report.figures import save_figure  # noqa: E402
from odebench.report.html import markdown_to_html  # noqa: E402
from odebench.report.landing import counts_sentence, verdict_counts  # noqa: E402
from odebench.report.reference_status import OVERVIEW, PAGE, reference_status  # noqa: E402

COLOURS = {HOLDS: "#2b8a3e", CONTRADICTED: "#c92a2a", INCONCLUSIVE: "#e8a33d",
           NOT_RUN: "#ced4da"}
SCALES = {"toy": "toy scale: the verdicts check the pipeline, not the papers' claims",
          "reduced": "the papers' settings with fewer seeds, epochs or iterations (each cut "
                     "stated in the config)",
          "paper": "the papers' settings"}


class ReportPageError(FileNotFoundError):
    """A results folder without the claims ledger the page is built around."""


def counts_by_paper(ledger: Path) -> pd.DataFrame:
    """Claims per (paper, verdict): rows in the ledger's paper order, columns the verdicts."""
    claims = pd.read_csv(ledger)
    table = pd.crosstab(claims["paper"], claims["verdict"])
    table = table.reindex(index=list(dict.fromkeys(claims["paper"])),
                          columns=[v for v in COLOURS if v in table.columns]
                          + [v for v in table.columns if v not in COLOURS], fill_value=0)
    return table


def overview_figure(ledger: Path, path: Path, title: str) -> None:
    """Stacked horizontal bars: each paper's claims by verdict, counts written on the bars."""
    table = counts_by_paper(ledger)
    labels = [textwrap.fill(str(paper), 30) for paper in table.index]
    fig, ax = plt.subplots(figsize=(9.0, 2.2 + 0.75 * len(table)))
    left = pd.Series(0, index=table.index)
    for verdict in table.columns:
        counts = table[verdict]
        bars = ax.barh(labels, counts, left=left, color=COLOURS.get(verdict, "#868e96"),
                       label=f"{verdict} ({int(counts.sum())})")
        for bar, n in zip(bars, counts, strict=True):
            if n:
                ax.text(bar.get_x() + bar.get_width() / 2, bar.get_y() + bar.get_height() / 2,
                        str(int(n)), ha="center", va="center", fontsize=9)
        left = left + counts
    ax.invert_yaxis()
    ax.set_xlabel("claims")
    fig.suptitle(title, fontsize=10)
    fig.legend(loc="lower center", ncol=len(table.columns), frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    save_figure(fig, [path])


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>\n{body}</section>\n"


def _scope(config: dict[str, Any], results_dir: Path) -> str:
    scale = str(config.get("scale") or "")
    text = (f"<p>Profile <code>{html.escape(str(config.get('profile')))}</code>, results "
            f"folder <code>{html.escape(str(results_dir))}</code>. Scale: "
            f"<strong>{html.escape(scale or 'not stated')}</strong>"
            + (f" — {html.escape(SCALES[scale])}" if scale in SCALES else "") + ".</p>\n")
    if config.get("pieces"):
        text += ("<p>Every run here is a reference run, made piece by piece with <code>make "
                 "reference PIECE=&lt;name&gt;</code>; each piece's machine, commit and wall "
                 "time:</p>\n" + markdown_to_html(reference_status(config, results_dir)))
    return text


def _experiments(results_dir: Path) -> str:
    parts = []
    for table in sorted((results_dir / "tables").glob("*.md")):
        figure = results_dir / "figures" / f"{table.stem}.png"
        image = (f'<p><img src="figures/{html.escape(figure.name)}" alt="{table.stem}" '
                 f'style="max-width:100%"></p>\n' if figure.is_file() else "")
        parts.append(f'<h3 id="{table.stem}">{html.escape(table.stem)}</h3>\n'
                     + markdown_to_html(table.read_text()) + image)
    return "".join(parts) or "<p>No experiment has a table yet (<code>odebench report</code>)."


def write_report_page(config: dict[str, Any], results_dir: str | Path) -> list[Path]:
    """``figures/claims_overview.png`` and ``report.html`` under ``results_dir``."""
    results_dir = Path(results_dir)
    ledger = results_dir / "claims.csv"
    if not ledger.is_file():
        raise ReportPageError(f"no claims ledger at {ledger}: run `odebench report` and "
                              f"`odebench claims` with this config first")
    counts = counts_sentence(verdict_counts(ledger))
    profile = config.get("profile")
    overview = results_dir / OVERVIEW
    overview_figure(ledger, overview, f"Claims ledger, profile {profile} "
                                      f"({config.get('scale') or 'scale not stated'})\n{counts}")
    claims_md = results_dir / "claims.md"
    body = (f"<h1>odebench report: {html.escape(str(profile))}</h1>\n"
            + _section("What these runs are", _scope(config, results_dir))
            + _section("Claims", f"<p>{html.escape(counts)}.</p>\n"
                       f'<p><img src="{OVERVIEW}" alt="claims by verdict" '
                       f'style="max-width:min(100%, 900px)"></p>\n'
                       + (markdown_to_html(claims_md.read_text()) if claims_md.is_file()
                          else ""))
            + _section("Experiments", _experiments(results_dir)))
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>odebench report: {html.escape(str(profile))}</title></head>\n"
            f'<body style="font-family: sans-serif; max-width: 80em; margin: auto">\n'
            f"{body}</body></html>\n")
    atomic_write_text(results_dir / PAGE, page)
    return [overview, results_dir / PAGE]
