"""`make perf-check`: deterministic tracks of the working tree against a base commit (real git
worktrees of a throwaway repo whose tracks read its own package), intended-change marks,
the ratio comparison, and the gate run on this project itself (what CI runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools import perf_check as pc

TRACKS = '''import argparse
import json
import tinypkg


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    args = parser.parse_args()
    with open(args.json, "w") as handle:
        json.dump({"nfe/a": tinypkg.NFE, "steps/a": 3}, handle)


main()
'''


def _git(repo: Path, *args: str) -> str:
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    return subprocess.run([*git, *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repo whose benchmarks/deterministic.py reports tinypkg.NFE (10 at its one commit)."""
    root = tmp_path / "repo"
    (root / "benchmarks").mkdir(parents=True)
    (root / "tinypkg").mkdir()
    (root / "benchmarks" / "__init__.py").write_text("")
    (root / "benchmarks" / "deterministic.py").write_text(TRACKS)
    (root / "tinypkg" / "__init__.py").write_text("NFE = 10\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    return root


def _gate(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.perf_check", "--deterministic-only",
                           "--repo", str(repo), *args], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=300, check=False)


def test_an_unchanged_tree_passes(repo):
    result = _gate(repo)  # default base: the merge base with main (HEAD itself here)
    assert result.returncode == 0, result.stderr
    assert "deterministic tracks: 2 in the working tree, 2 at base" in result.stdout
    assert "0 changed" in result.stdout and result.stdout.strip().endswith("passed")


def test_a_changed_nfe_fails_until_marked_intended_in_a_file(repo):
    (repo / "tinypkg" / "__init__.py").write_text("NFE = 12\n")
    result = _gate(repo)
    assert result.returncode == 1
    assert "nfe/a: 10 -> 12 (NOT marked intended)" in result.stdout
    assert "1 change(s) not marked intended" in result.stdout
    (repo / "benchmarks" / "intended_changes.txt").write_text(
        "# track glob, then why\nnfe/* the new step-size rule\n")
    result = _gate(repo)
    assert result.returncode == 0, result.stdout
    assert "nfe/a: 10 -> 12 (intended: the new step-size rule)" in result.stdout


def test_a_commit_message_can_mark_the_change_intended(repo):
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "tinypkg" / "__init__.py").write_text("NFE = 9\n")
    _git(repo, "commit", "-q", "-am", "Fewer steps\n\nPerf-intended: nfe/a one stage less")
    result = _gate(repo, "--base", base)
    assert result.returncode == 0, result.stdout
    assert "nfe/a: 10 -> 9 (intended: one stage less)" in result.stdout


def test_a_removed_track_is_a_change_and_a_bad_base_is_one_line(repo):
    (repo / "benchmarks" / "deterministic.py").write_text(
        TRACKS.replace('"steps/a": 3', '"steps/b": 3'))
    result = _gate(repo)
    assert result.returncode == 1
    assert "steps/a: 3 -> absent (NOT marked intended)" in result.stdout
    assert "steps/b: absent -> 3 (NOT marked intended)" in result.stdout
    result = _gate(repo, "--base", "no-such-rev")
    assert result.returncode == 2
    assert result.stderr.strip() == "perf-check: unknown base revision 'no-such-rev'"


def test_a_base_without_tracks_passes_with_a_note(repo):
    (repo / "benchmarks" / "deterministic.py").rename(repo / "benchmarks" / "later.py")
    _git(repo, "commit", "-q", "-am", "no tracks")
    old = _git(repo, "rev-parse", "HEAD")
    (repo / "benchmarks" / "later.py").rename(repo / "benchmarks" / "deterministic.py")
    result = _gate(repo, "--base", old)
    assert result.returncode == 0
    assert "has no benchmarks/deterministic.py" in result.stdout


def test_ratio_regressions_respect_each_ratios_better_direction():
    base = {"ratios.A.track_lean_over_torchdiffeq_time('node')": 0.5,
            "ratios.B.track_es_over_bare_rate('Swimmer-v5')": 2.0,
            "ratios.C.track_door_over_raw_time('x')": 1.0}
    current = {"ratios.A.track_lean_over_torchdiffeq_time('node')": 0.7,   # 1.4x worse
               "ratios.B.track_es_over_bare_rate('Swimmer-v5')": 1.8,     # 1.11x worse: noise
               "ratios.C.track_door_over_raw_time('x')": 0.5}             # better
    table, worse = pc.ratio_regressions(base, current)
    assert len(table) == 3 and len(worse) == 1
    assert worse[0].startswith("ratios.A.track_lean_over_torchdiffeq_time('node'): 0.5 -> 0.7 "
                               "(higher by 1.40x > 1.3x)")
    _, worse = pc.ratio_regressions(base, {**current, "ratios.B.track_es_over_bare_rate("
                                           "'Swimmer-v5')": 1.0})
    assert any("track_es_over_bare_rate" in w and "lower by 2.00x" in w for w in worse)
    _, worse = pc.ratio_regressions(base, {})
    assert len(worse) == 3 and all("no value on one side" in w for w in worse)


def test_the_gate_on_this_project_against_its_own_head():
    """What CI runs: the real deterministic tracks, base = HEAD's worktree vs this tree."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "odebench", "benchmarks"],
                           cwd=root, capture_output=True, text=True, check=False).stdout
    result = _gate(root, "--base", "HEAD")
    assert result.returncode in (0, 1), result.stderr
    assert "perf-check: working tree vs base" in result.stdout
    if not dirty:  # a clean checkout (CI): the tree is HEAD, so nothing may change
        assert result.returncode == 0, result.stdout
        assert "0 changed" in result.stdout or "has no benchmarks/deterministic.py" in \
            result.stdout
