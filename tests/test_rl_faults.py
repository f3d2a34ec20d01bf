"""Distributed faults of the ES RL task, injected for real: Ray addresses that refuse, stay
silent or speak another protocol; pool workers stopped with SIGSTOP mid-run; a spent retry
budget; unknown environment ids at configuration time."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from odebench.rl import pool_backend
from odebench.rl.backends import PoolBackend, SerialBackend, WorkerError
from odebench.rl.envs import UnknownEnvError, dm_control_available, env_dims
from odebench.rl.linear_policy import LinearPolicy
from odebench.rl.ray_backend import RayAddressError, RayBackend, probe_address
from odebench.tasks import rl
from odebench.tasks.run import experiment_task, run_one
from tests.conftest import run_cli
from tests.helpers import interruptible, write_config
from tests.loopback import Loopback
from tests.test_rl_rollout import ExitOncePolicy

RUN = "odetoode@env=Swimmer-v5"
TINY = {"models": ["odetoode"], "seeds": 1, "iterations": 3, "perturbations": 4,
        "horizon": 20, "sweep": {"env": ["Swimmer-v5"]}}


# --- Ray addresses ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """``host:port`` of a loopback TCP server that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for sock in accepted:
        sock.close()


def test_silent_tcp_server_is_not_ray_within_the_probe_timeout(silent_server):
    start = time.monotonic()
    with pytest.raises(RayAddressError) as error:
        probe_address(silent_server, timeout_s=1.0)
    assert time.monotonic() - start < 3
    message = str(error.value)
    assert message.startswith(f"ray address {silent_server}: accepts TCP connections but sent "
                              "no Ray (gRPC) answer within 1s")
    assert "ray start --head" in message and "\n" not in message


def test_http_server_is_not_ray():
    server = Loopback()                      # an HTTP/1 server: answers, but not as Ray
    server.thread.start()
    try:
        with pytest.raises(RayAddressError, match=r"127\.0\.0\.1:\d+: answered b'") as error:
            probe_address(server.url.removeprefix("http://"), timeout_s=5.0)
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
    assert "not a Ray GCS port" in str(error.value) and "\n" not in str(error.value)


def test_refused_and_malformed_addresses_are_one_line():
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(RayAddressError, match="connection refused") as error:
        probe_address(address, timeout_s=2.0)
    assert str(error.value).startswith(f"ray address {address}:")
    assert "\n" not in str(error.value)
    with pytest.raises(ValueError, match="ray_address must look like 'host:port'"):
        probe_address("headnode", timeout_s=1.0)


def test_ray_run_on_a_silent_address_stops_in_one_cli_line(tmp_path, silent_server):
    entry = {**TINY, "backend": "ray", "ray_address": silent_server, "ray_connect_timeout": 1}
    config = write_config(tmp_path, tmp_path, {"rl": entry})
    start = time.monotonic()
    done = run_cli("train", "--config", str(config), "--experiment", "rl", "--model", RUN,
                   "--seed", "0", timeout=120)
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - start < 60                       # not Ray's minutes of retries
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"odebench: error: ray address {silent_server}: accepts TCP connections "
                     f"but sent no Ray (gRPC) answer within 1s, so it is not a Ray GCS port; "
                     f"start a cluster there with `ray start --head --port="
                     f"{silent_server.rpartition(':')[2]}` or use backend: pool"]


@pytest.fixture
def ray_module():
    return pytest.importorskip("ray", reason="ray is not installed (pip install 'ray>=2.40')")


