"""Per-(setup, task, model) architecture and gate defaults of both papers, resolved by name.

A *setup* is one paper's protocol (``hbnode2021``: Xia et al. 2021; ``nesterov2022``: the
NesterovNODE paper); a *task* is ``pointcloud``, ``mnist``, ``cifar10`` or ``silverbox``.
:func:`model_options` returns every choice a task should record. Where the paper and its
official code disagree, ``variant="paper"`` (default) gives the paper's value and
``variant="official_code"`` the code's; single options can be overridden by keyword.

Imports flow one way: :mod:`~odebench.models.tables` (names, widths, errors; re-exported
here) < :mod:`~odebench.models.architectures` (the task models at given widths) <
:mod:`~odebench.models.sizing` (NODE-budget widths) < this module < the task builders
(:mod:`~odebench.models.pointcloud`, ``images``, ``silverbox``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from odebench.models.gates import make_sigma
from odebench.models.nesterov import DEFAULT_R, check_variant
from odebench.models.registry import MODELS, ModelFamily, model_family
from odebench.models.sizing import SizingError, sized_widths
from odebench.models.tables import (
    HB_MODELS,
    INPUT_CHANNELS,
    NESTEROV_MODELS,
    SETUP_NAMES,
    SILVERBOX_END,
    T_SPANS,
    TASKS,
    WIDTHS,
    ModelOptionError,
    UnknownSetupError,
    UnknownTaskError,
    task_models,
    task_widths,
)

__all__ = ["GATES", "HB_MODELS", "INPUT_CHANNELS", "LN2", "NESTEROV_MODELS", "OPTION_NAMES",
           "SETUP_NAMES", "SILVERBOX_END", "SOFTPLUS_2", "TASKS", "T_SPANS", "WIDTHS", "Gate",
           "ModelOptionError", "UnknownSetupError", "UnknownTaskError", "dynamics_kwargs",
           "model_options", "sized_models", "task_models", "task_widths"]

OPTION_NAMES = ("variant", "sigma", "sigma_on_f", "xi", "xi_learnable", "r",
                "sigma_k_in_field", "sigma_on_k")

LN2 = math.log(2.0)  # softplus(0): official code's corr = 0
SOFTPLUS_2 = math.log1p(math.exp(2.0))  # softplus(2) ~ 2.127: official code's corr_0 = 2.0


@dataclass(frozen=True)
class Gate:
    """sigma and xi of a generalized model (identity / 0: the plain models).

    ``sigma_on_f`` / ``sigma_on_k``: whether sigma also gates f / k(t), for the families that
    take the option (GHBNODE: f; the plain NesterovNODE: f and k). GNesterovNODE always
    gates m, f and k (Eq. 18).
    """

    sigma: str = "identity"
    sigma_on_f: bool = False
    xi: float = 0.0
    xi_learnable: bool = False
    sigma_on_k: bool = False


# (setup, task, model) -> (paper, official_code). Models not listed: sigma = identity, xi = 0.
GATES: dict[tuple[str, str, str], tuple[Gate, Gate]] = {
    # HBNODE paper: sigma = tanh "in our experiments" (Sec. 3). xi: App. E says "learnable"
    # for all tasks, but the paper's own counts (568 point cloud, 172,916 CIFAR = HBNODE's)
    # leave no parameter for xi there, so xi is fixed at the code's value (paper gives none).
    ("hbnode2021", "pointcloud", "ghbnode"): (
        Gate("tanh", xi=2.0),
        Gate("identity", xi=2.0)),  # notebook: tanh commented out, res = 2
    ("hbnode2021", "mnist", "ghbnode"): (  # Table 2 counts one xi scalar; code corr_0 = 2
        Gate("tanh", xi=SOFTPLUS_2, xi_learnable=True),
        Gate("tanh", xi=SOFTPLUS_2, xi_learnable=True)),
    ("hbnode2021", "cifar10", "ghbnode"): (  # code: f + 1.5 h inside the field
        Gate("tanh", xi=1.5),
        Gate("tanh", xi=1.5)),
    ("hbnode2021", "silverbox", "ghbnode"): (  # Sec. 3: hardtanh[-5, 5], xi = ln 2
        Gate("hardtanh:5", xi=LN2, xi_learnable=True),  # App. E: learnable xi
        Gate("hardtanh:5", xi=LN2)),  # code: corr = 0 with corrf=True (frozen)
    # NesterovNODE paper: xi per Table 6; sigma is never stated, so GNesterovNODE takes the
    # code's per-task sigma; GHBNODE keeps Xia et al.'s sigma and, as described in the
    # NesterovNODE paper's background (docs/PAPERS.md), applies sigma to f too.
    ("nesterov2022", "pointcloud", "ghbnode"): (
        Gate("tanh", sigma_on_f=True, xi=2.0),  # Table 6: xi = 2
        Gate("hardtanh:0.5", xi=2.0)),  # code: HardTanh(-0.5, 0.5) on v, res = 2
    # Official point-cloud field: `if self.modelname in ("GNesterovNODE"):` is a substring
    # test, true for "NesterovNODE" too, so the plain model has x' = actv(m) with the field's
    # default actv=nn.Tanh(); sigma on f needs modelname == "GNesterovNODE", xi=None gives
    # res = 0, and its ODEBlock has no actv_k (read-out k(T) x(T)).
    ("nesterov2022", "pointcloud", "nesterovnode"): (
        Gate(),
        Gate("tanh")),  # sigma_on_f = sigma_on_k = False: tanh on m only
    ("nesterov2022", "pointcloud", "gnesterovnode"): (
        Gate("hardtanh:5", xi=2.0),  # code sigma HardTanh(-5, 5); Table 6: xi = 2
        Gate("hardtanh:5", xi=0.5)),  # code: --xi default 0.5
    ("nesterov2022", "mnist", "ghbnode"): (  # Table 6: learnable; code corr_0 = 2
        Gate("tanh", sigma_on_f=True, xi=SOFTPLUS_2, xi_learnable=True),
        Gate("tanh", xi=SOFTPLUS_2, xi_learnable=True)),
    ("nesterov2022", "mnist", "gnesterovnode"): (  # code: HardTanh(-0.5, 0.5) on m, f, k
        Gate("hardtanh:0.5", xi=SOFTPLUS_2, xi_learnable=True),
        Gate("hardtanh:0.5", xi=SOFTPLUS_2, xi_learnable=True)),
    ("nesterov2022", "cifar10", "ghbnode"): (  # Table 6: xi = 1.5
        Gate("tanh", sigma_on_f=True, xi=1.5),
        Gate("tanh", xi=1.5)),
    ("nesterov2022", "cifar10", "gnesterovnode"): (  # code: tanh on m, f, k; Table 6: 1.5
        Gate("tanh", xi=1.5),
        Gate("tanh", xi=1.5)),
    ("nesterov2022", "silverbox", "ghbnode"): (  # Table 6: learnable; HBNODE Sec. 3 sigma
        Gate("hardtanh:5", sigma_on_f=True, xi=LN2, xi_learnable=True),
        Gate("hardtanh:0.25", xi=LN2)),  # code: HardTanh(-0.25, 0.25), corr = 0 frozen
    ("nesterov2022", "silverbox", "gnesterovnode"): (
        Gate("hardtanh:0.25", xi=LN2, xi_learnable=True),  # code sigma; Table 6: learnable
        Gate("hardtanh:0.25", xi=LN2)),  # code: corr = 0 frozen
}


def _check_overrides(family: ModelFamily, overrides: dict[str, Any]) -> dict[str, Any]:
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(given) - set(OPTION_NAMES))
    if unknown:
        raise ModelOptionError(f"unknown model option(s) {', '.join(unknown)}; valid: "
                               f"{', '.join(OPTION_NAMES)}")
    applicable = {"variant", *family.options}
    foreign = sorted(set(given) - applicable)
    if foreign:
        raise ModelOptionError(f"option(s) {', '.join(foreign)} do not apply to model "
                               f"{family.name!r}; its options: {', '.join(sorted(applicable))}")
    return given


def _check_values(options: dict[str, Any]) -> None:
    check_variant(options["variant"])
    make_sigma(options["sigma"])
    for flag in ("sigma_on_f", "sigma_on_k"):
        if options[flag] is not None and not isinstance(options[flag], bool):
            raise ModelOptionError(f"{flag} must be true or false, got {options[flag]!r}")
    xi = options["xi"]
    if isinstance(xi, bool) or not isinstance(xi, (int, float)) or not xi >= 0:
        raise ModelOptionError(f"xi must be a number >= 0, got {xi!r}")
    if options["xi_learnable"] and xi <= 0:
        raise ModelOptionError("a learnable xi = softplus(chi) needs an initial xi > 0")
    r = options["r"]
    if r is not None and (isinstance(r, bool) or not isinstance(r, (int, float)) or r <= 0):
        raise ModelOptionError(f"the Nesterov factor r must be a number > 0, got {r!r}")


def model_options(setup: str, task: str, model: str, **overrides: Any) -> dict[str, Any]:
    """The resolved choices of one (setup, task, model): widths, sigma, xi, r, variant.

    Keys: setup, task, model, label, variant, n (state channels), h (hidden width; None for
    the single-layer Silverbox f), p (zero/learned channels added to the c input channels),
    t_span, sigma, sigma_on_f (GHBNODE and NesterovNODE, else None), xi (fixed value or
    initial value), xi_learnable, r (None for non-Nesterov models), sigma_k_in_field
    (GNesterovNODE only), sigma_on_k (NesterovNODE only; GNesterovNODE always gates f and k).
    A family without a row in the task's table but with a ``size_knob`` is sized to the
    NODE model's parameter count (:mod:`odebench.models.sizing`) and also records
    ``size_knob``, ``sized_from`` ("node") and ``budget``.
    ``overrides`` (any of :data:`OPTION_NAMES`; None = default) must apply to the model.
    """
    widths = task_widths(setup, task)
    sizing: dict[str, Any] = {}
    if model not in widths and model in MODELS and MODELS[model].size_knob is not None:
        family = MODELS[model]
        sizing = sized_widths(setup, task, model)
    else:
        family = model_family(model, allowed=list(widths), where=f"{setup}/{task}")
    given = _check_overrides(family, overrides)
    variant = check_variant(given.pop("variant", "paper"))
    paper, code = GATES.get((setup, task, model), (Gate(), Gate()))
    gate = paper if variant == "paper" else code
    options: dict[str, Any] = {
        "variant": variant, "sigma": gate.sigma,
        # GHBNODE, NesterovNODE (GNesterovNODE always gates f and k)
        "sigma_on_f": gate.sigma_on_f if "sigma_on_f" in family.options else None,
        "sigma_on_k": gate.sigma_on_k if "sigma_on_k" in family.options else None,
        "xi": gate.xi, "xi_learnable": gate.xi_learnable,
        "r": DEFAULT_R if "r" in family.options else None,
        # GNesterovNODE paper form: Eq. 18 feeds h = sigma(k) x to f and xi h (False: the
        # App. B proof's raw k); the official-code form never rescales inside the field.
        "sigma_k_in_field": (variant == "paper") if "sigma_k_in_field" in family.options
        else None,
    }
    options.update(given)
    _check_values(options)
    n, h = (sizing["n"], sizing["h"]) if sizing else widths[model]
    t0, t_end = T_SPANS[setup]
    sized = {k: sizing[k] for k in ("size_knob", "sized_from", "budget")} if sizing else {}
    return {"setup": setup, "task": task, "model": model, "label": family.label,
            "n": n, "h": h, "p": n - INPUT_CHANNELS[task],
            "t_span": (t0, SILVERBOX_END if task == "silverbox" else t_end), **options,
            **sized}


def sized_models(setup: str, task: str) -> list[str]:
    """Registered families with no row in the ``setup``'s ``task`` table that can be sized
    there (to the NODE budget); a config may list them under ``models:``. Unlike
    :func:`task_models` (the paper's models, the default of every experiment)."""
    widths, found = task_widths(setup, task), []
    for name, family in MODELS.items():
        if name in widths or family.size_knob is None:
            continue
        try:
            sized_widths(setup, task, name)
        except SizingError:
            continue
        found.append(name)
    return found


def dynamics_kwargs(options: dict[str, Any]) -> dict[str, Any]:
    """The subset of resolved ``options`` that the model's ``make_dynamics`` takes."""
    return {key: options[key] for key in MODELS[options["model"]].options}
