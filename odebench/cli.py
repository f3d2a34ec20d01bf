"""``odebench`` command line: the commands the Snakemake rules call."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from odebench.config import REPO_ROOT, ConfigError, load_config


def default_config() -> str:
    """``config/smoke.yaml`` of the working directory when it has one, else the checkout's."""
    local = Path("config/smoke.yaml")
    return str(local if local.is_file() else REPO_ROOT / "config" / "smoke.yaml")


def _train(args: argparse.Namespace) -> None:
    from odebench.tasks.run import run_one

    if args.seed < 0:  # torch.manual_seed would take it, and the run folder be seed-1
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    config = load_config(args.config)
    summary = run_one(config, args.experiment, args.model, args.seed,
                      results_dir=args.results_dir, threads=args.threads,
                      log=(lambda _msg: None) if args.quiet else print, notice=print)
    print(f"{args.experiment}/{args.model}/seed{args.seed}: {summary['status']}")


def _data(args: argparse.Namespace) -> None:
    from odebench.tasks.run import prepare_data

    config = load_config(args.config)
    for experiment in _experiments(args, config):
        print(f"{experiment}: {prepare_data(config, experiment, args.results_dir)}")


def _experiments(args: argparse.Namespace, config: dict[str, Any]) -> list[str]:
    configured = list(config.get("experiments", {}))
    chosen = args.experiment or configured
    for experiment in chosen:
        if experiment not in configured:
            raise ConfigError(f"unknown experiment {experiment!r}; valid: "
                              f"{', '.join(configured) or '(none configured)'}")
    return chosen


def _report_step(step_name: str, with_order: bool = True, planned: bool = False):
    """A handler running ``odebench.report.build.<step_name>`` (imported on use: it loads
    pandas and matplotlib, which training jobs do not need); ``planned``: the step reads run
    folders, only those the config plans (``--runs``, else computed from the config)."""
    def handler(args: argparse.Namespace) -> None:
        from odebench.report import build

        step: Callable[..., dict[str, Path]] = getattr(build, step_name)
        config = load_config(args.config)
        results_dir = Path(args.results_dir or config["results_dir"])
        experiments = _experiments(args, config)
        given = getattr(args, "models", None)
        if given and len(experiments) != 1:
            raise ConfigError("--models gives one experiment's model order: name exactly one "
                              "--experiment with it")
        if planned and getattr(args, "runs", None) and len(experiments) != 1:
            raise ConfigError("--runs lists one experiment's planned runs: name exactly one "
                              "--experiment with it")
        missing: list[str] = []  # experiments skipped for lack of runs
        for experiment in experiments:
            order = given.split(",") if given else None
            extra = ({"model_order": order or _model_order(config, experiment)}
                     if with_order else {})
            if planned:
                extra["runs"] = args.runs or planned_runs(config, experiment)
            try:
                outputs = step(results_dir, experiment, **extra)
            except build.NoRunsError as error:
                if len(experiments) == 1:
                    raise
                missing.append(experiment)
                print(f"{experiment}: skipped: {error}")
                continue
            print(f"{experiment}: " + ", ".join(str(p) for p in outputs.values()))
        if missing and len(missing) == len(experiments):
            raise build.NoRunsError(f"no run records for any of the {len(experiments)} "
                                    f"experiments under {results_dir / 'runs'}; train first "
                                    "(`snakemake --cores all`, or `odebench train`)")
        if missing:
            print(f"{args.command}: built {len(experiments) - len(missing)} of "
                  f"{len(experiments)} experiments; skipped for lack of runs: "
                  f"{', '.join(missing)}")
    return handler


def planned_runs(config: dict[str, Any], experiment: str) -> list[str]:
    """The ``<run>/seed<k>`` folders the config plans for ``experiment`` (the only runs that
    reach aggregates, tables, figures and claims)."""
    from odebench.tasks.run import experiment_jobs

    return [f"{job.key}/seed{job.seed}" for job in experiment_jobs(config, experiment)]


