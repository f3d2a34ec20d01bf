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

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from odebench.records import STATUS_COMPLETED, STATUS_DIVERGED, RunRecord
from odebench.records.progress import EtaClock
from odebench.tasks.trainer import TrainOutcome

if TYPE_CHECKING:
    from odebench.tasks.run import RunContext

NAME = "rl"
SETUPS = ("odetoode2020",)
POLICY_NAMES = ["odetoode", "deepnet", "deepresnet", "baseode", "nanode", "hypernet"]
DEFAULTS: dict[str, Any] = {
    "env": "HalfCheetah-v5",   # swept by the experiment (paper: 4 Gym + 4 DMC tasks)
    "seeds": 10,               # ODEtoODE Sec. 5.1.2: s = 10 seeds
    "iterations": 1000,        # not in the paper (ours)
    "perturbations": 200,      # ODEtoODE Sec. 5.1.2: k = 200, following [15]
    "sigma": 0.1,              # ODEtoODE Sec. 5.1.2: ES stddev 0.1
    "step": 0.01,              # ODEtoODE Sec. 5.1.2: ES step size 0.01
    "horizon": 1000,           # not in the paper: the gymnasium default episode length
    "hidden": 16,              # ODEtoODE Sec. 5.1.2: h = 16 (64 on Gym Humanoid: hidden_size)
    # Ours where the paper is silent ("the standard Monte Carlo procedure [15]"): [15]'s
    # orthogonal antithetic pairs on std-divided returns (docs/PAPERS.md, measured); forward
    # on none is the theory's plain MC, which does not learn HalfCheetah at these settings.
    "estimator": "orthogonal_antithetic",  # forward | antithetic | orthogonal_antithetic
    "return_normalisation": "std",         # none | mean | std | zscore | ranks
    "perturbation": "ambient",    # ODEtoODE Sec. 4.2: F(θ + σε); only the update is Riemannian
                                  # (Sec. 5.1.2); projected: ours (docs/PAPERS.md)
    "update": "riemannian",    # ODEtoODE Eq. 8-9: Riemannian ES updates
    "schedule": "constant",    # experiments: constant step (Theorem 1: srgd)
    "wide_stiefel": "transpose",  # ours: the literal rule never moves a wide Ω's row space
    "obs_norm": False,         # paper: unspecified
    "eval_every": 1,           # return of the current parameters every k iterations (and
                               # of θ0 at iteration 0)
    "eval_episodes": 5,        # ours: the evaluation return is the mean over 5 episodes
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
    # ODEtoODE Sec. 5.1.2: baselines "similar (but not smaller)" in size, "ablations over
    # sizes", the best mean final-reward curve chosen. Each ratio r >= 1 runs every widened
    # baseline at the smallest width with >= r x ODEtoODE's parameters (a run key
    # <policy>+p<r>); the report keeps each (env, policy)'s best size. [1]: no ablation.
    "size_ablation": [1],
}
# The baselines widened to ODEtoODE's parameter count, so the ones a size ablation varies
# (HyperNet keeps the paper's fixed width 16).
SIZED_POLICIES = ("deepnet", "deepresnet", "baseode", "nanode")


def setups() -> list[str]:
    return list(SETUPS)


def models(setup: str) -> list[str]:
    return list(POLICY_NAMES)


