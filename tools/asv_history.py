"""Benchmark history over commits: ``make asv-history RANGE=<rev range>``.

asv builds each commit of the range in its own environment (``asv.history.conf.json``:
environment ``virtualenv``, the project's dependencies pinned in its ``matrix``, the project
itself rebuilt per commit without its dependencies), so the dashboard gets one point per commit
instead of the working tree's one. The environment is made once (pip's configured sources,
its cache) and reused, so a second run only builds the new commits.

    python -m tools.asv_history [--config asv.history.conf.json] [--bench REGEX] RANGE

The range is checked with ``git rev-list`` first (an unknown range is one line naming it);
asv then runs every commit of it. Afterwards each commit is read back from asv's results: one
line for a commit that failed to build (no results), one for each benchmark that errored; the
rest of the history is recorded either way. ``make dashboard`` publishes it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG = Path("asv.history.conf.json")
GIT_TIMEOUT_S = 60


class HistoryError(RuntimeError):
    """A history that cannot be recorded at all (bad range, no asv config)."""


@dataclass
class CommitOutcome:
    """What asv recorded for one commit: benchmarks with a value, benchmarks that errored."""

    commit: str
    subject: str
    recorded: list[str] = field(default_factory=list)
    errored: list[str] = field(default_factory=list)

    @property
    def built(self) -> bool:
        return bool(self.recorded or self.errored)


def _git(args: Sequence[str], repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          timeout=GIT_TIMEOUT_S, check=False)


def commits_in(revision_range: str, repo: Path) -> list[tuple[str, str]]:
    """(full hash, subject) of each commit of ``revision_range``, oldest first;
    :class:`HistoryError` naming the range when git does not know it or it is empty."""
    proc = _git(["rev-list", "--reverse", "--format=%s", revision_range], repo)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["git rev-list failed"])[0]
        raise HistoryError(f"unknown revision range {revision_range!r}: {reason}")
    lines = proc.stdout.splitlines()
    commits = [(lines[i].removeprefix("commit "), lines[i + 1] if i + 1 < len(lines) else "")
               for i in range(0, len(lines), 2) if lines[i].startswith("commit ")]
    if not commits:
        raise HistoryError(f"revision range {revision_range!r} holds no commits")
    return commits


def _results_dir(config: Path) -> Path:
    try:
        data = json.loads(config.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise HistoryError(f"cannot read the asv config {config}: {error}") from error
    return config.parent / data.get("results_dir", ".asv/results")


def _errored(value: object) -> bool:
    """An asv result value that holds no number (None, or all-None for a parameterised one)."""
    if value is None:
        return True
    if isinstance(value, list):
        return all(_errored(v) for v in value)
    return False


def _ran(entry: object, columns: list[str]) -> bool:
    """Whether asv ran the benchmark (it has a duration), whatever its result."""
    if not isinstance(entry, list) or "duration" not in columns:
        return isinstance(entry, list)
    at = columns.index("duration")
    return len(entry) > at and entry[at] is not None


def read_outcomes(results_dir: Path, commits: Sequence[tuple[str, str]]) -> list[CommitOutcome]:
    """Each commit's benchmarks from ``<results_dir>/<machine>/<hash8>-<env>.json``."""
    outcomes = []
    for commit, subject in commits:
        outcome = CommitOutcome(commit, subject)
        for path in sorted(results_dir.glob(f"*/{commit[:8]}-*.json")):
            data = json.loads(path.read_text())
            if data.get("commit_hash") != commit:
                continue
            columns = data.get("result_columns") or ["result"]
            entries = sorted((data.get("results") or {}).items())
            # a commit that failed to build: asv writes every benchmark without a duration
            ran = [(name, entry) for name, entry in entries if _ran(entry, columns)]
            for name, entry in ran:
                value = entry[columns.index("result")]
                (outcome.errored if _errored(value) else outcome.recorded).append(name)
        outcomes.append(outcome)
    return outcomes


def report_lines(outcomes: Sequence[CommitOutcome]) -> list[str]:
    """One line per commit that failed to build and per benchmark that errored, then a total."""
    lines = []
    for o in outcomes:
        if not o.built:
            lines.append(f"commit {o.commit[:8]} ({o.subject}): failed to build or to import "
                         "the benchmarks; no results (asv's output above says why)")
        for name in o.errored:
            lines.append(f"commit {o.commit[:8]} ({o.subject}): benchmark {name} errored")
    built = sum(o.built for o in outcomes)
    lines.append(f"asv-history: {built} of {len(outcomes)} commits recorded, "
                 f"{len(outcomes) - built} failed to build, "
                 f"{sum(len(o.errored) for o in outcomes)} benchmark errors; "
                 "`make dashboard` publishes them")
    return lines


def run_history(revision_range: str, config: Path, bench: str | None = None,
                asv: Sequence[str] = (sys.executable, "-m", "asv")) -> list[CommitOutcome]:
    """asv on each commit of the range (already recorded ones skipped), then its outcomes."""
    if not config.is_file():
        raise HistoryError(f"no asv config at {config}")
    repo = config.resolve().parent
    commits = commits_in(revision_range, repo)
    print(f"asv-history: {len(commits)} commit(s) of {revision_range}, config {config}",
          flush=True)
    subprocess.run([*asv, "machine", "--yes", "--config", str(config)], cwd=repo,
                   capture_output=True, text=True, check=False)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(c for c, _ in commits) + "\n")
    command = [*asv, "run", "--config", str(config), "--show-stderr",
               "--skip-existing-successful", *(["--bench", bench] if bench else []),
               f"HASHFILE:{handle.name}"]
    try:
        subprocess.run(command, cwd=repo, check=False)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    return read_outcomes(_results_dir(config), commits)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.asv_history",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("range", help="git revision range, e.g. HEAD~10..HEAD or v1..main")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help="asv config building each commit (default: %(default)s)")
    parser.add_argument("--bench", default=None, help="only benchmarks matching this regex")
    args = parser.parse_args(argv)
    try:
        outcomes = run_history(args.range, args.config, args.bench)
    except HistoryError as error:
        print(f"asv-history: {error}", file=sys.stderr)
        return 2
    for line in report_lines(outcomes):
        print(line)
    return 0 if any(o.built for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
