"""What a rollout needs from a policy, and picklable policy factory specs for workers.

A policy used by :func:`odebench.rl.rollout.rollout_batch` and the backends must

* be picklable (it is sent to worker processes / Ray actors once per backend);
* have ``name``, ``layout()`` (a :class:`~odebench.rl.params.ParamLayout` of size D),
  ``prepare(flat [P, D]) -> cache`` (called once per batch of parameter vectors) and
  ``act(cache, obs [R, d], rows) -> [R, m]``, where ``rows`` (int array of length R, or None
  for all P rows in order) says which cached vector acts on each observation row;
* compute each row independently and deterministically (no RNG, no cross-row reductions), so a
  batched rollout is bit-identical to separate rollouts with the same seeds;
* ideally expose ``obs_dim`` and ``act_dim`` so a mismatch with the environment is caught
  before stepping (otherwise it is caught from the shape of the first action).

Workers receive either such a policy object or a :class:`PolicySpec`, built in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from odebench.rl.params import ParamLayout


class RolloutPolicy(Protocol):
    """The part of the policy interface that rollouts use."""

    name: str

    def layout(self) -> ParamLayout: ...

    def prepare(self, flat: np.ndarray) -> Any: ...

    def act(self, cache: Any, obs: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray: ...


@dataclass(frozen=True)
class PolicySpec:
    """A picklable recipe ``make_policy(name, obs_dim, act_dim, **options)``."""

    name: str
    obs_dim: int
    act_dim: int
    options: dict[str, Any] = field(default_factory=dict)

    def build(self) -> RolloutPolicy:
        """``linear`` is built here; other names go to ``odebench.rl.policies.make_policy``."""
        from odebench.rl.linear_policy import LinearPolicy

        if self.name == LinearPolicy.name:
            return LinearPolicy(self.obs_dim, self.act_dim, **self.options)
        from odebench.rl.policies import make_policy

        return make_policy(self.name, self.obs_dim, self.act_dim, **self.options)


def resolve_policy(policy: RolloutPolicy | PolicySpec) -> RolloutPolicy:
    """A policy object, building it first when given a :class:`PolicySpec`."""
    return policy.build() if isinstance(policy, PolicySpec) else policy
