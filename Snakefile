# odebench workflow. `snakemake --cores all` runs the offline smoke profile (config/smoke.yaml);
# `snakemake --cores all --configfile config/paper.yaml` runs the papers' settings.
from pathlib import Path

import yaml
from snakemake.utils import min_version, update_config, validate

min_version("9.0")

# A `configfile:` directive would be deep-merged under any --configfile, leaking smoke values
# into other profiles; so the smoke profile is loaded only when no config file was given.
if "profile" not in config:
    _overrides = dict(config)  # --config key=value pairs, applied on top of the smoke profile
    config.clear()
    config.update(yaml.safe_load(Path(workflow.basedir, "config/smoke.yaml").read_text()))
    update_config(config, _overrides)


from snakemake.exceptions import WorkflowError

from odebench.config import ConfigError, check_experiments_listed

try:  # before the schema: its dump would bury the one line that matters
    check_experiments_listed(config, "config")
except ConfigError as error:
    raise WorkflowError(f"config error: {error}")

validate(config, "config/schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/rl.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/claims.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