def _model_order(config: dict[str, Any], experiment: str) -> list[str] | None:
    """Table/figure order: the experiment's models as configured (registry order)."""
    from odebench.tasks.run import experiment_models

    try:
        return experiment_models(config, experiment)
    except ValueError:
        return config["experiments"][experiment].get("models")


def _plan(args: argparse.Namespace) -> None:
    from odebench.config import seeds_of
    from odebench.tasks.run import experiment_models, experiment_task

    config = load_config(args.config)
    if args.markdown:
        from odebench.tasks.plan_table import plan_markdown

        print(plan_markdown(config, _experiments(args, config)), end="")
        return
    for experiment in _experiments(args, config):
        task, resolved = experiment_task(config, experiment)
        models = experiment_models(config, experiment)
        sweep = "".join(f"; sweep {k} = {v}" for k, v in resolved["sweep"].items())
        print(f"{experiment} (task {task.NAME}, setup "
              f"{resolved['setup']}): models {', '.join(models)}; seeds "
              f"{seeds_of(resolved['seeds'])}{sweep}")


def _cost(args: argparse.Namespace) -> None:
    """Time a slice of every job and scale it to the profile: results/<profile>/cost.{csv,md}."""
    from odebench.tasks.cost import measure_profile

    config = load_config(args.config)
    results_dir = Path(args.results_dir or config["results_dir"])
    paths = measure_profile(config, _experiments(args, config), args.slice, args.cores,
                            results_dir, min_seconds=args.min_seconds)
    print(paths["md"].read_text())
    print("cost: " + ", ".join(str(p) for p in paths.values()))


def _html(args: argparse.Namespace) -> None:
    """A table's (or the claims ledger's) Markdown as an HTML fragment for the report."""
    from odebench.report.html import write_html

    print(f"html: {write_html(args.markdown, args.out)}")


def _ledger_counts(args: argparse.Namespace) -> None:
    """The claims ledger's counts per verdict as an HTML fragment (the report's first page)."""
    from odebench.report.landing import write_counts

    print(f"ledger-counts: {write_counts(args.ledger, args.out)}")


def _rl_params(args: argparse.Namespace) -> None:
    """ES RL policies' widths and parameter counts per environment (matched to ODEtoODE)."""
    from odebench.rl.envs import env_dims
    from odebench.rl.matching import PAPER_ENV_DIMS, parameter_table

    envs = ({env: env_dims(env) for env in args.env} if args.env else PAPER_ENV_DIMS)
    print(parameter_table(envs).to_string(index=False))


def _done_line(args: argparse.Namespace) -> None:
    """A finished job's run and key metrics, from its summary.json (echoed by the workflow)."""
    from odebench.records.done_line import done_line

    print(done_line(args.run), flush=True)


def _claims(args: argparse.Namespace) -> None:
    """The claims ledger on the profile's aggregates: results/<profile>/claims.{csv,md}."""
    from odebench.report.claims import build_claims

    config = load_config(args.config)
    results_dir = Path(args.results_dir or config["results_dir"])
    experiments = list(config.get("experiments", {}))
    outputs = build_claims(results_dir, experiments, str(config.get("profile", "")),
                           plans={e: planned_runs(config, e) for e in experiments},
                           toy=config.get("scale") == "toy")
    print("claims: " + ", ".join(str(p) for p in outputs.values()))


def _compare(args: argparse.Namespace) -> None:
    """The results folder against the reference, per table cell and claim: compare.{csv,md}."""
    from odebench.report.compare import compare, summary_lines, write_compare

    config = load_config(args.config)
    results_dir = Path(args.results_dir or config["results_dir"])
    reference = Path(args.reference or "results/reference/papers")
    if args.reference is None and not reference.is_dir():
        reference = REPO_ROOT / reference  # the checkout's committed reference
    notes: list[str] = []
    cells, claims = compare(results_dir, reference, _experiments(args, config),
                            config=args.config, log=notes.append)
    paths = write_compare(results_dir, reference, cells, claims, notes)
    print("\n".join([*notes, *summary_lines(cells, claims)]))
    print("compare: " + ", ".join(str(p) for p in paths.values()))