def test_real_ray_passes_the_probe_and_logs_a_retry_for_a_dead_actor(ray_module, tmp_path):
    if ray_module.is_initialized():
        pytest.skip("a Ray session is already running in this process")
    tests = str(Path(__file__).resolve().parent)            # actors import this module's policy
    try:
        ray_module.init(address="local", include_dashboard=False, num_cpus=1,
                        _node_ip_address="127.0.0.1", log_to_driver=False,
                        runtime_env={"env_vars": {"PYTHONPATH": tests}})
    except Exception as error:  # noqa: BLE001 (any reason Ray cannot start here)
        pytest.skip(f"Ray cannot start a local instance here: {error}")
    try:
        probe_address(ray_module.get_runtime_context().gcs_address, timeout_s=5.0)
        policy = ExitOncePolicy(*env_dims("Swimmer-v5"), str(tmp_path / "died"))
        flat = np.random.default_rng(0).normal(size=(3, policy.layout().size))
        lines: list[str] = []
        with RayBackend(policy, "Swimmer-v5", 20, workers=1, log=lines.append) as backend:
            result = backend.evaluate(flat, np.arange(3))
    finally:
        ray_module.shutdown()
    with SerialBackend(LinearPolicy(8, 2), "Swimmer-v5", 20) as serial:
        assert np.array_equal(result.returns, serial.evaluate(flat, np.arange(3)).returns)
    assert len(lines) == 1
    assert lines[0].startswith("retry 1/2 of task 1/1 (rows 0:3) of batch 1 (3 rollouts on "
                               "Swimmer-v5): Ray actor #1 died (")
    assert lines[0].endswith("running it on fresh Ray actor #2")


# --- pool workers -----------------------------------------------------------------------------

def test_a_stopped_pool_worker_is_replaced_and_its_task_retried(tmp_path):
    from odebench.rl.policies import make_policy

    policy = make_policy("odetoode", *env_dims("Swimmer-v5"), hidden=64)
    flat = 0.1 * np.random.default_rng(1).normal(size=(16, policy.layout().size))
    assert flat[:8].nbytes > 2**19     # a task (8 rows) the stopped worker's pipe cannot buffer
    lines: list[str] = []
    with PoolBackend(policy, "Swimmer-v5", 20, workers=2, timeout_s=3.0,
                     log=lines.append) as pool:
        expected = pool.evaluate(flat, np.arange(16))          # workers up, environments built
        stopped = pool.pids()[0]
        os.kill(stopped, signal.SIGSTOP)
        start = time.monotonic()
        result = pool.evaluate(flat, np.arange(16))
        assert time.monotonic() - start < 20
        fresh = pool.pids()[0]
    assert np.array_equal(result.returns, expected.returns)
    assert fresh != stopped
    assert lines == [f"retry 1/2 of task 1/2 (rows 0:8) of batch 2 (16 rollouts on Swimmer-v5): "
                     f"worker pid {stopped} timed out (no answer within task_timeout 3s); "
                     f"running it on fresh worker pid {fresh}"]
    with pytest.raises(ProcessLookupError):                     # killed, not left stopped
        _wait_gone(stopped)


def _wait_gone(pid: int) -> None:
    """Raise ProcessLookupError once ``pid`` is gone (reaped), within a few seconds."""
    for _ in range(50):
        os.kill(pid, 0)
        time.sleep(0.1)


def _tiny_config(folder: Path, **entry) -> dict:
    return {"profile": "test", "results_dir": str(folder), "device": "cpu", "threads": 1,
            "offline": True, "experiments": {"rl": {**TINY, **entry}}}


def _epochs(folder: Path) -> pd.DataFrame:
    epochs = pd.read_csv(folder / f"runs/rl/{RUN}/seed0/epochs.csv")
    return epochs.drop(columns=["seconds"])


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("undisturbed")
    run_one(_tiny_config(folder, backend="serial"), "rl", RUN, 0, log=lambda _m: None)
    return _epochs(folder)


class FaultyPool:
    """Captures the run's pool backend; SIGSTOPs its workers after a given iteration's log line
    (``stop_fresh``: every worker started after that too)."""

    def __init__(self, monkeypatch, after: int, stop_fresh: bool = False):
        self.backend: PoolBackend | None = None
        self.after, self.stop_fresh, self.stopped, self.lines = after, stop_fresh, [], []
        from odebench.rl import backends

        make = backends.make_backend

        def capture(*args, **kwargs):
            self.backend = make(*args, **kwargs)
            return self.backend

        monkeypatch.setattr(backends, "make_backend", capture)

    def log(self, line: str) -> None:
        self.lines.append(line)
        if f"iteration {self.after}/" in line and " reward " in line:
            pids = self.backend.pids()[: None if self.stop_fresh else 1]
            for pid in pids:
                self._stop(pid)
            if self.stop_fresh:
                start = self.backend._start

                def stopped_start():
                    worker = start()
                    self._stop(worker.process.pid)
                    return worker

                self.backend._start = stopped_start

    def _stop(self, pid: int) -> None:
        os.kill(pid, signal.SIGSTOP)
        self.stopped.append(pid)


