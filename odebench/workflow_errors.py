"""Errors the Snakefile finds while Snakemake parses it (config typos, a report asked for
before any run): a few lines naming the key or file and what to do, no traceback.

Snakemake prints a :class:`WorkflowError` raised in a Snakefile with the workflow frames it
passed through, and ``snakemake.utils.validate`` with the whole schema. So without
``--verbose`` (or ``ODEBENCH_DEBUG=1``) :func:`stop` prints the message itself and ends
Snakemake with exit status 1; with them it raises the :class:`WorkflowError`, shown in full.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from odebench.errors import debug_requested

VERBOSE_HINT = "(`snakemake --verbose ...` or ODEBENCH_DEBUG=1 shows Snakemake's full report)"


def verbose_requested(workflow: Any) -> bool:
    """True under ``snakemake --verbose`` or with ``ODEBENCH_DEBUG`` set."""
    settings = getattr(workflow, "output_settings", None)
    return bool(getattr(settings, "verbose", False)) or debug_requested()


def stop(message: str, verbose: bool, hint: str = "") -> NoReturn:
    """End Snakemake at parse time: ``odebench: error: <message>`` (and ``hint`` on a line of
    its own) on stderr and exit status 1; with ``verbose``, raise Snakemake's WorkflowError."""
    from snakemake.exceptions import WorkflowError

    if verbose:
        raise WorkflowError(message)
    print(f"odebench: error: {message}" + (f"\n{hint}" if hint else ""), file=sys.stderr,
          flush=True)
    raise SystemExit(1)


def config_source(workflow: Any, default: str) -> str:
    """Where the config came from: the ``--configfile`` file(s), relative to the working
    directory where shorter (``default`` when none was given), and ``--config`` if used."""
    names = [_short(Path(path)) for path in workflow.configfiles] or [default]
    if getattr(getattr(workflow, "config_settings", None), "config", None):
        names.append("--config")
    return " + ".join(names)


def _short(path: Path) -> str:
    relative = os.path.relpath(path)
    return relative if len(relative) <= len(str(path)) else str(path)
