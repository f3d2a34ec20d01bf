"""`snakemake --report`: one self-contained HTML page built from a tiny run, that opens at its
top in headless Chromium (a short landing page, the claims ledger a result of its own), and a
clear message when it is asked for before any run exists."""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import subprocess
import time
from pathlib import Path

import pytest

from odebench.report.landing import counts_sentence, verdict_counts
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
CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1400, 1000)
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND", f"--window-size={WINDOW[0]},{WINDOW[1]}",
    "--virtual-time-budget=5000",
)
# Appended to a copy of report.html: once the page's React app has drawn the landing page, the
# boxes (top, bottom in px from the window's top) of the description, its first paragraph and
# the ledger's counts; then a click on the landing page's link to claims.html, and whether the
# ledger's caption (claims.rst) shows after it; written into the DOM that --dump-dom prints.
PROBE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const box = (e) => { if (!e) return null; const r = e.getBoundingClientRect();
                       return [r.top, r.bottom]; };
  const desc = [...document.querySelectorAll(".prose")].find((e) => e.querySelector(".document"));
  const shown = () => document.body.innerText.includes(LEDGER_CAPTION);
  const found = {
    desc: box(desc), first: box(desc && desc.querySelector("p")),
    counts: box(document.querySelector(".odebench-ledger-counts")),
    text: desc ? desc.innerText : "", height: window.innerHeight, scrollY: window.scrollY,
    ledgerBefore: shown()};
  const link = desc && [...desc.querySelectorAll("a")].find((a) => a.textContent === "claims.html");
  if (link) link.click();
  setTimeout(() => {
    found.ledgerAfter = shown();
    const out = document.createElement("pre");
    out.id = "odebench-probe";
    out.textContent = JSON.stringify(found);
    document.body.appendChild(out);
  }, 500);
}, 1000));
</script>
""".replace("LEDGER_CAPTION", json.dumps("every claim of the papers that this workflow checks"))
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} not found (as root, `make test-deps` installs Debian's chromium)")


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


def test_report_holds_figure_tables_and_captions_of_what_was_run(report_html, workflow_copy):
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
    if _has_claims_rule():  # the ledger first: first category; its counts on the landing page
        assert sorted(categories)[0] == "1. Claims ledger"
        assert f"{base}/report/claims.html" in results
        counts = counts_sentence(verdict_counts(workflow_copy / base / "claims.csv"))
        assert f"<strong>Claims ledger</strong>: {counts}." in landing
        assert "<table>" not in landing  # the ledger itself is a result of its own
        assert "claims.html" in landing and "offline stand-in data" in landing


def _chromium(page: Path, profile: Path, *args: str) -> str:
    """Headless Chromium on ``page`` (a file, no network) at WINDOW; its stdout."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    proc = subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args,
                           page.as_uri()], capture_output=True, text=True, timeout=120,
                          env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _landing_boxes(html: str, folder: Path) -> dict:
    """PROBE's measurements of ``html``'s landing page in Chromium."""
    end = html.rindex("</body>")
    folder.mkdir(exist_ok=True)
    page = folder / "probed.html"
    page.write_text(html[:end] + PROBE + html[end:], encoding="utf-8")
    dom = _chromium(page, folder / "profile", "--dump-dom")
    match = re.search(r'<pre id="odebench-probe">(.*?)</pre>', dom, re.DOTALL)
    assert match, dom[-2000:]
    return json.loads(match.group(1).replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))


def _with_landing(html: str, landing: str) -> str:
    """``html`` whose landing-page text is ``landing``."""
    match = re.search(r"^( *var workflow_desc = )(.*);$", html, re.MULTILINE)
    assert match
    return html[:match.start(2)] + json.dumps(landing) + html[match.end(2):]


@needs_chromium
def test_report_opens_at_its_landing_page_in_chromium(report_html, workflow_copy,
                                                      tmp_path: Path):
    """At 1400x1000 the landing page (profile, device, data, the ledger's counts) lies in the
    first screen, unscrolled; with the whole ledger on it, as before, its top was cut off."""
    html, _ = report_html
    shot = tmp_path / "landing.png"
    (tmp_path / "report.html").write_text(html, encoding="utf-8")
    _chromium(tmp_path / "report.html", tmp_path / "shot-profile", f"--screenshot={shot}")
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == WINDOW
    boxes = _landing_boxes(html, tmp_path)
    assert boxes["scrollY"] == 0
    text = boxes["text"]
    assert text.startswith(f"odebench results, profile {PROFILE}")
    assert "Device: cpu" in text and "offline stand-in data" in text
    screen = min(boxes["height"], WINDOW[1])
    shown = ("desc", "first", "counts") if _has_claims_rule() else ("desc", "first")
    for name in shown:
        top, bottom = boxes[name]
        assert 0 <= top < bottom <= screen, (name, boxes[name], screen)
    if _has_claims_rule():
        ledger = (workflow_copy / "results" / PROFILE / "report" / "claims.html").read_text()
        counts = counts_sentence(verdict_counts(workflow_copy / "results" / PROFILE /
                                                "claims.csv"))
        assert f"Claims ledger: {counts}." in text
        assert not boxes["ledgerBefore"] and boxes["ledgerAfter"]  # its link opens the ledger
        _, _, landing = _report(html)  # the fault this fixes: the ledger on the landing page
        long = _landing_boxes(_with_landing(html, landing + ledger), tmp_path / "long")
        assert long["first"][0] < 0 and long["scrollY"] == 0


def test_report_with_a_missing_result_names_it(report_html, workflow_copy):
    (workflow_copy / "results" / PROFILE / "figures" / "pointcloud.png").unlink()
    counts = workflow_copy / "results" / PROFILE / "report" / "ledger_counts.html"
    if _has_claims_rule():  # as in results built before the landing page showed the counts
        counts.unlink()
    result = snakemake(workflow_copy, "--report", "again.html", *CONFIG)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"results/{PROFILE}/figures/pointcloud.png" in output
    if _has_claims_rule():
        assert f"results/{PROFILE}/report/ledger_counts.html" in output
    assert "snakemake --cores all" in output
    assert not (workflow_copy / "again.html").exists()