def test_a_worker_stopped_mid_run_is_retried_and_the_run_matches(tmp_path, monkeypatch,
                                                                  undisturbed):
    faulty = FaultyPool(monkeypatch, after=1)
    config = _tiny_config(tmp_path, backend="pool", workers=2, task_timeout=3)
    summary = run_one(config, "rl", RUN, 0, log=faulty.log)
    assert summary["status"] == "completed"
    pd.testing.assert_frame_equal(_epochs(tmp_path), undisturbed)
    [stopped] = faulty.stopped
    retries = [line for line in faulty.lines if "retry" in line]
    assert len(retries) == 1
    assert retries[0].startswith(f"[rl/odetoode@Swimmer-v5/seed0] iteration 2: retry 1/2 of "
                                 f"task 1/2 (rows 0:2) of batch 4 (4 rollouts on Swimmer-v5): "
                                 f"worker pid {stopped} timed out")


def test_a_spent_retry_budget_stops_in_one_line_and_the_rerun_resumes(tmp_path, monkeypatch,
                                                                      undisturbed):
    faulty = FaultyPool(monkeypatch, after=1, stop_fresh=True)
    monkeypatch.setattr(pool_backend, "START_TIMEOUT_S", 2.0)  # fresh workers never get ready
    # task_timeout well above a healthy task's time on a loaded 2-core machine: only the
    # stopped worker may time out
    config = _tiny_config(tmp_path, backend="pool", workers=1, task_timeout=8,
                          task_retries=1)
    with pytest.raises(WorkerError) as error:
        run_one(config, "rl", RUN, 0, log=faulty.log)
    message = str(error.value)
    assert "\n" not in message                                 # the CLI prints one line
    assert message.startswith("[rl/odetoode@Swimmer-v5/seed0] stopped in iteration 2: task 1/1 "
                              "(rows 0:4) of batch 4 (4 rollouts on Swimmer-v5) failed 2 times "
                              "(task_retries=1): worker pid ")
    assert message.count("timed out (no answer within task_timeout 8s)") == 1
    assert message.endswith(f"{tmp_path}/runs/rl/{RUN}/seed0/checkpoint.pt keeps iteration 1: "
                            "rerun to resume")
    assert [line for line in faulty.lines if "retry" in line][0].startswith(
        "[rl/odetoode@Swimmer-v5/seed0] iteration 2: retry 1/1 of task 1/1")
    assert len(_epochs(tmp_path)) == 2  # θ0's evaluation and iteration 1
    monkeypatch.undo()
    lines: list[str] = []
    assert run_one(config, "rl", RUN, 0, log=lines.append)["status"] == "completed"
    assert lines[0].endswith("after iteration 1")
    pd.testing.assert_frame_equal(_epochs(tmp_path), undisturbed)


# --- configuration ----------------------------------------------------------------------------

def test_unknown_env_ids_are_config_errors_naming_close_ids():
    start = time.monotonic()
    with pytest.raises(UnknownEnvError) as error:
        experiment_task({"experiments": {"rl": {"env": "Swimer-v5"}}}, "rl")
    assert time.monotonic() - start < 5                        # registries only, nothing built
    message = str(error.value)
    assert message.startswith("unknown environment 'Swimer-v5'; did you mean Swimmer-v5")
    assert "\n" not in message
    with pytest.raises(UnknownEnvError, match="'Hopper-v9'; did you mean Hopper-v5"):
        rl.resolve("odetoode2020", {"env": "Hopper-v9"})
    assert rl.resolve("odetoode2020", {"env": "Walker2d-v4"})["env"] == "Walker2d-v4"


