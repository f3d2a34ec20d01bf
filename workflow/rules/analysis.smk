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
        # exactly the planned runs (a folder trained by hand outside the plan is ignored)
        runs=lambda wildcards: PLAN[wildcards.experiment],
    log:
        f"{RESULTS}/logs/aggregate/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} aggregate --config {input.config} --experiment {wildcards.experiment} "
        "--runs {params.runs:q} > {log} 2>&1"
