# odebench workflow. `snakemake --cores all` runs the offline smoke profile (config/smoke.yaml);
# `snakemake --cores all --configfile config/paper.yaml` runs the papers' settings.
import os
from pathlib import Path

import yaml
from snakemake.utils import min_version, update_config, validate

from odebench.config import ConfigError, check_experiments_listed
from odebench.config import validate as check_schema
from odebench.workflow_errors import VERBOSE_HINT, config_source, stop, verbose_requested

min_version("9.0")

# An expected user error (config typo, report asked for before any run) is a few lines naming
# the key or file; `snakemake --verbose` (or ODEBENCH_DEBUG=1) shows Snakemake's full report.
VERBOSE = verbose_requested(workflow)
SMOKE = Path(workflow.basedir, "config/smoke.yaml")

# A `configfile:` directive would be deep-merged under any --configfile, leaking smoke values
# into other profiles; so the smoke profile is loaded only when no config file was given.
if not workflow.configfiles and "profile" not in config:
    if not SMOKE.is_file():
        stop(f"no config: {SMOKE} is missing; pass one with --configfile <file>", VERBOSE)
    _overrides = dict(config)  # --config key=value pairs, applied on top of the smoke profile
    config.clear()
    config.update(yaml.safe_load(SMOKE.read_text()))
    update_config(config, _overrides)
CONFIG_SOURCE = config_source(workflow, default=os.path.relpath(SMOKE))

if not VERBOSE:  # our one-line check; with --verbose, Snakemake's validate shows the schema
    try:
        check_experiments_listed(config, CONFIG_SOURCE)
        check_schema(config, Path(workflow.basedir, "config/schema.yaml"), CONFIG_SOURCE)
    except ConfigError as error:
        stop(str(error), VERBOSE, hint=VERBOSE_HINT)
validate(config, "config/schema.yaml")  # sets the schema's defaults (offline, device, ...)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/rl.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/reference.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