@pytest.mark.skipif(not dm_control_available(), reason="dm_control is not installed")
def test_unknown_dm_control_ids_are_config_errors_naming_close_ids():
    with pytest.raises(UnknownEnvError, match=r"'dm_control/humanoid-stnd'; did you mean "
                                              r"dm_control/humanoid-stand"):
        rl.resolve("odetoode2020", {"env": "dm_control/humanoid-stnd"})
    assert rl.resolve("odetoode2020", {"env": "dm_control/cheetah-run"})["env"]


def test_cli_names_an_unknown_env_id_in_one_line(tmp_path):
    config = write_config(tmp_path, tmp_path, {"rl": {**TINY, "env": "HalfChetah-v5"}})
    done = run_cli("plan", "--config", str(config), timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("odebench: error: unknown environment 'HalfChetah-v5'; did "
                                  "you mean HalfCheetah-v5")


@pytest.mark.parametrize(("setting", "value", "expected"), [
    ("task_timeout", 0, "task_timeout must be a positive number of seconds or null"),
    ("task_retries", -1, "task_retries must be a non-negative integer"),
    ("ray_connect_timeout", 0, "ray_connect_timeout must be a positive number"),
    ("ray_address", "headnode", "ray_address must look like 'host:port'"),
])
def test_bad_fault_settings_are_named(setting, value, expected):
    overrides = {"backend": "ray", "ray_address": "127.0.0.1:6379", setting: value}
    with pytest.raises(ValueError, match=expected):
        rl.resolve("odetoode2020", overrides)


def test_defaults_probe_within_15_seconds_and_size_task_timeouts_for_slow_rollouts():
    from odebench.rl.scheduling import auto_timeout

    assert 0 < rl.DEFAULTS["ray_connect_timeout"] <= 15
    assert rl.DEFAULTS["task_timeout"] is None and rl.DEFAULTS["task_retries"] == 2
    # k = 200 on one worker: 50-row tasks of 1000 steps; Humanoid ODEtoODE runs ~65 s of them
    assert auto_timeout(50, 1000) == pytest.approx(560.0)


# --- interrupted runs -------------------------------------------------------------------------

def _train_until(config: Path, line: str, sig: signal.Signals) -> tuple[str, int]:
    """Start ``odebench train`` of RUN in its own session; once stdout shows ``line``, send
    ``sig`` (SIGINT: to the whole session, as Ctrl-C does; else to the main process only).
    Return its stderr and process-group id."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "odebench.cli", "train", "--config", str(config),
         "--experiment", "rl", "--model", RUN, "--seed", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
            preexec_fn=interruptible,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for out in process.stdout:
        if line in out:
            if sig == signal.SIGINT:
                os.killpg(process.pid, sig)
            else:
                os.kill(process.pid, sig)
            break
    process.stdout.read()
    stderr = process.stderr.read()
    assert process.wait(60) != 0, "the run ended before the signal"
    return stderr, process.pid


def _group_gone(pgid: int) -> bool:
    """Whether every process of the group has exited (workers and forkserver included)."""
    for _ in range(50):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.killpg(pgid, signal.SIGKILL)
    return False


def test_ctrl_c_and_kill_9_of_a_pool_run_resume_to_identical_records(tmp_path):
    entry = {**TINY, "iterations": 16}
    reference = tmp_path / "reference"
    reference.mkdir()
    run_one(_tiny_config(reference, **entry, backend="serial"), "rl", RUN, 0,
            log=lambda _m: None)
    config = write_config(tmp_path, tmp_path,
                          {"rl": {**entry, "backend": "pool", "workers": 2}})
    stderr, group = _train_until(config, "iteration 3/16", signal.SIGINT)
    assert "Traceback" not in stderr                # none from the pool's workers either
    assert _group_gone(group)
    _, group = _train_until(config, "iteration 8/16", signal.SIGKILL)
    assert _group_gone(group)                          # workers end with their parent
    done = run_cli("train", "--config", str(config), "--experiment", "rl", "--model", RUN,
                   "--seed", "0", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stdout
    pd.testing.assert_frame_equal(_epochs(tmp_path), _epochs(reference))
