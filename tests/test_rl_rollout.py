"""Batched MuJoCo rollouts and the serial / pool / Ray backends (short horizons, CPU only)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from odebench.rl.backends import PoolBackend, RayBackend, SerialBackend, WorkerError
from odebench.rl.envs import (
    MissingEnvPackageError,
    UnknownEnvError,
    dm_control_available,
    env_dims,
    env_versions,
    make_env,
)
from odebench.rl.linear_policy import LinearPolicy
from odebench.rl.policy_spec import PolicySpec
from odebench.rl.ray_backend import RayAddressError, probe_address
from odebench.rl.rollout import EnvCache, ObsNorm, PolicyEnvMismatchError, rollout_batch
from odebench.rl.scheduling import chunk_rows
from odebench.rl.worker import split_rows

HORIZON = 30


def linear(env_id: str) -> LinearPolicy:
    return LinearPolicy(*env_dims(env_id))


def random_params(policy: LinearPolicy, count: int, scale: float = 0.5,
                  seed: int = 0) -> np.ndarray:
    return scale * np.random.default_rng(seed).normal(size=(count, policy.layout().size))


class RecordingPolicy(LinearPolicy):
    """A linear policy that records the ``rows`` and observations of every ``act`` call."""

    def __init__(self, obs_dim: int, act_dim: int):
        super().__init__(obs_dim, act_dim)
        self.calls: list[tuple[np.ndarray | None, np.ndarray]] = []

    def act(self, cache, obs, rows=None):
        self.calls.append((None if rows is None else rows.copy(), obs.copy()))
        return super().act(cache, obs, rows)


class ExitOncePolicy(LinearPolicy):
    """Kills its worker process on the first ``act`` anywhere (a marker file remembers)."""

    def __init__(self, obs_dim: int, act_dim: int, marker: str):
        super().__init__(obs_dim, act_dim)
        self.marker = marker

    def act(self, cache, obs, rows=None):
        if not os.path.exists(self.marker):
            Path(self.marker).touch()
            os._exit(3)
        return super().act(cache, obs, rows)


class HangOncePolicy(ExitOncePolicy):
    """Stops answering on the first ``act`` anywhere (a marker file remembers)."""

    def act(self, cache, obs, rows=None):
        if not os.path.exists(self.marker):
            Path(self.marker).touch()
            time.sleep(120)
        return LinearPolicy.act(self, cache, obs, rows)


class RaisingPolicy(LinearPolicy):
    def act(self, cache, obs, rows=None):
        raise RuntimeError("act refused: flag set")


class ExitingPolicy(LinearPolicy):
    def act(self, cache, obs, rows=None):
        os._exit(7)


class WideActionPolicy(LinearPolicy):
    """Returns one action entry too many and hides its dimensions."""

    def __init__(self, obs_dim: int, act_dim: int):
        super().__init__(obs_dim, act_dim + 1)
        self.obs_dim = self.act_dim = None


# --- environments -----------------------------------------------------------------------------

def test_unknown_env_lists_installed_ids():
    with pytest.raises(UnknownEnvError) as error:
        make_env("Swimer-v5")
    message = str(error.value)
    assert "Swimer-v5" in message
    for env_id in ("Swimmer-v5", "HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Humanoid-v5"):
        assert env_id in message


def test_dm_control_ids_name_the_missing_package(monkeypatch):
    monkeypatch.setattr("odebench.rl.envs.dm_control_available", lambda: False)
    with pytest.raises(MissingEnvPackageError, match="pip install dm-control"):
        make_env("dm_control/humanoid-stand")


needs_dm_control = pytest.mark.skipif(not dm_control_available(),
                                      reason="dm_control is not installed")


@needs_dm_control
def test_dm_control_paper_tasks_dims_versions_and_bad_ids():
    assert env_dims("dm_control/swimmer-swimmer15") == (61, 14)
    assert env_dims("dm_control/humanoid-stand") == (67, 21)
    assert env_versions()["dm_control"].startswith("1.")
    for bad in ("dm_control/humanoid-fly", "dm_control/humanoid", "dm_control/robot-stand"):
        with pytest.raises(UnknownEnvError, match="dm_control/humanoid-stand") as error:
            make_env(bad)
        assert repr(bad) in str(error.value)


@needs_dm_control
def test_dm_control_rollouts_are_seeded_batched_and_bounded_by_the_horizon():
    env_id = "dm_control/swimmer-swimmer15"
    policy = linear(env_id)
    flat = random_params(policy, 3, seed=4)
    batch = rollout_batch(policy, flat, env_id, 12, [5, 6, 7], envs=EnvCache())
    again = rollout_batch(policy, flat, env_id, 12, [5, 6, 7], envs=EnvCache())
    singles = [rollout_batch(policy, flat[i:i + 1], env_id, 12, [5 + i], envs=EnvCache())
               for i in range(3)]
    assert np.array_equal(batch.returns, again.returns)
    assert np.array_equal(batch.returns, np.concatenate([s.returns for s in singles]))
    assert np.array_equal(batch.steps, [12] * 3)
    other_seed = rollout_batch(policy, flat[:1], env_id, 12, [99], envs=EnvCache())
    assert other_seed.returns[0] != batch.returns[0]   # the seed sets the initial state
    env = make_env(env_id, horizon=4)
    env.reset(seed=0)
    ends = [env.step(np.zeros(14))[3] for _ in range(4)]
    assert ends == [False] * 3 + [True]


def test_known_mujoco_deprecation_is_silenced_and_other_warnings_are_not(capfd):
    from odebench.rl.envs import _mujoco_warning

    make_env("HalfCheetah-v5").close()
    _mujoco_warning("Nan, Inf or huge value in QACC at DOF 0")
    err = capfd.readouterr().err
    assert "settotalmass" not in err
    assert "WARNING: Nan, Inf or huge value in QACC" in err


def test_env_dims_and_versions():
    assert env_dims("Swimmer-v5") == (8, 2)
    assert env_dims("HalfCheetah-v5") == (17, 6)
    versions = env_versions()
    assert versions["gymnasium"].startswith("1.") and "mujoco" in versions


def test_horizon_sets_time_limit():
    env = make_env("Swimmer-v5", horizon=5)
    env.reset(seed=0)
    ends = [env.step(env.action_space.sample())[3] for _ in range(5)]
    assert ends == [False] * 4 + [True]


# --- rollouts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("env_id", ["Swimmer-v5", "HalfCheetah-v5"])
def test_batched_rollout_equals_single_rollouts(env_id):
    policy = linear(env_id)
    flat = random_params(policy, 4)
    seeds = [11, 12, 13, 14]
    batch = rollout_batch(policy, flat, env_id, HORIZON, seeds, envs=EnvCache())
    singles = [rollout_batch(policy, flat[i:i + 1], env_id, HORIZON, seeds[i:i + 1],
                             envs=EnvCache()) for i in range(4)]
    assert np.array_equal(batch.returns, np.concatenate([s.returns for s in singles]))
    assert np.array_equal(batch.steps, [HORIZON] * 4)
    assert len(set(batch.returns)) == 4


def test_environments_are_reused_across_calls():
    cache = EnvCache()
    policy = linear("Swimmer-v5")
    flat = random_params(policy, 2)
    first = rollout_batch(policy, flat, "Swimmer-v5", 10, [1, 2], envs=cache)
    envs = cache.get("Swimmer-v5", 2)
    again = rollout_batch(policy, flat, "Swimmer-v5", 10, [1, 2], envs=cache)
    assert all(a is b for a, b in zip(envs, cache.get("Swimmer-v5", 2), strict=True))
    assert np.array_equal(first.returns, again.returns)


def test_rows_step_only_active_episodes():
    policy = RecordingPolicy(*env_dims("Hopper-v5"))
    flat = random_params(policy, 6, scale=3.0, seed=1)
    result = rollout_batch(policy, flat, "Hopper-v5", 200, list(range(6)), envs=EnvCache())
    assert len(set(result.steps)) > 1 and result.steps.max() < 200   # falls, at various times
    assert len(policy.calls) == result.steps.max()
    for t, (rows, obs) in enumerate(policy.calls):
        alive = np.flatnonzero(result.steps > t)
        assert np.array_equal(np.arange(6) if rows is None else rows, alive)
        assert (rows is None) == (len(alive) == 6)
        assert obs.shape == (len(alive), 11)
    singles = [rollout_batch(LinearPolicy(11, 3), flat[i:i + 1], "Hopper-v5", 200, [i],
                             envs=EnvCache()) for i in range(6)]
    assert np.array_equal(result.returns, [s.returns[0] for s in singles])
    assert np.array_equal(result.steps, [s.steps[0] for s in singles])


def test_observation_statistics_and_normalisation():
    policy = RecordingPolicy(*env_dims("Swimmer-v5"))
    flat = np.zeros((3, policy.layout().size))      # zero actions: the same states either way
    raw = rollout_batch(policy, flat, "Swimmer-v5", HORIZON, [5, 6, 7], envs=EnvCache())
    seen = np.concatenate([obs for _, obs in policy.calls])
    assert raw.obs_count == len(seen) == 3 * HORIZON
    assert np.allclose(raw.obs_sum, seen.sum(axis=0))
    assert np.allclose(raw.obs_sumsq, np.square(seen).sum(axis=0))

    norm = ObsNorm(mean=np.linspace(-1, 1, 8), std=np.linspace(0.5, 2, 8))
    policy.calls.clear()
    normed = rollout_batch(policy, flat, "Swimmer-v5", HORIZON, [5, 6, 7], obs_norm=norm,
                           envs=EnvCache())
    inputs = np.concatenate([obs for _, obs in policy.calls])
    assert np.allclose(inputs, (seen - norm.mean) / norm.std)
    assert np.array_equal(normed.obs_sum, raw.obs_sum)       # statistics are of raw observations


def test_policy_that_does_not_fit_the_env():
    with pytest.raises(PolicyEnvMismatchError, match="obs_dim=3"):
        rollout_batch(LinearPolicy(3, 2), np.zeros((1, 8)), "Swimmer-v5", 5, [0])
    with pytest.raises(PolicyEnvMismatchError, match="act_dim=6"):
        SerialBackend(LinearPolicy(8, 6), "Swimmer-v5", 5)
    with pytest.raises(PolicyEnvMismatchError, match="obs_dim=17"):
        PoolBackend(PolicySpec("linear", 17, 6), "Swimmer-v5", 5, workers=1)
    policy = linear("Swimmer-v5")
    with pytest.raises(PolicyEnvMismatchError, match="19 entries"):
        rollout_batch(policy, np.zeros((2, 19)), "Swimmer-v5", 5, [0, 1])
    wide = WideActionPolicy(8, 2)
    with pytest.raises(PolicyEnvMismatchError, match=r"shape \(2, 3\)"):
        rollout_batch(wide, np.zeros((2, wide.layout().size)), "Swimmer-v5", 5, [0, 1])


# --- backends ---------------------------------------------------------------------------------

def test_split_rows_and_chunks():
    assert split_rows(5, 2) == [slice(0, 2), slice(2, 5)]
    assert split_rows(2, 4) == [slice(0, 1), slice(1, 2)]
    assert split_rows(32, 1) == [slice(0, 32)]
    assert len(chunk_rows(32, 2)) == 2                 # chunks of >= 16 rows where possible
    assert len(chunk_rows(200, 2)) == 8                # at most 4 per worker
    assert len(chunk_rows(3, 8)) == 3


def reference(env_id: str, flat: np.ndarray, seeds: np.ndarray, obs_norm=None):
    with SerialBackend(linear(env_id), env_id, HORIZON) as serial:
        return serial.evaluate(flat, seeds, obs_norm)


def test_pool_matches_serial():
    policy = linear("Swimmer-v5")
    flat, seeds = random_params(policy, 7), np.arange(100, 107)
    expected = reference("Swimmer-v5", flat, seeds)
    with PoolBackend(PolicySpec("linear", 8, 2), "Swimmer-v5", HORIZON, workers=2) as pool:
        for _ in range(2):                                   # persistent workers, reused envs
            result = pool.evaluate(flat, seeds)
            assert np.array_equal(result.returns, expected.returns)
            assert np.array_equal(result.steps, expected.steps)
            assert result.obs_count == expected.obs_count
            assert np.allclose(result.obs_sum, expected.obs_sum)
        norm = (np.linspace(-1, 1, 8), np.full(8, 2.0))          # (mean, std) as the ES passes
        normed = pool.evaluate(flat, seeds, norm)
    assert not np.array_equal(normed.returns, expected.returns)
    assert np.array_equal(normed.returns,
                          reference("Swimmer-v5", flat, seeds, ObsNorm(*norm)).returns)


def test_pool_hands_chunks_to_idle_workers():
    policy = linear("Swimmer-v5")
    flat, seeds = random_params(policy, 64), np.arange(64)
    with PoolBackend(policy, "Swimmer-v5", 10, workers=2) as pool:
        result = pool.evaluate(flat, seeds)
    with SerialBackend(policy, "Swimmer-v5", 10) as serial:
        expected = serial.evaluate(flat, seeds)
    assert len(chunk_rows(64, 2)) == 4
    assert np.array_equal(result.returns, expected.returns)


def test_pool_replaces_a_worker_that_stops_answering(tmp_path):
    policy = HangOncePolicy(8, 2, str(tmp_path / "hung"))
    flat, seeds = random_params(policy, 4), np.arange(4)
    with PoolBackend(policy, "Swimmer-v5", HORIZON, workers=2, timeout_s=3.0) as pool:
        start = time.monotonic()
        result = pool.evaluate(flat, seeds)
        assert time.monotonic() - start < 30
    assert np.array_equal(result.returns, reference("Swimmer-v5", flat, seeds).returns)


def test_pool_retries_a_crashed_worker_once(tmp_path):
    policy = ExitOncePolicy(8, 2, str(tmp_path / "crashed"))
    flat, seeds = random_params(policy, 4), np.arange(4)
    with PoolBackend(policy, "Swimmer-v5", HORIZON, workers=2) as pool:
        result = pool.evaluate(flat, seeds)
    assert (tmp_path / "crashed").exists()
    assert np.array_equal(result.returns, reference("Swimmer-v5", flat, seeds).returns)


@pytest.mark.parametrize(("policy_class", "expected"), [
    (RaisingPolicy, "RuntimeError: act refused: flag set"),
    (ExitingPolicy, "exit code 7"),
])
def test_pool_fails_after_the_retry_with_the_workers_message(policy_class, expected):
    policy = policy_class(8, 2)
    with PoolBackend(policy, "Swimmer-v5", HORIZON, workers=2) as pool:
        start = time.monotonic()
        with pytest.raises(WorkerError) as error:
            pool.evaluate(random_params(policy, 4), np.arange(4))
        assert time.monotonic() - start < 60
    assert expected in str(error.value) and expected in error.value.worker_traceback
    assert "failed 3 times (task_retries=2)" in str(error.value)
    assert "\n" not in str(error.value)                      # the CLI prints it as one line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_probe_of_an_unanswered_address_fails_fast():
    start = time.monotonic()
    with pytest.raises(RayAddressError, match="connection refused"):
        probe_address(f"127.0.0.1:{free_port()}", timeout_s=2.0)
    assert time.monotonic() - start < 3


@pytest.fixture
def ray_module():
    return pytest.importorskip("ray", reason="ray is not installed (pip install 'ray>=2.40')")


def test_ray_backend_unanswered_address(ray_module):
    if ray_module.is_initialized():
        pytest.skip("a Ray session is already running in this process")
    start = time.monotonic()
    with pytest.raises(RayAddressError, match="connection refused"):
        RayBackend(linear("Swimmer-v5"), "Swimmer-v5", HORIZON,
                   address=f"127.0.0.1:{free_port()}", connect_timeout_s=2.0)
    assert time.monotonic() - start < 5
    assert not ray_module.is_initialized()


def test_ray_matches_serial_and_fails_after_retry_on_loopback(ray_module):
    tests = str(Path(__file__).resolve().parent)           # actors import this module's policies
    ray_module.init(address="local", include_dashboard=False, num_cpus=2,
                    _node_ip_address="127.0.0.1", log_to_driver=False,
                    runtime_env={"env_vars": {"PYTHONPATH": tests}})
    try:
        policy = linear("Swimmer-v5")
        flat, seeds = random_params(policy, 5), np.arange(20, 25)
        with RayBackend(policy, "Swimmer-v5", HORIZON, workers=2) as backend:
            result = backend.evaluate(flat, seeds)
        expected = reference("Swimmer-v5", flat, seeds)
        assert np.array_equal(result.returns, expected.returns)
        assert np.array_equal(result.steps, expected.steps)
        assert np.allclose(result.obs_sumsq, expected.obs_sumsq)
        with RayBackend(RaisingPolicy(8, 2), "Swimmer-v5", HORIZON, workers=1) as backend:
            with pytest.raises(WorkerError, match="act refused: flag set") as error:
                backend.evaluate(flat, seeds)
        assert "failed 3 times" in str(error.value) and "Ray actor #" in str(error.value)
    finally:
        ray_module.shutdown()
