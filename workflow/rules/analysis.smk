# Stage 3: aggregate the run records of an experiment into tidy CSV files.


rule aggregate:
    input:
        config=RESOLVED_CONFIG,
        runs=run_summaries,
    output:
        epochs=f"{RESULTS}/aggregate/{{experiment}}_epochs.csv",
        runs=f"{RESULTS}/aggregate/{{experiment}}_runs.csv",
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/aggregate/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} aggregate --config {input.config} --experiment {wildcards.experiment} "
        "> {log} 2>&1"
