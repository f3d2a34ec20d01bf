"""Environment steps per second per core of our ES rollouts (a script, not asv).

Run ``.venv/bin/python benchmarks/rl_throughput.py`` on an otherwise idle machine. Per env
(Swimmer-v5 and HalfCheetah-v5 by default) it measures:

* bare: one env, ``env.step(env.action_space.sample())`` in a loop, reset every ``--horizon``
  steps (the target's reference); also with a constant action, which leaves out the cost of
  ``sample()`` and is the ceiling for a single-process Python loop over gymnasium;
* batched: ``rollout_batch`` of ``--batch`` episodes in lockstep with ``LinearPolicy`` (and
  with ``make_policy("odetoode", ...)`` when ``odebench.rl.policies`` provides it), and, from
  a separate instrumented run, the share of its time spent outside ``env.step`` (our
  overhead; unlike the ratios, it does not depend on the machine's speed staying constant);
* pool: ``PoolBackend`` with 1 and 2 workers on ``--population`` perturbations of a linear
  policy (after one warm-up evaluation that starts the workers and their environments),
  both pools alive and measured alternately.

Each number is the best of ``--repeats`` runs, per core (a pool's steps/s divided by its
workers). Printed ratios and their targets: batched/bare >= 0.95, 2 workers/1 worker (total
steps/s) >= 1.8, for the pool and, with ``--ray``, for Ray actors on a local Ray instance.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make ``odebench`` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from odebench.rl.envs import env_dims, env_versions, make_env  # noqa: E402
from odebench.rl.linear_policy import LinearPolicy  # noqa: E402
from odebench.rl.policy_spec import PolicySpec, RolloutPolicy  # noqa: E402
from odebench.rl.pool_backend import PoolBackend  # noqa: E402
from odebench.rl.rollout import EnvCache, rollout_batch  # noqa: E402

TARGET_BATCHED = 0.95  # issue 21: the batched rollout per core >= 0.95x bare gymnasium
TARGET_SCALING = 1.8   # issue 21: 2 workers (pool, Ray) >= 1.8x one


def best_of(repeats: int, measure: Callable[[], float]) -> float:
    return max(measure() for _ in range(repeats))


def bare_loop(env_id: str, steps: int, horizon: int, sample: bool = True, seed: int = 0) -> float:
    """``env.step(env.action_space.sample())`` (or a constant action when not ``sample``)."""
    env = make_env(env_id)
    env.action_space.seed(seed)
    env.reset(seed=seed)
    constant = np.zeros(env.action_space.shape)
    done_in_episode = 0
    start = time.perf_counter()
    for _ in range(steps):
        action = env.action_space.sample() if sample else constant
        _, _, terminated, truncated, _ = env.step(action)
        done_in_episode += 1
        if terminated or truncated or done_in_episode == horizon:
            env.reset()
            done_in_episode = 0
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def perturbed(policy: RolloutPolicy, count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centre = policy.initial(rng) if hasattr(policy, "initial") else np.zeros(policy.layout().size)
    return centre + 0.1 * rng.normal(size=(count, policy.layout().size))


def batched(policy: RolloutPolicy, env_id: str, count: int, horizon: int) -> float:
    flat, seeds, cache = perturbed(policy, count), np.arange(count), EnvCache()
    rollout_batch(policy, flat, env_id, 2, seeds, envs=cache)        # create the environments
    start = time.perf_counter()
    result = rollout_batch(policy, flat, env_id, horizon, seeds, envs=cache)
    return result.steps.sum() / (time.perf_counter() - start)


def overhead_share(policy: RolloutPolicy, env_id: str, count: int, horizon: int) -> float:
    """Fraction of a ``rollout_batch`` spent outside ``env.step`` (an instrumented run, so
    robust to drift in machine speed between separately timed loops)."""
    flat, seeds, cache = perturbed(policy, count), np.arange(count), EnvCache()
    envs = cache.get(env_id, count)
    in_step = [0.0]

    def timed(step: Callable) -> Callable:
        def wrapper(action: np.ndarray) -> tuple:
            start = time.perf_counter()
            try:
                return step(action)
            finally:
                in_step[0] += time.perf_counter() - start
        return wrapper

    for env in envs:
        env.step = timed(env.step)
    start = time.perf_counter()
    rollout_batch(policy, flat, env_id, horizon, seeds, envs=cache)
    return 1.0 - in_step[0] / (time.perf_counter() - start)


def pooled(env_id: str, worker_counts: tuple[int, ...], population: int, horizon: int,
           repeats: int, backend: Callable[..., Any] = PoolBackend) -> dict[int, float]:
    """Total steps/s of warm pools (``backend``: PoolBackend or RayBackend), best of
    ``repeats`` evaluations, measured alternately so drift in the machine's load hits every
    pool alike."""
    spec = PolicySpec("linear", *env_dims(env_id))
    flat, seeds = perturbed(spec.build(), population), np.arange(population)
    pools = {n: backend(spec, env_id, horizon, workers=n) for n in worker_counts}
    best = dict.fromkeys(worker_counts, 0.0)
    try:
        for pool in pools.values():
            pool.evaluate(flat, seeds)
        for _ in range(repeats):
            for n, pool in pools.items():
                start = time.perf_counter()
                steps = pool.evaluate(flat, seeds).steps.sum()
                best[n] = max(best[n], steps / (time.perf_counter() - start))
    finally:
        for pool in pools.values():
            pool.close()
    return best


def odetoode_policy(env_id: str) -> RolloutPolicy | None:
    try:
        from odebench.rl.policies import make_policy
    except ImportError:
        return None
    return make_policy("odetoode", *env_dims(env_id))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["Swimmer-v5", "HalfCheetah-v5"])
    parser.add_argument("--horizon", type=int, default=1000)
    parser.add_argument("--bare-steps", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ray", action="store_true",
                        help="also RayBackend with 1 and 2 actors on a local Ray instance")
    args = parser.parse_args(argv)
    backends: dict[str, Callable[..., Any]] = {"PoolBackend": PoolBackend}
    if args.ray:  # one local instance for both backends (neither owns it), logical CPUs for
        import ray  # the 1 + 2 actors alive at once (they are measured alternately)

        from odebench.rl.ray_backend import RayBackend

        ray.init(address="local", include_dashboard=False, num_cpus=3,
                 _node_ip_address="127.0.0.1", log_to_driver=False)
        backends["RayBackend"] = RayBackend

    print(f"versions: {env_versions()}; cpus: {os.cpu_count()}; "
          f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"horizon {args.horizon}; batch {args.batch}; population {args.population}; "
          f"best of {args.repeats}; steps/s per core")
    for env_id in args.envs:
        bare = best_of(args.repeats, lambda e=env_id: bare_loop(e, args.bare_steps, args.horizon))
        print(f"\n{env_id}")
        constant = best_of(args.repeats, lambda e=env_id: bare_loop(e, args.bare_steps,
                                                                     args.horizon, False))
        print(f"  bare env.step(sample())          {bare:10.0f}")
        print(f"  bare env.step(zeros)             {constant:10.0f}   (sample() excluded)")
        policies = {"linear": LinearPolicy(*env_dims(env_id)), "odetoode": odetoode_policy(env_id)}
        for name, policy in policies.items():
            if policy is None:
                print(f"  rollout_batch {name:<10}         (odebench.rl.policies not available)")
                continue
            rate = best_of(args.repeats,
                           lambda p=policy, e=env_id: batched(p, e, args.batch, args.horizon))
            mark = "" if name != "linear" else (
                "  ok" if rate / bare >= TARGET_BATCHED else f"  below {TARGET_BATCHED}")
            print(f"  rollout_batch {name:<10}         {rate:10.0f}   ours/bare "
                  f"{rate / bare:5.2f}{mark}; ours/bare(zeros) {rate / constant:5.2f}; "
                  f"outside env.step "
                  f"{overhead_share(policy, env_id, args.batch, args.horizon):.1%}")
        for label, backend in backends.items():
            rates = pooled(env_id, (1, 2), args.population, args.horizon, args.repeats, backend)
            one, two = rates[1], rates[2]
            scaling = two / one
            print(f"  {label}(1), P={args.population:<4}  {one:10.0f}   1 worker/bare "
                  f"{one / bare:5.2f}")
            print(f"  {label}(2), P={args.population:<4}  {two / 2:10.0f}   "
                  f"2 workers/1 worker {scaling:5.2f}"
                  f"{'  ok' if scaling >= TARGET_SCALING else f'  below {TARGET_SCALING}'}")
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.ray:
        ray.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
