# Stage 2, ES RL: one job per experiment x policy@env=<id> x seed, declaring as many threads as
# it has rollout workers (experiments.<id>.workers); the other experiments train in train.smk.
# RL_THREADS ({experiment: workers}) is defined in train.smk.


rule rl_train:
    input:
        config=RESOLVED_CONFIG,
        data=f"{RESULTS}/data/{{experiment}}.json",
    output:
        summary=f"{RESULTS}/runs/{{experiment}}/{{model}}/seed{{seed}}/summary.json",
        epochs=f"{RESULTS}/runs/{{experiment}}/{{model}}/seed{{seed}}/epochs.csv",
    wildcard_constraints:
        experiment=one_of(RL_THREADS),
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/train/{{experiment}}/{{model}}/seed{{seed}}.log",
    threads: lambda wildcards: RL_THREADS[wildcards.experiment]
    resources:
        gpu=0,
        mem_mb=2000,
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} train --config {input.config} --experiment {wildcards.experiment} "
        "--model {wildcards.model} --seed {wildcards.seed} --threads 1 > {log} 2>&1 && "
        "{params.cli} done-line {output.summary}"
