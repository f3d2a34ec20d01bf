"""README and docs cannot go stale: every quoted command and path matches the project
(tools/doc_commands.py), generated sections equal their command's output, and the blocks
marked runnable run as written."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools import doc_commands as dc

ROOT = Path(__file__).resolve().parents[1]


def test_every_quoted_command_and_path_matches_the_project():
    problems = [f"{q.doc}:{q.line}: `{q.text}`: {p}" for q in dc.all_quotes() for p in dc.check(q)]
    assert problems == []


@pytest.mark.parametrize("text, problem", [
    ("make smok", "no Makefile target 'smok'"),
    (".venv/bin/odebench train --config config/smoke.yaml --epochs 3",
     "odebench train: no option --epochs"),
    ("odebench plot --config x", "no odebench command 'plot'"),
    ("snakemake --cores 1 claimz", "snakemake: no rule 'claimz'"),
    ("snakemake --cores all --configfile config/paper_full.yaml",
     "no such file or folder: config/paper_full.yaml"),
    ("snakemake --cores 1 --until-done data", "snakemake: no option --until-done"),
    ("odebench/report/tabels.py", "no such file or folder: odebench/report/tabels.py"),
    ("odebench.solvers.solve_wiht", "odebench.solvers has no solve_wiht"),
    (".venv/bin/python benchmarks/nothing.py", "no such file or folder: benchmarks/nothing.py"),
])
def test_a_stale_quote_is_named(text, problem):
    assert dc.check(dc.Quote("README.md", 1, text)) == [problem]


def test_placeholders_and_real_quotes_pass():
    for text in ("odebench claims --config <cfg>", "make test",
                 "snakemake --report report.html [--configfile config/<profile>.yaml]",
                 "odebench/data/{colour_shapes,silverbox,plane_vibration}.py",
                 "odebench.data.cifar10:cifar10_standin"):
        assert dc.check(dc.Quote("README.md", 1, text)) == [], text


def test_generated_sections_equal_their_command_output():
    assert [line for doc in dc.DOCS for line in dc.stale_generated(doc)] == []


def test_a_changed_config_makes_its_generated_section_stale(tmp_path, monkeypatch):
    config = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())
    config["experiments"]["rl"]["iterations"] = 31
    shutil.copytree(ROOT / "config", tmp_path / "config")  # every profile a section quotes
    (tmp_path / "results").symlink_to(ROOT / "results")     # the committed reference
    (tmp_path / "config/smoke.yaml").write_text(yaml.safe_dump(config))
    readme = (ROOT / "README.md").read_text()
    (tmp_path / "README.md").write_text(readme)
    monkeypatch.setattr(dc, "ROOT", tmp_path)
    stale = dc.stale_generated("README.md")
    assert len(stale) == 1 and "odebench plan --config config/smoke.yaml" in stale[0]
    dc.stale_generated("README.md", fix=True)
    assert "| 31 iterations |" in (tmp_path / "README.md").read_text()
    assert dc.stale_generated("README.md") == []


def test_smoke_rl_prose_matches_the_config():
    """The README's sentence on the smoke RL settings quotes config/smoke.yaml."""
    rl = yaml.safe_load((ROOT / "config/smoke.yaml").read_text())["experiments"]["rl"]
    text = " ".join((ROOT / "README.md").read_text().split())
    sentence = re.search(r"- Smoke: Swimmer and HalfCheetah, horizon (\d+), (\d+) iterations of "
                         r"k = (\d+) .*? step ([\d.]+), (\d+) seed", text)
    assert sentence, "the smoke RL sentence is gone from README.md"
    horizon, iterations, k, step, seeds = sentence.groups()
    assert (int(horizon), int(iterations), int(k), float(step), int(seeds)) == (
        rl["horizon"], rl["iterations"], rl["perturbations"], rl["step"], rl["seeds"])


def _runnable_blocks() -> list[list[str]]:
    blocks: dict[tuple[str, int], list[str]] = {}
    for quote in dc.all_quotes():
        if quote.runnable:
            blocks.setdefault((quote.doc, quote.line), []).append(quote.text)
    merged: list[list[str]] = []
    last = None
    for (doc, line), texts in sorted(blocks.items()):
        if last and last[0] == doc and line - last[1] <= 1:
            merged[-1] += texts
        else:
            merged.append(list(texts))
        last = (doc, line)
    return merged


def test_runnable_blocks_run_as_written(tmp_path):
    """The README's runnable block (plan, train one job, report) from a folder holding the
    project's config/ and a .venv link, exactly as a newcomer types it."""
    blocks = _runnable_blocks()
    assert blocks, "README.md marks no block <!-- runnable -->"
    (tmp_path / "config").symlink_to(ROOT / "config")
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for block in blocks:
        for line in block:
            words = shlex.split(line)
            assert words[0] == ".venv/bin/odebench", f"not a quick command: {line}"
            done = subprocess.run([sys.executable, "-m", "odebench.cli", *words[1:]],
                                  cwd=tmp_path, env=env, capture_output=True, text=True,
                                  timeout=300)
            assert done.returncode == 0, f"`{line}` failed:\n{done.stderr[-2000:]}"
    assert (tmp_path / "results/smoke/tables/pointcloud.md").is_file()
