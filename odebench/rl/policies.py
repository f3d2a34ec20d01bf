"""The RL policies of ODEtoODE Sec. 5.1.2 by name, and the interface rollouts and ES use.

Every policy maps a state through a linear projection, a flow (or layers) in R^h and a linear
projection to actions, for P parameter vectors at once (one per ES perturbation):
``prepare`` does the per-vector work once, ``act`` steps all (or ``rows`` of) them together.
Parameter matching (:func:`match_width`, :func:`parameter_table`) lives in
:mod:`odebench.rl.matching` and is re-exported here.

========== ==========================================================================
odetoode   ISO-ODEtoODE, Eqs. 5-6 (Stiefel projections, W_t on O(h))
deepnet    25 fully connected hidden layers
deepresnet 25 residual hidden layers
baseode    x' = F(x), F an MLP with two hidden layers of size h
nanode     x' = f(W(t) x + b), W(t) a degree-5 trigonometric polynomial
hypernet   x' = f(W_t x + b), W_t = reshape(z_t), z' = g(z) (h = 16 always)
========== ==========================================================================
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from odebench.rl.deep_policies import DeepNetPolicy, DeepResNetPolicy
from odebench.rl.flow_policies import BaseODEPolicy, HyperNetPolicy, NANODEPolicy, ODEtoODEPolicy
from odebench.rl.matching import match_width, parameter_table
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


def make_policy(name: str, obs_dim: int, act_dim: int, **options: Any) -> Policy:
    """The policy ``name`` for ``obs_dim``-dimensional states and ``act_dim`` actions;
    ``options`` go to its constructor (``hidden``, ``activation``, ``T``, ``eta``, ``depth``,
    ``degree``, ``dyn_hidden`` where they apply)."""
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; valid: {', '.join(POLICIES)}")
    return POLICIES[name](obs_dim, act_dim, **options)


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


__all__ = ["POLICIES", "Policy", "PolicyCache", "check_fits", "make_policy", "match_width",
           "parameter_table"]
