"""Evolution-strategies RL on MuJoCo (ODEtoODE Sec. 5.1, Fig. 2): one (env, policy, seed) job.

The experiment sweeps ``env`` (runs live in ``runs/<experiment>/<policy>@env=<id>/seed<k>``);
the models are the six policy classes. Each ES iteration evaluates k perturbed parameter
vectors in batched rollouts (``odebench.rl.backends``), updates the parameters with the
Riemannian ES step (``odebench.rl.es``) and writes one row: the mean, max and min return over
the perturbations, the return of the current parameters (every ``eval_every`` iterations),
environment steps so far, wall seconds and the constraint residuals of the manifold blocks.
Baselines are widened to "similar (but not smaller)" parameter counts than ODEtoODE on the
same environment (paper Sec. 5.1.2). Training resumes from ``checkpoint.pt`` after the last
completed iteration, with the same result as an uninterrupted run.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from odebench.records import STATUS_COMPLETED, STATUS_DIVERGED, RunRecord
from odebench.tasks.trainer import TrainOutcome

if TYPE_CHECKING:
    from odebench.tasks.run import RunContext

NAME = "rl"
SETUPS = ("odetoode2020",)
POLICY_NAMES = ["odetoode", "deepnet", "deepresnet", "baseode", "nanode", "hypernet"]
HUMANOID_HIDDEN = 64  # ODEtoODE Sec. 5.1.2: h = 64 for OpenAI Gym Humanoid (HyperNet: 16)

DEFAULTS: dict[str, Any] = {
    "env": "HalfCheetah-v5",   # swept by the experiment (paper: 4 Gym + 4 DMC tasks)
    "seeds": 10,               # ODEtoODE Sec. 5.1.2: s = 10 seeds
    "iterations": 1000,        # not in the paper (ours)
    "perturbations": 200,      # ODEtoODE Sec. 5.1.2: k = 200, following [15]
    "sigma": 0.1,              # ODEtoODE Sec. 5.1.2: ES stddev 0.1
    "step": 0.01,              # ODEtoODE Sec. 5.1.2: ES step size 0.01
    "horizon": 1000,           # not in the paper: the gymnasium default episode length
    "hidden": 16,              # ODEtoODE Sec. 5.1.2: h = 16 (64 on Humanoid, see above)
    "antithetic": False,       # paper: plain MC estimator (no antithetic pairs)
    "rank_shaping": False,     # paper: no fitness shaping stated
    "baseline": "none",        # paper: no baseline subtraction stated
    "perturbation": "projected",  # paper: unspecified; ambient = the theory's θ + σε (es.py)
    "update": "riemannian",    # ODEtoODE Eq. 8-9: Riemannian ES updates
    "schedule": "constant",    # experiments: constant step (Theorem 1: srgd)
    "wide_stiefel": "transpose",  # ours: the literal rule never moves a wide Ω's row space
    "obs_norm": False,         # paper: unspecified
    "eval_every": 1,           # return of the current parameters every k iterations
    "eval_episodes": 1,
    "backend": "pool",         # pool (local processes), serial, or ray
    "workers": 1,              # rollout workers (Snakemake threads of the job)
    "ray_address": None,       # backend ray: the head's address (ray start --head)
    "ray_connect_timeout": 10.0,  # s to probe ray_address (TCP + gRPC handshake); ours: a GCS
                                  # answers in milliseconds, 10 s allows slow WAN links
    "task_timeout": None,      # s per rollout task before its worker is replaced; null: 60 s
                               # + 10 ms per row-step (~8x the slowest measured, scheduling.py)
    "task_retries": 2,         # retries of a failed task on a fresh worker, then the run stops
    "checkpoint_every": 1,
    "policy_options": {},      # per-policy options, e.g. {deepnet: {activation: relu}}
}


def setups() -> list[str]:
    return list(SETUPS)


def models(setup: str) -> list[str]:
    return list(POLICY_NAMES)


def resolve(setup: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The settings of one job: defaults, then ``overrides``; the env id (registries only,
    nothing built), the backend, the Ray address and the fault settings checked."""
    from odebench.rl.envs import MissingEnvPackageError, check_env_id
    from odebench.rl.scheduling import Retry

    resolved = {**DEFAULTS, **overrides, "setup": setup}
    try:
        check_env_id(resolved["env"])
    except MissingEnvPackageError as error:
        raise ValueError(f"env: {error}") from None
    if resolved["backend"] not in ("pool", "serial", "ray"):
        raise ValueError(f"backend: unknown value {resolved['backend']!r}; valid: pool, serial, "
                         "ray")
    if resolved["backend"] == "ray":
        _check_ray_settings(resolved)
    Retry(resolved["task_timeout"], resolved["task_retries"])   # ValueError naming the key
    return resolved


