"""Batched ES policies (ODEtoODE Sec. 5.1.2): each forward pass against the paper's equation
written out in numpy (defaults and switches), batching, rows, agreement with the supervised
torch flow, manifolds, the W-sequence in prepare only, parameter counts and matching, the
rl task's widths and policy_options, and the DeepMind Control humanoid tasks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import expm

from odebench.models.odetoode import IsoGenerator, ODEtoODEFlow, iso_weight_sequence
from odebench.rl.envs import dm_control_available
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


# --- the paper's equations written out (Sec. 5.1.2, Eqs. 5-6), one step at a time ---

ETA, STEPS = 0.04, 25  # T = 1, eta = 0.04
F = {"abs": np.abs, "tanh": np.tanh}  # sigma(x) = |x| (Sec. 5.1.1); tanh: the switch


def paper_odetoode(b: dict, x: np.ndarray, f) -> np.ndarray:
    """Eq. 6 ``W_i = W_{i-1} exp(eta (W^T Q W N - N W^T Q W))``, Eq. 5
    ``x_i = x_{i-1} + eta f(W_i x_{i-1} + b)``."""
    w = b["W0"]
    for _ in range(STEPS):
        m = w.T @ b["Q"] @ w
        w = w @ expm(ETA * (m @ b["N"] - b["N"] @ m))
        x = x + ETA * f(w @ x + b["bias"])
    return x


def paper_deep(b: dict, x: np.ndarray, f, residual: bool) -> np.ndarray:
    """``x_l = f(W_l x_{l-1} + c_l)`` (DeepNet), ``x_l = x_{l-1} + f(...)`` (DeepResNet)."""
    for w, c in zip(b["layer_w"], b["layer_b"], strict=True):
        x = x + f(w @ x + c) if residual else f(w @ x + c)
    return x


def paper_baseode(b: dict, x: np.ndarray, f) -> np.ndarray:
    """``dx/dt = F(x)``, F with two hidden layers: ``x_i = x_{i-1} + eta F(x_{i-1})``."""
    for _ in range(STEPS):
        hidden = f(b["f_w2"] @ f(b["f_w1"] @ x + b["f_b1"]) + b["f_b2"])
        x = x + ETA * (b["f_w3"] @ hidden + b["f_b3"])
    return x


def paper_nanode(b: dict, x: np.ndarray, f, w_time: str) -> np.ndarray:
    """``dx/dt = f(W_t x)``, W_t a degree-d trigonometric polynomial, evaluated at t_i (Eq. 5's
    W_i) or at t_{i-1} (``w_time: previous``); b only with ``bias: true``."""
    for i in range(1, STEPS + 1):
        t = (i if w_time == "current" else i - 1) * ETA
        w = b["A0"] + sum(b["cos"][j - 1] * np.cos(2 * np.pi * j * t)
                          + b["sin"][j - 1] * np.sin(2 * np.pi * j * t)
                          for j in range(1, len(b["cos"]) + 1))
        x = x + ETA * f(w @ x + b.get("bias", 0.0))
    return x


def paper_hypernet(b: dict, x: np.ndarray, f) -> np.ndarray:
    """``W_t`` = the 256-vector z_t reshaped (row-major), ``dz/dt = g(z)`` with two hidden
    layers, ``dx/dt = f(W_t x)``; b only with ``bias: true``."""
    z, h = b["z0"], x.size
    for _ in range(STEPS):
        g = b["g_w3"] @ f(b["g_w2"] @ f(b["g_w1"] @ z + b["g_b1"]) + b["g_b2"]) + b["g_b3"]
        z = z + ETA * g
        x = x + ETA * f(z.reshape(h, h) @ x + b.get("bias", 0.0))
    return x


def paper_policy(name: str, options: dict, blocks: dict, s: np.ndarray) -> np.ndarray:
    """``a = A_out flow(A_in s)`` with the flow of policy ``name`` as the paper writes it."""
    f = F[options.get("activation", "abs")]
    x = blocks["proj_in"] @ s
    if name == "odetoode":
        x = paper_odetoode(blocks, x, f)
    elif name in ("deepnet", "deepresnet"):
        x = paper_deep(blocks, x, f, residual=name == "deepresnet")
    elif name == "baseode":
        x = paper_baseode(blocks, x, f)
    elif name == "nanode":
        x = paper_nanode(blocks, x, f, options.get("w_time", "current"))
    else:
        x = paper_hypernet(blocks, x, f)
    return blocks["proj_out"] @ x


SMALL = {"odetoode": {"hidden": 4}, "deepnet": {"hidden": 4, "depth": 3},
         "deepresnet": {"hidden": 4, "depth": 3}, "baseode": {"hidden": 4},
         "nanode": {"hidden": 4, "degree": 2}, "hypernet": {"hidden": 3, "dyn_hidden": 5}}
VARIANTS = [(name, {}) for name in POLICIES] + [
    (name, {"activation": "tanh"}) for name in POLICIES] + [
    ("nanode", {"bias": True}), ("nanode", {"w_time": "previous"}),
    ("nanode", {"bias": True, "w_time": "previous", "activation": "tanh"}),
    ("hypernet", {"bias": True})]


@pytest.mark.parametrize(("name", "options"), VARIANTS,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in o.items()) or 'paper'}"
                              for n, o in VARIANTS])
def test_forward_pass_is_the_papers_equation(name, options):
    """Fixed (random, off-manifold) weights: act equals the equation written out above, so the
    defaults are |x| everywhere, no b in NANODE/HyperNet and W(t_i) in NANODE's step i."""
    rng = np.random.default_rng(11)
    policy = make_policy(name, OBS, ACT, **SMALL[name], **options)
    theta = 0.5 * rng.standard_normal(policy.layout().size)
    blocks = policy.layout().unflatten(theta)
    assert ("bias" in blocks) == (name == "odetoode" or options.get("bias", False))
    obs = rng.standard_normal((3, OBS))
    actions = policy.act(policy.prepare(theta), obs, rows=np.zeros(3, dtype=int))
    expected = np.stack([paper_policy(name, options, blocks, s) for s in obs])
    assert np.all(np.isfinite(expected)) and np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(actions, expected, rtol=1e-9, atol=1e-10)


