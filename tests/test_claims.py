"""Claims ledger: each comparison kind on made-up records, every claim of the ledger made to
hold and to fail on synthetic records of its own metrics, the error for a metric no record
has, "not run" with its reason, and the ledger written end to end."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from odebench.report.claim_types import Claim, Need
from odebench.report.claims import (
    CONTRADICTED,
    HOLDS,
    INCONCLUSIVE,
    NOT_RUN,
    ClaimError,
    build_claims,
    evaluate,
    records_from,
    validate,
)
from odebench.report.claims_data import CLAIMS, LEFT_OUT
from odebench.tasks.experiments import EXPERIMENTS

SEEDS = (0, 1)


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["run"] = [f"runs/x/{m}@{s}/seed{k}" for m, s, k in
                    zip(frame["model"], frame["setting"], frame["seed"], strict=True)]
    return frame


def _rows(cells: dict[tuple[str, str], dict[str, float]]) -> pd.DataFrame:
    """Two seeds per (model, setting) with the given metric values (the second seed 1 %
    apart, so that means and spreads are defined)."""
    rows = []
    for (model, setting), values in cells.items():
        for seed in SEEDS:
            rows.append({"model": model, "setting": setting, "seed": seed,
                         **{k: v * (1 + 0.01 * seed) if isinstance(v, float) else v
                            for k, v in values.items()}})
    return _frame(rows)


def _good_bad(claim: Claim) -> tuple[float, float]:
    return (1.0, 2.0) if claim.direction in ("lower", "decreasing") else (2.0, 1.0)


def _settings(claim: Claim) -> list[str]:
    if claim.axis == "setting":
        return [*claim.a, *(claim.b or ("extra=1",))]
    out = []
    for selector in claim.settings or ("",):
        out += ["tol=0.1", "tol=0.001"] if selector in ("@min", "@max") else [selector]
    if claim.exclude:
        out = [*out, "Swimmer"] if out != [""] else ["Swimmer", "Hopper"]
        out += list(claim.exclude)
    if claim.kind == "wins" and out == [""]:
        out = [f"c{i}" for i in range(11)]
    if claim.kind == "each_fails_somewhere" and len(out) < 2:
        out = ["Swimmer-v5", "Hopper-v5"]
    return out


def synthetic(claim: Claim, hold: bool) -> pd.DataFrame:
    """Records built from the claim's own metrics on which it holds (or fails)."""
    good, bad = _good_bad(claim)
    settings = _settings(claim)
    cells: dict[tuple[str, str], dict[str, float]] = {}
    kind = claim.kind
    if kind in ("learns_everywhere", "fails_on", "each_fails_somewhere"):
        learned = {"gain": 10.0, "final_return": 100.0}
        flat = {"gain": -1.0, "final_return": 100.0}
        models = list(claim.a) or ["p1", "p2"]
        if kind == "each_fails_somewhere":
            models = [*claim.b, *(claim.a or ("p1", "p2"))]
            settings = [*settings, *(f"env{i}" for i in range(claim.top + 1 - len(settings)))]
        for model in models:
            for i, setting in enumerate(settings):
                if kind == "learns_everywhere":
                    cells[(model, setting)] = learned if hold else flat
                elif kind == "fails_on":
                    cells[(model, setting)] = flat if hold else learned
                elif model in claim.b:
                    cells[(model, setting)] = learned
                else:  # fails on the first ``top`` envs; when not holding, one model less
                    first = (claim.a or ("p1",))[0]
                    fails_here = i < claim.top - (0 if hold or model != first else 1)
                    cells[(model, setting)] = flat if fails_here else learned
        return _rows(cells)
    if kind == "within_bounds":
        low, _, high = claim.metric.partition("|")
        high = high or low
        lower, upper = claim.bounds
        lo = lower if isinstance(lower, float) else 0.5
        hi = upper if isinstance(upper, float) else 2.0
        inside, outside = lo + 0.25 * (hi - lo), hi + (hi - lo) + 1
        if math.isinf(hi):  # only a lower bound: inside above it, outside below
            inside, outside = lo + 1.0, lo - 1.0
        for model in claim.a:
            for setting in settings:
                row = {low: inside, high: inside if hold else outside}
                for bound, value in ((lower, lo), (upper, hi)):
                    if isinstance(bound, str):
                        row[bound] = value
                cells[(model, setting)] = row
        return _rows(cells)
    if kind == "threshold":
        t = claim.threshold
        below = t / 2 if t > 0 else t - 1.0
        above = 2 * t + 1.0 if t >= 0 else t / 2
        yes, no = (below, above) if claim.direction == "lower" else (above, below)
        for model in claim.a:
            for setting in settings:
                cells[(model, setting)] = {claim.metric: yes if hold else no}
        return _rows(cells)
    if kind == "reproduces_table":  # our runs centred on each printed cell (or far off)
        for model, setting, target in claim.targets:
            cells[(model, setting)] = {claim.metric: target if hold else 1.5 * target}
        return _rows(cells)
    if kind == "gap_widens":  # a's advantage over b grows along the settings (or shrinks)
        for i, setting in enumerate(settings):
            gap = float(i + 1) if hold else float(len(settings) - i)
            for model in claim.a:
                cells[(model, setting)] = {claim.metric: 10.0}
            for model in claim.b:
                worse = 10.0 + gap if claim.direction == "lower" else 10.0 - gap
                cells[(model, setting)] = {claim.metric: worse}
        return _rows(cells)
    if claim.axis == "setting":
        for model in claim.models:
            for i, setting in enumerate(settings):
                if kind == "ordering":
                    value = float(i + 1) if claim.direction == "increasing" else float(10 - i)
                    if not hold:
                        value = float(10 - i) if claim.direction == "increasing" else float(i)
                else:
                    mine = setting in claim.a
                    value = (good if mine else bad) if hold else (bad if mine else good)
                cells[(model, setting)] = {claim.metric: value}
        return _rows(cells)
    if kind == "ordering":
        for setting in settings:
            for i, model in enumerate(claim.a):
                up = float(i + 1)
                down = float(len(claim.a) - i)
                increasing = claim.direction == "increasing"
                cells[(model, setting)] = {claim.metric: (up if increasing else down) if hold
                                           else (down if increasing else up)}
        return _rows(cells)
    others = list(claim.b) or ["other1", "other2"]
    for setting in settings:
        for model in [*claim.a, *others]:
            mine = model in claim.a
            cells[(model, setting)] = {claim.metric: (good if mine else bad) if hold
                                       else (bad if mine else good)}
    return _rows(cells)


