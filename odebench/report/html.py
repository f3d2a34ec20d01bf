"""Our tables' Markdown as an HTML fragment, for the Snakemake report (`odebench html`)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from odebench.records.atomic import atomic_write_text


def markdown_to_html(text: str) -> str:
    """The Markdown our tables are written in (headings, paragraphs, pipe tables, *em*,
    **strong**, `code`, - lists) as an HTML fragment with its own scoped style."""
    def inline(line: str) -> str:
        line = html.escape(line, quote=False)
        line = re.sub(r"`([^`]+)`", r"<code>\1</code>", line)
        line = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", line)
        return re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"<em>\1</em>", line)

    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip("|").split("|")]

    out, paragraph, lines = [], [], text.splitlines()

    def flush() -> None:
        if paragraph:
            out.append(f"<p>{inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if (line.startswith("|") and i + 1 < len(lines)
                and re.match(r"^\|[\s:|-]+\|$", lines[i + 1].strip())):
            flush()
            head = "".join(f"<th>{inline(c)}</th>" for c in cells(line))
            rows, i = [], i + 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells(lines[i]))
                            + "</tr>")
                i += 1
            out.append(f"<table><thead><tr>{head}</tr></thead>"
                       f"<tbody>{''.join(rows)}</tbody></table>")
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            flush()
            level = min(len(heading.group(1)) + 2, 6)
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif re.match(r"^\s*[-*]\s+", line):
            flush()
            items = []
            while i < len(lines) and re.match(r"^\s*[-*]\s+", lines[i]):
                item = re.sub(r"^\s*[-*]\s+", "", lines[i])
                items.append(f"<li>{inline(item)}</li>")
                i += 1
            out.append(f"<ul>{''.join(items)}</ul>")
            continue
        elif line.strip():
            paragraph.append(line.strip())
        else:
            flush()
        i += 1
    flush()
    style = ("<style>.odebench-md{font-family:sans-serif;font-size:14px}"
             ".odebench-md table{border-collapse:collapse;margin:0.5em 0}"
             ".odebench-md th,.odebench-md td{border:1px solid #ccc;padding:2px 6px;"
             "text-align:left;vertical-align:top}.odebench-md th{background:#f0f0f0}</style>")
    return f'{style}<div class="odebench-md">{"".join(out)}</div>\n'


def write_html(markdown: str | Path, out: str | Path) -> Path:
    """``markdown`` (a .md file) converted by :func:`markdown_to_html`, written atomically."""
    source = Path(markdown)
    if not source.is_file():
        raise FileNotFoundError(f"no Markdown file at {source} (build the tables first)")
    atomic_write_text(out, markdown_to_html(source.read_text()))
    return Path(out)
