"""``odebench compare``: a results folder against a reference, per table cell and per claim."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli
from helpers import write_config

from odebench.cli import main
from odebench.records import RunRecord, read_summaries, run_dir
from odebench.records.run_record import RECORDS_SCHEMA
from odebench.report.build import aggregate, build_table
from odebench.report.compare import (
    DIFFERS,
    MISSING_REFERENCE,
    MISSING_RESULTS,
    NO_SPREAD,
    NOT_RUN,
    OUTSIDE,
    SAME,
    WITHIN,
    CompareError,
    compare,
    flag_cell,
    write_compare,
)

# Final losses per model and seed. The reference: anode has one run (no spread).
REFERENCE = {"node": [0.50, 0.52, 0.48], "hbnode": [0.30, 0.31, 0.29], "anode": [0.40]}
CLOSE = {"node": [0.51, 0.49, 0.50], "hbnode": [0.30, 0.32, 0.28], "anode": [0.41],
         "sonode": [0.2]}  # sonode: not in the reference
FAR = {"node": [0.51, 0.49, 0.50], "hbnode": [0.90, 0.95, 0.85], "anode": [0.41]}


def _run(results: Path, model: str, seed: int, loss: float) -> None:
    folder = run_dir(results, "pointcloud", model, seed)
    folder.mkdir(parents=True)
    record = RunRecord(folder, "pointcloud", model, seed)
    for epoch, epoch_loss in ((1, 2 * loss), (2, loss)):
        record.append({"epoch": epoch, "iterations": 1, "loss": epoch_loss, "nfe_forward": 20,
                       "nfe_backward": 26, "seconds": 0.5, "test_accuracy": 0.8,
                       "grad_norm_mean": 1.0, "grad_norm_max": 2.0, "clip_fraction": 0.0})
    record.write_summary(status="completed", final={"loss": loss},
                         config={"task": "pointcloud"}, device="cpu")


def _folder(results: Path, losses: dict[str, list[float]], verdicts: dict[str, str]) -> Path:
    """A results folder from real run records: aggregate, table, and a hand-written ledger."""
    for model, values in losses.items():
        for seed, loss in enumerate(values):
            _run(results, model, seed, loss)
    aggregate(results, "pointcloud", log=lambda _line: None)
    build_table(results, "pointcloud")
    pd.DataFrame([{"id": claim, "experiment": "pointcloud", "verdict": verdict, "effect": 0.1,
                   "effect_low": 0.0, "effect_high": 0.2} for claim, verdict in verdicts.items()]
                 ).to_csv(results / "claims.csv", index=False)
    return results


REFERENCE_VERDICTS = {"C1": "holds", "C2": "holds", "C3": "inconclusive", "C4": "holds"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("compare")
    return {
        "reference": _folder(base / "reference", REFERENCE, REFERENCE_VERDICTS),
        "close": _folder(base / "close", CLOSE, {"C1": "holds", "C2": "holds",
                                                 "C3": "inconclusive", "C5": "holds"}),
        "far": _folder(base / "far", FAR, {"C1": "holds", "C2": "contradicted",
                                           "C3": "not run", "C4": "holds"}),
    }


@pytest.fixture
def folders(built, tmp_path) -> dict[str, Path]:
    """Fresh copies (a test may edit or write into them)."""
    return {name: Path(shutil.copytree(path, tmp_path / name)) for name, path in built.items()}


def _flags(cells: pd.DataFrame, model: str) -> set[str]:
    return set(cells.loc[cells["model"] == model, "flag"])


def test_summaries_carry_the_records_schema(built):
    summary = json.loads((run_dir(built["reference"], "pointcloud", "node", 0)
                          / "summary.json").read_text())
    assert summary["records_schema"] == RECORDS_SCHEMA == 1
    runs = read_summaries(built["reference"], "pointcloud")
    assert set(runs["records_schema"]) == {1}
    assert set(pd.read_csv(built["reference"] / "aggregate" / "pointcloud_runs.csv")
               ["records_schema"]) == {1}


def test_results_within_spread_are_flagged_within(folders):
    cells, _ = compare(folders["close"], folders["reference"], log=lambda _line: None)
    assert _flags(cells, "node") == {WITHIN} and _flags(cells, "hbnode") == {WITHIN}
    assert _flags(cells, "anode") == {NO_SPREAD}  # the reference has one run
    assert _flags(cells, "sonode") == {MISSING_REFERENCE}
    loss = cells.set_index(["model", "statistic"]).loc[("node", "final_loss")]
    assert loss["reference_mean"] == pytest.approx(0.50) and loss["reference_runs"] == 3
    assert loss["reference_std"] == pytest.approx(0.02) and loss["mean"] == pytest.approx(0.50)


def test_a_model_far_off_is_flagged_outside(folders):
    cells, _ = compare(folders["far"], folders["reference"], log=lambda _line: None)
    hbnode = cells[cells["model"] == "hbnode"].set_index("statistic")["flag"]
    assert hbnode["final_loss"] == OUTSIDE
    assert hbnode["nfe_forward"] == WITHIN  # std 0 on both sides: the 1 % floor holds it
    assert _flags(cells, "node") == {WITHIN}
    # the other direction: the reference's sonode-free table against a folder lacking anode
    cells, _ = compare(folders["reference"], folders["close"], log=lambda _line: None)
    assert _flags(cells, "sonode") == {MISSING_RESULTS}


def _rl_folder(results: Path, finals: dict[str, list[float]]) -> Path:
    """ES RL run records on Swimmer (three iterations each), aggregated and tabled."""
    for policy, values in finals.items():
        for seed, final in enumerate(values):
            key = f"{policy}@env=Swimmer-v5"
            record = RunRecord(run_dir(results, "rl", key, seed), "rl", key, seed)
            record.directory.mkdir(parents=True)
            for iteration in range(3):
                record.append({"iteration": iteration, "eval_return": final * iteration / 2,
                               "env_steps": 100 * iteration, "seconds": 1.0})
            record.write_summary(status="completed", final={"eval_return": final},
                                 config={"task": "rl"}, device="cpu")
    aggregate(results, "rl", log=lambda _line: None)
    build_table(results, "rl")
    return results


def test_rl_table_cells_are_compared_per_env_and_policy(tmp_path):
    reference = _rl_folder(tmp_path / "reference", {"odetoode": [20.0, 22.0, 24.0],
                                                   "deepnet": [5.0, 6.0, 7.0]})
    results = _rl_folder(tmp_path / "results", {"odetoode": [21.0, 22.0, 23.0],
                                               "deepnet": [50.0, 60.0, 70.0]})
    cells, claims = compare(results, reference, ["rl"], log=lambda _line: None)
    assert set(cells["setting"]) == {"Swimmer-v5"} and claims.empty
    flags = cells.set_index(["model", "statistic"])["flag"]
    assert flags[("odetoode", "final_return")] == WITHIN
    assert flags[("deepnet", "final_return")] == OUTSIDE
    assert flags[("deepnet", "env_steps")] == WITHIN  # identical, std 0


def test_spread_rule_uses_two_stds_and_a_relative_floor():
    assert flag_cell(0.539, 0.5, 0.02) == WITHIN and flag_cell(0.541, 0.5, 0.02) == OUTSIDE
    assert flag_cell(100.9, 100.0, 0.0) == WITHIN and flag_cell(101.1, 100.0, 0.0) == OUTSIDE
    assert flag_cell(0.0, 0.0, 0.0) == WITHIN and flag_cell(1e-9, 0.0, 0.0) == OUTSIDE
    assert flag_cell(5.0, 0.5, float("nan")) == NO_SPREAD


def test_claims_verdicts_are_compared_by_id(folders):
    _, claims = compare(folders["far"], folders["reference"], log=lambda _line: None)
    flags = claims.set_index("id")["flag"]
    assert flags.to_dict() == {"C1": SAME, "C2": DIFFERS, "C3": NOT_RUN, "C4": SAME}
    assert claims.set_index("id").loc["C2", "reference_verdict"] == "holds"
    _, claims = compare(folders["close"], folders["reference"], log=lambda _line: None)
    flags = claims.set_index("id")["flag"]
    assert flags["C4"] == MISSING_RESULTS and flags["C5"] == MISSING_REFERENCE


def test_missing_ledger_and_other_layouts_are_skipped_with_a_line(folders):
    (folders["close"] / "claims.csv").unlink()
    for name in ("close", "reference"):  # a structure table: not a mean ± std layout
        pd.DataFrame([{"phase": "init", "property": "p", "model": "node", "value": 1.0}]
                     ).to_csv(folders[name] / "tables" / "structure.csv", index=False)
    lines: list[str] = []
    cells, claims = compare(folders["close"], folders["reference"], log=lines.append)
    assert claims.empty and set(cells["experiment"]) == {"pointcloud"}
    assert any(line.startswith("claims: not compared: no ledger") and "odebench claims" in line
               for line in lines)
    assert any(line.startswith("structure: not compared") for line in lines)


@pytest.mark.parametrize(("schema", "says"), [(None, "schema 0, expected 1 (older"),
                                               (0, "schema 0, expected 1 (older"),
                                               (2, "schema 2, expected 1 (written by a newer")])
def test_another_records_schema_is_refused_in_one_line(folders, schema, says):
    path = run_dir(folders["reference"], "pointcloud", "hbnode", 1) / "summary.json"
    summary = json.loads(path.read_text())
    if schema is None:
        del summary["records_schema"]  # written before the field existed
    else:
        summary["records_schema"] = schema
    path.write_text(json.dumps(summary))
    with pytest.raises(CompareError) as error:
        compare(folders["close"], folders["reference"], log=lambda _line: None)
    message = str(error.value)
    assert "\n" not in message and says in message
    assert message.startswith(f"reference folder {folders['reference']}: ")


def test_schema_read_from_the_aggregate_without_run_folders(folders):
    shutil.rmtree(folders["close"] / "runs")  # tables and aggregates only
    compare(folders["close"], folders["reference"], log=lambda _line: None)  # schema 1: fine
    runs = folders["close"] / "aggregate" / "pointcloud_runs.csv"
    pd.read_csv(runs).drop(columns="records_schema").to_csv(runs, index=False)
    with pytest.raises(CompareError, match=r"^results folder .*schema 0, expected 1"):
        compare(folders["close"], folders["reference"], log=lambda _line: None)
    runs.unlink()  # a table and nothing to tell its schema by
    with pytest.raises(CompareError, match=r"tables/pointcloud.csv has no run records and no "
                       r"aggregate/pointcloud_runs.csv to tell its records schema"):
        compare(folders["close"], folders["reference"], log=lambda _line: None)


def test_folders_without_tables_say_what_to_run_first(folders, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CompareError, match=r"holds no runs, aggregates or tables: run the "
                       r"workflow first \(`snakemake --cores all --configfile c.yaml`\)"):
        compare(empty, folders["reference"], config="c.yaml")
    shutil.rmtree(folders["close"] / "tables")  # runs but no report yet
    with pytest.raises(CompareError, match=r"no tables/\*\.csv: run `odebench report "
                       r"--config c.yaml` first"):
        compare(folders["close"], folders["reference"], config="c.yaml")
    with pytest.raises(CompareError, match=r"^reference folder .*empty holds no tables"):
        compare(folders["far"], empty)
    with pytest.raises(CompareError, match=r"^reference folder .*nowhere does not exist"):
        compare(folders["far"], tmp_path / "nowhere")


def test_markdown_lists_flagged_cells_and_claims(folders):
    lines: list[str] = []
    cells, claims = compare(folders["far"], folders["reference"], log=lines.append)
    outputs = write_compare(folders["far"], folders["reference"], cells, claims, lines)
    markdown = outputs["md"].read_text()
    assert "| hbnode | – | completed | final_loss | 0.90 ± 0.05 (3) | 0.30 ± 0.01 (3) |" \
        in markdown
    assert "| C2 | pointcloud | holds | contradicted | differs |" in markdown
    table = pd.read_csv(outputs["csv"])
    assert set(table["section"]) == {"table", "claim"}
    assert len(table) == len(cells) + len(claims)


def test_cli_end_to_end(folders, tmp_path):
    config = write_config(tmp_path, folders["far"])
    done = run_cli("compare", "--config", str(config), "--reference", str(folders["reference"]))
    assert done.returncode == 0, done.stderr
    assert ", 1 outside, " in done.stdout.splitlines()[0]
    assert f"compare: {folders['far'] / 'compare.csv'}, {folders['far'] / 'compare.md'}" \
        in done.stdout
    assert "claims: 4 compared: 2 same, 1 differs, 1 not run" in done.stdout
    outside = pd.read_csv(folders["far"] / "compare.csv").query("flag == 'outside'")
    assert set(outside["model"]) == {"hbnode"}


def test_cli_says_to_run_the_report_first(folders, tmp_path, capsys):
    shutil.rmtree(folders["close"] / "tables")
    config = write_config(tmp_path, folders["close"])
    assert main(["compare", "--config", str(config), "--reference",
                 str(folders["reference"])]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (f"odebench: error: results folder {folders['close']} has run records but "
                     f"no tables/*.csv: run `odebench report --config {config}` first")


def test_cli_refuses_a_reference_of_another_schema_and_writes_nothing(folders, tmp_path, capsys):
    path = run_dir(folders["reference"], "pointcloud", "node", 0) / "summary.json"
    summary = json.loads(path.read_text())
    del summary["records_schema"]
    path.write_text(json.dumps(summary))
    config = write_config(tmp_path, folders["close"])
    assert main(["compare", "--config", str(config), "--reference",
                 str(folders["reference"])]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"odebench: error: reference folder {folders['reference']}: run "
                            "records of records schema 0, expected 1 (older than this odebench")
    assert "\n" not in error and not (folders["close"] / "compare.csv").exists()


def test_compare_imports_no_torch():
    code = "import sys, odebench.report.compare; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "False"
