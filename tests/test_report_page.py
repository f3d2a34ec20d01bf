"""`odebench report-page`: one HTML page of a results folder, its claims-by-verdict figure, and
the README headline that links them."""

from __future__ import annotations

import json

import matplotlib.image
import pytest

from odebench.cli import main
from odebench.report.claims import CONTRADICTED, HOLDS, INCONCLUSIVE, NOT_RUN
from odebench.report.reference_status import reference_status
from odebench.report.report_page import ReportPageError, counts_by_paper, write_report_page

CLAIMS = ("id,paper,verdict\n"
          f"a,Paper A,{HOLDS}\nb,Paper A,{CONTRADICTED}\nc,Paper B,{NOT_RUN}\n"
          f"d,Paper A,{HOLDS}\ne,Paper B,{INCONCLUSIVE}\n")


def _results(tmp_path, pieces: bool = True):
    folder = tmp_path / "results"
    (folder / "tables").mkdir(parents=True)
    (folder / "figures").mkdir()
    (folder / "claims.csv").write_text(CLAIMS)
    (folder / "claims.md").write_text("# Claims ledger\n\n| id | verdict |\n|---|---|\n"
                                      "| a | holds |\n")
    (folder / "tables" / "pointcloud.md").write_text("## pointcloud\n\n| model | loss |\n"
                                                      "|---|---|\n| node | 0.1 |\n")
    (folder / "tables" / "structure.md").write_text("## structure\n")
    (folder / "figures" / "pointcloud.png").write_bytes(b"png")
    config = {"profile": "reference", "scale": "reduced", "results_dir": str(folder)}
    if pieces:
        config["pieces"] = {"pc": {"pointcloud": "all"}}
        (folder / "pieces").mkdir()
        (folder / "pieces" / "pc.json").write_text(json.dumps({
            "runs": 70, "span_hours": 0.8, "job_hours": 1.6, "commit": "abc1234",
            "machine": {"cores": 2, "cpu": "Some CPU"}}))
    return config, folder


def test_counts_by_paper_keep_the_ledger_order_and_every_verdict(tmp_path):
    _, folder = _results(tmp_path)
    table = counts_by_paper(folder / "claims.csv")
    assert list(table.index) == ["Paper A", "Paper B"]
    assert list(table.columns) == [HOLDS, CONTRADICTED, INCONCLUSIVE, NOT_RUN]
    assert table.loc["Paper A"].tolist() == [2, 1, 0, 0]
    assert table.loc["Paper B"].tolist() == [0, 0, 1, 1]


def test_the_page_says_what_the_runs_are_and_shows_ledger_tables_and_figures(tmp_path):
    config, folder = _results(tmp_path)
    overview, page = write_report_page(config, folder)
    text = page.read_text()
    assert "Scale: <strong>reduced</strong>" in text and "fewer seeds, epochs" in text
    assert "Every run here is a reference run" in text
    assert "70 runs" in text and "2-core Some CPU, commit abc1234" in text
    assert "5 claims: 2 holds, 1 contradicted, 1 inconclusive, 1 not run." in text
    assert '<img src="figures/claims_overview.png"' in text
    assert '<img src="figures/pointcloud.png"' in text
    assert 'id="structure"' in text and 'src="figures/structure.png"' not in text
    assert matplotlib.image.imread(overview).shape[1] > 600


def test_a_toy_profile_says_its_verdicts_check_the_pipeline(tmp_path):
    config, folder = _results(tmp_path, pieces=False)
    _, page = write_report_page({**config, "scale": "toy"}, folder)
    text = page.read_text()
    assert "check the pipeline, not the papers" in text
    assert "reference run" not in text


def test_no_ledger_is_one_error_naming_the_file_and_the_commands(tmp_path):
    config, folder = _results(tmp_path)
    (folder / "claims.csv").unlink()
    with pytest.raises(ReportPageError, match=r"no claims ledger at .*claims\.csv: run "
                                              r"`odebench report` and `odebench claims`"):
        write_report_page(config, folder)


def test_the_readme_headline_links_the_figure_to_the_page_once_built(tmp_path):
    config, folder = _results(tmp_path)
    assert "claims_overview" not in reference_status(config, folder, headline=True)
    write_report_page(config, folder)
    text = reference_status(config, folder, headline=True)
    assert (f"[![claims by verdict]({folder}/figures/claims_overview.png)]"
            f"({folder}/report.html)") in text
    assert "claims_overview" not in reference_status(config, folder)


def test_cli_builds_the_page(tmp_path, capsys):
    _, folder = _results(tmp_path, pieces=False)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"profile: mine\nscale: reduced\nresults_dir: {folder}\n"
                   "experiments: {optim_flows: {}}\n")
    assert main(["report-page", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out.startswith("report-page: ")
    assert (folder / "report.html").is_file()
