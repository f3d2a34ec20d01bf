"""The performance gate: ``make perf-check [BASE=<rev>]`` compares the working tree with a base
commit (default: the merge base with ``main``).

1. **Deterministic tracks** (``benchmarks/deterministic.py``: NFE, accepted/rejected steps,
   parameter counts; the same on every machine): computed for the base (the code of a ``git
   worktree`` of it, imported ahead of the installed package) and for the working tree, both
   by the working tree's benchmark definitions (as asv does). Every change, added
   or removed track is reported; the gate fails unless each is marked intended — a line
   ``Perf-intended: <glob> <reason>`` in a commit message of ``base..HEAD``, or ``<glob>
   <reason>`` in ``benchmarks/intended_changes.txt`` (globs match track names).
2. **Time ratios** (``benchmarks/ratios.py``; skipped by ``--deterministic-only``, which CI
   runs): asv runs them on both sides in this environment (``asv run --set-commit-hash``, the
   base from its worktree), asv ``repeat`` ``REPEATS``, into separate results folders
   that are then compared ratio by ratio (``asv compare`` cannot set the working tree against
   its own HEAD commit); a ratio worse by more than ``FACTOR`` in its better direction fails the
   gate. Each value is already a ratio of two timings taken side by side, so a 2-core machine's
   noise stays well inside that factor.
"""

from __future__ import annotations

import argparse
import fnmatch
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRACKS_MODULE = "benchmarks.deterministic"
TRACKS_FILE = Path("benchmarks/deterministic.py")
INTENDED_FILE = Path("benchmarks/intended_changes.txt")
TRAILER = "Perf-intended:"
FACTOR = 1.3        # a time ratio may move by up to 30 % before the gate fails
REPEATS = 5         # asv ``repeat`` of each ratio (each value: a median over interleaved pairs)
HIGHER_IS_BETTER = ("track_es_over_bare_rate",)  # the other ratios: lower is better
TIMEOUT_S = 600


class GateError(RuntimeError):
    """A gate that cannot run (unknown base, a side whose tracks fail to compute)."""


@dataclass(frozen=True)
class Change:
    """One deterministic track that differs between base and working tree."""

    name: str
    base: float | None
    current: float | None
    intended: str | None = None  # the reason, when marked intended

    def line(self) -> str:
        def show(v: float | None) -> str:
            return "absent" if v is None else f"{v:g}"

        mark = f"intended: {self.intended}" if self.intended else "NOT marked intended"
        return f"{self.name}: {show(self.base)} -> {show(self.current)} ({mark})"


def _git(args: Sequence[str], cwd: Path = REPO) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          timeout=60)
    if proc.returncode != 0:
        raise GateError(f"git {' '.join(args)}: "
                        f"{(proc.stderr.strip().splitlines() or ['failed'])[0]}")
    return proc.stdout.strip()


def resolve_base(base: str | None, repo: Path = REPO) -> str:
    """The base commit's full hash: ``base``, else the merge base of HEAD and ``main``."""
    if base is None:
        try:
            return _git(["merge-base", "HEAD", "main"], repo)
        except GateError as error:
            raise GateError(f"no merge base with main ({error}): give BASE=<rev>") from error
    try:
        return _git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], repo)
    except GateError as error:
        raise GateError(f"unknown base revision {base!r}") from error


def compute_tracks(tree: Path, out: Path) -> dict[str, float]:
    """``python -m benchmarks.deterministic --json`` in ``tree``, its odebench imported first."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), os.environ.get(
        "PYTHONPATH", "")]).rstrip(os.pathsep)}
    proc = subprocess.run([sys.executable, "-m", TRACKS_MODULE, "--json", str(out)], cwd=tree,
                          env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
                          check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise GateError(f"deterministic tracks failed in {tree}: {last}")
    return json.loads(out.read_text())


def intended_marks(base: str, repo: Path = REPO) -> list[tuple[str, str]]:
    """(glob, reason) from ``Perf-intended:`` lines of base..HEAD's messages and the file."""
    marks = []
    log = _git(["log", "--format=%B", f"{base}..HEAD"], repo)
    for line in log.splitlines():
        if line.strip().startswith(TRAILER):
            glob, _, reason = line.strip()[len(TRAILER):].strip().partition(" ")
            marks.append((glob, reason.strip() or "commit message"))
    path = repo / INTENDED_FILE
    if path.is_file():
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line
            if line.strip():
                glob, _, reason = line.strip().partition(" ")
                marks.append((glob, reason.strip() or str(INTENDED_FILE)))
    return marks


