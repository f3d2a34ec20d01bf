"""Builders, resolved options and error messages of the model zoo (both papers' setups)."""

from __future__ import annotations

import math

import pytest
import torch

from odebench.models import (
    MODELS,
    ModelOptionError,
    UnknownModelError,
    UnknownSetupError,
    UnknownTaskError,
    count_parameters,
    model_options,
)
from odebench.models.defaults import WIDTHS
from odebench.models.gates import UnknownSigmaError, make_sigma
from odebench.models.hbnode import Coupling
from odebench.models.images import build_image_model
from odebench.models.nesterov import UnknownVariantError, nesterov_factor
from odebench.models.pointcloud import build_pointcloud_model, pointcloud_models
from odebench.models.silverbox import build_silverbox_model
from odebench.solvers import SolverSpec
from odebench.tasks.trainer import model_scalars

LOOSE = SolverSpec(rtol=1e-3, atol=1e-3)
HB_LIST = "valid: node, anode, sonode, hbnode, ghbnode"
ALL_LIST = "valid: node, anode, sonode, hbnode, ghbnode, nesterovnode, gnesterovnode"


def v1(t: torch.Tensor) -> torch.Tensor:
    return torch.sin(0.3 * t).reshape(1, 1)


# --- errors -------------------------------------------------------------------------------

def test_pointcloud_builder_rejects_unknown_names_listing_valid_ones():
    with pytest.raises(UnknownSetupError, match="valid: hbnode2021, nesterov2022"):
        build_pointcloud_model("xia", "node", LOOSE)
    with pytest.raises(UnknownModelError, match=f"hbnode2021/pointcloud; {HB_LIST}$"):
        build_pointcloud_model("hbnode2021", "nesterovnode", LOOSE)
    with pytest.raises(UnknownModelError, match=ALL_LIST):
        build_pointcloud_model("nesterov2022", "lstm", LOOSE)
    assert pointcloud_models("nesterov2022") == ALL_LIST.removeprefix("valid: ").split(", ")


def test_image_builder_rejects_unknown_names_listing_valid_ones():
    with pytest.raises(UnknownTaskError, match="valid: mnist, cifar10"):
        build_image_model("hbnode2021", "svhn", "node", LOOSE)
    with pytest.raises(UnknownSetupError, match="valid: hbnode2021, nesterov2022"):
        build_image_model("xia", "mnist", "node", LOOSE)
    with pytest.raises(UnknownModelError, match=f"hbnode2021/cifar10; {HB_LIST}$"):
        build_image_model("hbnode2021", "cifar10", "gnesterovnode", LOOSE)
    with pytest.raises(UnknownModelError, match=ALL_LIST):
        build_image_model("nesterov2022", "mnist", "resnet", LOOSE)
    with pytest.raises(ValueError, match="3 channels do not fit"):
        build_image_model("hbnode2021", "mnist", "node", LOOSE, image_shape=(3, 8, 8))


def test_silverbox_builder_rejects_unknown_names_listing_valid_ones():
    with pytest.raises(UnknownSetupError, match="valid: hbnode2021, nesterov2022"):
        build_silverbox_model("sb", "node", LOOSE, v1)
    with pytest.raises(UnknownModelError, match=f"hbnode2021/silverbox; {HB_LIST}$"):
        build_silverbox_model("hbnode2021", "nesterovnode", LOOSE, v1)


def test_model_options_reject_unknown_tasks_options_and_values():
    with pytest.raises(UnknownTaskError, match="valid: pointcloud, mnist, cifar10, silverbox"):
        model_options("hbnode2021", "walker2d", "node")
    with pytest.raises(ModelOptionError, match="valid: variant, sigma, sigma_on_f, xi"):
        model_options("hbnode2021", "mnist", "ghbnode", gamma=0.5)
    with pytest.raises(ModelOptionError, match="do not apply to model 'hbnode'; its options: "
                                               "variant$"):
        model_options("hbnode2021", "mnist", "hbnode", r=5)
    with pytest.raises(UnknownSigmaError, match="identity, tanh, hardtanh:<a>"):
        build_pointcloud_model("hbnode2021", "ghbnode", LOOSE, sigma="relu")
    with pytest.raises(UnknownVariantError, match="valid: paper, official_code"):
        build_pointcloud_model("nesterov2022", "nesterovnode", LOOSE, variant="code")
    with pytest.raises(ModelOptionError, match="r must be a number > 0"):
        model_options("nesterov2022", "cifar10", "gnesterovnode", r=0)
    with pytest.raises(ModelOptionError, match="learnable xi"):
        model_options("nesterov2022", "cifar10", "ghbnode", xi=0.0, xi_learnable=True)