def test_ledger_is_valid_and_large():
    validate(CLAIMS)
    papers = {c.paper for c in CLAIMS}
    assert len(papers) == 4 and len(CLAIMS) >= 90
    assert all(len(item) == 3 for item in LEFT_OUT)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_each_claim_holds_and_fails_on_synthetic_records(claim):
    assert evaluate(claim, synthetic(claim, True)).verdict == HOLDS
    # "fails on some task" over the paper's tasks, none named: learning on every task run
    # does not rule out a failure on another, so it cannot be contradicted
    existential = claim.kind == "each_fails_somewhere" and not claim.settings
    assert evaluate(claim, synthetic(claim, False)).verdict == (
        INCONCLUSIVE if existential else CONTRADICTED)


def test_fails_somewhere_is_contradicted_only_when_every_task_it_names_ran():
    base = dict(id="T", paper="P", where="w", sentence="s", experiment="rl",
                metric="final_return", kind="each_fails_somewhere", b=("odetoode",))
    learned = {"gain": 10.0, "final_return": 100.0}
    frame = _rows({(m, e): learned for m in ("odetoode", "p1")
                   for e in ("Swimmer-v5", "Hopper-v5")})
    assert evaluate(Claim(**base), frame).verdict == INCONCLUSIVE
    named = Claim(**base, settings=("Swimmer", "Hopper"))
    assert evaluate(named, frame).verdict == CONTRADICTED


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_each_claim_names_an_experiment_or_what_it_needs(claim):
    assert claim.experiment in EXPERIMENTS or claim.needs is not None


# ------------------------------------------------------------------ comparison kinds by hand

def _claim(**kw) -> Claim:
    base = dict(id="T", paper="P", where="Fig. 0", sentence="s", experiment="x",
                metric="nfe_backward", kind="better")
    return Claim(**{**base, **kw})


