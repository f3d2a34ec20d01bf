"""Check every command and path that README.md and docs/*.md quote against the project, so the
docs cannot go stale (`python tools/doc_commands.py`; tests/test_doc_commands.py runs it).

Commands come from shell code blocks (one per line, comments dropped) and from inline code
spans. Checked: `make <target>` against the Makefile's targets; `odebench <command> --option`
against the CLI's parser; `snakemake` options against `snakemake --help`, its rule targets
against the workflow's rules and its `--configfile`/`--profile` paths on disk; `python
<script>` and every quoted repository path on disk; `odebench.<module>[:name]` importable.
Placeholders (`<cfg>`, `…`) are skipped. A code block preceded by ``<!-- runnable -->`` is
also run by the test (quick commands only). Text between ``<!-- generated: odebench … -->`` and
``<!-- end generated -->`` is that command's output, compared here and rewritten by ``--fix``.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "docs/DESIGN.md", "docs/DATA.md", "docs/FAULTS.md", "docs/PAPERS.md",
        "docs/CLAIMS.md")
RUNNABLE = "<!-- runnable -->"
PATH_ROOTS = ("odebench/", "config/", "workflow/", "benchmarks/", "tools/", "docs/", "tests/")
PLACEHOLDER = re.compile(r"<[^>]*>|…|\.\.\.")


@dataclass(frozen=True)
class Quote:
    """One command or path quoted in a doc."""

    doc: str
    line: int
    text: str
    runnable: bool = False


def _shell_lines(block: str) -> Iterator[tuple[int, str]]:
    for offset, raw in enumerate(block.splitlines()):
        line = raw.split(" # ")[0].strip() if not raw.lstrip().startswith("#") else ""
        if line:
            yield offset, line


def quotes(doc: str, text: str) -> Iterator[Quote]:
    """The commands of shell blocks and the inline code spans of ``text``."""
    fence = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
    for match in fence.finditer(text):
        if match.group(1) not in ("bash", "sh", "shell", "console"):
            continue
        start = text.count("\n", 0, match.start(2)) + 1
        before = text[:match.start()].rstrip().splitlines()[-1:] or [""]
        runnable = before[0].strip() == RUNNABLE
        for offset, line in _shell_lines(match.group(2)):
            yield Quote(doc, start + offset, line, runnable)
    prose = fence.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for match in re.finditer(r"(?<!`)`([^`\n]+)`(?!`)", prose):
        yield Quote(doc, prose.count("\n", 0, match.start()) + 1, match.group(1).strip())


@cache
def make_targets() -> frozenset[str]:
    text = (ROOT / "Makefile").read_text()
    return frozenset(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, re.M))


@cache
def workflow_rules() -> frozenset[str]:
    files = [ROOT / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")]
    return frozenset(name for f in files
                     for name in re.findall(r"^rule (\w+):", f.read_text(), re.M))


@cache
def snakemake_options() -> frozenset[str]:
    help_text = subprocess.run([sys.executable, "-m", "snakemake", "--help"],
                               capture_output=True, text=True, check=True).stdout
    return frozenset(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", help_text))


@cache
def odebench_commands() -> dict[str, frozenset[str]]:
    """CLI command -> the options it accepts (the top-level ones under "")."""
    from odebench.cli import parser

    top = parser()
    commands = {"": frozenset(o for a in top._actions for o in a.option_strings)}
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands[name] = frozenset(o for a in sub._actions for o in a.option_strings)
    return commands


def _words(command: str) -> list[str]:
    cleaned = re.sub(r"\[([^\]]*)\]", r"\1", command)  # optional groups: check their options
    try:
        return shlex.split(cleaned)
    except ValueError:
        return cleaned.split()


def _options(words: list[str]) -> list[str]:
    return [w.split("=")[0] for w in words if w.startswith("--")]


def _check_path(text: str) -> list[str]:
    if PLACEHOLDER.search(text) or "*" in text:
        return []
    alternatives = re.match(r"^(.*)\{([^}]*)\}(.*)$", text)
    paths = ([alternatives.group(1) + a + alternatives.group(3)
              for a in alternatives.group(2).split(",")] if alternatives else [text])
    return [f"no such file or folder: {p}" for p in paths if not (ROOT / p).exists()]


def _check_make(words: list[str]) -> list[str]:
    targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return [f"no Makefile target {t!r}" for t in targets if t not in make_targets()]


def _check_odebench(words: list[str]) -> list[str]:
    commands = odebench_commands()
    rest = [w for w in words[1:] if w != "--debug"]
    if not rest or PLACEHOLDER.search(rest[0]):
        return []
    name = rest[0]
    if name not in commands:
        return [f"no odebench command {name!r}"]
    return [f"odebench {name}: no option {o}" for o in _options(rest)
            if o not in commands[name] | commands[""]]


def _check_snakemake(words: list[str]) -> list[str]:
    problems = [f"snakemake: no option {o}" for o in _options(words)
                if o not in snakemake_options()]
    for flag in ("--configfile", "--profile", "--workflow-profile"):
        if flag in words and words.index(flag) + 1 < len(words):
            problems += _check_path(words[words.index(flag) + 1])
    valued = {"--cores", "-c", "--configfile", "--profile", "--workflow-profile", "--report",
              "--until", "--config", "-j", "--jobs"}
    skip = False
    for word in words[1:]:
        if skip:
            skip = False
            continue
        if word in valued:
            skip = True
        elif not word.startswith("-") and not PLACEHOLDER.search(word) and "=" not in word \
                and word not in workflow_rules():
            problems.append(f"snakemake: no rule {word!r}")
    return problems


def _check_module(text: str) -> list[str]:
    """``odebench.a.b`` (a module, or an attribute of the longest importable prefix) or
    ``odebench.a:name``."""
    dotted, _, name = text.partition(":")
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            loaded = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in [*parts[cut:], *([name] if name else [])]:
            if not hasattr(loaded, attribute):
                return [f"{'.'.join(parts[:cut])} has no {attribute}"]
            loaded = getattr(loaded, attribute)
        return []
    return [f"cannot import {dotted}"]


def check(quote: Quote) -> list[str]:
    """Problems with one quoted command or path (empty: it matches the project)."""
    words = _words(quote.text)
    if not words:
        return []
    head = words[0]
    if head in ("time", "nohup"):
        words, head = words[1:], (words[1] if len(words) > 1 else "")
    if head.endswith("odebench") and head.count("/") in (0, 2):  # odebench, .venv/bin/odebench
        return _check_odebench(words)
    if head == "make":
        return _check_make(words)
    if head.endswith("snakemake"):
        return _check_snakemake(words)
    if head.endswith("python") and len(words) > 1 and words[1].endswith(".py"):
        return _check_path(words[1])
    if len(words) == 1 and head.startswith(PATH_ROOTS):
        return _check_path(head.split("::")[0])  # tests/x.py::test_name: the file
    if len(words) == 1 and re.fullmatch(r"odebench(\.\w+)+(:\w+)?", head):
        return _check_module(head)
    return []


GENERATED = re.compile(r"(<!-- generated: (odebench [^>]*?) -->\n)(.*?)(<!-- end generated -->)",
                       re.S)


def generate(command: str) -> str:
    """The output of ``command`` (an odebench command line), run from the project root."""
    from contextlib import redirect_stdout
    from io import StringIO

    from odebench.cli import main as odebench_main

    out = StringIO()
    with redirect_stdout(out):
        code = odebench_main(shlex.split(command)[1:])
    if code:
        raise RuntimeError(f"`{command}` exited with {code}")
    return out.getvalue()


def stale_generated(doc: str, fix: bool = False) -> list[str]:
    """Generated sections of ``doc`` whose text differs from their command's output (``fix``:
    rewrite them)."""
    import os

    path = ROOT / doc
    text, stale = path.read_text(), []

    def refresh(match: re.Match) -> str:
        fresh = "\n" + generate(match.group(2)) + "\n"
        if fresh != match.group(3):
            stale.append(f"{doc}: the output of `{match.group(2)}` changed (run `python "
                         f"tools/doc_commands.py --fix`)")
        return match.group(1) + fresh + match.group(4)

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        updated = GENERATED.sub(refresh, text)
    finally:
        os.chdir(cwd)
    if fix and updated != text:
        path.write_text(updated)
    return stale


def all_quotes() -> list[Quote]:
    return [q for doc in DOCS for q in quotes(doc, (ROOT / doc).read_text())]


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description="check the commands README and docs quote")
    options.add_argument("--fix", action="store_true", help="rewrite stale generated sections")
    fix = options.parse_args(argv).fix
    problems = [(q, p) for q in all_quotes() for p in check(q)]
    for quote, problem in problems:
        print(f"{quote.doc}:{quote.line}: `{quote.text}`: {problem}")
    stale = [line for doc in DOCS for line in stale_generated(doc, fix)]
    for line in stale:
        print(("rewritten: " if fix else "") + line)
    print(f"{len(all_quotes())} quoted commands and paths checked, {len(problems)} problems; "
          f"{len(stale)} generated section(s) {'rewritten' if fix else 'stale'}")
    return 1 if problems or (stale and not fix) else 0


if __name__ == "__main__":
    sys.exit(main())
