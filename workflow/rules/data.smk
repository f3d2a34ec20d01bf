# Stage 1: the resolved config every job reads, then data (download or generate) per experiment.
from odebench.records.resolved_config import drop_if_stale

RESOLVED_TEXT = yaml.safe_dump(dict(config), sort_keys=False)
# A results folder's config.yaml that differs from this config (a fresh clone's committed copy
# from another commit, a config edited since) is removed here, so the rule below writes it anew
# and no job reads stale settings: Snakemake's own params trigger needs .snakemake metadata,
# which a fresh clone lacks.
_stale = drop_if_stale(RESOLVED_CONFIG, RESOLVED_TEXT)
if _stale:
    print(_stale, file=sys.stderr)


rule resolved_config:
    output:
        RESOLVED_CONFIG,
    params:
        text=RESOLVED_TEXT,
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
