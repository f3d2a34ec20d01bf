# Shared helpers: the job plan (experiment x model x seed) resolved by the odebench package.
import os
import sys
from pathlib import Path

from odebench.report.notes import experiment_notes
from odebench.tasks.run import UnknownNameError, experiment_jobs, experiment_models

# The odebench CLI of the interpreter that runs Snakemake (no dependence on PATH).
ODEBENCH = f"{sys.executable} -m odebench.cli"
RESULTS = config["results_dir"]
RESOLVED_CONFIG = f"{RESULTS}/config.yaml"


def job_plan():
    """{experiment: [run folder names model[@setting=value]/seed<k>]}, names checked."""
    plan = {}
    for experiment in config["experiments"]:
        try:
            jobs = experiment_jobs(config, experiment)
        except (UnknownNameError, ValueError) as error:
            stop(f"{CONFIG_SOURCE}: {error}", VERBOSE)
        plan[experiment] = [f"{job.key}/seed{job.seed}" for job in jobs]
    return plan


PLAN = job_plan()
# Row and legend order of each experiment's tables and figures (passed to `odebench table` and
# `odebench figure`, which then need not import torch to find it).
MODEL_ORDER = {e: ",".join(experiment_models(config, e)) for e in PLAN}


def run_summaries(wildcards):
    return [
        f"{RESULTS}/runs/{wildcards.experiment}/{run}/summary.json"
        for run in PLAN[wildcards.experiment]
    ]


def all_outputs():
    """The default targets: every table and figure, and what the report shows
    (report_outputs; with --report, checked to exist first)."""
    outputs = expand(
        [
            f"{RESULTS}/tables/{{experiment}}.csv",
            f"{RESULTS}/tables/{{experiment}}.md",
            f"{RESULTS}/tables/{{experiment}}.tex",
            f"{RESULTS}/figures/{{experiment}}.png",
            f"{RESULTS}/figures/{{experiment}}.pdf",
        ],
        experiment=list(PLAN),
    )
    return outputs + check_report_inputs(report_outputs())


# ---- `snakemake --report report.html`: one self-contained page (workflow/report/) ----------
# The claims ledger first (category "1. Claims ledger"; its counts on the landing page), then per
# experiment its table as HTML and CSV and its figure(s). Captions take the run facts from
# params.facts (REPORT_FACTS, resolved per experiment here) and the paper source from
# odebench/report/experiments.yaml (odebench.report.notes). The figure PNGs and table CSVs are
# marked report() as
# inputs of rule report_experiment, so the rules that make them keep their params unchanged.
REPORT_DIR = f"{RESULTS}/report"
REPORT_INFO = experiment_notes()
CLAIMS_CATEGORY = "1. Claims ledger"
# The ledger's counts per verdict (rule report_claims), shown on the report's first page.
LEDGER_COUNTS = f"{REPORT_DIR}/ledger_counts.html"
# Captions of files marked in input functions: Snakemake resolves a caption path against the
# rule file only for files listed directly, so these are resolved here.
CAPTIONS = {name: workflow.current_basedir.join(f"../report/{name}.rst")
            for name in ("table_csv", "figure", "adjoint", "claims_csv")}


def _plural(count, noun):
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def report_facts(experiment):
    """What was run for ``experiment`` (resolved: paper defaults + config), for the captions."""
    from odebench.tasks.experiments import format_value
    from odebench.tasks.run import experiment_task, seeds_of

    _, resolved = experiment_task(dict(config), experiment)
    if "iterations" in resolved:
        schedule = _plural(resolved["iterations"], "ES iteration")
    elif "epochs" in resolved:
        schedule = _plural(resolved["epochs"], "epoch")
    elif "train_steps" in resolved:
        schedule = _plural(resolved["train_steps"], "training step")
    else:
        schedule = "no training (measured at initialisation)"
    if "train_epochs" in resolved and "epochs" not in resolved:
        schedule += f", {_plural(resolved['train_epochs'], 'training epoch')}"
    sweep = "; ".join(f"{name} ∈ {{{', '.join(format_value(v) for v in values)}}}"
                      for name, values in resolved["sweep"].items())
    info = REPORT_INFO.get(experiment, {})
    return {
        "experiment": experiment,
        "profile": config["profile"],
        "device": config.get("device", "cpu"),
        "results_dir": RESULTS,
        "seeds": _plural(len(seeds_of(resolved["seeds"])), "seed"),
        "schedule": schedule,
        "setup": resolved.get("setup", "default"),
        "models": MODEL_ORDER[experiment].replace(",", ", "),
        "sweep": sweep,
        "runs": len(PLAN[experiment]),
        "category": info.get("category", "8. Other experiments"),
        "reproduces": info.get("reproduces", "no paper figure (an experiment of this config)"),
        "what": info.get("what", experiment),
    }