def test_better_at_every_setting_holds_and_fails_on_one():
    claim = _claim(a=("hbnode",), b=("node",))
    frame = _rows({("hbnode", "tol=0.1"): {"nfe_backward": 10.0},
                   ("node", "tol=0.1"): {"nfe_backward": 20.0},
                   ("hbnode", "tol=0.001"): {"nfe_backward": 30.0},
                   ("node", "tol=0.001"): {"nfe_backward": 40.0}})
    verdict = evaluate(claim, frame)
    assert verdict.verdict == HOLDS and "tol=0.001" in verdict.measured
    assert len(verdict.runs) == 8
    frame.loc[(frame["model"] == "hbnode") & (frame["setting"] == "tol=0.001"),
              "nfe_backward"] = 50.0
    assert evaluate(claim, frame).verdict == CONTRADICTED


def test_best_of_top_two_and_sole_best():
    frame = _rows({(m, ""): {"acc": v} for m, v in
                   {"gnesterovnode": 0.6, "sonode": 0.7, "node": 0.5}.items()})
    second = _claim(metric="acc", kind="best_of", a=("gnesterovnode",), direction="higher",
                    top=2)
    assert evaluate(second, frame).verdict == HOLDS
    assert evaluate(_claim(metric="acc", kind="best_of", a=("gnesterovnode",),
                           direction="higher"), frame).verdict == CONTRADICTED


def test_ordering_over_settings():
    claim = _claim(metric="acc", kind="ordering", axis="setting", models=("g",),
                   a=("r=3", "r=5", "r=10"), direction="increasing")
    frame = _rows({("g", "r=3"): {"acc": 0.1}, ("g", "r=5"): {"acc": 0.2},
                   ("g", "r=10"): {"acc": 0.3}})
    assert evaluate(claim, frame).verdict == HOLDS
    frame.loc[frame["setting"] == "r=10", "acc"] = 0.15
    assert evaluate(claim, frame).verdict == CONTRADICTED


def test_within_bounds_every_record():
    claim = _claim(metric="lo|hi", kind="within_bounds", a=("m",),
                   bounds=("bound_lower", "bound_upper"))
    frame = _rows({("m", "init"): {"lo": 0.9, "hi": 1.1, "bound_lower": 0.5,
                                   "bound_upper": 2.0}})
    assert evaluate(claim, frame).verdict == HOLDS
    frame.loc[1, "hi"] = 2.5  # one seed outside
    assert evaluate(claim, frame).verdict == CONTRADICTED


def test_margin_relaxes_better():
    claim = _claim(a=("node",), b=("anode",), margin=-0.1)
    frame = _rows({("node", ""): {"nfe_backward": 105.0}, ("anode", ""): {"nfe_backward": 100.0}})
    assert evaluate(claim, frame).verdict == HOLDS
    frame.loc[frame["model"] == "node", "nfe_backward"] = 120.0
    assert evaluate(claim, frame).verdict == CONTRADICTED


# ------------------------------------------------------------------ bad input, not run

def test_unknown_metric_is_an_error_naming_claim_experiment_and_column():
    claim = _claim(id="BAD-1", experiment="cifar10", metric="no_such_metric",
                   a=("hbnode",), b=("node",))
    frame = _rows({("hbnode", ""): {"nfe_backward": 1.0}, ("node", ""): {"nfe_backward": 2.0}})
    with pytest.raises(ClaimError, match=r"BAD-1.*cifar10.*no_such_metric"):
        evaluate(claim, frame)


def test_experiment_not_in_profile_is_not_run_with_gpu_hours():
    claim = _claim(experiment="cifar10_tolerance", a=("hbnode",), b=("node",),
                   needs=Need("GPU", 110, "logs"))
    verdict = evaluate(claim, None, configured=False)
    assert verdict.verdict == NOT_RUN
    assert "not in this profile" in verdict.reason and "110 GPU-hours" in verdict.reason
    assert evaluate(claim, None).reason.startswith("no run records")


def test_setting_not_run_and_model_absent_are_not_run():
    frame = _rows({("odetoode", "Swimmer-v5"): {"final_return": 1.0},
                   ("deepnet", "Swimmer-v5"): {"final_return": 0.5}})
    claim = _claim(metric="final_return", kind="best_of", a=("odetoode",),
                   settings=("Humanoid",), direction="higher")
    verdict = evaluate(claim, frame)
    assert verdict.verdict == NOT_RUN and "Humanoid" in verdict.reason
    absent = _claim(metric="final_return", a=("hypernet",), b=("deepnet",))
    assert "hypernet" in evaluate(absent, frame).reason
    assert evaluate(absent, frame).verdict == NOT_RUN


