# Stage 2: one training job per experiment x model[@setting=value] x seed; each writes its
# run record. ES RL experiments have their own rule (rl.smk). The job's output goes to its log;
# once it is done, `odebench done-line` prints its run and key metrics to the terminal.
from odebench.report.targets import one_of, rl_threads

RL_THREADS = rl_threads(config, PLAN)  # {RL experiment: rollout workers}
TRAIN_EXPERIMENTS = [e for e in PLAN if e not in RL_THREADS]


wildcard_constraints:
    seed=r"\d+",
    experiment=r"[A-Za-z0-9_]+",


rule train:
    input:
        config=RESOLVED_CONFIG,
        data=f"{RESULTS}/data/{{experiment}}.json",
    output:
        summary=f"{RESULTS}/runs/{{experiment}}/{{model}}/seed{{seed}}/summary.json",
        epochs=f"{RESULTS}/runs/{{experiment}}/{{model}}/seed{{seed}}/epochs.csv",
    wildcard_constraints:
        experiment=one_of(TRAIN_EXPERIMENTS),
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/train/{{experiment}}/{{model}}/seed{{seed}}.log",
    threads: config.get("threads", 1)
    resources:
        gpu=config.get("gpu_per_job", 0),
        mem_mb=4000,
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} train --config {input.config} --experiment {wildcards.experiment} "
        "--model {wildcards.model} --seed {wildcards.seed} --threads {threads} > {log} 2>&1 && "
        "{params.cli} done-line {output.summary}"