def _check_ray_settings(resolved: dict[str, Any]) -> None:
    from odebench.rl.ray_backend import split_address

    if not resolved["ray_address"]:
        raise ValueError("backend: ray needs ray_address (the address `ray start --head` "
                         "printed, e.g. 10.0.0.1:6379)")
    if resolved["ray_address"] not in ("auto", "local"):
        split_address(resolved["ray_address"])
    timeout = resolved["ray_connect_timeout"]
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"ray_connect_timeout must be a positive number of seconds, got "
                         f"{timeout!r}")


def prepare_data(cfg: dict[str, Any], data_dir: str | None = None,
                 offline: bool = True) -> dict[str, Any]:
    from odebench.rl.envs import env_dims, env_versions

    envs = cfg.get("sweep", {}).get("env") or [cfg["env"]]
    return {"source": "gymnasium MuJoCo environments (simulated, nothing downloaded)",
            "environments": {env: list(env_dims(env)) for env in envs},
            "versions": env_versions()}


def hidden_size(cfg: dict[str, Any], env: str, policy: str) -> int:
    """h: the configured width, 64 on Humanoid for every policy but HyperNet (paper)."""
    if env.startswith("Humanoid") and policy != "hypernet" and cfg["hidden"] == 16:
        return HUMANOID_HIDDEN
    return int(cfg["hidden"])


def build_policy(cfg: dict[str, Any], policy: str, env: str):
    """The policy for ``env``; baselines widened to ODEtoODE's parameter count or more."""
    from odebench.rl.envs import env_dims
    from odebench.rl.policies import make_policy, match_width

    obs_dim, act_dim = env_dims(env)
    options = dict(cfg["policy_options"].get(policy, {}))
    reference = make_policy("odetoode", obs_dim, act_dim,
                            hidden=hidden_size(cfg, env, "odetoode"))
    if policy == "odetoode":
        return reference
    if policy != "hypernet" and "hidden" not in options:
        options["hidden"] = match_width(policy, obs_dim, act_dim, reference.layout().size)
    return make_policy(policy, obs_dim, act_dim, **options)


CHECKPOINT_KEYS = ("iteration", "theta", "env_steps", "es", "rng", "rows")


def _save(record: RunRecord, state: dict[str, Any]) -> None:
    """``checkpoint.pt``: the state with its numpy arrays as tensors (no pickled objects)."""
    from odebench.records.checkpoint import plain, write_checkpoint

    write_checkpoint(record.checkpoint_path, plain(state))


def _load(record: RunRecord) -> dict[str, Any] | None:
    """The state :func:`_save` wrote (tensors back to numpy arrays), read without running
    code; ``None`` without a checkpoint, a one-line error naming an unreadable one."""
    import torch

    from odebench.records.checkpoint import read_checkpoint

    if not record.checkpoint_path.is_file():
        return None
    state = read_checkpoint(record.checkpoint_path, "cpu", required=CHECKPOINT_KEYS)

    def arrays(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: arrays(item) for key, item in value.items()}
        return value.numpy() if isinstance(value, torch.Tensor) else value

    return arrays(state)