def test_a_model_whose_runs_all_stopped_is_inconclusive_not_not_run():
    """GHBNODE ran but diverged: the claim comparing it cannot be decided, and it was run."""
    epochs, runs = _epochs({"sonode": 20.0, "ghbnode": 10.0, "hbnode": 12.0})
    runs.loc[runs["model"] == "ghbnode", "status"] = "diverged"
    records, left = records_from(epochs, runs, "pointcloud", "pointcloud")
    assert left.models == {"ghbnode"} and str(left) == f"{len(SEEDS)} diverged"
    claim = _claim(experiment="pointcloud", a=("hbnode", "ghbnode"), b=("sonode",),
                   needs=Need("GPU", 75, "logs"))
    verdict = evaluate(claim, records, left_out=left)
    assert verdict.verdict == INCONCLUSIVE
    assert "ghbnode ran but no run of it completed" in verdict.reason
    assert "GPU-hours" not in verdict.reason
    absent = _claim(experiment="pointcloud", a=("anode",), b=("sonode",))
    assert evaluate(absent, records, left_out=left).verdict == NOT_RUN  # never ran
    everything = runs.assign(status="diverged")
    records, left = records_from(epochs, everything, "pointcloud", "pointcloud")
    verdict = evaluate(claim, records, left_out=left)
    assert verdict.verdict == INCONCLUSIVE and "no completed run of pointcloud" in verdict.reason


# ------------------------------------------------------------------ records and end to end

def _epochs(models_values: dict[str, float], diverged: str | None = None):
    rows, runs = [], []
    for model, nfe in models_values.items():
        for seed in SEEDS:
            for epoch in (1, 2, 3):
                rows.append({"experiment": "pointcloud", "model": model, "setting": "",
                             "seed": seed, "epoch": epoch, "loss": 1.0 / epoch,
                             "test_accuracy": 0.5 + 0.1 * epoch, "nfe_forward": nfe,
                             "nfe_backward": nfe * epoch, "nfe_test": nfe, "seconds": 1.0,
                             "grad_norm_mean": 0.1})
            status = "diverged" if (model == diverged and seed == 1) else "completed"
            runs.append({"experiment": "pointcloud", "model": model, "setting": "",
                         "seed": seed, "status": status, "task": "pointcloud"})
    return pd.DataFrame(rows), pd.DataFrame(runs)


def test_records_use_completed_runs_and_carry_derived_metrics():
    epochs, runs = _epochs({"node": 20.0, "hbnode": 10.0}, diverged="hbnode")
    records, left = records_from(epochs, runs, "pointcloud", "pointcloud")
    assert str(left) == "1 diverged" and left.models == {"hbnode"}
    assert len(records[records["model"] == "hbnode"]) == 1
    assert set(records["run"]) >= {"runs/pointcloud/node/seed0", "runs/pointcloud/hbnode/seed0"}
    row = records[records["model"] == "node"].iloc[0]
    assert row["nfe_backward_growth"] == pytest.approx(3.0)
    assert row["nfe_backward_over_forward"] == pytest.approx(3.0)
    assert row["epoch_of_best_accuracy"] == 3


def test_standard_claims_metrics_exist_in_records():
    """Every metric a claim on a trained-model experiment reads is produced by the records of
    such an experiment (so a real run never meets a ClaimError)."""
    epochs, runs = _epochs({"node": 20.0})
    epochs = epochs.assign(mse=1.0, valid_mse=1.0, test_mse=1.0, h_norm=1.0, t=1.0,
                           adjoint_norm_0=1.0, adjoint_norm_1=0.5)
    records, _ = records_from(epochs, runs, "x", "sequences")
    rl_epochs = pd.DataFrame([{"model": "odetoode", "setting": "env=Swimmer-v5", "seed": 0,
                               "iteration": i, "eval_return": float(i), "env_steps": 10 * i,
                               "seconds": 0.1} for i in (1, 2)])
    rl_runs = pd.DataFrame([{"model": "odetoode", "setting": "env=Swimmer-v5", "seed": 0,
                             "status": "completed", "task": "rl"}])
    rl_records, _ = records_from(rl_epochs, rl_runs, "rl", "rl")
    assert rl_records.iloc[0]["setting"] == "Swimmer-v5"
    known = {"optim_flows", "structure", "odetoode_theory", "mnistc", "mnistc_table2"}
    for claim in CLAIMS:
        if claim.experiment not in EXPERIMENTS or claim.experiment in known:
            continue
        columns = rl_records.columns if claim.experiment == "rl" else records.columns
        for column in claim.columns():
            assert column in columns, (claim.id, column)