# --- resolved options -------------------------------------------------------------------

def test_model_options_record_the_papers_defaults_and_the_code_switch():
    paper = model_options("hbnode2021", "pointcloud", "ghbnode")
    code = model_options("hbnode2021", "pointcloud", "ghbnode", variant="official_code")
    assert (paper["sigma"], code["sigma"]) == ("tanh", "identity")
    assert paper["xi"] == code["xi"] == 2.0 and not paper["xi_learnable"]
    assert paper["t_span"] == (0.0, 1.0) and paper["r"] is None
    mnist = model_options("nesterov2022", "mnist", "gnesterovnode")
    assert mnist["sigma"] == "hardtanh:0.5" and mnist["xi_learnable"]
    assert math.isclose(mnist["xi"], math.log1p(math.e**2))  # softplus(corr_0 = 2)
    assert mnist["t_span"] == (1.0, 2.0) and mnist["r"] == 3.0
    assert model_options("nesterov2022", "cifar10", "gnesterovnode", r=10)["r"] == 10
    plain = model_options("nesterov2022", "cifar10", "hbnode")
    assert (plain["sigma"], plain["xi"], plain["xi_learnable"]) == ("identity", 0.0, False)
    sb = model_options("hbnode2021", "silverbox", "ghbnode")
    assert sb["sigma"] == "hardtanh:5" and math.isclose(sb["xi"], math.log(2))
    assert sb["h"] is None and sb["t_span"] == (0.0, 63.0)


@pytest.mark.parametrize("setup,task,expected", [
    ("hbnode2021", "mnist", (0, 5, 4, 4, 5)),  # HBNODE footnote 5
    ("hbnode2021", "cifar10", (0, 10, 9, 9, 9)),
    ("nesterov2022", "mnist", (0, 5, 4, 4, 4, 4, 4)),  # NesterovNODE footnote 1
    ("nesterov2022", "cifar10", (0, 10, 9, 9, 9, 9, 9)),
])
def test_augmentation_p_matches_the_footnotes(setup, task, expected):
    assert tuple(model_options(setup, task, m)["p"] for m in WIDTHS[(setup, task)]) == expected


def test_coupling_and_damping_are_tracked_by_the_trainer():
    model = build_pointcloud_model("nesterov2022", "ghbnode", LOOSE, xi=0.75, xi_learnable=True)
    scalars = model_scalars(model)
    assert math.isclose(scalars["xi"], 0.75, rel_tol=1e-6)
    assert math.isclose(scalars["gamma"], 1 / (1 + math.e**3), rel_tol=1e-6)
    fixed = build_pointcloud_model("nesterov2022", "gnesterovnode", LOOSE)
    assert model_scalars(fixed) == {"xi": 2.0}
    assert "coupling.xi" not in dict(fixed.named_parameters())
    assert model_scalars(build_pointcloud_model("nesterov2022", "nesterovnode", LOOSE)) == {}
    assert Coupling.make(0.0, learnable=False) is None


def test_sigma_names():
    assert isinstance(make_sigma("identity"), torch.nn.Identity)
    clip = make_sigma("hardtanh:0.25")
    assert (clip.min_val, clip.max_val) == (-0.25, 0.25)
    with pytest.raises(UnknownSigmaError):
        make_sigma("hardtanh:-1")


# --- the models run ----------------------------------------------------------------------

@pytest.mark.parametrize("setup", ["hbnode2021", "nesterov2022"])
def test_every_pointcloud_model_runs_with_its_setups_interval(setup):
    x = torch.randn(5, 2)
    for name in pointcloud_models(setup):
        model = build_pointcloud_model(setup, name, LOOSE)
        out = model(x)
        assert out.shape == (5, 1) and torch.isfinite(out).all()
        assert tuple(model.t_span.tolist()) == ((0.0, 1.0) if setup == "hbnode2021"
                                                else (1.0, 2.0))


