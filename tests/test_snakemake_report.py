"""`snakemake --report`: one self-contained HTML page built from a tiny run, and a clear message
when it is asked for before any run exists."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.helpers import copy_workflow, snakemake

pytestmark = pytest.mark.slow

PROFILE = "reporttiny"
TINY = {
    "profile": PROFILE,
    "results_dir": f"results/{PROFILE}",
    "device": "cpu",
    "threads": 1,
    "offline": True,
    "experiments": {
        "pointcloud": {"models": ["node"], "seeds": 1, "epochs": 2, "tol": 1.0e-3,
                       "n_train": 20, "batch_size": 20},
    },
}
CONFIG = ["--configfile", f"config/{PROFILE}.yaml"]


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("report_workflow"), {PROFILE: TINY})


def _has_claims_rule() -> bool:
    return "workflow/rules/claims.smk" in (REPO / "Snakefile").read_text()


def _report(html: str) -> tuple[dict, dict, str]:
    """The results, categories and landing-page text the page's scripts hold."""
    def variable(name: str):
        match = re.search(rf"^ *var {name} = ([{{\"].*);$", html, re.MULTILINE)
        assert match, name
        return json.loads(match.group(1))
    return variable("results"), variable("categories"), variable("workflow_desc")


def test_report_before_any_run_says_which_targets_to_run(workflow_copy):
    result = snakemake(workflow_copy, "--report", "report.html", *CONFIG)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"no run of profile '{PROFILE}' exists yet" in output
    assert f"snakemake --cores all --configfile config/{PROFILE}.yaml" in output
    assert not (workflow_copy / "report.html").exists()


@pytest.fixture(scope="module")
def report_html(workflow_copy) -> tuple[str, float]:
    result = snakemake(workflow_copy, "--cores", "2", *CONFIG)
    assert result.returncode == 0, result.stderr[-3000:]
    start = time.perf_counter()
    result = snakemake(workflow_copy, "--report", "report.html", *CONFIG)
    seconds = time.perf_counter() - start
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return (workflow_copy / "report.html").read_text(), seconds


def test_report_holds_figure_tables_and_captions_of_what_was_run(report_html):
    html, seconds = report_html
    assert seconds < 60
    results, categories, landing = _report(html)
    base = f"results/{PROFILE}"
    figure = results[f"{base}/figures/pointcloud.png"]
    assert figure["mime_type"] == "image/png"
    assert base64.b64decode(figure["data_uri"].split("base64,", 1)[1])[:4] == b"\x89PNG"
    table = results[f"{base}/report/pointcloud.html"]
    assert table["mime_type"] == "text/html"
    page = base64.b64decode(table["data_uri"].split("base64,", 1)[1]).decode()
    assert "<table>" in page and "<td>node</td>" in page
    assert f"{base}/tables/pointcloud.csv" in results
    for entry in (figure, table):  # what was run, and which paper figure it reproduces
        caption = entry["caption"]
        assert f"profile <strong>{PROFILE}</strong>" in caption
        assert "1 seed" in caption and "2 epochs" in caption and "cpu" in caption
        assert "NesterovNODE Sec. 5.1, Fig. 3" in caption
    assert "pointcloud" in categories["2. Point cloud and initialisation"]
    assert f"profile <strong>{PROFILE}</strong>" in landing
    if _has_claims_rule():  # the ledger first: first category, and on the landing page
        assert sorted(categories)[0] == "1. Claims ledger"
        assert f"{base}/report/claims.html" in results
        assert "Claims ledger" in landing and "<table>" in landing


def test_report_with_a_missing_result_names_it(report_html, workflow_copy):
    (workflow_copy / "results" / PROFILE / "figures" / "pointcloud.png").unlink()
    result = snakemake(workflow_copy, "--report", "again.html", *CONFIG)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"results/{PROFILE}/figures/pointcloud.png" in output
    assert "snakemake --cores all" in output
