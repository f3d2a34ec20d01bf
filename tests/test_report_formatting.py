"""Table numbers as the papers print them (mean ± std rounded to the std's first significant
digit) and the LaTeX booktabs twin of every Markdown table."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from odebench.records import RunRecord, run_dir
from odebench.report.build import aggregate, build_table
from odebench.report.formatting import fixed, mean_std, value
from odebench.report.latex import inline, markdown_to_latex
from odebench.report.tables import model_table, to_markdown

NAN = float("nan")


@pytest.mark.parametrize(("mean", "std", "text"), [
    (0.4325, 0.004093, "0.433 ± 0.004"),      # half up on the decimal form, not binary 0.432
    (12.34, 1.6, "12 ± 2"),
    (26.0, 0.0, "26 ± 0"),                    # NFE: an integer, no spread
    (25.5, 7.07, "26 ± 7"),
    (0.4325, NAN, "0.4325"),                  # one run: the mean alone, 4 significant digits
    (0.4325, None, "0.4325"),
    (-0.4325, 0.004093, "-0.433 ± 0.004"),
    (0.96, 0.096, "1.0 ± 0.1"),               # the std rounds up to one digit, not 0.10
    (0.5, 0.1414213, "0.5 ± 0.1"),            # no two-digit exception for a leading 1
    (1234.0, 56.0, "1230 ± 60"),
    (0.4, 30.0, "0 ± 30"),
    (4.325e-7, 4.093e-9, "(4.33 ± 0.04) × 10⁻⁷"),  # one shared power of ten
    (1.5e-9, 0.0, "(1.5 ± 0) × 10⁻⁹"),
    (-2.5e-7, 1e-7, "(-3 ± 1) × 10⁻⁷"),
    (150000.0, 20000.0, "(1.5 ± 0.2) × 10⁵"),
    (NAN, 1.0, "–"),
    (math.inf, 1.0, "∞"),
])
def test_mean_std_rounds_both_to_the_first_significant_digit_of_the_std(mean, std, text):
    assert mean_std(mean, std) == text


@pytest.mark.parametrize(("number", "digits", "text"), [
    (2.4703, 4, "2.47"), (2.344, 4, "2.344"), (26.0, 4, "26"), (12800.0, 4, "12800"),
    (0.0025, 3, "0.0025"), (0.3486784401, 3, "0.349"), (1e-7, 4, "1 × 10⁻⁷"),
    (1.2345e-7, 4, "1.235 × 10⁻⁷"), (1.578e303, 4, "1.578 × 10³⁰³"), (12345.6, 4, "1.235 × 10⁴"),
    (9.99996, 4, "10"), (-0.5, 4, "-0.5"), (0.0, 4, "0"), (None, 4, "–"), (NAN, 4, "–"),
    (math.inf, 3, "∞"), (-math.inf, 3, "-∞"),
])
def test_single_values(number, digits, text):
    assert value(number, digits) == text


def test_fixed_decimals_for_percentages():
    assert [fixed(55.0, 2), fixed(0.125, 2), fixed(NAN, 2)] == ["55.00", "0.13", "–"]


def _table() -> pd.DataFrame:
    epochs = pd.DataFrame({"model": "node", "seed": [0, 0, 1, 1], "epoch": [1, 2, 1, 2],
                           "loss": [1.0, 0.4284, 1.0, 0.4366], "nfe_forward": 26.0,
                           "grad_norm_mean": [2.0, 1.0, 2.0, 1.0]})
    summaries = pd.DataFrame({"model": "node", "setting": "", "seed": [0, 1],
                              "status": "completed"})
    return model_table(epochs, summaries, kind="pointcloud")


def test_markdown_cells_use_the_shared_rounding():
    markdown = to_markdown(_table(), "pointcloud")
    assert "| node | 2 | 0.433 ± 0.006 | 26 ± 0 | 1 ± 0 | 2 completed |" in markdown  # 0.0058
    assert "rounded to the std's first significant digit" in markdown


def _dollars_balanced(line: str) -> bool:
    return line.replace(r"\$", "").count("$") % 2 == 0


def _braces_balanced(text: str) -> bool:
    depth = 0
    for char in re.sub(r"\\[{}]", "", text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def test_latex_is_booktabs_with_math_and_escapes():
    markdown = to_markdown(_table(), "silverbox_init") + "\nnote: 50% of #1 & co_author\n"
    latex = markdown_to_latex(markdown, label="silverbox_init", source="silverbox_init.md")
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}{lrrrrl}",
                 r"\label{tab:silverbox-init}", r"\caption{silverbox\_init. Mean $\pm$ std"):
        assert rule in latex
    assert r"node & 2 & $0.433 \pm 0.006$ & $26 \pm 0$ & $1 \pm 0$ & 2 completed \\" in latex
    assert r"$\|\nabla \theta \|$ (last epoch)" in latex
    assert r"50\% of \#1 \& co\_author" in latex  # the note under the table, in the float
    assert latex.index("co\\_author") < latex.index(r"\end{table}")
    body = latex.split("\n", 1)[1]  # after the header comment
    assert "±" not in body and "‖" not in body and "θ" not in body
    assert all(_dollars_balanced(line) for line in latex.splitlines())
    assert _braces_balanced(latex)


@pytest.mark.parametrize(("text", "latex"), [
    ("‖h(T)‖₂", r"$\|h(T)\|_{2}$"),
    ("(4.33 ± 0.04) × 10⁻⁷", r"$(4.33 \pm 0.04) \times 10^{-7}$"),
    ("energy error (10⁴ steps)", r"energy error ($10^{4}$ steps)"),
    ("‖∂L_last / ∂z_t‖", r"$\|\partial L_{\mathrm{last}} / \partial z_{t}\|$"),
    ("**80.00** (30.55)", r"\textbf{80.00} (30.55)"),
    ("A policy *learned* when", r"A policy \emph{learned} when"),
    ("0.9–1.2 ✓", r"0.9--1.2 \ensuremath{\surd}"),
    ("-0.5", r"$-0.5$"),
    ("dm_control/humanoid-stand", r"dm\_control/humanoid-stand"),
    ("Störmer–Verlet", r"St\"{o}rmer--Verlet"),
])
def test_inline_unicode_to_latex(text, latex):
    assert inline(text) == latex


def test_sections_lists_and_several_tables():
    markdown = ("# structure: properties\n\nIntro.\n\n## init\n\n| property | node |\n|---|---|\n"
                "| ν | 0.5 |\n\n## trained\n\n| property | node |\n|---|---|\n| ν | n/a |\n\n"
                "## Not applicable\n\n- ν, node: reason\n")
    latex = markdown_to_latex(markdown, label="structure")
    assert latex.count(r"\begin{table}") == 2 and latex.count(r"\toprule") == 2
    assert r"\caption{structure: properties --- init}" in latex
    assert r"\label{tab:structure-2}" in latex
    assert "\\paragraph{Not applicable}\n\n\\begin{itemize}\n\\item $\\nu$, node: reason" in latex


def _run(results, model: str, seed: int, loss: float) -> None:
    folder = run_dir(results, "pointcloud", model, seed)
    folder.mkdir(parents=True)
    record = RunRecord(folder, "pointcloud", model, seed)
    record.append({"epoch": 1, "iterations": 1, "loss": loss, "nfe_forward": 20.0,
                   "nfe_backward": 40.0, "seconds": 0.5, "grad_norm_mean": 1.0})
    record.write_summary(status="completed", final={}, config={"task": "pointcloud"},
                         device="cpu")


def test_build_table_writes_the_tex_beside_the_markdown(tmp_path):
    _run(tmp_path, "node", 0, 0.4325)
    aggregate(tmp_path, "pointcloud")
    outputs = build_table(tmp_path, "pointcloud")
    assert outputs["tex"] == outputs["md"].with_suffix(".tex")
    latex = outputs["tex"].read_text()
    assert r"\toprule" in latex and "node & 1 & 0.4325 &" in latex  # one run: no ±
    assert "from pointcloud.md" in latex.splitlines()[0]
    assert not list(outputs["tex"].parent.glob(".*tmp*"))  # written atomically