def test_build_claims_writes_csv_and_md(tmp_path):
    epochs, runs = _epochs({m: v for m, v in zip(
        ["node", "anode", "sonode", "hbnode", "ghbnode", "nesterovnode", "gnesterovnode"],
        [30.0, 28.0, 26.0, 24.0, 22.0, 12.0, 10.0], strict=True)})
    folder = tmp_path / "aggregate"
    folder.mkdir()
    epochs.to_csv(folder / "pointcloud_epochs.csv", index=False)
    runs.to_csv(folder / "pointcloud_runs.csv", index=False)
    outputs = build_claims(tmp_path, ["pointcloud", "cifar10"], "test")
    table = pd.read_csv(outputs["csv"])
    assert len(table) == len(CLAIMS)
    verdicts = table.set_index("id")["verdict"]
    assert verdicts["NES-F3-forward"] == HOLDS
    assert verdicts["NES-F3-gnesterov"] == HOLDS
    assert verdicts["NES-T2-cifar-best"] == NOT_RUN
    reason = table.set_index("id").loc["HB-F7-backward", "reason"]
    assert "not in this profile" in reason and "GPU-hours" in reason
    text = outputs["md"].read_text()
    assert "# Claims ledger (test profile)" in text and "NES-F3-forward" in text
    assert "runs/pointcloud/gnesterovnode/seed0" in text
    assert not list(tmp_path.glob(".*tmp*"))
    assert np.isin(table["verdict"], [HOLDS, CONTRADICTED, INCONCLUSIVE, NOT_RUN]).all()


# ------------------------------------------------------------------ ODEtoODE Lemma 4.1, per t

def _lemma_rows(changed: dict[int, float], n_steps: int = 10) -> pd.DataFrame:
    """odetoode_theory grid rows (both ODEtoODE models, both phases, two seeds, T = 1) of one
    probe sample whose ratio is r_t = 1 (inside every t's bounds) except ``changed``
    {steps left: r}, with the margins the task itself records."""
    import torch

    from odebench.tasks.odetoode_theory import bound_margins, finite_n_bounds

    eta = 1.0 / n_steps
    lower, upper = finite_n_bounds(eta, torch.arange(n_steps, -1, -1))
    ratios = torch.ones(n_steps + 1, 1, dtype=torch.float64)
    for left, value in changed.items():
        ratios[n_steps - left, 0] = value
    over_lower, over_upper = bound_margins(ratios, lower, upper)
    row = {"horizon": 1.0, "n_steps": n_steps, "eta": eta,
           "ratio_min": float(ratios.min()), "ratio_max": float(ratios.max()),
           "bound_lower": float(lower[0]), "bound_upper": float(upper[0]),
           "log_over_lower_min": over_lower, "log_over_upper_max": over_upper}
    return _frame([{"model": model, "setting": phase, "seed": seed, **row}
                   for model in ("odetoode-1", "odetoode_iso") for phase in ("init", "trained")
                   for seed in SEEDS])


def _lemma_claim() -> Claim:
    return next(c for c in CLAIMS if c.id == "O2O-L41")


@pytest.mark.parametrize("changed", [{1: 1.5}, {2: 0.7}, {3: float("nan")}],
                         ids=["above-upper", "below-lower", "nan"])
def test_lemma_4_1_fails_when_one_t_leaves_its_own_bounds_inside_the_widest(changed):
    # eta = 0.1: one step before T the bounds are [0.9, 1.1], two steps [0.81, 1.21]; the
    # widest (t = 0) are [0.349, 2.594], which the global min / max of the profile meet. A NaN
    # ratio is outside (recorded as -inf / inf), never a row silently left out.
    frame = _lemma_rows(changed)
    assert not (frame["ratio_min"] < frame["bound_lower"]).any()
    assert not (frame["ratio_max"] > frame["bound_upper"]).any()
    verdict = evaluate(_lemma_claim(), frame)
    assert verdict.verdict == CONTRADICTED
    assert "odetoode-1: 0/4 within" in verdict.measured


