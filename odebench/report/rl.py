"""ES RL report (ODEtoODE Fig. 2): learning curves per environment, final returns, and the
paper's ordinal claims (Sec. 5.1.3) checked one by one against our runs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from odebench.report.formatting import mean_std, value
from odebench.report.outcomes import COMPLETED, OUTCOME_RULE, outcome_sort_key, with_outcome

POLICY_LABELS = {"odetoode": "ODEtoODE", "deepnet": "DeepNet", "deepresnet": "DeepResNet",
                 "baseode": "BaseODE", "nanode": "NANODE", "hypernet": "HyperNet"}
RETURN_COLUMN = "eval_return"


def env_of(setting: str) -> str:
    """``env=HalfCheetah-v5`` -> ``HalfCheetah-v5``, ``env=dm_control.humanoid-stand`` ->
    ``dm_control/humanoid-stand`` (the sweep's folder setting; environment ids hold no dots)."""
    name, _, value = str(setting).partition("=")
    return value.replace(".", "/") if name == "env" else str(setting)


def _with_env(epochs: pd.DataFrame) -> pd.DataFrame:
    return epochs.assign(env=epochs["setting"].map(env_of))


def final_returns(epochs: pd.DataFrame) -> pd.DataFrame:
    """Per (env, policy, seed): initial, final and best evaluated return, steps, time. The
    initial return is θ0's (the iteration-0 row; the first evaluation in older records), and
    seconds per iteration leave that evaluation-only row out."""
    rows = []
    frame = _with_env(epochs).sort_values("iteration")
    for (env, policy, seed), run in frame.groupby(["env", "model", "seed"], sort=False):
        evals = run[RETURN_COLUMN].dropna() if RETURN_COLUMN in run else pd.Series(dtype=float)
        trained = run[run["iteration"] > 0]
        rows.append({"env": env, "policy": policy, "seed": seed,
                     "iterations": int(run["iteration"].max()),
                     "initial_return": float(evals.iloc[0]) if len(evals) else math.nan,
                     "final_return": float(evals.iloc[-1]) if len(evals) else math.nan,
                     "best_return": float(evals.max()) if len(evals) else math.nan,
                     "env_steps": int(run["env_steps"].max()),
                     "seconds_per_iteration": (float(trained["seconds"].mean())
                                               if len(trained) else math.nan)})
    return pd.DataFrame(rows)


def rl_table(epochs: pd.DataFrame, runs: pd.DataFrame,
             model_order: Sequence[str] | None = None) -> pd.DataFrame:
    """Tidy: one row per (env, policy) x outcome with mean/std over seeds (std NaN for one)
    of the final, initial and best return, the gain over the initial return, env steps and
    s/iteration, and parameters. Completed seeds make a policy's row; diverged ones (or
    seeds without a summary) a row of their own
    (:data:`~odebench.report.outcomes.OUTCOME_RULE`)."""
    per_seed = final_returns(epochs)
    if per_seed.empty:
        return pd.DataFrame(columns=["env", "policy", "outcome", "runs"])
    per_seed["gain"] = per_seed["final_return"] - per_seed["initial_return"]
    params, sizes = {}, {}
    statuses = pd.DataFrame(columns=["env", "policy", "seed", "status"])
    if not runs.empty:
        with_env = runs.assign(env=runs["setting"].fillna("").map(env_of))
        if "n_params" in runs:
            for _, r in with_env.iterrows():
                params[(r["env"], r["model"])] = r["n_params"]
        if "size" in runs:
            sizes = {(r["env"], r["model"]): r["size"] for _, r in with_env.iterrows()
                     if isinstance(r["size"], str)}
        statuses = with_env.rename(columns={"model": "policy"})
    per_seed = with_outcome(per_seed, statuses, keys=("env", "policy", "seed"))
    order = [p for p in (model_order or []) if p in set(per_seed["policy"])]
    order += sorted(set(per_seed["policy"]) - set(order))
    rows = []
    for env in sorted(per_seed["env"].unique()):
        for policy in order:
            alike = per_seed[(per_seed["env"] == env) & (per_seed["policy"] == policy)]
            for outcome in sorted(set(alike["outcome"]), key=outcome_sort_key):
                group = alike[alike["outcome"] == outcome]
                row = {"env": env, "policy": policy, "outcome": outcome, "runs": len(group),
                       "n_params": params.get((env, policy)),
                       "size": sizes.get((env, policy))}
                for column in ("final_return", "initial_return", "best_return", "gain",
                               "env_steps", "seconds_per_iteration"):
                    values = group[column].dropna()
                    row[f"{column}_mean"] = float(values.mean()) if len(values) else math.nan
                    row[f"{column}_std"] = (float(values.std(ddof=1)) if len(values) > 1
                                            else math.nan)
                rows.append(row)
    return pd.DataFrame(rows)


def completed_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows averaging completed seeds (all rows of a table without ``outcome``)."""
    if "outcome" not in table:
        return table
    return table[table["outcome"] == COMPLETED]


def rl_markdown(table: pd.DataFrame, claims: pd.DataFrame, experiment: str) -> str:
    lines = [f"# {experiment}: evolution strategies on MuJoCo", "",
             "Return of the current parameters (mean ± std over seeds, rounded to the std's "
             "first significant digit); gain = final − initial return. "
             f"{OUTCOME_RULE} The claims are the ledger's (odebench claims), tested seed by "
             "seed on the completed runs: a policy *learned* on an environment when its gain "
             "is positive beyond doubt (its 90 % t-interval over seeds lies above 0).", "",
             "| env | policy | runs | params | final return | initial return | best return "
             "| gain | env steps | s / iteration |", "|" + "---|" * 10]
    for _, r in table.iterrows():
        params = "–" if pd.isna(r.get("n_params")) else str(int(r["n_params"]))
        if isinstance(r.get("size"), str):
            params += f" ({r['size']})"  # the best of a size ablation
        policy = POLICY_LABELS.get(r["policy"], r["policy"])
        outcome = r.get("outcome", COMPLETED)
        if isinstance(outcome, str) and outcome != COMPLETED:
            policy = f"{policy} ({outcome})"
        cells = [r["env"], policy, str(r["runs"]), params,
                 *(mean_std(r[f"{c}_mean"], r[f"{c}_std"])
                   for c in ("final_return", "initial_return", "best_return", "gain")),
                 value(round(r["env_steps_mean"]) if pd.notna(r["env_steps_mean"]) else None),
                 value(r["seconds_per_iteration_mean"], 3)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## The paper's claims (ODEtoODE Sec. 5.1.3, Fig. 2)", "",
              "| id | claim | verdict | evidence |", "|---|---|---|---|"]
    for _, c in claims.iterrows():
        cells = [c["id"], c["claim"], c["verdict"], c["evidence"]]
        lines.append("| " + " | ".join(str(x).replace("|", "/") for x in cells) + " |")
    return "\n".join(lines) + "\n"


STEPS_COLUMN = "env_steps"  # cumulative environment steps of the training rollouts
ENVS_PER_ROW = 4


def _steps_note(part: pd.DataFrame) -> str:
    """What the environment-steps panel of one env shows beyond the iteration panel: a note
    when the runs recorded no steps, or when every run took the same steps per iteration
    (episodes never ended early), so its curves are the iteration curves rescaled."""
    if STEPS_COLUMN not in part or part[STEPS_COLUMN].isna().all():
        return "no env_steps recorded by these runs (older odebench): rerun to plot them"
    trained = part[part["iteration"] > 0].dropna(subset=[STEPS_COLUMN])
    per_iteration = trained[STEPS_COLUMN] / trained["iteration"]
    if len(per_iteration) and per_iteration.nunique() == 1:
        return (f"{per_iteration.iloc[0]:g} steps per iteration for every policy (no episode "
                "ended early): the curves above, rescaled")
    return ""


def _rl_axes(envs: int) -> tuple:
    """(figure, [(iteration axes, steps axes) per env]): envs in rows of
    :data:`ENVS_PER_ROW`, each env's steps panel under its iteration panel."""
    import matplotlib.pyplot as plt

    columns = min(max(1, envs), ENVS_PER_ROW)
    blocks = max(1, math.ceil(envs / columns))
    fig, axes = plt.subplots(2 * blocks, columns, figsize=(3.9 * columns, 6.2 * blocks),
                             layout="constrained", squeeze=False)
    pairs = [(axes[2 * (j // columns)][j % columns], axes[2 * (j // columns) + 1][j % columns])
             for j in range(envs)]
    for j in range(envs, blocks * columns):
        for row in (0, 1):
            axes[2 * (j // columns) + row][j % columns].set_visible(False)
    return fig, pairs


def rl_figure(epochs: pd.DataFrame, paths: Sequence[Path], title: str,
              model_order: Sequence[str] | None = None) -> None:
    """Fig. 2 form: per environment, return vs ES iteration (top) and vs cumulative
    environment steps of the training rollouts (below it), mean ± std over the completed
    seeds, one line per policy (colour, marker and style of
    :func:`~odebench.report.figures.series_style`); a diverged run alone, ending with × at its
    last evaluation. Curves that coincide, and a steps panel that only rescales the iteration
    panel, are said so over the panel."""
    from odebench.report.figures import (
        completed_stats,
        draw_stopped,
        finite_curve,
        mark_every,
        note_panel,
        overlap_note,
        save_figure,
        series_style,
        set_titles,
        split_runs,
    )

    frame = _with_env(epochs)
    envs = sorted(frame["env"].unique())
    policies = [p for p in (model_order or []) if p in set(frame["model"])]
    policies += sorted(set(frame["model"]) - set(policies))
    fig, pairs = _rl_axes(len(envs))
    column = RETURN_COLUMN if RETURN_COLUMN in frame else "reward_mean"
    has_steps = STEPS_COLUMN in frame and frame[STEPS_COLUMN].notna().any()
    for env, (top, bottom) in zip(envs, pairs, strict=True):
        drawn: tuple[list, list] = ([], [])
        for k, policy in enumerate(policies):
            part = frame[(frame["env"] == env) & (frame["model"] == policy)].dropna(
                subset=[column])
            if part.empty:
                continue
            label, style = POLICY_LABELS.get(policy, policy), series_style(k)
            completed, stopped = split_runs(part)
            stats = completed_stats(completed, "iteration", column)
            xs_rows = [stats.index.to_numpy()]
            if has_steps:
                steps = completed.groupby("iteration")[STEPS_COLUMN].mean()
                xs_rows.append(steps.reindex(stats.index).to_numpy())
            for row, x in enumerate(xs_rows):
                ax = (top, bottom)[row]
                if not stats.empty:
                    ax.plot(x, stats["mean"], label=label, markersize=5,
                            markevery=mark_every(len(x), k), **style)
                    ax.fill_between(x, stats["mean"] - stats["std"],
                                    stats["mean"] + stats["std"], color=style["color"],
                                    alpha=0.2, linewidth=0)
                    drawn[row].append((label, x, stats["mean"].to_numpy()))
                for n, (outcome, run) in enumerate(stopped):
                    run = run.sort_values("iteration")
                    xs, ys = finite_curve(run["iteration" if row == 0 else STEPS_COLUMN],
                                          run[column])
                    draw_stopped(ax, xs, ys, style["color"], outcome,
                                 f"{label}: {outcome}" if n == 0 else None)
        top.set_title(env)
        note_panel(top, overlap_note(drawn[0]))
        note_panel(bottom, "; ".join(n for n in (_steps_note(frame[frame["env"] == env]),
                                                  overlap_note(drawn[1])) if n))
        top.set_xlabel("ES iteration")
        bottom.set_xlabel("environment steps (training rollouts, cumulative)")
        for ax in (top, bottom):
            ax.set_ylabel("return")
            ax.grid(alpha=0.3)
    handles: dict[str, object] = {}
    for top, _ in pairs:  # every policy once, even one run on some envs only
        for handle, label in zip(*top.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="outside lower center",
                   ncol=min(len(handles), 6), fontsize="small")
    set_titles(fig, title)
    save_figure(fig, paths)
