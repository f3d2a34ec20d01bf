"""`odebench html`: the tables' Markdown as the HTML fragment the Snakemake report shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from odebench.report.html import markdown_to_html, write_html

TABLE = """# pointcloud

Mean ± std over **seeds**; `runs` counts them, *completed* only.

- one
- two

| model | runs | accuracy |
|---|---|---|
| node | 2 | 0.97 ± 0.01 |
| <hbnode> | 1 | 1.0 |
"""


def test_headings_paragraphs_lists_and_tables_become_html():
    out = markdown_to_html(TABLE)
    assert "<h3>pointcloud</h3>" in out
    assert ("<p>Mean ± std over <strong>seeds</strong>; <code>runs</code> counts them, "
            "<em>completed</em> only.</p>") in out
    assert "<ul><li>one</li><li>two</li></ul>" in out
    assert "<thead><tr><th>model</th><th>runs</th><th>accuracy</th></tr></thead>" in out
    assert "<tr><td>node</td><td>2</td><td>0.97 ± 0.01</td></tr>" in out
    assert "<td>&lt;hbnode&gt;</td>" in out  # escaped, never raw markup
    assert out.count("<tr>") == 3


def test_cli_writes_the_fragment_and_names_a_missing_table(tmp_path: Path):
    md = tmp_path / "t.md"
    md.write_text(TABLE)
    cli = [sys.executable, "-m", "odebench.cli", "html"]
    subprocess.run([*cli, str(md), str(tmp_path / "t.html")], check=True, capture_output=True)
    assert "<h3>pointcloud</h3>" in (tmp_path / "t.html").read_text()
    with pytest.raises(FileNotFoundError, match="absent.md"):
        write_html(tmp_path / "absent.md", tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()
