"""Every figure kind says what it shows and stays readable: a subtitle with the profile, at most
2400 px wide, no text under 8 pt, no near-white series, lines of one panel told apart by
colour, marker or line style, chance lines where a chance level was recorded, and the RL
figure's second row against environment steps."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from odebench.records import RunRecord, run_dir
from odebench.report import build, figures
from odebench.report.figures import (
    MIN_FONT_PT,
    PALETTE,
    adjoint_figure,
    curves_figure,
    norm_figure,
    relative_luminance,
    set_titles,
    subtitle,
    tolerance_scatter,
)
from odebench.report.odetoode import mnistc_figure, mnistc_table, theory_figure
from odebench.report.optim_flows import plot_optim_figure
from odebench.report.reference_mnistc import ROWS
from odebench.report.rl import rl_figure
from odebench.report.structure import structure_figure
from odebench.report.work_precision import work_precision_figure

SCOPE = ("profile smoke · 2 seeds (0, 1) · up to 3 epochs · data: cifar10 stand-in (offline, "
         "32x32 random images of ten classes) · device cpu")
TITLE = f"experiment: what it shows\n{SCOPE}"
MAX_PX = 2400
PALE = 0.8


# --- what is checked on every figure --------------------------------------------------------

def png_width(path: Path) -> int:
    return matplotlib.image.imread(path).shape[1]


def small_texts(fig: plt.Figure) -> list[str]:
    """Visible, non-empty texts under MIN_FONT_PT (tick labels included: call after drawing)."""
    return [f"{t.get_text()!r} {t.get_fontsize()}" for t in fig.findobj(matplotlib.text.Text)
            if t.get_visible() and t.get_text() and t.get_fontsize() < MIN_FONT_PT]


def _colours(artist: matplotlib.artist.Artist) -> list:
    if isinstance(artist, matplotlib.lines.Line2D):
        colours = [artist.get_color()]
        if artist.get_marker() not in (None, "None", "none", ""):
            colours += [artist.get_markerfacecolor(), artist.get_markeredgecolor()]
        return [c for c in colours if not (isinstance(c, str) and c.lower() == "none")]
    rgba = [*artist.get_facecolors(), *artist.get_edgecolors()]
    return [c for c in rgba if c[3] > 0]


def pale_colours(fig: plt.Figure) -> list[str]:
    """Visible lines and collections drawn in a colour of relative luminance > PALE."""
    artists = [a for ax in fig.axes if ax.get_visible()
               for a in (*ax.get_lines(), *ax.collections) if a.get_visible()]
    return [f"{a} {matplotlib.colors.to_hex(c)}" for a in artists for c in _colours(a)
            if relative_luminance(c) > PALE]


def _style(line: matplotlib.lines.Line2D) -> tuple:
    return (matplotlib.colors.to_hex(line.get_color()), str(line.get_marker()),
            line.get_linestyle())


def alike_lines(fig: plt.Figure) -> list[tuple[str, str]]:
    """Pairs of labelled lines in one panel with the same colour, marker and line style."""
    pairs = []
    for ax in fig.axes:
        lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
        pairs += [(a.get_label(), b.get_label()) for i, a in enumerate(lines)
                  for b in lines[i + 1:] if _style(a) == _style(b)]
    return pairs


def assert_readable(fig: plt.Figure, png: Path | None = None) -> None:
    """The checks every figure passes."""
    assert "profile smoke" in subtitle(fig).replace("\n", " ")
    assert fig.get_suptitle().startswith("experiment")
    assert small_texts(fig) == []
    assert pale_colours(fig) == []
    assert alike_lines(fig) == []
    if png is not None:
        assert png_width(png) <= MAX_PX


@pytest.fixture
def drawn(monkeypatch):
    """The figures saved through :func:`figures.save_figure` (really saved), kept open."""
    kept: list[plt.Figure] = []
    real = figures.save_figure

    def save(fig, paths, **options):
        real(fig, paths, **options)
        kept.append(fig)

    monkeypatch.setattr(figures, "save_figure", save)
    yield kept
    for fig in kept:
        plt.close(fig)


# --- synthetic records ----------------------------------------------------------------------

def _curves(models: tuple[str, ...], epochs: int = 12, same: bool = False) -> pd.DataFrame:
    """Epochs of ``models`` x seeds 0, 1; with ``same`` every model has the same curves."""
    rows = []
    for m, model in enumerate(models):
        for seed in (0, 1):
            for epoch in range(1, epochs + 1):
                k = 0 if same else m
                rows.append({"model": model, "setting": "", "seed": seed, "epoch": epoch,
                             "iterations": 4, "nfe_forward": 20.0 + k + epoch,
                             "nfe_backward": 30.0 + k, "seconds": 1.0 + k, "loss": (1 + k) / epoch,
                             "test_accuracy": 0.3 + 0.04 * epoch + 0.01 * k,
                             "grad_norm_mean": 1.0 + k})
    return pd.DataFrame(rows)


def _write_image_runs(results: Path, chance: float | None) -> None:
    """Two models x two seeds of an images experiment (task mnist), profile smoke."""
    extra = {"chance_accuracy": chance} if chance is not None else None
    for model in ("node", "hbnode"):
        for seed in (0, 1):
            folder = run_dir(results, "mnist", model, seed)
            folder.mkdir(parents=True)
            record = RunRecord(folder, "mnist", model, seed)
            for epoch in (1, 2, 3):
                record.append({"epoch": epoch, "iterations": 4, "loss": 1 / epoch,
                               "nfe_forward": 20, "nfe_backward": 26, "seconds": 0.5,
                               "test_accuracy": 0.2 * epoch, "grad_norm_mean": 1.0})
            record.write_summary(status="completed", final={"loss": 1 / 3}, device="cpu",
                                 config={"task": "mnist", "profile": "smoke"}, extra=extra)


def _rl_epochs(steps_per_iteration: dict[str, int] | None = None,
               env_steps: bool = True) -> pd.DataFrame:
    """Two envs x three policies x two seeds x 12 ES iterations (iteration 0: θ0)."""
    rows = []
    for env in ("HalfCheetah-v5", "Swimmer-v5"):
        for k, policy in enumerate(("odetoode", "deepnet", "nanode")):
            per = (steps_per_iteration or {}).get(policy, 1600)
            for seed in (0, 1):
                for i in range(13):
                    row = {"model": policy, "setting": f"env={env}", "seed": seed, "epoch": i,
                           "iteration": i, "eval_return": k + i + seed, "seconds": 0.1}
                    if env_steps:
                        row["env_steps"] = per * i
                    rows.append(row)
    return pd.DataFrame(rows)


def _mnistc_table() -> pd.DataFrame:
    runs = pd.DataFrame([{"model": model, "seed": seed, "setup": "table1",
                          **{f"final_test_accuracy_{c}": 0.3 + 0.1 * m + 0.01 * seed
                             for c in ROWS}}
                         for m, model in enumerate(("dense-1", "node", "odetoode-1"))
                         for seed in (0, 1)])
    return mnistc_table(runs, "table1")


def _theory_epochs() -> pd.DataFrame:
    rows = []
    for model in ("odetoode", "odetoode_iso"):
        for phase in ("init", "trained"):
            for n in (10, 100):
                rows.append({"model": model, "seed": 0, "phase": phase, "horizon": 1.0,
                             "n_steps": n, "ratio_min": 0.9, "ratio_max": 1.1,
                             **{f"ratio_at_{j}": 1.0 + 0.01 * j for j in range(11)}})
        for w_step in ("exp", "cayley", "euler"):
            for n in (10, 100):
                rows.append({"model": model, "seed": 0, "phase": "integrator",
                             "w_step": w_step, "n_steps": n, "horizon": 1.0,
                             "orthogonality_defect": 1e-15 * n, "isospectral_deviation": 1e-3})
    return pd.DataFrame(rows)


def _structure_epochs() -> pd.DataFrame:
    return pd.DataFrame([{"model": model, "seed": 0, "phase": "init", "property": prop,
                          "value": 0.5 + m, "applicable": True, "note": "measured"}
                         for m, model in enumerate(("node", "hbnode", "antisymnode"))
                         for prop in ("flow_lipschitz", "invertibility_error", "energy_drift",
                                      "orthogonality_defect", "step_contractivity")])


def _optim_frame() -> pd.DataFrame:
    steps = np.arange(40)
    return pd.DataFrame([{"figure": "review_fig4", "problem": "camelback", "method": method,
                          "step": s, "t": np.nan, "loss": 10.0 ** (-s / (5 + k)),
                          "x": 1.0 / (s + 1 + k), "y": 0.5 / (s + 1)}
                         for k, method in enumerate(("GD", "HB", "RGD")) for s in steps])


def _work_precision_frame() -> pd.DataFrame:
    return pd.DataFrame([{"problem": "lotka", "method": method, "backend": backend,
                          "tolerance_or_step": tol, "error": tol * (1 + m),
                          "seconds": 1 / tol ** 0.2, "nfe": 10 / tol ** 0.2}
                         for m, method in enumerate(("dopri5", "rk4", "euler"))
                         for backend in ("torchdiffeq", "lean")
                         for tol in (1e-3, 1e-5, 1e-7)])


def _adjoint_epochs(models: tuple[str, ...], same: bool) -> pd.DataFrame:
    rows = []
    for m, model in enumerate(models):
        for seed in (0, 1):
            for epoch in (1, 2, 3):
                k = 1 if same else m + 1
                rows.append({"model": model, "setting": "", "seed": seed, "epoch": epoch,
                             **{f"adjoint_norm_{j}": k * epoch * 10.0 ** j for j in range(12)}})
    return pd.DataFrame(rows)


# Every figure kind, drawn from synthetic frames into ``paths`` with TITLE.
KINDS = {
    "curves_images": lambda p: curves_figure(_curves(("node", "anode", "hbnode", "sonode")), p,
                                             TITLE, panels=figures.IMAGE_PANELS, chance=0.1),
    "curves_sequences": lambda p: curves_figure(_curves(tuple(f"m{i}" for i in range(8))), p,
                                                TITLE, panels=figures.SEQUENCE_PANELS),
    "adjoint": lambda p: adjoint_figure(_adjoint_epochs(tuple(f"m{i}" for i in range(7)),
                                                        same=False), p, TITLE),
    "norm": lambda p: norm_figure(pd.DataFrame(
        [{"model": model, "seed": 0, "t": t, "h_norm": (1 + m) * math.exp(t),
          "exact_norm": math.exp(t)} for m, model in enumerate(("node", "hbnode"))
         for t in np.linspace(0, 5, 30)]), p, TITLE),
    "tolerance": lambda p: tolerance_scatter(pd.DataFrame(
        [{"model": model, "setting": f"tol={tol}", "seed": 0, "epoch": e,
          "nfe_forward": 10 + e, "nfe_backward": 12 + e * (1 + i)}
         for model in ("node", "anode", "hbnode", "ghbnode", "sonode")
         for i, tol in enumerate((0.1, 0.01, 0.001, 1e-4, 1e-5)) for e in (1, 2)]), p, TITLE),
    "mnistc": lambda p: mnistc_figure(_mnistc_table(), p, TITLE, chance=0.1),
    "rl": lambda p: rl_figure(_rl_epochs(), p, TITLE),
    "theory": lambda p: theory_figure(_theory_epochs(), p, TITLE),
    "structure": lambda p: structure_figure(_structure_epochs(), p, TITLE),
    "work_precision": lambda p: work_precision_figure(_work_precision_frame(), p, TITLE),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_figure_kind_is_readable_and_says_what_it_shows(kind, tmp_path, drawn,
                                                              monkeypatch):
    import odebench.report.work_precision as work_precision

    monkeypatch.setattr(work_precision, "save_figure", figures.save_figure)
    png = tmp_path / f"{kind}.png"
    KINDS[kind]([png])
    assert len(drawn) == 1
    assert_readable(drawn[0], png)


def test_optim_figure_has_the_title_and_scope_and_writes_each_format(tmp_path, drawn,
                                                                     monkeypatch):
    import odebench.report.optim_flows as optim_flows

    monkeypatch.setattr(optim_flows, "save_figure", figures.save_figure)
    png = plot_optim_figure(_optim_frame(), tmp_path / "optim.png", title=TITLE)
    pdf = plot_optim_figure(_optim_frame(), tmp_path / "optim.pdf", title=TITLE)
    assert_readable(drawn[0], png)
    assert drawn[0].get_suptitle() == "experiment: what it shows: review_fig4"
    assert pdf.read_bytes()[:4] == b"%PDF"  # not a PNG under a .pdf name


def test_checks_fail_on_a_deliberately_bad_figure(tmp_path):
    fig, ax = plt.subplots(figsize=(20, 3), dpi=100)
    ax.plot([0, 1], [0, 1], color="#ffff99", label="a")  # pale yellow
    ax.plot([0, 1], [1, 0], color="#ffff99", label="b")  # same style as a
    ax.set_xlabel("tiny", fontsize=6)
    fig.suptitle("experiment without scope")
    fig.savefig(tmp_path / "bad.png", dpi=150)
    try:
        assert png_width(tmp_path / "bad.png") > MAX_PX
        assert any("'tiny'" in t for t in small_texts(fig))
        assert pale_colours(fig) and alike_lines(fig) == [("a", "b")]
        assert "profile" not in subtitle(fig)
    finally:
        plt.close(fig)


def test_palette_is_colour_blind_safe_and_never_pale():
    assert len(set(PALETTE)) == len(PALETTE) >= 6
    assert all(relative_luminance(c) <= PALE for c in PALETTE)
    assert relative_luminance("white") == pytest.approx(1.0)
    assert relative_luminance("#F0E442") > 0.7  # Okabe-Ito's yellow: left out


def test_subtitle_wraps_to_the_width_of_a_narrow_figure(tmp_path):
    fig, ax = plt.subplots(figsize=(3.0, 2.5))
    ax.plot([0, 1], [0, 1])
    set_titles(fig, TITLE)
    fig.savefig(tmp_path / "narrow.png", dpi=100)
    try:
        text = next(t for t in fig.texts if t.get_gid() == "subtitle")
        assert text.get_text().count("\n") >= 2  # the scope line on several lines
        box = text.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width
        assert text.get_fontsize() >= MIN_FONT_PT
        assert ax.get_window_extent().y1 < box.y0  # the axes start below the subtitle
    finally:
        plt.close(fig)


# --- chance lines ---------------------------------------------------------------------------

def _chance_lines(fig: plt.Figure) -> list[str]:
    return [line.get_label() for ax in fig.axes for line in ax.get_lines()
            if line.get_label().startswith("chance")]


def test_image_figure_draws_the_recorded_chance_level_from_the_run_records(tmp_path, drawn):
    _write_image_runs(tmp_path, chance=0.125)
    build.aggregate(tmp_path, "mnist", log=lambda _: None)
    outputs = build.build_figure(tmp_path, "mnist")
    fig = drawn[0]
    assert_readable_from_build(fig, outputs["png"])
    accuracy = next(ax for ax in fig.axes if ax.get_ylabel() == "test accuracy")
    chance = [line for line in accuracy.get_lines() if line.get_label().startswith("chance")]
    assert len(chance) == 1 and list(chance[0].get_ydata()) == [0.125, 0.125]
    assert _chance_lines(fig) == ["chance (majority class) 0.125"]  # on no other panel


def assert_readable_from_build(fig: plt.Figure, png: Path) -> None:
    """:func:`assert_readable` for a title built by build.figure_title (no "what" given)."""
    assert "profile smoke" in subtitle(fig).replace("\n", " ")
    assert "2 seeds (0, 1)" in subtitle(fig).replace("\n", " ")
    assert small_texts(fig) == [] and pale_colours(fig) == [] and alike_lines(fig) == []
    assert png_width(png) <= MAX_PX


def test_image_figure_without_recorded_chance_draws_no_chance_line(tmp_path, drawn):
    _write_image_runs(tmp_path, chance=None)
    build.aggregate(tmp_path, "mnist", log=lambda _: None)
    build.build_figure(tmp_path, "mnist")
    assert _chance_lines(drawn[0]) == []


def test_mnistc_figure_is_small_multiples_in_percent_with_a_chance_line(tmp_path, drawn):
    mnistc_figure(_mnistc_table(), [tmp_path / "mnistc.png"], TITLE, chance=0.1)
    fig = drawn[0]
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == len(ROWS)  # one per corruption
    for ax in panels:
        widths = [bar.get_width() for bar in ax.patches]
        assert max(widths) <= 100 and min(widths) > 20  # in %, as the table
        assert ax.get_xlim() == (0.0, 100.0)
        assert [list(line.get_xdata()) for line in ax.get_lines()
                if line.get_linestyle() == ":"] == [[10.0, 10.0]]  # chance 0.1 in %
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "chance (majority class) 10 %" in legend and "paper" in legend
    assert png_width(tmp_path / "mnistc.png") <= MAX_PX


def test_mnistc_figure_without_chance_has_no_chance_line(tmp_path, drawn):
    mnistc_figure(_mnistc_table(), [tmp_path / "m.png"], TITLE)
    assert all(line.get_linestyle() != ":" for ax in drawn[0].axes for line in ax.get_lines())


# --- rl: the second row against environment steps -------------------------------------------

def _rows_x(fig: plt.Figure) -> tuple[list, list]:
    """The x data of the labelled lines in the iteration panels and the steps panels."""
    top = [ax for ax in fig.axes if ax.get_xlabel() == "ES iteration"]
    bottom = [ax for ax in fig.axes if ax.get_xlabel().startswith("environment steps")]
    assert len(top) == len(bottom) == 2  # one pair per env
    def xs(axes):
        return [list(line.get_xdata()) for ax in axes for line in ax.get_lines()
                if not line.get_label().startswith("_")]
    return xs(top), xs(bottom)


def test_rl_second_row_is_against_environment_steps(tmp_path, drawn):
    rl_figure(_rl_epochs({"odetoode": 900, "deepnet": 1600, "nanode": 1200}),
              [tmp_path / "rl.png"], TITLE, model_order=["odetoode", "deepnet", "nanode"])
    top, bottom = _rows_x(drawn[0])
    assert top[0] == list(range(13))
    assert bottom[0] == [900 * i for i in range(13)]
    assert bottom[1] == [1600 * i for i in range(13)]
    assert all(t != b for t, b in zip(top, bottom, strict=True))
    notes = [ax.get_title(loc="left") for ax in drawn[0].axes]
    assert not any("rescaled" in n for n in notes)  # the steps differ per policy


def test_rl_steps_panel_says_when_it_only_rescales_the_iterations(tmp_path, drawn):
    rl_figure(_rl_epochs(), [tmp_path / "rl.png"], TITLE)
    notes = [ax.get_title(loc="left").replace("\n", " ") for ax in drawn[0].axes]
    assert sum("1600 steps per iteration for every policy" in n for n in notes) == 2


def test_rl_without_env_steps_says_so_instead_of_repeating_the_first_row(tmp_path, drawn):
    rl_figure(_rl_epochs(env_steps=False), [tmp_path / "rl.png"], TITLE)
    _, bottom = _rows_x(drawn[0])
    assert bottom == []
    notes = [ax.get_title(loc="left").replace("\n", " ") for ax in drawn[0].axes]
    assert sum("no env_steps recorded" in n for n in notes) == 2


# --- coinciding curves ----------------------------------------------------------------------

def test_coinciding_adjoint_curves_are_named_and_styled_apart(tmp_path, drawn):
    models = tuple(f"m{i}" for i in range(7))
    epochs = _adjoint_epochs(models, same=True)
    epochs.loc[epochs["model"].isin(["m5", "m6"]), "adjoint_norm_0"] *= 3  # two differ
    adjoint_figure(epochs, [tmp_path / "adjoint.png"], TITLE)
    fig = drawn[0]
    curves = fig.axes[0]
    title = curves.get_legend().get_title().get_text().replace("\n", " ")
    assert "overlapping: m0, m1, m2, m3, m4; m5, m6" in title
    solid = [line for line in curves.get_lines() if line.get_linestyle() == "-"]
    assert len({(line.get_color(), line.get_marker()) for line in solid}) == 7
    assert len({str(line.get_markevery()) for line in solid}) > 1  # markers staggered
    assert_readable(fig, tmp_path / "adjoint.png")


def test_coinciding_curves_panel_note_and_none_when_they_differ(tmp_path, drawn):
    curves_figure(_curves(("node", "anode", "hbnode"), same=True), [tmp_path / "a.png"], TITLE)
    curves_figure(_curves(("node", "anode", "hbnode")), [tmp_path / "b.png"], TITLE)
    same, apart = ([ax.get_title(loc="left") for ax in fig.axes] for fig in drawn)
    assert "overlapping: anode, hbnode, node" in same[0]  # sorted: no model order
    assert not any(apart)


def test_coinciding_theory_profiles_and_integrators_are_named(tmp_path, drawn):
    theory_figure(_theory_epochs(), [tmp_path / "theory.png"], TITLE)
    titles = [ax.get_title().replace("\n", " ") for ax in drawn[0].axes]
    assert sum("overlapping: ODEtoODE, ODEtoODE (ISO)" in t for t in titles) == 2
    assert sum("overlapping: exp, cayley, euler" in t for t in titles) == 2


def test_save_figure_keeps_even_a_too_wide_figure_within_2400_px(tmp_path):
    fig, ax = plt.subplots(figsize=(20, 3))
    ax.plot([0, 1], [0, 1])
    figures.save_figure(fig, [tmp_path / "wide.png", tmp_path / "wide.pdf"])
    assert png_width(tmp_path / "wide.png") <= MAX_PX
    assert (tmp_path / "wide.pdf").read_bytes()[:4] == b"%PDF"


def test_overlap_groups_use_a_relative_tolerance_only():
    x = [1.0, 2.0, 3.0]
    curves = [("a", x, [1e-15, 1e-15, 1e-15]), ("b", x, [1e-13, 1e-13, 1e-13]),
              ("c", x, [1e-15, 1e-15, 1e-15]), ("d", x, [5.0, 6.0, 7.0])]
    assert figures.overlapping(curves) == [["a", "c"]]
    assert figures.overlap_note(curves) == "overlapping: a, c"
    assert figures.overlap_note(curves[:2]) == ""


def test_a_pdf_rebuilt_from_the_same_data_has_the_same_bytes(tmp_path):
    """No creation date in the PDF: committed reference figures do not change on a rebuild."""
    saved = []
    for name in ("a.pdf", "b.pdf"):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        figures.save_figure(fig, [tmp_path / name])
        saved.append((tmp_path / name).read_bytes())
    assert saved[0] == saved[1] and b"CreationDate" not in saved[0]