def test_lemma_4_1_holds_when_every_t_is_within_its_own_bounds():
    # r_t inside each t's bounds; the last step exactly on its upper bound 1.1 (a tight flow,
    # W = I) and two steps before on its lower bound 0.81 hold up to float64 round-off.
    frame = _lemma_rows({1: 1.1, 2: 0.81 * (1 + 1e-15), 5: 1.3, 9: 0.5})
    verdict = evaluate(_lemma_claim(), frame)
    assert verdict.verdict == HOLDS, verdict.measured
    assert "odetoode-1: 4/4 within" in verdict.measured
    assert evaluate(_lemma_claim(), _lemma_rows({1: 1.1 * (1 + 1e-6)})).verdict == CONTRADICTED


# ------------------------------------------------------------------ verdicts with uncertainty

def test_a_tie_on_every_seed_is_inconclusive():
    """CIFAR10 forward NFE 14 for every model at the smoke tolerance: no evidence either way."""
    claim = _claim(metric="nfe_forward", a=("nesterovnode",), b=("node", "anode"))
    frame = _frame([{"model": m, "setting": "", "seed": k, "nfe_forward": 14.0}
                    for m in ("nesterovnode", "node", "anode") for k in range(5)])
    verdict = evaluate(claim, frame)
    assert verdict.verdict == INCONCLUSIVE and verdict.seeds == 5
    assert verdict.effect == 0 and verdict.seeds_needed is None


def test_one_seed_is_inconclusive_for_a_comparison_however_large_the_gap():
    claim = _claim(a=("hbnode",), b=("node",))
    frame = _frame([{"model": "hbnode", "setting": "", "seed": 0, "nfe_backward": 1.0},
                    {"model": "node", "setting": "", "seed": 0, "nfe_backward": 100.0}])
    verdict = evaluate(claim, frame)
    assert verdict.verdict == INCONCLUSIVE and verdict.seeds == 1
    assert "one seed" in verdict.measured


def test_a_noisy_comparison_says_how_many_seeds_it_would_need():
    claim = _claim(a=("hbnode",), b=("node",))
    hb, node = [10, 14, 9, 13, 11], [12, 11, 13, 12, 14]
    frame = _frame([{"model": m, "setting": "", "seed": k, "nfe_backward": float(v)}
                    for m, values in (("hbnode", hb), ("node", node))
                    for k, v in enumerate(values)])
    verdict = evaluate(claim, frame)
    assert verdict.verdict == INCONCLUSIVE and verdict.seeds_needed > 5
    assert verdict.low < 0 < verdict.high
    assert f"~{verdict.seeds_needed} seeds needed" in verdict.measured


def test_ledger_states_the_rule_counts_and_toy_scale(tmp_path):
    from odebench.report.claims import RULE, TOY_NOTE, claims_markdown, claims_table

    table = claims_table(CLAIMS[:3], {}, configured=[])
    text = claims_markdown(table, "smoke", toy=True)
    assert TOY_NOTE in text and RULE in text
    assert "3 claims: 0 holds, 0 contradicted, 0 inconclusive, 3 not run." in text
    assert TOY_NOTE not in claims_markdown(table, "reference")
    assert {"seeds", "effect", "effect_low", "effect_high", "seeds_needed"} <= set(table)


# ------------------------------------------------------------------ quantifiers and time points

def _five(values: dict[str, list[float]], metric: str = "final_loss",
          setting: str = "") -> pd.DataFrame:
    return _frame([{"model": m, "setting": setting, "seed": k, metric: v}
                   for m, vs in values.items() for k, v in enumerate(vs)])


def test_every_run_better_is_contradicted_by_one_run_although_the_mean_is_better():
    claim = _claim(metric="final_loss", kind="every_run_better", a=("equivariant",),
                   b=("ordinary",))
    frame = _five({"equivariant": [1.0, 1.1, 0.9, 1.0, 1.0], "ordinary": [2.0] * 5})
    verdict = evaluate(claim, frame)
    assert verdict.verdict == HOLDS and "5/5 runs better" in verdict.measured
    frame.loc[(frame["model"] == "equivariant") & (frame["seed"] == 4), "final_loss"] = 2.5
    assert frame[frame["model"] == "equivariant"]["final_loss"].mean() < 2.0
    verdict = evaluate(claim, frame)
    assert verdict.verdict == CONTRADICTED and "4/5 runs better" in verdict.measured


