"""Batched ES policies (ODEtoODE Sec. 5.1.2): batching, rows, agreement with the supervised
torch flow, manifolds, the W-sequence in prepare only, parameter counts and matching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from odebench.models.odetoode import IsoGenerator, ODEtoODEFlow, iso_weight_sequence
from odebench.rl.matching import (
    FIXED_WIDTHS,
    PAPER_ENV_DIMS,
    match_width,
    odetoode_params,
    parameter_table,
    policy_params,
)
from odebench.rl.policies import POLICIES, Policy, check_fits, make_policy
from odebench.solvers import orthogonality_defect

OBS, ACT = 17, 6  # HalfCheetah
P = 5


def perturbed(policy: Policy, rng: np.random.Generator, count: int = P,
              sigma: float = 0.1) -> np.ndarray:
    """``count`` ambient ES-style perturbations of an initial point, ``[count, D]``."""
    theta = policy.initial(rng)
    return theta + sigma * rng.standard_normal((count, theta.size))


@pytest.mark.parametrize("name", list(POLICIES))
def test_batched_act_equals_a_loop_and_rows_equal_slicing(name):
    rng = np.random.default_rng(1)
    policy = make_policy(name, OBS, ACT, hidden=8 if name != "hypernet" else 16)
    flat = perturbed(policy, rng)
    obs = rng.standard_normal((P, OBS))
    cache = policy.prepare(flat)
    batched = policy.act(cache, obs)
    assert batched.shape == (P, ACT) and np.all(np.isfinite(batched))
    looped = np.concatenate([policy.act(policy.prepare(flat[p]), obs[p:p + 1])
                             for p in range(P)])
    np.testing.assert_allclose(batched, looped, rtol=0, atol=1e-12)
    rows = np.array([3, 0, 3, 1])
    np.testing.assert_array_equal(policy.act(cache, obs[rows], rows), batched[rows])
    assert policy.act(cache, np.zeros((0, OBS)), np.zeros(0, dtype=int)).shape == (0, ACT)


def test_odetoode_matches_the_supervised_torch_flow():
    """Equal weights: the policy's x_N equals ODEtoODEFlow(IsoGenerator, |x|, eta = 0.04)."""
    rng = np.random.default_rng(2)
    h = 16
    policy = make_policy("odetoode", OBS, ACT, hidden=h)
    blocks = policy.layout().unflatten(policy.initial(rng))
    blocks["bias"] = 0.3 * rng.standard_normal(h)
    theta = policy.layout().flatten(blocks)
    obs = rng.standard_normal((7, OBS))
    x_n = policy.hidden_state(policy.prepare(theta), obs, rows=np.zeros(7, dtype=int))

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        flow = ODEtoODEFlow(h, IsoGenerator(h), T=1.0, eta=0.04, activation="abs", w0="haar",
                            w0_matrix=torch.from_numpy(blocks["W0"]))
        with torch.no_grad():
            flow.generator.p_q.copy_(torch.from_numpy(blocks["Q"]))
            flow.generator.p_n.copy_(torch.from_numpy(blocks["N"]))
            flow.bias.copy_(torch.from_numpy(blocks["bias"]))
            expected = flow(torch.from_numpy(obs @ blocks["proj_in"].T)).numpy()
    finally:
        torch.set_default_dtype(previous)
    assert flow.steps == policy.steps == 25
    np.testing.assert_allclose(x_n, expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(policy.act(policy.prepare(theta), obs, np.zeros(7, dtype=int)),
                               x_n @ blocks["proj_out"].T, rtol=0, atol=1e-12)


def test_iso_weight_sequence_batches_the_recurrence():
    torch.manual_seed(3)
    q, n, w0 = (0.5 * torch.randn(3, 4, 4, dtype=torch.float64) for _ in range(3))
    batched = iso_weight_sequence(q, n, w0, steps=4, eta=0.25)
    assert batched.shape == (3, 4, 4, 4) and bool(torch.isfinite(batched).all())
    for p in range(3):
        # batched and single matrix products may round differently: a few ulps
        torch.testing.assert_close(batched[p], iso_weight_sequence(q[p], n[p], w0[p], 4, 0.25),
                                   rtol=1e-14, atol=1e-14)


def test_odetoode_weights_orthogonal_on_the_manifolds_and_not_projected_off_them():
    rng = np.random.default_rng(4)
    policy = make_policy("odetoode", OBS, ACT)
    on = policy.prepare(policy.initial(rng)[None]).core["weights"]
    assert on.shape == (25, 1, 16, 16)
    assert float(orthogonality_defect(torch.from_numpy(on)).max()) <= 1e-12
    off = policy.prepare(perturbed(policy, rng, sigma=0.1)).core["weights"]
    assert float(orthogonality_defect(torch.from_numpy(off[-1])).min()) > 1e-3  # literal


def test_weight_sequence_is_computed_in_prepare_only(monkeypatch):
    import scipy.linalg

    calls = {"expm": 0}
    real = torch.linalg.matrix_exp

    def counting(a):
        calls["expm"] += 1
        return real(a)

    monkeypatch.setattr(torch.linalg, "matrix_exp", counting)
    monkeypatch.setattr(scipy.linalg, "expm", lambda a: pytest.fail("scipy expm called"))
    rng = np.random.default_rng(5)
    policy = make_policy("odetoode", OBS, ACT)
    threads = torch.get_num_threads()
    cache = policy.prepare(perturbed(policy, rng, count=8))
    assert calls["expm"] == policy.steps  # one batched exponential per step for all 8 vectors
    assert torch.get_num_threads() == threads  # expm_threads is restored
    for _ in range(3):
        policy.act(cache, rng.standard_normal((8, OBS)))
        policy.act(cache, rng.standard_normal((2, OBS)), rows=np.array([1, 6]))
    assert calls["expm"] == policy.steps


def test_initial_lies_on_the_manifolds():
    rng = np.random.default_rng(6)
    for name in POLICIES:
        policy = make_policy(name, OBS, ACT)
        blocks = policy.layout().unflatten(policy.initial(rng))
        assert set(blocks) == {s.name for s in policy.specs()}
        for spec in policy.specs():
            block = blocks[spec.name]
            assert block.shape == spec.shape
            if spec.kind == "symmetric":
                np.testing.assert_array_equal(block, block.T)
            elif spec.kind == "orthogonal":
                np.testing.assert_allclose(block.T @ block, np.eye(spec.shape[0]), atol=1e-12)
            elif spec.kind == "stiefel":
                rows, cols = spec.shape
                gram = block.T @ block if rows >= cols else block @ block.T
                np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-12)
        # every policy starts from Stiefel projections, only ODEtoODE keeps them there
        kind = "stiefel" if name == "odetoode" else "euclidean"
        assert policy.layout().spec("proj_in").kind == kind


