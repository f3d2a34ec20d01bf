"""Environment construction for ES rollouts: gymnasium MuJoCo (v4/v5) and, when the optional
``dm_control`` package is importable, DeepMind Control Suite tasks (``dm_control/<domain>-<task>``).

The paper's Gym tasks are Swimmer, HalfCheetah, Hopper, Walker2d and Humanoid
(:data:`PAPER_GYM_ENVS`, v5 here; the paper's 2020 runs used gym -v2 with mujoco-py). Its
DeepMind Control tasks run on ``dm-control`` 1.0.50, installed with the project beside the
mujoco version it was built for (3.17.0; see pyproject.toml).
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, version

import gymnasium

PAPER_GYM_ENVS = ("Swimmer-v5", "HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Humanoid-v5")
# DeepMind Control tasks of Fig. 2: humanoid-stand and swimmer-swimmer15 are named in the text;
# the second DMC humanoid task is not, so both candidates, walk and run, are listed.
PAPER_DMC_ENVS = ("dm_control/humanoid-stand", "dm_control/humanoid-walk",
                  "dm_control/humanoid-run", "dm_control/swimmer-swimmer15")
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


def _did_you_mean(env_id: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(env_id, valid, n=4, cutoff=0.6)
    return f"did you mean {', '.join(close)}? " if close else ""


def check_env_id(env_id: object) -> None:
    """Raise :class:`UnknownEnvError` (one line: the id, close valid ids, then all of them)
    unless ``env_id`` is an installed gymnasium MuJoCo id (v4+) or a DeepMind Control Suite
    task ``dm_control/<domain>-<task>``; ``MissingEnvPackageError`` when dm_control is needed
    and absent. Registries only, nothing built (it runs while configs are read)."""
    if not isinstance(env_id, str):
        raise UnknownEnvError(f"env must be an environment id string such as "
                              f"{PAPER_GYM_ENVS[0]!r}, got {env_id!r}")
    if env_id.startswith(DMC_PREFIX):
        if not dm_control_available():
            raise MissingEnvPackageError(
                f"{env_id} needs the DeepMind Control Suite package 'dm_control', which is "
                "not installed: pip install dm-control")
        from odebench.rl.dmc import dmc_task_ids

        if env_id not in (valid := dmc_task_ids()):
            raise UnknownEnvError(
                f"unknown DeepMind Control task {env_id!r}; {_did_you_mean(env_id, valid)}"
                f"ids look like 'dm_control/<domain>-<task>': {', '.join(valid)}")
        return
    if env_id not in (valid := mujoco_env_ids()):
        raise UnknownEnvError(
            f"unknown environment {env_id!r}; {_did_you_mean(env_id, valid)}installed MuJoCo "
            f"environments: {', '.join(valid)}; DeepMind Control ids look like "
            f"{PAPER_DMC_ENVS[0]!r}")


def make_env(env_id: str, horizon: int | None = None) -> gymnasium.Env:
    """A fresh environment; ``horizon`` (steps) replaces the registered time limit when given.

    The passive env checker is disabled: it only inspects the first calls and costs a Python
    call per step.
    """
    check_env_id(env_id)
    _install_warning_filter()
    if env_id.startswith(DMC_PREFIX):
        from odebench.rl.dmc import DmControlEnv

        domain, _, task = env_id[len(DMC_PREFIX):].partition("-")
        return DmControlEnv(domain, task, horizon)
    return gymnasium.make(env_id, max_episode_steps=horizon, disable_env_checker=True)


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
