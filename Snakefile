# odebench workflow. `snakemake --cores all` runs the offline smoke profile (config/smoke.yaml);
# `snakemake --cores all --configfile config/paper.yaml` runs the papers' settings.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/smoke.yaml"


validate(config, "config/schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