def test_odetoode_block_kinds_follow_eq_6():
    policy = make_policy("odetoode", OBS, ACT)
    assert [(s.name, s.shape, s.kind) for s in policy.specs()] == [
        ("proj_in", (16, 17), "stiefel"), ("proj_out", (6, 16), "stiefel"),
        ("bias", (16,), "euclidean"), ("N", (16, 16), "symmetric"),
        ("Q", (16, 16), "symmetric"), ("W0", (16, 16), "orthogonal")]


def test_parameter_counts_by_hand():
    d, m = OBS, ACT
    assert odetoode_params(d, m) == 272 + 96 + 16 + 768 == 1152
    assert policy_params("deepnet", d, m, 6) == 6 * d + m * 6 + 25 * (36 + 6)
    assert policy_params("deepresnet", d, m, 6) == policy_params("deepnet", d, m, 6)
    assert policy_params("baseode", d, m, 16) == 16 * d + m * 16 + 3 * (256 + 16)
    assert policy_params("nanode", d, m, 10) == 10 * d + m * 10 + 10 + 11 * 100
    hyper = 16 * d + m * 16 + 16 + 256 + (256 * 16 + 16) + (16 * 16 + 16) + (16 * 256 + 256)
    assert policy_params("hypernet", d, m, 16) == hyper
    assert make_policy("nanode", d, m, degree=2).layout().size == 16 * (d + m + 1) + 5 * 256
    assert make_policy("deepnet", d, m, hidden=4, depth=3).layout().size == 4 * (d + m) + 60