def diff_tracks(base: dict[str, float], current: dict[str, float],
                marks: Sequence[tuple[str, str]]) -> list[Change]:
    """Every track whose value differs, appears or disappears, with its intended reason."""
    changes = []
    for name in sorted(set(base) | set(current)):
        before, after = base.get(name), current.get(name)
        if before == after:
            continue
        reason = next((r for glob, r in marks if fnmatch.fnmatchcase(name, glob)), None)
        changes.append(Change(name, before, after, reason))
    return changes


def _worktree(base: str, where: Path, repo: Path = REPO) -> Path:
    tree = where / "base"
    _git(["worktree", "add", "--detach", "--force", str(tree), base], repo)
    return tree


def _overlay(tree: Path, repo: Path, where: Path) -> Path:
    """The base's code (links) with a copy of the working tree's ``benchmarks/``: like asv,
    both sides are measured by the same benchmark definitions."""
    overlay = where / "overlay"
    overlay.mkdir()
    for entry in tree.iterdir():
        if entry.name not in (".git", "benchmarks"):
            (overlay / entry.name).symlink_to(entry)
    shutil.copytree(repo / "benchmarks", overlay / "benchmarks",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # asv runs its benchmark processes isolated from PYTHONPATH (the installed package would
    # win): the copied package puts the overlay first before anything imports the code
    init = overlay / "benchmarks" / "__init__.py"
    init.write_text(f"import sys\nsys.path.insert(0, {str(overlay)!r})\n"
                    + (init.read_text() if init.is_file() else ""))
    return overlay


def deterministic_gate(base: str, scratch: Path, repo: Path = REPO) -> tuple[bool, list[str]]:
    """(passed, lines) of the deterministic part."""
    if not (repo / TRACKS_FILE).is_file():
        return True, [f"the working tree has no {TRACKS_FILE}: no deterministic tracks (pass)"]
    tree = _worktree(base, scratch, repo)
    try:
        before = compute_tracks(_overlay(tree, repo, scratch), scratch / "base.json")
    except GateError as error:
        return True, [f"base {base[:8]}'s code cannot run the working tree's tracks ({error}): "
                      "nothing to compare (pass)"]
    finally:
        _git(["worktree", "remove", "--force", str(tree)], repo)
        shutil.rmtree(scratch / "overlay", ignore_errors=True)
    after = compute_tracks(repo, scratch / "current.json")
    changes = diff_tracks(before, after, intended_marks(base, repo))
    lines = [f"deterministic tracks: {len(after)} in the working tree, {len(before)} at base "
             f"{base[:8]}; {len(changes)} changed"]
    lines += [f"  {c.line()}" for c in changes]
    unmarked = [c for c in changes if not c.intended]
    if unmarked:
        lines.append(f"deterministic tracks: {len(unmarked)} change(s) not marked intended: add "
                     f"'{TRAILER} <glob> <reason>' to the commit message or '<glob> <reason>' "
                     f"to {INTENDED_FILE}")
    return not unmarked, lines


# -- time ratios (asv) ---------------------------------------------------------------------

def _asv_config(tree: Path, results: Path, scratch: Path, name: str,
                repo: Path = REPO) -> Path:
    config = json.loads((repo / "asv.conf.json").read_text())
    config.update({"repo": str(repo), "benchmark_dir": str(tree / "benchmarks"),
                   "results_dir": str(results), "html_dir": str(scratch / "html"),
                   "env_dir": str(scratch / "env")})
    path = scratch / f"{name}.asv.conf.json"
    path.write_text(json.dumps(config))
    return path


def _asv_ratios(tree: Path, commit: str, config: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    asv = [sys.executable, "-m", "asv"]
    subprocess.run([*asv, "machine", "--yes", "--config", str(config)], cwd=tree, env=env,
                   capture_output=True, check=False)
    proc = subprocess.run([*asv, "run", "--config", str(config), "--python=same",
                           f"--set-commit-hash={commit}", "--bench", "ratios",
                           "-a", f"repeat={REPEATS}", "--show-stderr"], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise GateError(f"asv run of the ratios in {tree} failed: "
                        f"{(proc.stderr.strip().splitlines() or ['no output'])[-1]}")


def recorded_ratios(results: Path) -> dict[str, float]:
    """``{benchmark(params): value}`` of the ``ratios.*`` benchmarks in an asv results folder
    (one commit, one environment: what :func:`_asv_ratios` wrote)."""
    values: dict[str, float] = {}
    for path in sorted(results.glob("*/*.json")):
        if path.name == "machine.json":
            continue
        data = json.loads(path.read_text())
        columns = data.get("result_columns") or ["result", "params"]
        for name, entry in (data.get("results") or {}).items():
            if not name.startswith("ratios."):
                continue
            result, params = entry[columns.index("result")], entry[columns.index("params")]
            combos = list(itertools.product(*params)) if params else [()]
            for combo, value in zip(combos, result or [None] * len(combos), strict=False):
                label = f"{name}({', '.join(combo)})" if combo else name
                values[label] = value
    return values


def ratio_regressions(base: dict[str, float], current: dict[str, float],
                      factor: float = FACTOR) -> tuple[list[str], list[str]]:
    """(table lines, regressions): each ratio before -> after, and those worse by more than
    ``factor`` in their better direction (``HIGHER_IS_BETTER``: smaller) or failed."""
    table, worse = [], []
    for name in sorted(set(base) | set(current)):
        before, after = base.get(name), current.get(name)
        if before is None or after is None or before <= 0 or after <= 0:
            table.append(f"  {name}: {before} -> {after}")
            if (before is None) != (after is None):
                worse.append(f"{name}: no value on one side")
            continue
        higher = any(h in name for h in HIGHER_IS_BETTER)
        change = before / after if higher else after / before
        flag = change > factor
        table.append(f"  {name}: {before:.3g} -> {after:.3g} (x{after / before:.2f})"
                     + (" WORSE" if flag else ""))
        if flag:
            worse.append(f"{name}: {before:.3g} -> {after:.3g} "
                         f"({'lower' if higher else 'higher'} by {change:.2f}x > {factor:g}x)")
    return table, worse


def ratio_gate(base: str, scratch: Path, repo: Path = REPO) -> tuple[bool, list[str]]:
    """(passed, lines) of the timed part: ``benchmarks/ratios.py`` on both sides."""
    if not (repo / "benchmarks" / "ratios.py").is_file():
        return True, ["the working tree has no benchmarks/ratios.py: no ratios (pass)"]
    tree = _worktree(base, scratch, repo)
    try:
        overlay = _overlay(tree, repo, scratch)
        _asv_ratios(overlay, base, _asv_config(overlay, scratch / "base-results", scratch,
                                               "base", repo))
    finally:
        _git(["worktree", "remove", "--force", str(tree)], repo)
        shutil.rmtree(scratch / "overlay", ignore_errors=True)
    head = _git(["rev-parse", "HEAD"], repo)
    _asv_ratios(repo, head, _asv_config(repo, scratch / "current-results", scratch, "current",
                                        repo))
    table, worse = ratio_regressions(recorded_ratios(scratch / "base-results"),
                                     recorded_ratios(scratch / "current-results"))
    lines = [f"time ratios (asv repeat={REPEATS}; worse by more than "
             f"{FACTOR:g}x fails):", *table, *[f"ratio worse: {w}" for w in worse]]
    return not worse, lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.perf_check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=None, help="base revision (default: merge base "
                                                      "with main)")
    parser.add_argument("--deterministic-only", action="store_true",
                        help="skip the timed ratios (what CI runs)")
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="perf-check-"))
    try:
        base = resolve_base(args.base, args.repo)
        print(f"perf-check: working tree vs base {base[:8]}", flush=True)
        ok, lines = deterministic_gate(base, scratch, args.repo)
        print("\n".join(lines), flush=True)
        if not args.deterministic_only:
            ratios_ok, lines = ratio_gate(base, scratch, args.repo)
            print("\n".join(lines), flush=True)
            ok = ok and ratios_ok
    except GateError as error:
        print(f"perf-check: {error}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"perf-check: {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
