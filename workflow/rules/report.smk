# Stage 4: tables and figures per experiment; `report` rebuilds them from existing records.


rule table:
    input:
        config=RESOLVED_CONFIG,
        epochs=f"{RESULTS}/aggregate/{{experiment}}_epochs.csv",
        runs=f"{RESULTS}/aggregate/{{experiment}}_runs.csv",
    output:
        csv=f"{RESULTS}/tables/{{experiment}}.csv",
        md=f"{RESULTS}/tables/{{experiment}}.md",
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/table/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} table --config {input.config} --experiment {wildcards.experiment} > {log} 2>&1"


rule figure:
    input:
        config=RESOLVED_CONFIG,
        epochs=f"{RESULTS}/aggregate/{{experiment}}_epochs.csv",
        runs=f"{RESULTS}/aggregate/{{experiment}}_runs.csv",
    output:
        png=f"{RESULTS}/figures/{{experiment}}.png",
        pdf=f"{RESULTS}/figures/{{experiment}}.pdf",
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/figure/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} figure --config {input.config} --experiment {wildcards.experiment} > {log} 2>&1"


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
