"""`make asv-history`: asv builds each commit of a range in its own virtualenv and records it;
a bad range, a commit that fails to build and a benchmark that errors are each one line, the
rest of the history recorded; the published dashboard's graph holds more than one commit.

The project is a throwaway one (a tiny package, four commits), so the virtualenv builds take
seconds; asv, pip and virtualenv are the real ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_dashboard import (
    CACHE,
    CHROMIUM,
    _dump_dom,
    _main_graph,
    _serve,
    needs_assets,
    site,  # noqa: F401 (fixture)
)
from tools import asv_history as ah
from tools import asv_offline as ao

PYPROJECT = """[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "tinyproj"
version = "0.1"
"""
BENCH = """import tinyproj


def track_answer():
    return tinyproj.ANSWER


def track_fragile():
    return 1 / tinyproj.DIVISOR
"""


def _git(project: Path, *args: str) -> str:
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    return subprocess.run([*git, *args], cwd=project, capture_output=True, text=True,
                          check=True).stdout.strip()


def _commit(project: Path, message: str, answer: int, divisor: int = 1,
            pyproject: str = PYPROJECT) -> str:
    (project / "pyproject.toml").write_text(pyproject)
    (project / "tinyproj" / "__init__.py").write_text(f"ANSWER = {answer}\nDIVISOR = {divisor}\n")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", message)
    return _git(project, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], str]:
    """A four-commit project: two good commits, one that does not build, one whose
    ``track_fragile`` divides by zero; asv-history over all of them (its output returned)."""
    project = tmp_path_factory.mktemp("history")
    (project / "tinyproj").mkdir()
    (project / "benchmarks").mkdir()
    (project / "benchmarks" / "__init__.py").write_text("")
    (project / "benchmarks" / "bench.py").write_text(BENCH)
    (project / ".gitignore").write_text(".asv/\n")
    (project / "asv.history.conf.json").write_text(json.dumps({
        "version": 1, "project": "tinyproj", "project_url": "#", "repo": ".", "dvcs": "git",
        "branches": ["main"], "environment_type": "virtualenv",
        "pythons": [f"{sys.version_info.major}.{sys.version_info.minor}"], "matrix": {},
        "build_command": ["python -m pip wheel --no-deps --no-build-isolation --no-index "
                          "-w {build_cache_dir} {build_dir}"],
        "install_command": ["in-dir={env_dir} python -mpip install {wheel_file} --no-deps"],
        "benchmark_dir": "benchmarks", "env_dir": ".asv/env", "results_dir": ".asv/results",
        "html_dir": ".asv/html", "show_commit_url": "#"}))
    _git(project, "init", "-q", "-b", "main")
    commits = [_commit(project, "first", 1), _commit(project, "second", 2),
               _commit(project, "broken build", 3, pyproject="[project\nname = \n"),
               _commit(project, "fragile", 4, divisor=0)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASV", "GIT_"))}
    env["HOME"] = str(project)  # asv machine writes ~/.asv-machine.json
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        [sys.executable, "-m", "tools.asv_history", "--config",
         str(project / "asv.history.conf.json"), "main"],
        capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[1],
        timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return project, commits, result.stdout


def test_each_commit_is_recorded_and_each_failure_is_one_line(history):
    project, commits, out = history
    lines = out.strip().splitlines()
    assert (f"commit {commits[2][:8]} (broken build): failed to build or to import the "
            "benchmarks; no results (asv's output above says why)") in lines
    assert f"commit {commits[3][:8]} (fragile): benchmark bench.track_fragile errored" in lines
    assert lines[-1].startswith("asv-history: 3 of 4 commits recorded, 1 failed to build, "
                                "1 benchmark errors")
    outcomes = ah.read_outcomes(project / ".asv" / "results",
                                [(c, "") for c in commits])
    assert [o.recorded for o in outcomes] == [["bench.track_answer", "bench.track_fragile"]] * 2 \
        + [[], ["bench.track_answer"]]


def test_a_second_run_builds_nothing_new(history):
    project, commits, _ = history
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASV", "GIT_"))}
    env["HOME"] = str(project)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        [sys.executable, "-m", "tools.asv_history", "--config",
         str(project / "asv.history.conf.json"), f"{commits[0]}..{commits[1]}"],
        capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[1],
        timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Building" not in result.stdout  # skipped: already recorded
    assert result.stdout.strip().splitlines()[-1].startswith("asv-history: 1 of 1 commits")


def test_an_unknown_range_is_one_line_naming_it(tmp_path, capsys):
    config = Path(__file__).resolve().parents[1] / "asv.history.conf.json"
    assert ah.main(["--config", str(config), "no-such-rev..HEAD"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("asv-history: unknown revision range "
                                               "'no-such-rev..HEAD'")


def test_the_history_config_pins_the_projects_own_dependencies():
    """The environment asv builds commits in: the pinned torch and torchdiffeq, every other
    package a dependency the project declares."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    config = json.loads((root / "asv.history.conf.json").read_text())
    assert config["environment_type"] == "virtualenv"
    pins = config["matrix"]["req"]
    assert pins["torch"] == "2.13.0" and pins["torchdiffeq"] == "0.2.5"
    declared = {re.split(r"[<>=\[ ]", d)[0].lower() for d in
                tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert set(pins) - {"mujoco"} <= declared and all(pins.values())


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found (as root, `make "
                    "test-deps` installs Debian's chromium)")
@needs_assets
def test_the_dashboard_graph_shows_every_recorded_commit(history, site, tmp_path):  # noqa: F811
    project, commits, _ = history
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASV", "GIT_"))}
    env["HOME"] = str(project)
    subprocess.run([sys.executable, "-m", "asv", "publish", "--config",
                    str(project / "asv.history.conf.json")], cwd=project, env=env,
                   capture_output=True, text=True, check=True, timeout=120)
    html = tmp_path / "html"
    shutil.copytree(project / ".asv" / "html", html)
    ao.vendor_html_dir(html, CACHE)
    graph_file = next(html.glob("graphs/**/branch-main/**/bench.track_answer.json"))
    points = json.loads(graph_file.read_text())  # [revision, value]: the broken build is None
    assert [v for _, v in points] == [1.0, 2.0, None, 4.0]
    _serve(site, html)
    dom = _dump_dom(f"{site.url}/index.html#bench.track_answer", tmp_path / "profile")
    graph = _main_graph(dom)
    assert '<canvas class="flot-base"' in graph
    ticks = [float(t) for t in re.findall(r'class="flot-tick-label[^"]*"[^>]*>([\d.]+)<', graph)]
    assert ticks and min(ticks) <= 1 and max(ticks) >= 4  # the y axis spans commits 1 to 4
