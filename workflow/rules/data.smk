# Stage 1: the resolved config every job reads, then data (download or generate) per experiment.


rule resolved_config:
    output:
        RESOLVED_CONFIG,
    params:
        text=yaml.safe_dump(dict(config), sort_keys=False),
    log:
        f"{RESULTS}/logs/resolved_config.log",
    run:
        from odebench.records.atomic import atomic_write_text

        atomic_write_text(output[0], params.text)


rule data:
    input:
        RESOLVED_CONFIG,
    output:
        f"{RESULTS}/data/{{experiment}}.json",
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/data/{{experiment}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} data --config {input} --experiment {wildcards.experiment} > {log} 2>&1"
