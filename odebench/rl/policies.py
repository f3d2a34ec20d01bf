"""The RL policies of ODEtoODE Sec. 5.1.2 by name, and the interface rollouts and ES use.

Every policy maps a state through a linear projection, a flow (or layers) in R^h and a linear
projection to actions, for P parameter vectors at once (one per ES perturbation):
``prepare`` does the per-vector work once, ``act`` steps all (or ``rows`` of) them together.
f = |x| in every policy (Sec. 5.1.1). Parameter matching (:func:`~odebench.rl.matching.
match_width`, :func:`~odebench.rl.matching.parameter_table`) builds on this module, in
:mod:`odebench.rl.matching` (imports flow one way: matching -> policies).

========== ==========================================================================
odetoode   ISO-ODEtoODE, Eqs. 5-6 (Stiefel projections, W_t on O(h))
deepnet    25 fully connected hidden layers, x_l = f(W_l x_{l-1} + c_l)
deepresnet 25 residual hidden layers, x_l = x_{l-1} + f(W_l x_{l-1} + c_l)
baseode    x' = F(x), F an MLP with two hidden layers of size h
nanode     x' = f(W(t) x), W(t) a degree-5 trigonometric polynomial, W_i = W(t_i)
hypernet   x' = f(W_t x), W_t = reshape(z_t), z' = g(z) (h = 16 always)
========== ==========================================================================

Switches away from the paper's equations (``policy_options`` of the ``rl`` task):
``activation`` (``tanh``, ``relu``, ``identity``; every policy), ``bias: true`` (NANODE,
HyperNet: ``f(W x + b)``), ``w_time: previous`` (NANODE: W(t_{i-1}) in step i).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from odebench.rl.deep_policies import DeepNetPolicy, DeepResNetPolicy
from odebench.rl.flow_policies import BaseODEPolicy, HyperNetPolicy, NANODEPolicy, ODEtoODEPolicy
from odebench.rl.params import ParamLayout, ParamSpec
from odebench.rl.policy_base import PolicyCache, ProjectedPolicy


@runtime_checkable
class Policy(Protocol):
    """A batched policy built for ``(obs_dim, act_dim)``."""

    name: str
    obs_dim: int
    act_dim: int

    def specs(self) -> list[ParamSpec]: ...

    def layout(self) -> ParamLayout: ...

    def initial(self, rng: np.random.Generator) -> np.ndarray: ...

    def prepare(self, flat: np.ndarray) -> Any: ...

    def act(self, cache: Any, obs: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray: ...


POLICIES: dict[str, type[ProjectedPolicy]] = {
    cls.name: cls for cls in (ODEtoODEPolicy, DeepNetPolicy, DeepResNetPolicy, BaseODEPolicy,
                              NANODEPolicy, HyperNetPolicy)
}


def option_names(name: str) -> list[str]:
    """The options policy ``name``'s constructor takes (``hidden``, ``activation``, ...)."""
    parameters = inspect.signature(POLICIES[name].__init__).parameters
    return [key for key in parameters if key not in ("self", "obs_dim", "act_dim")]


def make_policy(name: str, obs_dim: int, act_dim: int, **options: Any) -> Policy:
    """The policy ``name`` for ``obs_dim``-dimensional states and ``act_dim`` actions;
    ``options`` go to its constructor (``hidden``, ``activation``, ``T``, ``eta``, ``depth``,
    ``degree``, ``dyn_hidden``, ``bias``, ``w_time`` where they apply); ValueError naming an
    unknown policy or option and the valid ones."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; valid: {', '.join(POLICIES)}")
    unknown = [key for key in options if key not in option_names(name)]
    if unknown:
        raise ValueError(f"{name}: unknown option(s) {', '.join(map(repr, unknown))}; valid: "
                         f"{', '.join(option_names(name))}")
    return POLICIES[name](obs_dim, act_dim, **options)


def check_policy_options(options: Any) -> None:
    """ValueError (one line naming the policy and option) unless ``options`` (the ``rl``
    task's ``policy_options``) maps policy names to options each policy accepts and values it
    accepts (checked by building it for a 1-d state and action; nothing runs)."""
    if not isinstance(options, Mapping):
        raise ValueError(f"policy_options must map policy names to options, got {options!r}")
    for name, values in options.items():
        if name not in POLICIES:
            raise ValueError(f"policy_options: unknown policy {name!r}; valid: "
                             f"{', '.join(POLICIES)}")
        if not isinstance(values, Mapping):
            raise ValueError(f"policy_options: {name} must map option names to values, got "
                             f"{values!r}")
        try:
            make_policy(name, 1, 1, **values)
        except (TypeError, ValueError) as error:
            raise ValueError(f"policy_options: {error}") from None


def _flat_dim(space: Any, what: str) -> int:
    shape = getattr(space, "shape", None)
    if shape is None or len(shape) != 1:
        raise ValueError(f"the environment's {what} space {space} is not a flat vector space "
                         f"(shape {shape}); the policies need 1-D Box spaces")
    return int(shape[0])


def check_fits(policy: Policy, observation_space: Any, action_space: Any) -> None:
    """ValueError naming the dimensions unless ``policy`` was built for these spaces."""
    obs_dim = _flat_dim(observation_space, "observation")
    act_dim = _flat_dim(action_space, "action")
    if (obs_dim, act_dim) != (policy.obs_dim, policy.act_dim):
        raise ValueError(f"policy {policy.name!r} is built for obs_dim={policy.obs_dim}, "
                         f"act_dim={policy.act_dim}, but the environment has obs_dim={obs_dim}, "
                         f"act_dim={act_dim}")


__all__ = ["POLICIES", "Policy", "PolicyCache", "check_fits", "check_policy_options", "make_policy",
           "option_names"]