REPORT_FACTS = {experiment: report_facts(experiment) for experiment in PLAN}


def _category(wildcards):
    return REPORT_FACTS[wildcards.experiment]["category"]


def report_experiment_inputs(wildcards):
    """The experiment's figure PNG(s) and tidy CSV, marked for the report."""
    experiment = wildcards.experiment
    common = dict(category=_category, subcategory="{experiment}")
    inputs = {
        "md": f"{RESULTS}/tables/{experiment}.md",
        "csv": report(f"{RESULTS}/tables/{experiment}.csv", caption=CAPTIONS["table_csv"],
                      labels={"experiment": "{experiment}", "result": "table (CSV)"}, **common),
        "figure": report(f"{RESULTS}/figures/{experiment}.png", caption=CAPTIONS["figure"],
                         labels={"experiment": "{experiment}", "result": "figure"}, **common),
    }
    if experiment in ADJOINT_EXPERIMENTS:
        inputs["adjoint"] = report(
            f"{RESULTS}/figures/{experiment}_adjoint.png", caption=CAPTIONS["adjoint"],
            labels={"experiment": "{experiment}", "result": "adjoint-norm figure"}, **common)
    return inputs


def claims_outputs(wildcards):
    """claims.md and claims.csv of rule claims (workflow/rules/claims.smk), whatever its
    output names; asked only when that rule exists (see report_outputs)."""
    paths = [str(path) for path in rules.claims.output]
    md = next(path for path in paths if path.endswith(".md"))
    inputs = {"md": md}
    csv = [path for path in paths if path.endswith(".csv")]
    if csv:
        inputs["csv"] = report(csv[0], caption=CAPTIONS["claims_csv"],
                               category=CLAIMS_CATEGORY, subcategory="ledger",
                               labels={"result": "claims ledger (CSV)"})
    return inputs


def report_outputs():
    """What `snakemake --report` shows, as default targets: the claims ledger (when the
    workflow has a `claims` rule) and every experiment's report page."""
    claims = [f"{REPORT_DIR}/claims.html", LEDGER_COUNTS] if workflow.is_rule("claims") else []
    return claims + expand(f"{REPORT_DIR}/{{experiment}}.html", experiment=list(PLAN))


def _report_requested():
    """Whether this Snakemake call builds a report from existing results (--report without
    --report-after-run); Snakemake itself tells a Snakefile nothing about it."""
    args = sys.argv[1:]
    asked = any(arg == "--report" or arg.startswith("--report=") for arg in args)
    return asked and "--report-after-run" not in args


def check_report_inputs(outputs):
    """``outputs``, unchanged; under --report, first a clear error naming the targets to run
    when any result the report shows is missing (instead of Snakemake's 'File ... marked for
    report but does not exist' on the first one)."""
    if not _report_requested():
        return outputs
    wanted = list(outputs)
    for experiment in PLAN:
        wanted += [f"{RESULTS}/tables/{experiment}.csv", f"{RESULTS}/figures/{experiment}.png"]
        if experiment in ADJOINT_EXPERIMENTS:
            wanted.append(f"{RESULTS}/figures/{experiment}_adjoint.png")
    missing = [path for path in wanted if not Path(path).exists()]
    if not missing:
        return outputs
    configfiles = "".join(f" --configfile {os.path.relpath(path)}" for path in workflow.configfiles)
    run = f"snakemake --cores all{configfiles}"
    smoke = " (or `make smoke`)" if config["profile"] == "smoke" else ""
    if not Path(RESULTS).exists():
        what = f"no run of profile {config['profile']!r} exists yet ({RESULTS}/ is missing)"
    else:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        what = f"{len(missing)} of the {len(wanted)} results it shows are missing: {shown}"
    stop(
        f"cannot build the report: {what}.\n"
        f"Run the workflow first: `{run}`{smoke}; it builds only what is missing (the "
        f"report pages alone take seconds when the runs exist). Then: "
        f"`snakemake --report report.html{configfiles}`.",
        VERBOSE,
    )
