"""The report's first page: the claims ledger's counts per verdict (`odebench ledger-counts`),
read from claims.csv, and one clear line for a ledger that cannot be counted. The page in
Chromium: tests/test_snakemake_report.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from odebench.report.claims import CONTRADICTED, HOLDS, INCONCLUSIVE, NOT_RUN, claims_table
from odebench.report.claims_data import CLAIMS
from odebench.report.landing import (
    LedgerError,
    counts_html,
    counts_sentence,
    verdict_counts,
    write_counts,
)
from tests.conftest import run_cli

HEADER = "id,paper,claim,verdict,measured\n"


def _ledger(folder: Path, rows: list[tuple[str, str]]) -> Path:
    path = folder / "claims.csv"
    path.write_text(HEADER + "".join(f'{i},P,"a, claim",{v},\n' for i, v in rows),
                    encoding="utf-8")
    return path


def test_counts_every_verdict_of_the_real_ledger(tmp_path: Path):
    """The ledger as `odebench claims` writes it, on no runs: every claim not run."""
    table = claims_table(CLAIMS, {}, configured=[])
    table.to_csv(tmp_path / "claims.csv", index=False)
    counts = verdict_counts(tmp_path / "claims.csv")
    assert counts == {HOLDS: 0, CONTRADICTED: 0, INCONCLUSIVE: 0, NOT_RUN: len(CLAIMS)}
    assert counts_sentence(counts) == f"{len(CLAIMS)} claims: 0 holds, 0 contradicted, " \
                                      f"0 inconclusive, {len(CLAIMS)} not run"


def test_counts_in_verdict_order_with_unknown_verdicts_last(tmp_path: Path):
    ledger = _ledger(tmp_path, [("a", NOT_RUN), ("b", HOLDS), ("c", "unclear"), ("d", HOLDS),
                                ("e", CONTRADICTED), ("f", "")])
    counts = verdict_counts(ledger)
    assert list(counts.items()) == [(HOLDS, 2), (CONTRADICTED, 1), (INCONCLUSIVE, 0),
                                    (NOT_RUN, 1), ("unclear", 1), ("no verdict", 1)]
    assert counts_sentence({HOLDS: 1, CONTRADICTED: 0, NOT_RUN: 0}) == \
        "1 claim: 1 holds, 0 contradicted, 0 not run"


def test_fragment_is_one_escaped_paragraph(tmp_path: Path):
    fragment = counts_html({HOLDS: 3, "<b>odd</b>": 1})
    assert fragment == ('<p class="odebench-ledger-counts"><strong>Claims ledger</strong>: '
                        "4 claims: 3 holds, 1 &lt;b&gt;odd&lt;/b&gt;.</p>\n")
    out = write_counts(_ledger(tmp_path, [("a", HOLDS)]), tmp_path / "counts.html")
    assert out.read_text(encoding="utf-8").count("<p") == 1
    assert "1 claim: 1 holds, 0 contradicted, 0 inconclusive, 0 not run." in \
        out.read_text(encoding="utf-8")


@pytest.mark.parametrize("content, message", [
    (None, r"no claims ledger at .*claims\.csv: build it first \(`snakemake --cores all`"),
    ("id,paper,claim\nx,P,c\n", r"claims\.csv has no 'verdict' column \(columns: id, paper, "
                                r"claim\): rebuild it with `odebench claims"),
    (HEADER, r"claims\.csv holds no claims: rebuild it"),
    ("", r"claims\.csv holds no claims: rebuild it"),
    (b"\xff\xfe\x00verdict\n", r"claims\.csv is not a readable CSV \(.*\): rebuild it"),
])
def test_a_ledger_that_cannot_be_counted_is_one_line_naming_the_file(
        tmp_path: Path, content: str | bytes | None, message: str):
    path = tmp_path / "claims.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises((LedgerError, FileNotFoundError), match=message) as error:
        write_counts(path, tmp_path / "counts.html")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "counts.html").exists()


def test_cli_writes_the_counts_and_names_a_missing_ledger(tmp_path: Path):
    ledger = _ledger(tmp_path, [("a", HOLDS), ("b", NOT_RUN)])
    done = run_cli("ledger-counts", str(ledger), str(tmp_path / "counts.html"))
    assert done.returncode == 0, done.stderr
    assert "2 claims: 1 holds, 0 contradicted, 0 inconclusive, 1 not run." in \
        (tmp_path / "counts.html").read_text(encoding="utf-8")
    missing = run_cli("ledger-counts", str(tmp_path / "absent.csv"), str(tmp_path / "x.html"))
    assert missing.returncode == 2
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("odebench: error: no claims ledger at ")
    assert "absent.csv" in lines[0] and not (tmp_path / "x.html").exists()