def test_consistently_zero_loss_is_every_run_not_the_mean():
    claim = next(c for c in CLAIMS if c.id == "HB-F5-loss")
    frame = _five({m: [0.01, 0.02, 0.0, 0.01, 0.03] for m in ("hbnode", "ghbnode")})
    assert evaluate(claim, frame).verdict == HOLDS
    frame.loc[(frame["model"] == "ghbnode") & (frame["seed"] == 2), "final_loss"] = 0.2
    assert frame["final_loss"].mean() < 0.05  # the mean alone would still hold
    verdict = evaluate(claim, frame)
    assert verdict.verdict == CONTRADICTED and "ghbnode: 4/5 within" in verdict.measured


def test_often_stuck_needs_a_share_of_each_models_runs():
    claim = next(c for c in CLAIMS if c.id == "HB-F5-stuck")
    frame = _five({"anode": [0.3, 0.0, 0.0, 0.0, 0.0], "sonode": [0.0, 0.4, 0.5, 0.0, 0.0]})
    verdict = evaluate(claim, frame)
    assert verdict.verdict == HOLDS and "needs ≥ 20% within" in verdict.measured
    frame.loc[frame["model"] == "anode", "final_loss"] = 0.0  # ANODE never stuck
    assert evaluate(claim, frame).verdict == CONTRADICTED


def test_gap_widens_along_the_settings_in_order():
    claim = _claim(metric="nfe_backward", kind="gap_widens", a=("hbnode",), b=("node",),
                   settings=("tol=0.1", "tol=0.01", "tol=0.001"))
    gaps = {"tol=0.1": 1.0, "tol=0.01": 5.0, "tol=0.001": 20.0}
    rows = [{"model": m, "setting": s, "seed": k,
             "nfe_backward": 10.0 + k + (g * (1 + 0.1 * k) if m == "node" else 0.0)}
            for s, g in gaps.items() for m in ("hbnode", "node") for k in range(5)]
    verdict = evaluate(claim, _frame(rows))
    assert verdict.verdict == HOLDS and "(tol=0.001)" in verdict.measured
    shrinking = [{**r, "setting": {"tol=0.1": "tol=0.001", "tol=0.001": "tol=0.1"}.get(
        r["setting"], r["setting"])} for r in rows]
    assert evaluate(claim, _frame(shrinking)).verdict == CONTRADICTED
    with pytest.raises(ClaimError, match="gap_widens claims need b"):
        validate([_claim(kind="gap_widens", a=("hbnode",), b=("node",), settings=("tol=1",))])


def test_fails_on_at_least_two_tasks():
    claim = next(c for c in CLAIMS if c.id == "O2O-F2-more-fail")
    gains = {"hypernet": [-1, -1, 5], "deepnet": [-1, -1, 5], "deepresnet": [-1, -1, -1]}
    rows = [{"model": m, "setting": env, "seed": k, "final_return": 1.0,
             "gain": g * (1 + 0.01 * k)}
            for m, gs in gains.items() for env, g in zip(("Swimmer", "Hopper", "Humanoid"), gs,
                                                         strict=True) for k in range(3)]
    assert evaluate(claim, _frame(rows)).verdict == HOLDS
    frame = _frame(rows)
    frame.loc[(frame["model"] == "deepnet") & (frame["setting"] == "Hopper"), "gain"] = 5.0
    verdict = evaluate(claim, frame)  # 3 of the paper's 9 tasks ran: not ruled out
    assert verdict.verdict == INCONCLUSIVE
    assert "deepnet: learned on 2 of the 3 tasks run" in verdict.measured
    named = replace(claim, settings=("Swimmer", "Hopper", "Humanoid"))
    verdict = evaluate(named, frame)
    assert verdict.verdict == CONTRADICTED and "deepnet: learned on all but 1" in verdict.measured


def _pointcloud_epochs(accuracy_at_100: float, epochs: int = 120) -> tuple[pd.DataFrame,
                                                                          pd.DataFrame]:
    rows, runs = [], []
    for model in ("node", "nesterovnode"):
        for seed in SEEDS:
            for epoch in range(1, epochs + 1):
                acc = accuracy_at_100 if epoch <= 100 else 1.0
                rows.append({"model": model, "setting": "", "seed": seed, "epoch": epoch,
                             "loss": 1.0 / epoch, "test_accuracy": acc + 0.001 * seed,
                             "nfe_forward": 20.0, "nfe_backward": 26.0 + seed})
            runs.append({"model": model, "setting": "", "seed": seed, "status": "completed",
                         "task": "pointcloud"})
    return pd.DataFrame(rows), pd.DataFrame(runs)


