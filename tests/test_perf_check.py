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
        json.dump(tinypkg.TRACKS, handle)


main()
'''


def _git(repo: Path, *args: str) -> str:
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    return subprocess.run([*git, *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repo whose benchmarks/deterministic.py reports tinypkg.TRACKS (nfe/a = 10 at its one
    commit)."""
    root = tmp_path / "repo"
    (root / "benchmarks").mkdir(parents=True)
    (root / "tinypkg").mkdir()
    (root / "benchmarks" / "__init__.py").write_text("")
    (root / "benchmarks" / "deterministic.py").write_text(TRACKS)
    _package(root, 10)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    return root


def _package(root: Path, nfe: int, **more: int) -> None:
    tracks = {"nfe/a": nfe, "steps/a": 3, **more}
    (root / "tinypkg" / "__init__.py").write_text(f"TRACKS = {tracks!r}\n")


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
    _package(repo, 12)
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
    _package(repo, 9)
    _git(repo, "commit", "-q", "-am", "Fewer steps\n\nPerf-intended: nfe/a one stage less")
    result = _gate(repo, "--base", base)
    assert result.returncode == 0, result.stdout
    assert "nfe/a: 10 -> 9 (intended: one stage less)" in result.stdout


def test_an_added_track_is_a_change_and_a_bad_base_is_one_line(repo):
    _package(repo, 10, **{"steps/b": 4})
    result = _gate(repo)
    assert result.returncode == 1
    assert "steps/b: absent -> 4 (NOT marked intended)" in result.stdout
    result = _gate(repo, "--base", "no-such-rev")
    assert result.returncode == 2
    assert result.stderr.strip() == "perf-check: unknown base revision 'no-such-rev'"


def test_both_sides_are_measured_by_the_working_trees_benchmarks(repo):
    """Like asv: a changed benchmark definition is not a change of the code it measures."""
    (repo / "benchmarks" / "deterministic.py").write_text(
        TRACKS.replace("json.dump(tinypkg.TRACKS, handle)",
                       'json.dump({k: v for k, v in tinypkg.TRACKS.items() if k != "steps/a"}, '
                       "handle)"))
    result = _gate(repo)
    assert result.returncode == 0, result.stdout
    assert "1 in the working tree, 1 at base" in result.stdout


def test_a_base_whose_code_cannot_run_the_tracks_passes_with_a_note(repo):
    (repo / "tinypkg" / "__init__.py").write_text("BROKEN = True\n")
    _git(repo, "commit", "-q", "-am", "no tracks in the package")
    old = _git(repo, "rev-parse", "HEAD")
    _package(repo, 10)
    result = _gate(repo, "--base", old)
    assert result.returncode == 0
    assert f"base {old[:8]}'s code cannot run the working tree's tracks" in result.stdout
    assert "AttributeError" in result.stdout


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