@pytest.mark.parametrize("env", list(PAPER_ENV_DIMS))
def test_matching_is_similar_but_not_smaller(env):
    d, m = PAPER_ENV_DIMS[env]
    hidden = 64 if env.startswith("Humanoid") else 16
    target = odetoode_params(d, m, hidden)
    for name in POLICIES:
        if name in FIXED_WIDTHS:
            assert match_width(name, d, m, target) == 16
            continue
        width = match_width(name, d, m, target)
        assert policy_params(name, d, m, width) >= target
        if width > 1:
            assert policy_params(name, d, m, width - 1) < target
    assert match_width("baseode", d, m, target) == hidden  # BaseODE matches at the paper's h


def test_parameter_table():
    table = parameter_table({"HalfCheetah-v5": (17, 6), "Humanoid-v5": (348, 17)})
    assert list(table.columns) == ["env", "obs_dim", "act_dim", "policy", "width", "params",
                                   "ratio", "matched"]
    assert len(table) == 2 * len(POLICIES)
    row = table.set_index(["env", "policy"])
    assert row.loc[("HalfCheetah-v5", "odetoode"), "params"] == 1152
    assert row.loc[("Humanoid-v5", "odetoode"), "width"] == 64
    assert row.loc[("Humanoid-v5", "hypernet"), "width"] == 16
    matched = table[table["matched"]]
    assert (matched["ratio"] >= 1.0).all()


def test_env_dims_and_check_fits():
    gymnasium = pytest.importorskip("gymnasium")
    for env_id, (d, m) in PAPER_ENV_DIMS.items():
        env = gymnasium.make(env_id)
        try:
            assert env.observation_space.shape == (d,) and env.action_space.shape == (m,)
            check_fits(make_policy("odetoode", d, m), env.observation_space, env.action_space)
            with pytest.raises(ValueError, match=rf"obs_dim={d + 1}.*obs_dim={d}"):
                check_fits(make_policy("deepnet", d + 1, m), env.observation_space,
                           env.action_space)
        finally:
            env.close()
    with pytest.raises(ValueError, match="act_dim=2"):
        check_fits(make_policy("nanode", 8, 3), gymnasium.spaces.Box(-1, 1, (8,)),
                   gymnasium.spaces.Box(-1, 1, (2,)))
    with pytest.raises(ValueError, match="not a flat vector space"):
        check_fits(make_policy("nanode", 8, 3), gymnasium.spaces.Box(-1, 1, (8,)),
                   gymnasium.spaces.Discrete(3))


def test_shapes_and_protocol():
    rng = np.random.default_rng(7)
    for name in POLICIES:
        policy = make_policy(name, 8, 2)
        assert isinstance(policy, Policy) and policy.name == name
        theta = policy.initial(rng)
        assert theta.shape == (policy.layout().size,)
        cache = policy.prepare(np.stack([theta, theta]))
        assert policy.act(cache, rng.standard_normal((2, 8))).shape == (2, 2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown policy 'mlp'; valid: odetoode, deepnet"):
        make_policy("mlp", 8, 2)
    with pytest.raises(ValueError, match="unknown policy"):
        match_width("mlp", 8, 2, 100)
    with pytest.raises(ValueError, match="unknown activation"):
        make_policy("deepnet", 8, 2, activation="swish")
    with pytest.raises(ValueError, match="does not divide"):
        make_policy("baseode", 8, 2, eta=0.03)
    with pytest.raises(ValueError, match="obs_dim must be a positive integer"):
        make_policy("odetoode", 0, 2)
    policy = make_policy("odetoode", 8, 2)
    cache = policy.prepare(np.stack([policy.initial(np.random.default_rng(0))] * 3))
    with pytest.raises(ValueError, match=r"observations must be \[R, 8\]"):
        policy.act(cache, np.zeros((3, 7)))
    with pytest.raises(ValueError, match="pass rows"):
        policy.act(cache, np.zeros((2, 8)))
    with pytest.raises(ValueError, match="rows must index the 3"):
        policy.act(cache, np.zeros((1, 8)), rows=np.array([3]))
    with pytest.raises(ValueError, match="layout needs"):
        policy.prepare(np.zeros((2, 5)))