def _piece(args: argparse.Namespace) -> None:
    """A finished reference piece's record: pieces/<name>.json (runs, machine, wall time)."""
    from odebench.tasks.pieces import piece_record, write_piece_record

    config = load_config(args.config)
    results_dir = Path(args.results_dir or config["results_dir"])
    path = write_piece_record(config, args.name, results_dir, args.out)
    record = piece_record(config, args.name, results_dir)
    print(f"piece {args.name}: {record['runs']} runs {record['statuses']}, span "
          f"{record['span_hours']} h, job time {record['job_hours']} h -> {path}")


def _reference_status(args: argparse.Namespace) -> None:
    """The reference's pieces, tables and ledger counts as Markdown (README quotes it)."""
    from odebench.report.reference_status import reference_status

    config = load_config(args.config)
    print(reference_status(config, Path(args.results_dir or config["results_dir"]),
                           headline=True), end="")


def _report_page(args: argparse.Namespace) -> None:
    """report.html and figures/claims_overview.png from tables, figures and claims.csv."""
    from odebench.report.report_page import write_report_page

    config = load_config(args.config)
    paths = write_report_page(config, Path(args.results_dir or config["results_dir"]))
    print("report-page: " + ", ".join(map(str, paths)))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="odebench", description="odebench: the commands the Snakemake rules call (train, "
        "data, aggregate, table, figure, report, claims, ...), also usable by hand.")
    top.add_argument("--debug", action="store_true",
                     help="show the full traceback of an error (also: ODEBENCH_DEBUG=1)")
    sub = top.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, handler, experiments: bool = True):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--config", default=default_config(),
                         help="workflow config (YAML); default: %(default)s")
        cmd.add_argument("--results-dir", default=None,
                         help="override the config's results_dir")
        if experiments:
            cmd.add_argument("--experiment", action="append",
                             help="experiment id (repeatable); default: every configured one")
        cmd.set_defaults(handler=handler)
        return cmd

    train = command("train", "train one (experiment, model, seed); write its run record",
                    _train, experiments=False)
    train.add_argument("--experiment", required=True,
                       help="experiment id of the config (`odebench plan` lists them)")
    train.add_argument("--model", required=True,
                       help="model, or model@setting=value for a sweep experiment "
                            "(e.g. hbnode@tol=0.1)")
    train.add_argument("--seed", type=int, required=True,
                       help="seed (a non-negative integer; the config's seeds are the planned "
                            "ones)")
    train.add_argument("--threads", type=int, default=None, help="torch threads for this job")
    train.add_argument("--quiet", action="store_true",
                       help="no per-epoch progress lines (loss, NFE, ETA); the final line "
                            "with the test metrics and the notices still print")

    command("data", "fetch or generate data; write results/<profile>/data/<experiment>.json",
            _data)
    runs_help = ("the planned run folders <model>[@<setting>=<value>]/seed<k> to read "
                 "(default: the config's plan; folders outside it are ignored, and said so)")
    aggregate = command("aggregate", "collect the planned run records into "
                        "aggregate/<experiment>_{epochs,runs}.csv",
                        _report_step("aggregate", with_order=False, planned=True))
    aggregate.add_argument("--runs", nargs="+", default=None, help=runs_help)
    for name, help_text, step in (
            ("table", "tables/<experiment>.csv, .md and .tex from the aggregate", "build_table"),
            ("figure", "figures/<experiment>.png and .pdf from the aggregate", "build_figure"),
            ("report", "aggregate + tables + figures from existing run records, no training",
             "build_experiment_report")):
        ordered = command(name, help_text, _report_step(step, planned=step.endswith("report")))
        if name == "report":
            ordered.add_argument("--runs", nargs="+", default=None, help=runs_help)
        ordered.add_argument("--models", default=None,
                             help="model order of the rows and legends, comma-separated "
                                  "(default: the experiment's models as configured; the "
                                  "workflow passes it so that these jobs need no torch)")
    plan = command("plan", "print the experiments, models and seeds of a config", _plan)
    plan.add_argument("--markdown", action="store_true",
                      help="as a Markdown table with each experiment's length and sweep "
                           "(the form README.md quotes)")
    command("claims", "claims.csv and claims.md: the papers' claims checked on the "
            "aggregates", _claims, experiments=False)
    compare = command("compare", "the results folder against the reference per table cell "
                      "(mean outside the reference's spread) and per claim: compare.csv, "
                      "compare.md", _compare)
    compare.add_argument("--reference", default=None,
                         help="the reference results folder; default: results/reference/papers"
                              " (of the working directory, else of the checkout)")
    cost = command("cost", "estimate a profile's cost: every job run for a slice of its "
                   "length, timed and scaled (cost.csv, cost.md)", _cost)
    cost.add_argument("--slice", type=int, default=2,
                      help="length units (epochs, ES iterations, ...) each job runs; default 2")
    cost.add_argument("--min-seconds", type=float, default=10.0,
                      help="rerun a slice longer until it takes this long; default 10")
    cost.add_argument("--cores", type=int, default=16,
                      help="cores the wall-time estimate assumes; default 16")
    html = sub.add_parser("html", help="a table's Markdown as an HTML fragment (for "
                          "`snakemake --report`)")
    html.add_argument("markdown", help="the .md file (tables/<experiment>.md, claims.md)")
    html.add_argument("out", help="the .html file to write")
    html.set_defaults(handler=_html)
    counts = sub.add_parser("ledger-counts", help="the claims ledger's counts per verdict as "
                            "an HTML fragment (the first page of `snakemake --report`)")
    counts.add_argument("ledger", help="the claims ledger (results/<profile>/claims.csv)")
    counts.add_argument("out", help="the .html file to write")
    counts.set_defaults(handler=_ledger_counts)
    command("report-page", "one static HTML page (report.html): what the runs are, the "
            "claims by verdict (figures/claims_overview.png), the ledger, every table and "
            "figure; no training", _report_page, experiments=False)
    command("reference-status", "a reference profile's pieces (runs, wall time, machine), "
            "tables and claims counts, as Markdown", _reference_status, experiments=False)
    piece = command("piece", "a finished reference piece's record (pieces/<name>.json: its "
                    "runs, machine, versions, wall time)", _piece, experiments=False)
    piece.add_argument("--name", required=True, help="the piece (the config's pieces:)")
    piece.add_argument("--out", default=None,
                       help="file to write; default: <results_dir>/pieces/<name>.json")
    params = sub.add_parser("rl-params", help="ES RL policies: width and parameter count per "
                            "environment, baselines matched to ODEtoODE (not smaller)")
    params.add_argument("--env", action="append",
                        help="environment id (repeatable); default: the paper's Gym tasks")
    params.set_defaults(handler=_rl_params)
    done = sub.add_parser("done-line", help="one line for a finished job: its run and key "
                          "metrics, from its summary.json (the workflow prints it per job)")
    done.add_argument("run", help="the run folder, or its summary.json")
    done.set_defaults(handler=_done_line)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; an expected fault is one ``odebench: error:`` line and exit code 2
    (``--debug`` or ODEBENCH_DEBUG=1: its traceback), Ctrl-C exit code 130."""
    from odebench.errors import debug_requested, error_line

    args = parser().parse_args(argv)
    debug = debug_requested(args.debug)
    try:
        args.handler(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("odebench: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:
        # ConfigError, unknown names, solver settings, missing folders, no runs, permission,
        # full disk, unreadable checkpoints: one line (other exceptions are bugs: traceback).
        if debug:
            raise
        print(f"odebench: error: {error_line(exc)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
