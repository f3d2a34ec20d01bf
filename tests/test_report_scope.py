"""Every table and figure says what it was run on (profile, seeds, length, data, device), and
the papers' numbers sit beside ours only where the settings and data are the papers'."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from odebench.records import RunRecord, run_dir
from odebench.report.build import build_experiment_report, with_scope_line
from odebench.report.odetoode import mnistc_markdown, mnistc_table
from odebench.report.scope import (
    Scope,
    experiment_scope,
    is_stand_in,
    paper_column_header,
    scope_line,
)


def _run(results, experiment, model, seed, epochs, profile="smoke", task="cifar10", extra=None):
    folder = run_dir(results, experiment, model, seed)
    folder.mkdir(parents=True)
    record = RunRecord(folder, experiment, model, seed)
    for epoch in range(1, epochs + 1):
        record.append({"epoch": epoch, "iterations": 1, "loss": 1.0 / epoch, "nfe_forward": 20,
                       "nfe_backward": 26, "seconds": 0.5, "test_accuracy": 0.3 + seed / 100})
    record.write_summary(status="completed", final={"loss": 1.0 / epochs},
                         config={"task": task, "profile": profile}, device="cpu",
                         extra=extra or {})


def _manifest(results, experiment, source):
    (results / "data").mkdir(parents=True, exist_ok=True)
    (results / "data" / f"{experiment}.json").write_text(json.dumps({"source": source}))


def test_scope_reads_profile_seeds_length_data_and_device(tmp_path):
    for seed in (0, 1, 2):
        _run(tmp_path, "cifar10", "node", seed, epochs=3)
    _manifest(tmp_path, "cifar10", "cifar10 stand-in (offline)")
    runs = pd.DataFrame({"model": ["node"] * 3, "setting": [None] * 3, "seed": [0, 1, 2],
                         "epochs_completed": [3, 3, 2], "device": ["cpu"] * 3})
    scope = experiment_scope(tmp_path, "cifar10", runs, "images")
    assert scope == Scope("smoke", (0, 1, 2), 3, "epochs", "cifar10 stand-in (offline)", True,
                          "cpu")
    assert scope_line(scope) == ("profile smoke · 3 seeds (0, 1, 2) · up to 3 epochs · "
                                 "data: cifar10 stand-in (offline) · device cpu")
    assert not scope.matches_paper


def test_scope_without_records_says_unknown(tmp_path):
    scope = experiment_scope(tmp_path, "pointcloud", pd.DataFrame(), "pointcloud")
    assert scope.profile == "unknown" and scope.data == "unknown" and scope.seeds == ()
    assert "no seeds" in scope_line(scope) and "iterations: unknown" in scope_line(scope)


@pytest.mark.parametrize("source, stand_in", [
    ("cifar10 stand-in (offline)", True),
    ("stand-in: scikit-learn 8x8 digits", True),
    ("generated nested circles (odebench.data.pointcloud)", False),
    ("MNIST (yann.lecun.com), sha256 pinned", False),
])
def test_stand_in_is_read_from_the_manifest(source, stand_in):
    assert is_stand_in(source) is stand_in


def test_paper_column_header_depends_on_the_setting():
    header = "paper: NesterovNODE Table 2 (best test acc., tol 1e-5)"
    paper = Scope("paper", (0,), 40, "epochs", "CIFAR-10 (cs.toronto.edu)", False, "cuda")
    assert paper_column_header(paper, header) == header
    stand_in = Scope("paper", (0,), 40, "epochs", "cifar10 stand-in (offline)", True, "cpu")
    assert paper_column_header(stand_in, header) == (
        "paper (different data): NesterovNODE Table 2 (best test acc., tol 1e-5)")
    lite = Scope("paper_lite", (0,), 2, "epochs", "CIFAR-10 (cs.toronto.edu)", False, "cpu")
    assert paper_column_header(lite, header).startswith("paper (different settings): ")


def test_scope_line_goes_under_the_title():
    scope = Scope("smoke", (0,), 3, "epochs", "x stand-in", True, "cpu")
    text = with_scope_line("# cifar10\n\nbody\n", scope)
    lines = text.splitlines()
    assert lines[0] == "# cifar10" and lines[2].startswith("*Run on:* profile smoke")
    assert with_scope_line("body\n", scope).startswith("*Run on:* profile smoke")


def test_stand_in_table_marks_the_paper_column_as_different_data(tmp_path):
    for seed in (0, 1):
        _run(tmp_path, "cifar10", "node", seed, epochs=2)
    _manifest(tmp_path, "cifar10", "cifar10 stand-in (offline)")
    markdown = build_experiment_report(tmp_path, "cifar10")["md"].read_text()
    assert "*Run on:* profile smoke · 2 seeds (0, 1) · up to 2 epochs · data: cifar10 " \
           "stand-in (offline) · device cpu." in markdown
    assert "paper (different data): NesterovNODE Table 2" in markdown
    assert "| paper: NesterovNODE" not in markdown


def test_paper_setting_table_keeps_the_paper_column(tmp_path):
    _run(tmp_path, "cifar10", "node", 0, epochs=2, profile="paper")
    _manifest(tmp_path, "cifar10", "CIFAR-10 python archive (cs.toronto.edu), sha256 pinned")
    markdown = build_experiment_report(tmp_path, "cifar10")["md"].read_text()
    assert "paper: NesterovNODE Table 2" in markdown and "different data" not in markdown


def test_every_figure_gets_the_scope_as_subtitle(tmp_path, monkeypatch):
    import odebench.report.build as build

    titles = []
    real = build._main_figure

    def spy(epochs, kind, title, *args, **kwargs):
        titles.append(title)
        return real(epochs, kind, title, *args, **kwargs)

    monkeypatch.setattr(build, "_main_figure", spy)
    _run(tmp_path, "cifar10", "node", 0, epochs=2)
    _manifest(tmp_path, "cifar10", "cifar10 stand-in (offline)")
    build_experiment_report(tmp_path, "cifar10")
    head, subtitle = titles[0].split("\n")
    assert head == "cifar10: conv ODE classifier on CIFAR10: accuracy, NFE, time per epoch"
    assert subtitle.startswith("profile smoke · 1 seed (0) · up to 2")


def _mnistc_runs():
    return pd.DataFrame({"model": ["node", "odetoode-1"], "seed": [0, 0],
                         "status": ["completed"] * 2,
                         "final_test_accuracy_identity": [0.71, 0.74],
                         "final_test_accuracy_rotate": [0.40, 0.45]})


def test_mnistc_stand_in_puts_the_paper_in_its_own_table():
    table = mnistc_table(_mnistc_runs(), "table1")
    text = mnistc_markdown(table, "mnistc", "table1", ["Chance level: accuracy 10.1 %."],
                           paper_matches=False, paper_why="different data")
    ours, _, paper = text.partition("## paper (different data)")
    assert paper, "no separate paper table"
    assert "(" not in ours.split("| corruption")[1].split("\n")[2]  # ours-only cells
    assert "All accuracies in %" in ours and "10.1 %" in ours
    matched = mnistc_markdown(table, "mnistc", "table1", paper_matches=True)
    assert "## paper (" not in matched and "in brackets" in matched


def test_mnistc_chance_level_is_in_percent_like_its_table(tmp_path):
    from odebench.report.build import reference_levels

    runs = pd.DataFrame({"chance_accuracy": [0.1014]})
    assert reference_levels(runs, percent=True) == [
        "Chance level (always the test set's majority class): accuracy 10.1 %."]
    assert reference_levels(runs) == [
        "Chance level (always the test set's majority class): accuracy 0.101."]
