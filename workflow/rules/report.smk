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
        models=lambda wildcards: MODEL_ORDER[wildcards.experiment],
    log:
        f"{RESULTS}/logs/table/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} table --config {input.config} --experiment {wildcards.experiment} "
        "--models {params.models} > {log} 2>&1"


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
        models=lambda wildcards: MODEL_ORDER[wildcards.experiment],
    log:
        f"{RESULTS}/logs/figure/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} figure --config {input.config} --experiment {wildcards.experiment} "
        "--models {params.models} > {log} 2>&1"


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
        models=lambda wildcards: MODEL_ORDER[wildcards.experiment],
    log:
        f"{RESULTS}/logs/figure/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} figure --config {input.config} --experiment {wildcards.experiment} "
        "--models {params.models} > {log} 2>&1"


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


# `snakemake --report report.html` (workflow/report/; functions and run facts: common.smk):
# per experiment its table as HTML, with its CSV and figure(s) marked as inputs, and the
# claims ledger; the first page shows the run facts and the ledger's counts, not the ledger.


rule report_experiment:
    # tables/<experiment>.md as HTML (Snakemake's report shows HTML inline, CSV only as a
    # download), with the experiment's figures and CSV attached to the report.
    input:
        unpack(report_experiment_inputs),
    output:
        html=report(
            f"{REPORT_DIR}/{{experiment}}.html",
            caption="../report/table.rst",
            category=_category,
            subcategory="{experiment}",
            labels={"experiment": "{experiment}", "result": "table"},
        ),
    wildcard_constraints:
        experiment=one_of(PLAN),
    params:
        facts=lambda wildcards: REPORT_FACTS[wildcards.experiment],
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/report/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} html {input.md} {output.html} > {log} 2>&1"


rule report_claims:
    # The claims ledger as HTML, a result of its own; and its counts per verdict (from
    # claims.csv), a short fragment that the report's first page (workflow.rst) includes.
    input:
        unpack(claims_outputs),
    output:
        html=report(
            f"{REPORT_DIR}/claims.html",
            caption="../report/claims.rst",
            category=CLAIMS_CATEGORY,
            subcategory="ledger",
            labels={"result": "claims ledger"},
        ),
        counts=LEDGER_COUNTS,
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/report/claims.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "({params.cli} html {input.md} {output.html} && "
        "{params.cli} ledger-counts {input.csv} {output.counts}) > {log} 2>&1"