def test_at_epoch_100_reads_epoch_100_not_the_end():
    claim = _claim(metric="test_accuracy_at_epoch_100", kind="threshold", a=("nesterovnode",),
                   direction="higher", threshold=0.95)
    records, _ = records_from(*_pointcloud_epochs(0.6), "pointcloud", "pointcloud")
    assert records["final_test_accuracy"].min() >= 1.0
    assert records["test_accuracy_at_epoch_100"].max() < 0.61
    assert sorted(records["nfe_backward_minus_forward"]) == pytest.approx([6.0, 6.0, 7.0, 7.0])
    assert evaluate(claim, records).verdict == CONTRADICTED
    records, _ = records_from(*_pointcloud_epochs(0.99), "pointcloud", "pointcloud")
    assert evaluate(claim, records).verdict == HOLDS
    short, _ = records_from(*_pointcloud_epochs(0.99, epochs=50), "pointcloud", "pointcloud")
    assert short["test_accuracy_at_epoch_100"].isna().all()
    assert evaluate(claim, short).verdict == NOT_RUN


def test_optim_records_measure_the_distance_to_the_minimiser():
    """HBNODE Fig. 2 'converges to the stationary point': ‖x − x*‖, not F − F*."""
    rows = []
    for method, (x, y, loss) in {"ODE": (0.9, 0.81, 0.01), "HBODE": (1.0, 1.0, 0.0)}.items():
        for step in (0, 1):
            rows.append({"model": "hbnode_fig2", "setting": "", "seed": 0, "epoch": step + 1,
                         "figure": "hbnode_fig2", "problem": "rosenbrock", "method": method,
                         "step": step, "t": float(step), "loss": loss, "x": x, "y": y})
    runs = pd.DataFrame([{"model": "hbnode_fig2", "setting": "", "seed": 0,
                          "status": "completed", "task": "optim_flows"}])
    records, _ = records_from(pd.DataFrame(rows), runs, "optim_flows", "optim")
    distance = records.set_index("model")["final_distance"]
    assert distance["HBODE"] == pytest.approx(0.0)
    assert distance["ODE"] == pytest.approx(math.hypot(0.1, 0.19))


# ------------------------------------------------------------------ the inventory

def test_inventory_lists_every_claim_and_theory_check():
    from pathlib import Path

    from odebench.report.claims_data import THEORY_CHECKS

    text = (Path(__file__).resolve().parents[1] / "docs" / "CLAIMS.md").read_text()
    ids = {c.id for c in CLAIMS}
    assert set(THEORY_CHECKS) <= ids
    missing = sorted(i for i in ids if f"`{i}`" not in text)
    assert not missing, f"docs/CLAIMS.md does not list {missing}"


def test_optimiser_flows_are_deterministic_so_one_run_decides():
    """HBNODE Fig. 2 on the flows' one run: the heavy-ball flow's distance is compared exactly."""
    from odebench.report.claim_tests import DETERMINISTIC

    claim = next(c for c in CLAIMS if c.id == "HB-F2-rosenbrock")
    frame = synthetic(claim, False)
    frame = frame[frame["seed"] == 0].assign(**{DETERMINISTIC: True})
    verdict = evaluate(claim, frame)
    assert verdict.verdict == CONTRADICTED and "deterministic: one run is exact" in \
        verdict.measured
    assert evaluate(claim, frame.drop(columns=[DETERMINISTIC])).verdict == INCONCLUSIVE


def test_a_table_reproduction_names_the_cell_outside_and_the_cell_not_run():
    claim = next(c for c in CLAIMS if c.id == "NES-T3-table")
    frame = synthetic(claim, True)
    assert evaluate(claim, frame).verdict == HOLDS
    far = frame["setting"] == "nesterov_factor=10"
    off = frame.assign(best_test_accuracy=frame["best_test_accuracy"].where(~far, 0.5))
    verdict = evaluate(claim, off)
    assert verdict.verdict == CONTRADICTED
    assert "2/3 printed cells within" in verdict.measured
    assert "gnesterovnode@nesterov_factor=10 contradicted (paper 0.6296" in verdict.measured
    gone = evaluate(claim, frame[~far])
    assert gone.verdict == NOT_RUN and "gnesterovnode@nesterov_factor=10" in gone.reason
    one = evaluate(claim, frame[frame["seed"] == 0])
    assert one.verdict == INCONCLUSIVE
