"""Parameter matching of the RL baselines to ODEtoODE (Sec. 5.1.2: "similar (but not smaller)"
parameter counts) and the per-environment parameter table.

Counts are ambient: the size of the flat ES vector, every block stored in full (ODEtoODE:
``h d + m h + h + 3 h^2``; HalfCheetah, h = 16: 272 + 96 + 16 + 768 = 1152). The knob of every
matched baseline is its ``hidden`` width (the flow dimension h, or DeepNet's layer width):
the smallest width whose count is >= ODEtoODE's. HyperNet is not matched: the paper fixes
h = s = 16 for it on every task (it is larger than ODEtoODE except on Humanoid, h = 64).

This module builds on :mod:`odebench.rl.policies` (never the other way round).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from odebench.rl.flow_policies import HYPERNET_HIDDEN
from odebench.rl.policies import POLICIES, make_policy
from odebench.rl.policy_base import DEFAULT_HIDDEN, HUMANOID_HIDDEN

PAPER_ENV_DIMS: dict[str, tuple[int, int]] = {  # (obs_dim, act_dim) of the gymnasium v5 tasks
    "Swimmer-v5": (8, 2),
    "HalfCheetah-v5": (17, 6),
    "Hopper-v5": (11, 3),
    "Walker2d-v5": (17, 6),
    "Humanoid-v5": (348, 17),
}
FIXED_WIDTHS = {"hypernet": HYPERNET_HIDDEN}  # h = 16 on every task (Sec. 5.1.2), unmatched
MAX_WIDTH = 4096


def is_gym_humanoid(env: str) -> bool:
    """True for the gymnasium ``Humanoid-v*`` ids (not HumanoidStandup, not DeepMind Control's
    ``dm_control/humanoid-*``)."""
    return env.split("-")[0] == "Humanoid"


def paper_hidden(env: str) -> int:
    """ODEtoODE's h on ``env``: "h = 64 for OpenAI Gym Humanoid ... and h = 16 for all other
    tasks" (Sec. 5.1.2), so 16 on the DeepMind Control humanoid tasks too."""
    return HUMANOID_HIDDEN if is_gym_humanoid(env) else DEFAULT_HIDDEN


def policy_params(name: str, obs_dim: int, act_dim: int, width: int, **options: Any) -> int:
    """The ambient parameter count of policy ``name`` with ``hidden=width``."""
    return make_policy(name, obs_dim, act_dim, hidden=width, **options).layout().size


def match_width(policy_name: str, obs_dim: int, act_dim: int, target_params: int,
                **options: Any) -> int:
    """The smallest ``hidden`` width whose parameter count is >= ``target_params`` (counts
    grow with the width); HyperNet's fixed width 16 instead (see the module docstring)."""
    if policy_name not in POLICIES:
        raise ValueError(f"unknown policy {policy_name!r}; valid: {', '.join(POLICIES)}")
    if policy_name in FIXED_WIDTHS:
        return FIXED_WIDTHS[policy_name]
    low, high = 1, MAX_WIDTH  # bisection: the first width with count >= target
    if policy_params(policy_name, obs_dim, act_dim, high, **options) < target_params:
        raise ValueError(f"{policy_name}: no width <= {MAX_WIDTH} reaches {target_params} "
                         "parameters")
    while low < high:
        mid = (low + high) // 2
        if policy_params(policy_name, obs_dim, act_dim, mid, **options) >= target_params:
            high = mid
        else:
            low = mid + 1
    return low


def odetoode_params(obs_dim: int, act_dim: int, hidden: int = DEFAULT_HIDDEN) -> int:
    """ODEtoODE's ambient count ``h d + m h + h + 3 h^2``."""
    return policy_params("odetoode", obs_dim, act_dim, hidden)


def parameter_table(envs: Mapping[str, tuple[int, int]] = PAPER_ENV_DIMS,
                    odetoode_hidden: Mapping[str, int] | None = None) -> pd.DataFrame:
    """One row per (env, policy): ``env, obs_dim, act_dim, policy, width, params, ratio``
    (params / ODEtoODE's) and ``matched`` (False for HyperNet's fixed width). ``envs`` maps
    a name to ``(obs_dim, act_dim)``; ODEtoODE's h is :func:`paper_hidden` unless
    ``odetoode_hidden`` names it."""
    rows = []
    for env, (obs_dim, act_dim) in envs.items():
        hidden = (odetoode_hidden or {}).get(env, paper_hidden(env))
        target = odetoode_params(obs_dim, act_dim, hidden)
        for name in POLICIES:
            width = hidden if name == "odetoode" else match_width(name, obs_dim, act_dim, target)
            params = policy_params(name, obs_dim, act_dim, width)
            rows.append({"env": env, "obs_dim": obs_dim, "act_dim": act_dim, "policy": name,
                         "width": width, "params": params, "ratio": params / target,
                         "matched": name not in FIXED_WIDTHS})
    return pd.DataFrame(rows)
