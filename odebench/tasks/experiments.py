"""EXPERIMENTS: named experiments = a task, a paper setup, optional models and a sweep.

A config entry ``experiments.<id>`` overrides any part; ids not listed here need ``task``.
A sweep runs every model once per value of one setting; its runs live in
``runs/<id>/<model>@<setting>=<value>/seed<k>/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HB_MODELS = ["node", "anode", "sonode", "hbnode", "ghbnode"]
ALL_MODELS = [*HB_MODELS, "nesterovnode", "gnesterovnode"]


@dataclass(frozen=True)
class Experiment:
    task: str
    setup: str
    models: list[str] | None = None  # None: every model the setup ran on the task
    sweep: dict[str, list[Any]] = field(default_factory=dict)


EXPERIMENTS: dict[str, Experiment] = {
    # Headline seven-model comparisons use the NesterovNODE paper's setup (issue #3).
    "pointcloud": Experiment("pointcloud", "nesterov2022"),
    "pointcloud_hbnode2021": Experiment("pointcloud", "hbnode2021"),
    "silverbox_init": Experiment("silverbox_init", "nesterov2022"),  # Nesterov Fig. 2 left
    "silverbox_init_hbnode2021": Experiment("silverbox_init", "hbnode2021"),  # HBNODE Fig. 3
    "mnist": Experiment("mnist", "nesterov2022"),  # Nesterov Table 2 / Fig. 6
    "mnist_hbnode2021": Experiment("mnist", "hbnode2021"),  # HBNODE Fig. 6
    "cifar10": Experiment("cifar10", "nesterov2022"),  # Nesterov Table 2 / Fig. 5
    "cifar10_hbnode2021": Experiment("cifar10", "hbnode2021"),  # HBNODE Fig. 1
    # HBNODE Fig. 7: tolerance 1e0 ... 1e-5, the five HBNODE-paper models.
    "cifar10_tolerance": Experiment("cifar10", "hbnode2021", HB_MODELS,
                                    {"tol": [1.0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5]}),
    # NesterovNODE Table 3 / Fig. 8: GNesterovNODE with r in {3, 5, 10}.
    "cifar10_factor": Experiment("cifar10", "nesterov2022", ["gnesterovnode"],
                                 {"nesterov_factor": [3, 5, 10]}),
    # NesterovNODE Sec. 6.2 / Fig. 9: Euler with step 0.1, 0.2, 0.5.
    "cifar10_euler": Experiment("cifar10", "nesterov2022", ["node", "ghbnode", "gnesterovnode"],
                                {"euler_step": [0.1, 0.2, 0.5]}),
    # ODE-RNN hybrids (issue #6): HBNODE Sec. 5.3 / Fig. 8 (the NesterovNODE paper has no PV).
    "plane_vibration": Experiment("plane_vibration", "hbnode2021"),
    "walker2d": Experiment("walker2d", "nesterov2022"),  # NesterovNODE Figs. 2 right, 7
    "walker2d_hbnode2021": Experiment("walker2d", "hbnode2021"),  # HBNODE Figs. 4, 9
    # ODEtoODE (issue #7): Lemma 4.1 measured; MNIST-C Tables 1 and 2.
    "odetoode_theory": Experiment("odetoode_theory", "odetoode2020"),
    "mnistc": Experiment("mnistc", "table1"),         # ODEtoODE Table 1 (w 128, no dropout)
    "mnistc_table2": Experiment("mnistc", "table2"),  # ODEtoODE Table 2 (w 256, dropout 0.1)
    # ODEtoODE Sec. 5.1 / Fig. 2 (issue #8): ES RL, six policy classes per environment. The
    # Gym and DeepMind Control tasks named in the paper, plus Hopper and Walker2d (ours), and
    # DMC humanoid-walk and humanoid-run: Fig. 2 has two DMC humanoid tasks, and the text names
    # only Humanoid_Stand, so the other one is walk or run (we run both).
    "rl": Experiment("rl", "odetoode2020", sweep={"env": [
        "Swimmer-v5", "HalfCheetah-v5", "Humanoid-v5", "Hopper-v5", "Walker2d-v5",
        "dm_control/humanoid-stand", "dm_control/humanoid-walk", "dm_control/humanoid-run",
        "dm_control/swimmer-swimmer15"]}),
    # Review "Structure Preserving Deep Learning" Sec. 4 (issue #9): property x model.
    "structure": Experiment("structure", "celledoni2021"),
    # HBNODE Fig. 2, NesterovNODE Fig. 1, review Fig. 4 (issue #9): optimisers as ODEs.
    "optim_flows": Experiment("optim_flows", "optim_odes"),
}


def format_value(value: Any) -> str:
    """A sweep value as it appears in a folder name (``1e-05``, ``0.1``, ``3``); a ``/`` (as in
    ``dm_control/humanoid-stand``) becomes ``.`` so that one run stays one folder."""
    return f"{value:g}" if isinstance(value, float) else str(value).replace("/", ".")


# A model variant (one size of a size ablation) is ``<model>+<variant>`` in run keys.
VARIANT_SEP = "+"


def model_key(model: str, setting: str | None = None, value: Any = None,
              variant: str | None = None) -> str:
    name = model if variant is None else f"{model}{VARIANT_SEP}{variant}"
    return name if setting is None else f"{name}@{setting}={format_value(value)}"


def split_variant(name: str) -> tuple[str, str | None]:
    """``"deepnet+p1.5"`` -> ``("deepnet", "p1.5")``; a plain model name -> ``(name, None)``."""
    model, sep, variant = name.partition(VARIANT_SEP)
    return model, (variant if sep else None)


def split_model_key(key: str) -> tuple[str, str | None, str | None]:
    """``"hbnode@tol=1e-05"`` -> ``("hbnode", "tol", "1e-05")``; plain names pass through."""
    model, _, setting = key.partition("@")
    if not setting:
        return model, None, None
    name, _, value = setting.partition("=")
    return model, name, value
