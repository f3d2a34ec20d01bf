# Stage 4: tables and figures per experiment; `report` rebuilds them from existing records.
from odebench.report.targets import adjoint_experiments, one_of

ADJOINT_EXPERIMENTS = adjoint_experiments(config, PLAN)
PLAIN_EXPERIMENTS = [e for e in PLAN if e not in ADJOINT_EXPERIMENTS]


rule table:
    input:
        config=RESOLVED_CONFIG,
        epochs=f"{RESULTS}/aggregate/{{experiment}}_epochs.csv",
        runs=f"{RESULTS}/aggregate/{{experiment}}_runs.csv",
    output:
        csv=f"{RESULTS}/tables/{{experiment}}.csv",
        md=f"{RESULTS}/tables/{{experiment}}.md",
        tex=f"{RESULTS}/tables/{{experiment}}.tex",
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/table/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} table --config {input.config} --experiment {wildcards.experiment} > {log} 2>&1"


rule figure:
    # Experiments without an adjoint-norm profile (the others: rule figure_with_adjoint).
    input:
        config=RESOLVED_CONFIG,
        epochs=f"{RESULTS}/aggregate/{{experiment}}_epochs.csv",
        runs=f"{RESULTS}/aggregate/{{experiment}}_runs.csv",
    output:
        png=f"{RESULTS}/figures/{{experiment}}.png",
        pdf=f"{RESULTS}/figures/{{experiment}}.pdf",
    wildcard_constraints:
        experiment=one_of(PLAIN_EXPERIMENTS),
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/figure/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} figure --config {input.config} --experiment {wildcards.experiment} > {log} 2>&1"


rule figure_with_adjoint:
    # Sequence experiments: the same `odebench figure` call draws the main figure and, from the
    # adjoint_norm_<k> columns, figures/<experiment>_adjoint.{png,pdf} (HBNODE Fig. 4).
    input:
        config=RESOLVED_CONFIG,
        epochs=f"{RESULTS}/aggregate/{{experiment}}_epochs.csv",
        runs=f"{RESULTS}/aggregate/{{experiment}}_runs.csv",
    output:
        png=f"{RESULTS}/figures/{{experiment}}.png",
        pdf=f"{RESULTS}/figures/{{experiment}}.pdf",
        adjoint_png=f"{RESULTS}/figures/{{experiment}}_adjoint.png",
        adjoint_pdf=f"{RESULTS}/figures/{{experiment}}_adjoint.pdf",
    wildcard_constraints:
        experiment=one_of(ADJOINT_EXPERIMENTS),
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/figure/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} figure --config {input.config} --experiment {wildcards.experiment} > {log} 2>&1"


rule adjoint_figures:
    # `snakemake adjoint_figures`: only the adjoint-norm figures of the sequence experiments
    # (the default target builds them too, as outputs of figure_with_adjoint).
    input:
        expand(
            [
                f"{RESULTS}/figures/{{experiment}}_adjoint.png",
                f"{RESULTS}/figures/{{experiment}}_adjoint.pdf",
            ],
            experiment=ADJOINT_EXPERIMENTS,
        ),


rule report:
    # No run records as inputs: regenerates tables and figures from whatever runs exist,
    # without training (`snakemake --cores 1 report`).
    input:
        config=RESOLVED_CONFIG,
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/report.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} report --config {input.config} > {log} 2>&1"
