"""Environment construction for ES rollouts: gymnasium MuJoCo (v4/v5) and, when the optional
``dm_control`` package is importable, DeepMind Control Suite tasks (``dm_control/<domain>-<task>``).

The paper's Gym tasks are Swimmer, HalfCheetah, Hopper, Walker2d and Humanoid
(:data:`PAPER_GYM_ENVS`, v5 here; the paper's 2020 runs used gym -v2 with mujoco-py). Its
DeepMind Control tasks run on ``dm-control`` 1.0.50, installed with the project beside the
mujoco version it was built for (3.17.0; see pyproject.toml).
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, version

import gymnasium

PAPER_GYM_ENVS = ("Swimmer-v5", "HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Humanoid-v5")
PAPER_DMC_ENVS = ("dm_control/humanoid-stand", "dm_control/swimmer-swimmer15")
DMC_PREFIX = "dm_control/"


# gymnasium's bundled half_cheetah.xml uses an attribute mujoco 3.17 deprecates; the compiler
# warns on every env creation (once per worker environment), which buries the progress output.
KNOWN_HARMLESS_WARNINGS = ("compiler attribute 'settotalmass' is deprecated",)


def _mujoco_warning(message: str) -> None:
    """MuJoCo's warning handler, less the known harmless compiler deprecation."""
    if not message.startswith(KNOWN_HARMLESS_WARNINGS):
        print(f"WARNING: {message}", file=sys.stderr)


@cache
def _install_warning_filter() -> None:
    import mujoco

    if mujoco.get_mju_user_warning() is None:   # keep a handler the user installed
        mujoco.set_mju_user_warning(_mujoco_warning)


class UnknownEnvError(ValueError):
    """An environment id that is neither an installed MuJoCo env nor a DeepMind Control id."""


class MissingEnvPackageError(ImportError):
    """An environment whose simulator package is not installed."""


def mujoco_env_ids() -> list[str]:
    """Registered gymnasium MuJoCo ids that run on the ``mujoco`` bindings (v4 and later;
    v2/v3 need the retired mujoco-py)."""
    ids = []
    for env_id, spec in gymnasium.registry.items():
        entry = spec.entry_point if isinstance(spec.entry_point, str) else ""
        if entry.startswith("gymnasium.envs.mujoco.") and (spec.version or 0) >= 4:
            ids.append(env_id)
    return sorted(ids)


def dm_control_available() -> bool:
    return importlib.util.find_spec("dm_control") is not None


def make_env(env_id: str, horizon: int | None = None) -> gymnasium.Env:
    """A fresh environment; ``horizon`` (steps) replaces the registered time limit when given.

    The passive env checker is disabled: it only inspects the first calls and costs a Python
    call per step.
    """
    _install_warning_filter()
    if env_id.startswith(DMC_PREFIX):
        return _make_dm_control(env_id, horizon)
    if env_id not in mujoco_env_ids():
        raise UnknownEnvError(
            f"unknown environment {env_id!r}; installed MuJoCo environments: "
            f"{', '.join(mujoco_env_ids())}; DeepMind Control ids look like "
            f"{PAPER_DMC_ENVS[0]!r} (need the dm_control package)")
    return gymnasium.make(env_id, max_episode_steps=horizon, disable_env_checker=True)


def _make_dm_control(env_id: str, horizon: int | None) -> gymnasium.Env:
    if not dm_control_available():
        raise MissingEnvPackageError(
            f"{env_id} needs the DeepMind Control Suite package 'dm_control', which is not "
            "installed: pip install dm-control")
    from odebench.rl.dmc import DmControlEnv, dmc_task_ids, has_task

    domain, _, task = env_id[len(DMC_PREFIX):].partition("-")
    if not has_task(domain, task):
        raise UnknownEnvError(f"unknown DeepMind Control task {env_id!r}; ids look like "
                              f"'dm_control/<domain>-<task>': {', '.join(dmc_task_ids())}")
    return DmControlEnv(domain, task, horizon)


@cache
def env_dims(env_id: str) -> tuple[int, int]:
    """``(observation dim, action dim)`` of an environment."""
    env = make_env(env_id)
    try:
        return _flat_dim(env.observation_space), _flat_dim(env.action_space)
    finally:
        env.close()


def _flat_dim(space: gymnasium.Space) -> int:
    if not isinstance(space, gymnasium.spaces.Box) or len(space.shape) != 1:
        raise TypeError(f"expected a 1-D Box space, got {space}")
    return int(space.shape[0])


def env_versions() -> dict[str, str]:
    """Simulator package versions, for run records."""
    versions = {}
    for package in ("gymnasium", "mujoco", "dm_control"):
        try:
            versions[package] = version(package.replace("_", "-"))
        except PackageNotFoundError:
            if package != "dm_control":
                versions[package] = "not installed"
    return versions