def test_nanode_w_time_switch_changes_the_flow():
    rng = np.random.default_rng(12)
    current, previous = (make_policy("nanode", OBS, ACT, hidden=4, degree=2, w_time=w)
                         for w in ("current", "previous"))
    np.testing.assert_allclose(current.times(), np.arange(1, 26) * 0.04)
    np.testing.assert_allclose(previous.times(), np.arange(0, 25) * 0.04)
    theta = 0.5 * rng.standard_normal(current.layout().size)
    obs = rng.standard_normal((1, OBS))
    assert not np.allclose(current.act(current.prepare(theta), obs),
                           previous.act(previous.prepare(theta), obs))


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
    assert policy_params("nanode", d, m, 10) == 10 * d + m * 10 + 11 * 100  # no b (paper)
    assert policy_params("nanode", d, m, 10, bias=True) == 10 * d + m * 10 + 10 + 11 * 100
    hyper = 16 * d + m * 16 + 256 + (256 * 16 + 16) + (16 * 16 + 16) + (16 * 256 + 256)
    assert policy_params("hypernet", d, m, 16) == hyper
    assert policy_params("hypernet", d, m, 16, bias=True) == hyper + 16
    assert make_policy("nanode", d, m, degree=2).layout().size == 16 * (d + m) + 5 * 256
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
    with pytest.raises(ValueError, match="deepnet: unknown activation 'swish'; valid: abs"):
        make_policy("deepnet", 8, 2, activation="swish")
    with pytest.raises(ValueError, match=r"nanode: unknown option\(s\) 'w_tme'; valid: .*w_time"):
        make_policy("nanode", 8, 2, w_tme="previous")
    with pytest.raises(ValueError, match="odetoode: unknown option.*'bias'"):
        make_policy("odetoode", 8, 2, bias=False)  # Eq. 5 has b: no switch
    with pytest.raises(ValueError, match="nanode: option w_time must be one of current, "
                                         "previous, got 'left'"):
        make_policy("nanode", 8, 2, w_time="left")
    with pytest.raises(ValueError, match="hypernet: option bias must be true or false, got 'no'"):
        make_policy("hypernet", 8, 2, bias="no")
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


# --- the rl task: widths, policy_options, the DeepMind Control humanoid tasks ---


def test_widths_follow_the_paper_gym_humanoid_only():
    """"h = 64 for OpenAI Gym Humanoid (for all methods but HyperNet ...) and h = 16 for all
    other tasks" (Sec. 5.1.2): the DeepMind Control humanoids get 16."""
    from odebench.tasks.rl import hidden_size

    cfg = {"hidden": 16}
    assert hidden_size(cfg, "Humanoid-v5", "odetoode") == 64
    assert hidden_size(cfg, "Humanoid-v5", "baseode") == 64
    assert hidden_size(cfg, "Humanoid-v5", "hypernet") == 16
    for env in ("dm_control/humanoid-stand", "dm_control/humanoid-walk",
                "dm_control/humanoid-run", "HumanoidStandup-v5", "HalfCheetah-v5"):
        assert hidden_size(cfg, env, "odetoode") == 16, env
    assert hidden_size({"hidden": 32}, "Humanoid-v5", "odetoode") == 32  # configured: kept


def _task_config(**policy_options) -> dict:
    from odebench.tasks.rl import DEFAULTS

    return {**DEFAULTS, "policy_options": policy_options}


