"""A minimal gymnasium adapter for DeepMind Control Suite tasks (needs ``pip install dm-control``).

Observations are the task's observation dict flattened in its key order; an episode ends when
dm_control marks the last step (discount 0: terminated, else truncated by the time limit) or
after ``horizon`` steps. Nothing is rendered: ``MUJOCO_GL`` defaults to ``disable`` here, so
importing dm_control on a machine without a display does not probe GLFW/EGL.
"""

from __future__ import annotations

import os
from math import prod
from typing import Any

import gymnasium
import numpy as np


def _suite():
    os.environ.setdefault("MUJOCO_GL", "disable")
    from dm_control import suite

    return suite


def dmc_task_ids() -> list[str]:
    """Every Control Suite task as ``dm_control/<domain>-<task>``."""
    return sorted(f"dm_control/{domain}-{task}" for domain, task in _suite().ALL_TASKS)


def has_task(domain: str, task: str) -> bool:
    return (domain, task) in _suite().ALL_TASKS


class DmControlEnv(gymnasium.Env):
    """``dm_control.suite.load(domain, task)`` behind the gymnasium reset/step API."""

    def __init__(self, domain: str, task: str, horizon: int | None = None):
        self._env = _suite().load(domain, task)
        self._horizon = horizon
        self._steps = 0
        obs_dim = sum(prod(spec.shape) for spec in self._env.observation_spec().values())
        action = self._env.action_spec()
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float64)
        self.action_space = gymnasium.spaces.Box(action.minimum.astype(np.float32),
                                                 action.maximum.astype(np.float32),
                                                 action.shape, np.float32)

    @staticmethod
    def _flat(observation: dict[str, Any]) -> np.ndarray:
        return np.concatenate([np.asarray(v, np.float64).ravel() for v in observation.values()])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._env.task.random.seed(seed)
        self._steps = 0
        return self._flat(self._env.reset().observation), {}

    def step(self, action: np.ndarray):
        step = self._env.step(action)
        self._steps += 1
        terminated = step.last() and step.discount == 0.0
        truncated = (step.last() and not terminated) or self._steps == self._horizon
        return self._flat(step.observation), float(step.reward or 0.0), terminated, truncated, {}
