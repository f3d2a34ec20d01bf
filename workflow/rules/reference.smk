# Reference pieces (a config's `pieces:`, e.g. config/reference.yaml): each piece is a target
# that trains its runs and then records the machine, versions and wall time of the piece,
#   snakemake --cores 2 results/reference/papers/pieces/<name>.json --configfile config/reference.yaml
# (`make reference PIECE=<name>`), so a long reference run resumes and commits piece by piece.
from odebench.report.targets import one_of
from odebench.tasks.pieces import check_pieces, piece_names, piece_summaries

try:
    check_pieces(config)
except ValueError as error:
    stop(f"{CONFIG_SOURCE}: {error}", VERBOSE)


rule piece:
    input:
        config=RESOLVED_CONFIG,
        # ancient: a fresh clone checks runs/ out after pieces/, and newer summaries must not
        # rewrite a finished piece's record with this machine's details (to rerun a piece,
        # remove its record and the run folders to retrain)
        summaries=ancient(lambda wildcards: piece_summaries(config, wildcards.piece, RESULTS)),
    output:
        f"{RESULTS}/pieces/{{piece}}.json",
    wildcard_constraints:
        piece=one_of(piece_names(config)),
    params:
        cli=ODEBENCH,
    log:
        f"{RESULTS}/logs/pieces/{{piece}}.log",
    conda:
        "../envs/odebench.yaml"
    shell:
        "{params.cli} piece --config {input.config} --name {wildcards.piece} --out {output} "
        "2> {log}"
