"""The lean speed-up benchmarks time the backends in turns and compare like with like."""

import pytest
import torch

from benchmarks.lean_overhead import BACKENDS, clocked, pointcloud_pair, speedup_and_times


def test_the_backends_take_turns_and_each_call_is_timed():
    now = [0.0]
    log: list[str] = []

    def work(name, cost):
        def run():
            log.append(name)
            now[0] += cost

        return clocked(run, clock=lambda: now[0])

    ratio, samples = speedup_and_times({"torchdiffeq": work("torchdiffeq", 3.0),
                                        "lean": work("lean", 1.5)}, 4)
    assert log == ["torchdiffeq", "lean"] + ["torchdiffeq", "lean", "lean", "torchdiffeq"] * 2
    assert samples == {"torchdiffeq": [3.0] * 4, "lean": [1.5] * 4}  # warm-up left out
    assert ratio == 2.0


def test_the_speedup_is_the_median_of_the_paired_ratios():
    # after the warm-up pair (1, 1): pairs 4/2, 9/3, 9/9 -> median 2 (the medians: 9 / 3 = 3)
    costs = {"torchdiffeq": iter([1.0, 4.0, 9.0, 9.0]), "lean": iter([1.0, 2.0, 3.0, 9.0])}
    measures = {name: (lambda it=it: next(it)) for name, it in costs.items()}
    assert speedup_and_times(measures, 3)[0] == 2.0


@pytest.mark.parametrize("adjoint", [False, True])
def test_the_pointcloud_solve_is_the_same_with_both_backends(adjoint):
    pair = pointcloud_pair("hbnode", torch.float32, adjoint=adjoint)
    nfe = {backend: pair.nfe(backend) for backend in BACKENDS}
    assert nfe["torchdiffeq"] == nfe["lean"] and nfe["lean"][0] > 20
    assert (nfe["lean"][1] > 0) == adjoint
    assert pair.largest_difference() == 0.0
