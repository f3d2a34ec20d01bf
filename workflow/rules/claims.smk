# Stage 5: the claims ledger (odebench.report.claims_data) evaluated on every experiment's
# aggregate: results/<profile>/claims.{csv,md}, one verdict per claim of the papers.


rule claims:
    input:
        config=RESOLVED_CONFIG,
        aggregates=expand(
            [
                f"{RESULTS}/aggregate/{{experiment}}_epochs.csv",
                f"{RESULTS}/aggregate/{{experiment}}_runs.csv",
            ],
            experiment=list(PLAN),
        ),
    output:
        csv=f"{RESULTS}/claims.csv",
        md=f"{RESULTS}/claims.md",
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/claims.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} claims --config {input.config} > {log} 2>&1"