@pytest.mark.parametrize("setup,task,shape", [
    ("hbnode2021", "mnist", (1, 8, 8)), ("hbnode2021", "cifar10", (3, 6, 6)),
    ("nesterov2022", "mnist", (1, 8, 8)), ("nesterov2022", "cifar10", (3, 6, 6)),
])
def test_every_image_model_runs_on_small_images(setup, task, shape):
    x = torch.rand(2, *shape)
    for name in WIDTHS[(setup, task)]:
        model = build_image_model(setup, task, name, LOOSE, image_shape=shape)
        out = model(x)
        assert out.shape == (2, 10) and torch.isfinite(out).all()
        n = model_options(setup, task, name)["n"]
        assert model.initial(x).shape == (2, MODELS[name].order, n, *shape[1:])


@pytest.mark.parametrize("setup,first", [("hbnode2021", 0.0), ("nesterov2022", 1.0)])
@torch.no_grad()
def test_silverbox_models_return_h_trajectories(setup, first):
    x0 = torch.tensor([[0.3]], dtype=torch.float64)
    t0 = torch.tensor(first, dtype=torch.float64)
    solver = SolverSpec(rtol=1e-5, atol=1e-5, options={"max_num_steps": 5000})
    for name in WIDTHS[(setup, "silverbox")]:
        # Eq. 15 on [1, 63] is intractable: k(63) ~ 1e11 makes the system stiff or explode
        # (the blow-up the paper describes), so the full horizon uses the code's form there.
        options = {"variant": "official_code"} if name == "nesterovnode" else {}
        model = build_silverbox_model(setup, name, solver, v1, **options).double()
        h = model.h_trajectory(x0)
        n = model_options(setup, "silverbox", name)["n"]
        assert h.shape == (64 - int(first), 1, n) and torch.isfinite(h).all()
        assert model.evaluation_times[0] == first and model.evaluation_times[-1] == 63
        # h(t0) = V2(t0) (zero-padded for ANODE); Nesterov models read out sigma(k(t0)) x(t0)
        scale = model.dynamics.sigma(nesterov_factor(t0)) if "nesterov" in name else 1.0
        assert torch.allclose(h[0, 0, :1], scale * x0[0]) and (h[0, 0, 1:] == 0).all()
        short = model.h_trajectory(x0, torch.tensor([first, first + 2.0], dtype=torch.float64))
        assert torch.allclose(short[-1], h[2], rtol=1e-3, atol=1e-6)


@torch.no_grad()
def test_silverbox_nesterov_paper_form_on_a_short_horizon():
    x0 = torch.tensor([[0.3]], dtype=torch.float64)
    times = torch.arange(1.0, 5.0, dtype=torch.float64)
    model = build_silverbox_model("nesterov2022", "nesterovnode", LOOSE, v1).double()
    z = model.integrate(x0, times)
    h = model.h_trajectory(x0, times)
    assert torch.allclose(h, nesterov_factor(times)[:, None, None] * z[:, :, 0])
    gated = build_silverbox_model("nesterov2022", "gnesterovnode", LOOSE, v1).double()
    raw_k = build_silverbox_model("nesterov2022", "gnesterovnode", LOOSE, v1,
                                  sigma_k_in_field=False).double()
    raw_k.load_state_dict(gated.state_dict())
    assert not torch.allclose(gated.h_trajectory(x0, times), raw_k.h_trajectory(x0, times))


def test_silverbox_field_sees_the_input_signal_and_counts_are_tiny():
    counts = {name: count_parameters(build_silverbox_model("hbnode2021", name, LOOSE, v1))
              for name in WIDTHS[("hbnode2021", "silverbox")]}
    # fc on [state, V1]: NODE 2+1, ANODE 3*2+2, SONODE 3+1 +1 velocity weight, HBNODE 2+1
    # + velocity + gamma, GHBNODE + learnable xi
    assert counts == {"node": 3, "anode": 8, "sonode": 5, "hbnode": 5, "ghbnode": 6}
    x0 = torch.tensor([[0.3]])
    quiet = build_silverbox_model("hbnode2021", "node", LOOSE, lambda t: torch.zeros(1, 1))
    loud = build_silverbox_model("hbnode2021", "node", LOOSE, lambda t: torch.ones(1, 1))
    loud.load_state_dict(quiet.state_dict())
    times = torch.tensor([0.0, 1.0])
    assert not torch.allclose(quiet.h_trajectory(x0, times), loud.h_trajectory(x0, times))
