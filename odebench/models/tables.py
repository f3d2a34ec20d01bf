"""The papers' per-(setup, task) tables: setup and task names, input channels, time spans
and the (n, h) widths of every model a paper ran, and the errors for unknown names and options.

The bottom of the model-defaults layers: :mod:`~odebench.models.architectures` and
:mod:`~odebench.models.sizing` read these tables, :mod:`~odebench.models.defaults` re-exports
them with the gate defaults and option resolution on top.
"""

from __future__ import annotations

from odebench.models.registry import MODELS

SETUP_NAMES = ("hbnode2021", "nesterov2022")
TASKS = ("pointcloud", "mnist", "cifar10", "silverbox")
INPUT_CHANNELS = {"pointcloud": 2, "mnist": 1, "cifar10": 3, "silverbox": 1}  # c of each input
T_SPANS = {"hbnode2021": (0.0, 1.0),  # HBNODE Sec. 5.1 / App. E.3: t in [0, 1]
           "nesterov2022": (1.0, 2.0)}  # NesterovNODE Sec. 5.1 (+ code for images): [1, 2]
SILVERBOX_END = 63.0  # Silverbox init test: t up to 63 (code of both papers: arange(.., 64))

HB_MODELS = ("node", "anode", "sonode", "hbnode", "ghbnode")
NESTEROV_MODELS = (*HB_MODELS, "nesterovnode", "gnesterovnode")


class UnknownSetupError(ValueError):
    """A setup (or task) name that is not known; the message lists the valid ones."""


class UnknownTaskError(UnknownSetupError):
    """A task that a builder does not serve."""


class ModelOptionError(ValueError):
    """An option that does not exist, does not apply to the model, or has a bad value."""


def _table(models: tuple[str, ...], n: tuple[int, ...],
           h: tuple[int | None, ...] | None = None) -> dict[str, tuple[int, int | None]]:
    """One paper table's (n, h) rows, column by column in the paper's model order."""
    return dict(zip(models, zip(n, h or (None,) * len(n), strict=True), strict=True))


WIDTHS: dict[tuple[str, str], dict[str, tuple[int, int | None]]] = {
    # HBNODE Table 3 (n, h); footnote 5 p = n - c. Initialization h = 22 is unused: the
    # Silverbox f is a single linear layer (App. E.1), so h is None there.
    ("hbnode2021", "silverbox"): _table(HB_MODELS, (1, 2, 1, 1, 1)),
    ("hbnode2021", "pointcloud"): _table(HB_MODELS, (2, 3, 2, 2, 2), (20, 20, 13, 14, 14)),
    ("hbnode2021", "mnist"): _table(HB_MODELS, (1, 6, 5, 5, 6), (92, 64, 50, 50, 45)),
    ("hbnode2021", "cifar10"): _table(HB_MODELS, (3, 13, 12, 12, 12), (125, 64, 50, 51, 51)),
    # NesterovNODE Table 4 (n, h); footnote 1 p = n - c.
    ("nesterov2022", "silverbox"): _table(NESTEROV_MODELS, (1, 2, 1, 1, 1, 1, 1)),
    ("nesterov2022", "pointcloud"): _table(NESTEROV_MODELS, (2, 3, 2, 2, 2, 2, 2),
                                           (20, 20, 13, 14, 14, 14, 14)),
    ("nesterov2022", "mnist"): _table(NESTEROV_MODELS, (1, 6, 5, 5, 5, 5, 5),
                                      (92, 64, 50, 50, 50, 50, 50)),
    ("nesterov2022", "cifar10"): _table(NESTEROV_MODELS, (3, 13, 12, 12, 12, 12, 12),
                                        (125, 64, 50, 51, 51, 51, 51)),
}


def task_widths(setup: str, task: str) -> dict[str, tuple[int, int | None]]:
    """The (n, h) of every model that ``setup`` runs on ``task``."""
    if setup not in SETUP_NAMES:
        raise UnknownSetupError(f"unknown setup {setup!r} for {task}; valid: "
                                f"{', '.join(SETUP_NAMES)}")
    if task not in TASKS:
        raise UnknownTaskError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    return WIDTHS[(setup, task)]


def task_models(setup: str, task: str) -> list[str]:
    """Models that are both registered and run by ``setup`` on ``task``."""
    return [m for m in task_widths(setup, task) if m in MODELS]
