# Shared helpers: the job plan (experiment x model x seed) resolved by the odebench package.
import sys

import yaml
from snakemake.exceptions import WorkflowError

from odebench.config import seeds_of
from odebench.tasks.run import UnknownNameError, experiment_models, experiment_task

# The odebench CLI of the interpreter that runs Snakemake (no dependence on PATH).
ODEBENCH = f"{sys.executable} -m odebench.cli"
RESULTS = config["results_dir"]
RESOLVED_CONFIG = f"{RESULTS}/config.yaml"


def job_plan():
    """{experiment: {"models": [...], "seeds": [...]}} with names checked against the setups."""
    plan = {}
    for experiment in config["experiments"]:
        try:
            _, resolved = experiment_task(config, experiment)
            plan[experiment] = {
                "models": experiment_models(config, experiment),
                "seeds": seeds_of(resolved["seeds"]),
            }
        except UnknownNameError as error:
            raise WorkflowError(f"config error: {error}")
    return plan


PLAN = job_plan()


def run_summaries(wildcards):
    job = PLAN[wildcards.experiment]
    return expand(
        f"{RESULTS}/runs/{wildcards.experiment}/{{model}}/seed{{seed}}/summary.json",
        model=job["models"],
        seed=job["seeds"],
    )


def all_outputs():
    return expand(
        [
            f"{RESULTS}/tables/{{experiment}}.csv",
            f"{RESULTS}/tables/{{experiment}}.md",
            f"{RESULTS}/figures/{{experiment}}.png",
            f"{RESULTS}/figures/{{experiment}}.pdf",
        ],
        experiment=list(PLAN),
    )
