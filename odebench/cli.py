"""``odebench`` command line: the commands the Snakemake rules call."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from odebench.config import ConfigError, load_config

DEFAULT_CONFIG = "config/smoke.yaml"


def _train(args: argparse.Namespace) -> None:
    from odebench.tasks.run import run_one

    config = load_config(args.config)
    summary = run_one(config, args.experiment, args.model, args.seed,
                      results_dir=args.results_dir,
                      log=(lambda _msg: None) if args.quiet else print)
    print(f"{args.experiment}/{args.model}/seed{args.seed}: {summary['status']}")


def _report(args: argparse.Namespace) -> None:
    from odebench.report.build import build_experiment_report

    config = load_config(args.config)
    results_dir = Path(args.results_dir or config["results_dir"])
    experiments = args.experiment or list(config.get("experiments", {}))
    for experiment in experiments:
        if experiment not in config.get("experiments", {}):
            raise ConfigError(f"unknown experiment {experiment!r}; valid: "
                              f"{', '.join(config.get('experiments', {}))}")
        order = config["experiments"][experiment].get("models")
        outputs = build_experiment_report(results_dir, experiment, model_order=order)
        print(f"{experiment}: " + ", ".join(str(p) for p in outputs.values()))


def _plan(args: argparse.Namespace) -> None:
    from odebench.config import seeds_of
    from odebench.tasks.run import experiment_models, experiment_task

    config = load_config(args.config)
    for experiment in config.get("experiments", {}):
        _, resolved = experiment_task(config, experiment)
        models = experiment_models(config, experiment)
        print(f"{experiment} (setup {resolved['setup']}): models {', '.join(models)}; "
              f"seeds {seeds_of(resolved['seeds'])}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="odebench", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train one (experiment, model, seed); write its record")
    train.add_argument("--config", default=DEFAULT_CONFIG)
    train.add_argument("--experiment", required=True)
    train.add_argument("--model", required=True)
    train.add_argument("--seed", type=int, required=True)
    train.add_argument("--results-dir", default=None,
                       help="override the config's results_dir (must exist)")
    train.add_argument("--quiet", action="store_true", help="no per-epoch progress lines")
    train.set_defaults(handler=_train)

    report = sub.add_parser("report", help="tables and figures from existing run records")
    report.add_argument("--config", default=DEFAULT_CONFIG)
    report.add_argument("--experiment", action="append",
                        help="experiment id (repeatable); default: every configured one")
    report.add_argument("--results-dir", default=None)
    report.set_defaults(handler=_report)

    plan = sub.add_parser("plan", help="print the experiments, models and seeds of a config")
    plan.add_argument("--config", default=DEFAULT_CONFIG)
    plan.set_defaults(handler=_plan)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.handler(args)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        # ConfigError, unknown names, solver settings, missing folders, no runs: one line.
        print(f"odebench: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