def test_build_policy_applies_policy_options_and_matches_with_them():
    from odebench.tasks.rl import build_policy

    cfg = _task_config(odetoode={"activation": "tanh"},
                       nanode={"bias": True, "w_time": "previous"}, deepnet={"hidden": 3})
    odetoode = build_policy(cfg, "odetoode", "HalfCheetah-v5")
    assert odetoode.activation_name == "tanh" and odetoode.num_params == 1152
    nanode = build_policy(cfg, "nanode", "HalfCheetah-v5")
    assert nanode.has_bias and nanode.w_time == "previous" and nanode.activation_name == "abs"
    assert nanode.num_params >= 1152  # matched with its bias counted
    assert policy_params("nanode", OBS, ACT, nanode.width - 1, bias=True) < 1152
    assert build_policy(cfg, "deepnet", "HalfCheetah-v5").width == 3  # hidden set: not matched
    paper = build_policy(_task_config(), "hypernet", "HalfCheetah-v5")
    assert not paper.has_bias and paper.width == 16


@pytest.mark.parametrize(("options", "message"), [
    ({"nanod": {}}, r"policy_options: unknown policy 'nanod'; valid: odetoode, deepnet"),
    ({"nanode": {"w_tme": "previous"}},
     r"policy_options: nanode: unknown option\(s\) 'w_tme'; valid: .*w_time"),
    ({"deepnet": {"activation": "swish"}}, "policy_options: deepnet: unknown activation"),
    ({"hypernet": {"bias": 1}}, "policy_options: hypernet: option bias must be true or false"),
    ({"baseode": ["tanh"]}, r"policy_options: baseode must map option names to values"),
])
def test_bad_policy_options_are_named(options, message):
    from odebench.tasks.rl import build_policy

    with pytest.raises(ValueError, match=message):
        build_policy(_task_config(**options), "odetoode", "Swimmer-v5")


def test_paper_sweep_plans_the_four_deepmind_control_tasks():
    from odebench.rl.envs import PAPER_DMC_ENVS
    from odebench.tasks.experiments import EXPERIMENTS
    from odebench.tasks.run import experiment_jobs

    envs = EXPERIMENTS["rl"].sweep["env"]
    for env in ("dm_control/humanoid-stand", "dm_control/humanoid-walk",
                "dm_control/humanoid-run", "dm_control/swimmer-swimmer15"):
        assert env in envs and env in PAPER_DMC_ENVS
    keys = {job.key for job in experiment_jobs({"experiments": {"rl": {"seeds": 1}}}, "rl")}
    assert {"odetoode@env=dm_control.humanoid-walk", "hypernet@env=dm_control.humanoid-run"} \
        <= keys
    assert len(keys) == len(POLICIES) * len(envs)


@pytest.mark.skipif(not dm_control_available(), reason="dm_control is not installed")
def test_one_tiny_iteration_on_deepmind_control_humanoid_walk(tmp_path):
    from odebench.records import read_epochs
    from odebench.rl.envs import check_env_id, env_dims
    from odebench.tasks.run import run_one

    for env in ("dm_control/humanoid-walk", "dm_control/humanoid-run"):
        check_env_id(env)
        assert env_dims(env) == (67, 21)
    config = {"profile": "test", "results_dir": str(tmp_path), "device": "cpu", "threads": 1,
              "offline": True, "experiments": {"rl": {
                  "seeds": 1, "iterations": 1, "perturbations": 2, "horizon": 5,
                  "backend": "serial", "models": ["nanode"],
                  "sweep": {"env": ["dm_control/humanoid-walk"]}}}}
    summary = run_one(config, "rl", "nanode@env=dm_control.humanoid-walk", 0,
                      log=lambda _: None)
    assert summary["status"] == "completed" and summary["env"] == "dm_control/humanoid-walk"
    target = odetoode_params(67, 21, 16)  # h = 16 on the DMC humanoid (Sec. 5.1.2)
    assert summary["n_params"] >= target
    assert read_epochs(tmp_path, "rl")["env_steps"].iloc[-1] == 2 * 5


def test_config_file_names_an_unknown_policy_in_policy_options(tmp_path):
    from odebench.config import ConfigError, load_config
    from tests.helpers import write_config

    switches = {"deepnet": {"activation": "tanh"}, "nanode": {"bias": True, "w_time": "previous"},
                "hypernet": {"bias": True}}
    load_config(write_config(tmp_path, tmp_path, {"rl": {"policy_options": switches}}))
    bad = write_config(tmp_path, tmp_path, {"rl": {"policy_options": {"nanod": {}}}})
    with pytest.raises(ConfigError, match=r"experiments\.rl\.policy_options: 'nanod' is not one "
                                          r"of \['odetoode', 'deepnet'"):
        load_config(bad)