def resolve(setup: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The settings of one job: defaults, then ``overrides``; the env id (registries only,
    nothing built), the backend, the Ray address and the fault settings checked."""
    from odebench.rl.envs import MissingEnvPackageError, check_env_id
    from odebench.rl.policies import check_policy_options
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
    es_config(resolved)                                          # ValueError naming the key
    check_policy_options(resolved["policy_options"])             # ValueError naming the key
    _check_size_ablation(resolved["size_ablation"])
    episodes = resolved["eval_episodes"]
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"eval_episodes must be an integer >= 1 (episodes per evaluation of "
                         f"θ), got {episodes!r}")
    return resolved


def _check_size_ablation(ratios: Any) -> None:
    if (not isinstance(ratios, list) or not ratios or len(set(ratios)) != len(ratios)
            or any(isinstance(r, bool) or not isinstance(r, int | float) or not r >= 1
                   for r in ratios)):
        raise ValueError(f"size_ablation must be a list of distinct parameter-count ratios "
                         f">= 1 (to ODEtoODE's), got {ratios!r}")


def model_variants(cfg: dict[str, Any], policy: str) -> list[str]:
    """The sizes a size ablation runs of ``policy`` (``p1``, ``p1.5``, ...); [] without one."""
    ratios = cfg["size_ablation"]
    if policy not in SIZED_POLICIES or len(ratios) < 2:
        return []
    return [f"p{ratio:g}" for ratio in ratios]


def variant_settings(variant: str) -> dict[str, Any]:
    """The settings of a size variant: ``p1.5`` -> ``{"param_ratio": 1.5}``."""
    return {"param_ratio": float(variant.removeprefix("p"))}


def es_config(cfg: dict[str, Any]) -> Any:
    """The :class:`~odebench.rl.es.ESConfig` of resolved settings (a ValueError naming a bad
    key and its valid values)."""
    from odebench.rl.es import ESConfig

    return ESConfig(sigma=cfg["sigma"], step=cfg["step"], perturbations=cfg["perturbations"],
                    estimator=cfg["estimator"],
                    return_normalisation=cfg["return_normalisation"],
                    perturbation=cfg["perturbation"], update=cfg["update"],
                    schedule=cfg["schedule"], wide_stiefel=cfg["wide_stiefel"])


SEED_STREAMS = ("init", "noise", "env")


def derive_seeds(seed: int) -> dict[str, int]:
    """Independent seeds of θ0's initialisation, the ES noise and the episodes' resets, from
    the run seed (``numpy.random.SeedSequence(seed).spawn``): each stream is its own."""
    children = np.random.SeedSequence(seed).spawn(len(SEED_STREAMS))
    return {name: int(child.generate_state(1)[0])
            for name, child in zip(SEED_STREAMS, children, strict=True)}


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
    """h: the configured width; at the default 16, the paper's (Sec. 5.1.2): 64 on OpenAI Gym
    Humanoid for every policy but HyperNet, 16 on all other tasks (the DeepMind Control
    humanoids included: the paper names only Gym Humanoid)."""
    from odebench.rl.matching import paper_hidden
    from odebench.rl.policy_base import DEFAULT_HIDDEN

    if policy != "hypernet" and cfg["hidden"] == DEFAULT_HIDDEN:
        return paper_hidden(env)
    return int(cfg["hidden"])


def build_policy(cfg: dict[str, Any], policy: str, env: str):
    """The policy for ``env`` with its ``policy_options``; every baseline but HyperNet widened
    to the (configured) ODEtoODE's parameter count or more (times the job's ``param_ratio``
    of a size ablation), unless its options set ``hidden``."""
    from odebench.rl.envs import env_dims
    from odebench.rl.matching import match_width
    from odebench.rl.policies import check_policy_options, make_policy

    check_policy_options(cfg["policy_options"])
    obs_dim, act_dim = env_dims(env)
    options = {name: dict(cfg["policy_options"].get(name) or {})
               for name in ("odetoode", policy)}
    reference = make_policy("odetoode", obs_dim, act_dim,
                            **{"hidden": hidden_size(cfg, env, "odetoode"), **options["odetoode"]})
    if policy == "odetoode":
        return reference
    own = options[policy]
    if policy != "hypernet" and "hidden" not in own:
        target = math.ceil(cfg.get("param_ratio", 1.0) * reference.layout().size)
        own["hidden"] = match_width(policy, obs_dim, act_dim, target, **own)
    return make_policy(policy, obs_dim, act_dim, **own)


CHECKPOINT_KEYS = ("iteration", "theta", "env_steps", "eval_env_steps", "es", "rng",
                   "rows")


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
    from odebench.rl.es import ES

    env = cfg["env"]
    policy = build_policy(cfg, model_name, env)
    layout = policy.layout()
    streams = derive_seeds(seed)
    es = ES(layout, es_config(cfg), streams["noise"])
    rng = np.random.default_rng(streams["env"])   # reset seeds of every episode
    theta = policy.initial(np.random.default_rng(streams["init"]))
    obs_stats = ObservationStats() if cfg["obs_norm"] else None
    state = {"iteration": 0, "env_steps": 0, "eval_env_steps": 0}
    status = STATUS_COMPLETED
    resumed = _load(record)
    if resumed is not None:
        theta = resumed["theta"]
        state = {key: int(resumed[key]) for key in state}
        es.load_state_dict(resumed["es"])
        rng.bit_generator.state = resumed["rng"]
        record.restore(resumed["rows"])
        if obs_stats is not None:
            obs_stats.load(resumed["obs_stats"])
        context.log(f"resuming from {record.checkpoint_path} after iteration "
                    f"{state['iteration']}")
    start = state["iteration"]
    saved = start if resumed is not None else None   # the iteration checkpoint.pt holds
    tag = f"[{record.experiment}/{model_name}@{env}/seed{seed}]"

    def log_retry(message: str) -> None:
        context.log(f"{tag} iteration {iteration}: {message}")

    def save() -> None:
        _save(record, {**state, "theta": theta, "es": es.state_dict(),
                       "rng": rng.bit_generator.state, "rows": record.rows,
                       "obs_stats": obs_stats.state() if obs_stats else None})

    backend = make_backend(cfg["backend"], policy, env, cfg["horizon"],
                           workers=cfg["workers"], address=cfg["ray_address"],
                           connect_timeout_s=cfg["ray_connect_timeout"],
                           retry=Retry(cfg["task_timeout"], cfg["task_retries"], log_retry))
    iteration = start
    try:
        if resumed is None:  # θ0's return: iteration 0 of the curve
            started = time.perf_counter()
            row = {"epoch": 0, "iteration": 0, "env_steps": 0}
            if not _evaluate_into(row, state, backend, theta, cfg["eval_episodes"], rng,
                                  obs_stats):
                status = STATUS_DIVERGED
            _finish_row(row, state, started, layout, theta, record)
            if status == STATUS_COMPLETED:
                save()
                saved = 0
            _log_row(context, tag, row, cfg["iterations"], state)
        eta = EtaClock(cfg["iterations"], start)
        for iteration in range(start + 1, cfg["iterations"] + 1):
            if status != STATUS_COMPLETED:
                break
            started = time.perf_counter()
            eps, candidates = es.ask(theta)
            seeds = rng.integers(0, 2**31 - 1, size=len(candidates))
            norm = obs_stats.normaliser() if obs_stats is not None else None
            result = backend.evaluate(candidates, seeds, norm)
            if obs_stats is not None:
                obs_stats.update(result)
            state["env_steps"] += int(np.sum(result.steps))
            row = {"epoch": iteration, "iteration": iteration, "env_steps": state["env_steps"],
                   **_candidate_stats(result.returns)}
            new_theta = _es_step(es, theta, eps, result.returns, context.log,
                                 f"{tag} iteration {iteration}")
            if new_theta is None:  # never let a NaN into the parameters
                status = STATUS_DIVERGED
            else:
                theta = new_theta
            last = iteration == cfg["iterations"]
            if status == STATUS_COMPLETED and (iteration % cfg["eval_every"] == 0 or last) \
                    and not _evaluate_into(row, state, backend, theta, cfg["eval_episodes"],
                                           rng, obs_stats):
                status = STATUS_DIVERGED
                context.log(f"{tag} iteration {iteration}: θ's return is non-finite in every "
                            "evaluation episode")
            _finish_row(row, state, started, layout, theta, record)
            if status == STATUS_COMPLETED and (iteration % cfg["checkpoint_every"] == 0
                                               or last):
                state["iteration"] = iteration
                save()
                saved = iteration
            _log_row(context, tag, row, cfg["iterations"], state,
                     eta.suffix(iteration) if status == STATUS_COMPLETED else "")
        if status != STATUS_COMPLETED:
            context.log(f"{tag} {status} at iteration {iteration}; " + (
                f"{record.checkpoint_path} keeps iteration {saved}, the last good one"
                if saved is not None else "θ0 itself has no finite return: no checkpoint"))
    except WorkerError as error:
        if "Traceback" in error.worker_traceback:
            context.log(f"{tag} the last failure's worker traceback:\n"
                        f"{error.worker_traceback.rstrip()}")
        done = _last_checkpoint(record, start, cfg["checkpoint_every"])
        raise WorkerError(f"{tag} stopped in iteration {iteration}: {error}; "
                          + (f"{record.checkpoint_path} keeps iteration {done}: rerun to resume"
                             if record.checkpoint_path.is_file()
                             else "no iteration completed: rerun to start over"),
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
        "policy_width": getattr(policy, "width", None), "horizon": cfg["horizon"],
        "seeds": {"run": seed, **streams}, "eval_episodes": cfg["eval_episodes"]}


def _candidate_stats(returns: np.ndarray) -> dict[str, Any]:
    """Mean, max and min of the finite candidate returns (NaN when none is finite) and the
    count of non-finite ones."""
    finite = returns[np.isfinite(returns)]
    nan = float("nan")
    return {"reward_mean": float(np.mean(finite)) if finite.size else nan,
            "reward_max": float(np.max(finite)) if finite.size else nan,
            "reward_min": float(np.min(finite)) if finite.size else nan,
            "nonfinite_candidates": int(returns.size - finite.size)}


def _es_step(es: Any, theta: np.ndarray, eps: np.ndarray, returns: np.ndarray,
             log: Callable[[str], None], where: str) -> np.ndarray | None:
    """θ after one ES update. A non-finite candidate return is scored as the worst finite one
    (:func:`~odebench.rl.es.finite_returns`); with none finite θ stays. ``None`` when the
    update would make θ non-finite."""
    from odebench.rl.es import finite_returns

    returns, bad = finite_returns(returns)
    if bad:
        log(f"{where}: {bad} of {len(returns)} candidate returns non-finite, scored as the "
            "worst finite return" + ("; none finite: θ not updated" if bad == len(returns)
                                     else ""))
    if bad == len(returns):
        return theta
    grad = es.gradient(eps, returns)
    new_theta = es.update(theta, grad) if np.isfinite(grad).all() else grad
    if np.isfinite(new_theta).all():
        return new_theta
    log(f"{where}: the update made θ non-finite")
    return None


def _evaluate_into(row: dict[str, Any], state: dict[str, int], backend: Any,
                   theta: np.ndarray, episodes: int, rng: np.random.Generator,
                   obs_stats: ObservationStats | None) -> bool:
    """θ's return over ``episodes`` episodes into ``row`` (mean and spread of the finite
    ones, and how many were not); ``False`` when none was finite. Evaluation steps count in
    ``eval_env_steps``, apart from the training rollouts' ``env_steps``."""
    norm = obs_stats.normaliser() if obs_stats is not None else None
    evaluation = backend.evaluate(np.repeat(theta[None], episodes, axis=0),
                                  rng.integers(0, 2**31 - 1, size=episodes), norm)
    state["eval_env_steps"] += int(np.sum(evaluation.steps))
    finite = evaluation.returns[np.isfinite(evaluation.returns)]
    if not finite.size:
        row["eval_nonfinite"] = episodes
        return False
    row.update({"eval_return": float(np.mean(finite)), "eval_return_std": float(np.std(finite)),
                "eval_nonfinite": episodes - int(finite.size)})
    return True


def _finish_row(row: dict[str, Any], state: dict[str, int], started: float, layout: Any,
                theta: np.ndarray, record: RunRecord) -> None:
    from odebench.rl.es import constraint_residuals

    row["eval_env_steps"] = state["eval_env_steps"]
    row["seconds"] = time.perf_counter() - started
    row.update({f"residual_{k}": v for k, v in constraint_residuals(layout, theta).items()})
    record.append(row)


def _log_row(context: RunContext, tag: str, row: dict[str, Any], iterations: int,
             state: dict[str, int], eta: str = "") -> None:
    context.log(f"{tag} iteration {row['iteration']}/{iterations} reward "
                f"{row.get('reward_mean', float('nan')):.4g} "
                f"(max {row.get('reward_max', float('nan')):.4g}) eval "
                f"{row.get('eval_return', float('nan')):.4g} steps {state['env_steps']} "
                f"(+{state['eval_env_steps']} evaluation) {row['seconds']:.2f}s{eta}")


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