def run(cfg: dict[str, Any], model_name: str, seed: int, record: RunRecord,
        context: RunContext) -> tuple[TrainOutcome, dict[str, Any]]:
    """ES iterations with checkpoints; rows per iteration (one BLAS thread in this process:
    the ES update's small matrix exponentials only slow down when spread over cores)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run(cfg, model_name, seed, record, context)


def _run(cfg: dict[str, Any], model_name: str, seed: int, record: RunRecord,
         context: RunContext) -> tuple[TrainOutcome, dict[str, Any]]:
    from odebench.rl.backends import Retry, WorkerError, make_backend
    from odebench.rl.envs import env_versions
    from odebench.rl.es import ES, ESConfig, constraint_residuals

    env = cfg["env"]
    policy = build_policy(cfg, model_name, env)
    layout = policy.layout()
    es_config = ESConfig(sigma=cfg["sigma"], step=cfg["step"],
                         perturbations=cfg["perturbations"], antithetic=cfg["antithetic"],
                         rank_shaping=cfg["rank_shaping"], baseline=cfg["baseline"],
                         perturbation=cfg["perturbation"], update=cfg["update"],
                         schedule=cfg["schedule"], wide_stiefel=cfg["wide_stiefel"])
    es = ES(layout, es_config, seed)
    rng = np.random.default_rng(seed)
    theta = policy.initial(rng)
    obs_stats = ObservationStats() if cfg["obs_norm"] else None
    start, env_steps, status = 0, 0, STATUS_COMPLETED
    resumed = _load(record)
    if resumed is not None:
        start, theta, env_steps = resumed["iteration"], resumed["theta"], resumed["env_steps"]
        es.load_state_dict(resumed["es"])
        rng.bit_generator.state = resumed["rng"]
        record.rows = list(resumed["rows"])
        record.write_epochs()
        if obs_stats is not None:
            obs_stats.load(resumed["obs_stats"])
        context.log(f"resuming from {record.checkpoint_path} after iteration {start}")
    tag = f"[{record.experiment}/{model_name}@{env}/seed{seed}]"

    def log_retry(message: str) -> None:
        context.log(f"{tag} iteration {iteration}: {message}")

    backend = make_backend(cfg["backend"], policy, env, cfg["horizon"],
                           workers=cfg["workers"], address=cfg["ray_address"],
                           connect_timeout_s=cfg["ray_connect_timeout"],
                           retry=Retry(cfg["task_timeout"], cfg["task_retries"], log_retry))
    iteration = start
    try:
        for iteration in range(start + 1, cfg["iterations"] + 1):
            started = time.perf_counter()
            eps, candidates = es.ask(theta)
            seeds = rng.integers(0, 2**31 - 1, size=len(candidates))
            norm = obs_stats.normaliser() if obs_stats is not None else None
            result = backend.evaluate(candidates, seeds, norm)
            if obs_stats is not None:
                obs_stats.update(result)
            env_steps += int(np.sum(result.steps))
            if not np.isfinite(result.returns).all():  # never let a NaN into the parameters
                status = STATUS_DIVERGED
            else:
                theta = es.tell(theta, eps, result.returns)
            row = {"epoch": iteration, "iteration": iteration, "env_steps": env_steps,
                   "reward_mean": float(np.mean(result.returns)),
                   "reward_max": float(np.max(result.returns)),
                   "reward_min": float(np.min(result.returns))}
            evaluate_now = iteration % cfg["eval_every"] == 0 or iteration == cfg["iterations"]
            if evaluate_now and status == STATUS_COMPLETED:
                evaluation = backend.evaluate(
                    np.repeat(theta[None], cfg["eval_episodes"], axis=0),
                    rng.integers(0, 2**31 - 1, size=cfg["eval_episodes"]), norm)
                row["eval_return"] = float(np.mean(evaluation.returns))
            row["seconds"] = time.perf_counter() - started
            row.update({f"residual_{k}": v for k, v in
                        constraint_residuals(layout, theta).items()})
            record.append(row)
            if iteration % cfg["checkpoint_every"] == 0 or iteration == cfg["iterations"] \
                    or status != STATUS_COMPLETED:
                _save(record, {"iteration": iteration, "theta": theta, "env_steps": env_steps,
                               "es": es.state_dict(), "rng": rng.bit_generator.state,
                               "rows": record.rows,
                               "obs_stats": obs_stats.state() if obs_stats else None})
            context.log(f"{tag} iteration {iteration}/{cfg['iterations']} reward "
                        f"{row['reward_mean']:.4g} (max {row['reward_max']:.4g}) eval "
                        f"{row.get('eval_return', float('nan')):.4g} steps {env_steps} "
                        f"{row['seconds']:.2f}s")
            if status != STATUS_COMPLETED:
                context.log(f"{tag} {status} at iteration {iteration}")
                break
    except WorkerError as error:
        if "Traceback" in error.worker_traceback:
            context.log(f"{tag} the last failure's worker traceback:\n"
                        f"{error.worker_traceback.rstrip()}")
        saved = _last_checkpoint(record, start, cfg["checkpoint_every"])
        raise WorkerError(f"{tag} stopped in iteration {iteration}: {error}; "
                          + (f"{record.checkpoint_path} keeps iteration {saved}: rerun to resume"
                             if saved else "no iteration completed: rerun to start over"),
                          error.worker_traceback) from None
    finally:
        backend.close()
    rows = record.rows
    evals = [r["eval_return"] for r in rows if "eval_return" in r]
    final = {**(rows[-1] if rows else {}),
             "initial_eval_return": evals[0] if evals else None,
             "best_eval_return": max(evals) if evals else None,
             "total_seconds": sum(r["seconds"] for r in rows)}
    return TrainOutcome(status, rows, final), {
        "n_params": layout.size, "env": env, "env_versions": env_versions(),
        "policy_width": getattr(policy, "width", None), "horizon": cfg["horizon"]}


def _last_checkpoint(record: RunRecord, start: int, every: int) -> int:
    """The iteration the checkpoint holds while the run is still short of its end: the last
    multiple of ``every`` completed, or the iteration it resumed from."""
    done = int(record.rows[-1]["iteration"]) if record.rows else start
    return max(start, done // every * every)


class ObservationStats:
    """Running mean and variance of observations over every rollout step (obs_norm)."""

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.total_sq: np.ndarray | None = None
        self.count = 0

    def update(self, result: Any) -> None:
        if self.total is None:
            self.total = np.zeros_like(result.obs_sum)
            self.total_sq = np.zeros_like(result.obs_sumsq)
        self.total += result.obs_sum
        self.total_sq += result.obs_sumsq
        self.count += int(result.obs_count)

    def normaliser(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.total is None or self.count < 2:
            return None
        mean = self.total / self.count
        var = np.maximum(self.total_sq / self.count - mean**2, 1e-8)
        return mean, np.sqrt(var)

    def state(self) -> dict[str, Any]:
        return {"total": self.total, "total_sq": self.total_sq, "count": self.count}

    def load(self, state: dict[str, Any] | None) -> None:
        if state:
            self.total, self.total_sq, self.count = (state["total"], state["total_sq"],
                                                     state["count"])
