# Shared helpers: the job plan (experiment x model x seed) resolved by the odebench package.
import sys

import yaml
from snakemake.exceptions import WorkflowError

from odebench.tasks.run import UnknownNameError, experiment_jobs

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
            raise WorkflowError(f"config error: {error}")
        plan[experiment] = [f"{job.key}/seed{job.seed}" for job in jobs]
    return plan


PLAN = job_plan()


def run_summaries(wildcards):
    return [
        f"{RESULTS}/runs/{wildcards.experiment}/{run}/summary.json"
        for run in PLAN[wildcards.experiment]
    ]


def all_outputs():
    return expand(
        [
            f"{RESULTS}/tables/{{experiment}}.csv",
            f"{RESULTS}/tables/{{experiment}}.md",
            f"{RESULTS}/tables/{{experiment}}.tex",
            f"{RESULTS}/figures/{{experiment}}.png",
            f"{RESULTS}/figures/{{experiment}}.pdf",
        ],
        experiment=list(PLAN),
    )
