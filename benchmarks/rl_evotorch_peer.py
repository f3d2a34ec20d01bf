"""Our PoolBackend(2) against EvoTorch's GymNE with 2 Ray actors, side by side (a script).

Run ``.venv/bin/python benchmarks/rl_evotorch_peer.py`` on an otherwise idle machine; it needs
``pip install evotorch`` (not a project dependency) and exits with a message without it.
Both sides evaluate the same number of linear policies (``--population``) for one episode each
on the same environment (Swimmer-v5 by default: it never terminates, so both run exactly
population x horizon steps), without observation normalisation, after one warm-up
evaluation. EvoTorch's Ray instance is started here, on 127.0.0.1 only. Reported: env steps/s
in total and per core (/2), best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make ``odebench`` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from odebench.rl.envs import env_dims, env_versions  # noqa: E402
from odebench.rl.policy_spec import PolicySpec  # noqa: E402
from odebench.rl.pool_backend import PoolBackend  # noqa: E402

WORKERS = 2


def ours(env_id: str, population: int, horizon: int, repeats: int) -> float:
    spec = PolicySpec("linear", *env_dims(env_id))
    rng = np.random.default_rng(0)
    flat = 0.1 * rng.normal(size=(population, spec.build().layout().size))
    seeds = np.arange(population)
    best = 0.0
    with PoolBackend(spec, env_id, horizon, workers=WORKERS) as pool:
        pool.evaluate(flat, seeds)
        for _ in range(repeats):
            start = time.perf_counter()
            steps = pool.evaluate(flat, seeds).steps.sum()
            best = max(best, steps / (time.perf_counter() - start))
    return best


def evotorch_gymne(env_id: str, population: int, horizon: int, repeats: int) -> float:
    import ray
    from evotorch.neuroevolution import GymNE

    ray.init(address="local", include_dashboard=False, num_cpus=WORKERS,
             _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        problem = GymNE(env=env_id, network="Linear(obs_length, act_length)",
                        num_actors=WORKERS, episode_length=horizon,
                        observation_normalization=False, initial_bounds=(-0.1, 0.1))
        batch = problem.generate_batch(population)
        problem.evaluate(batch)
        best = 0.0
        for _ in range(repeats):
            batch = problem.generate_batch(population)
            before = getattr(problem, "interaction_count", None)
            start = time.perf_counter()
            problem.evaluate(batch)
            elapsed = time.perf_counter() - start
            after = getattr(problem, "interaction_count", None)
            counted = after - before if before is not None and after is not None else 0
            if counted != population * horizon:
                print(f"  note: EvoTorch counted {counted} steps, expected "
                      f"{population * horizon}; using the expected count")
            best = max(best, population * horizon / elapsed)  # Swimmer never terminates
        return best
    finally:
        ray.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="Swimmer-v5")
    parser.add_argument("--horizon", type=int, default=1000)
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if importlib.util.find_spec("evotorch") is None or importlib.util.find_spec("ray") is None:
        print("skipped: needs evotorch and ray (pip install evotorch 'ray>=2.40'); "
              "evotorch is deliberately not a project dependency")
        return 0
    from importlib.metadata import version

    print(f"versions: {env_versions()}, evotorch {version('evotorch')}, ray {version('ray')}; "
          f"cpus: {os.cpu_count()}; load average: "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.env}, horizon {args.horizon}, population {args.population}, {WORKERS} workers, "
          f"best of {args.repeats}")
    rates = {"odebench PoolBackend(2)": ours(args.env, args.population, args.horizon,
                                             args.repeats),
             "evotorch GymNE(2 Ray actors)": evotorch_gymne(args.env, args.population,
                                                            args.horizon, args.repeats)}
    for name, rate in rates.items():
        print(f"  {name:<30} {rate:10.0f} steps/s   {rate / WORKERS:10.0f} per core")
    ratio = rates["odebench PoolBackend(2)"] / rates["evotorch GymNE(2 Ray actors)"]
    print(f"  ours/evotorch {ratio:.2f}")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
