"""Point-cloud data, models (parameter counts of both papers) and training outcomes."""

from __future__ import annotations

import pytest
import torch

from odebench.data.pointcloud import (
    INNER_RADIUS,
    OUTER_RADII,
    class_counts,
    nested_circles,
    train_test_circles,
)
from odebench.models import UnknownModelError, count_parameters
from odebench.models.pointcloud import UnknownSetupError, build_pointcloud_model
from odebench.records import STATUS_DIVERGED, STATUS_NFE_CAP, RunRecord
from odebench.solvers import SolverSpec, count_nfe
from odebench.tasks import pointcloud as task
from odebench.tasks.trainer import TrainSettings, train

SOLVER = SolverSpec(rtol=1e-4, atol=1e-4)


def test_nested_circles_radii_labels_and_split():
    x, y = nested_circles(120, seed=5)
    radius = x.norm(dim=1)
    inner, outer = y[:, 0] < 0, y[:, 0] > 0
    assert int(inner.sum()) == 40 and int(outer.sum()) == 80  # the papers' 40 / 80 split
    assert (radius[inner] < INNER_RADIUS).all()
    assert ((radius[outer] >= OUTER_RADII[0]) & (radius[outer] < OUTER_RADII[1])).all()
    again, _ = nested_circles(120, seed=5)
    assert torch.equal(x, again)
    other, _ = nested_circles(120, seed=6)
    assert not torch.equal(x, other)


def _counts(y):
    return int((y < 0).sum()), int((y > 0).sum())


@pytest.mark.parametrize("setup,train_counts", [("nesterov2022", (40, 80)),
                                                ("hbnode2021", (17, 33))])
@pytest.mark.parametrize("variant", ["paper", "official_code"])
def test_task_sets_have_exact_class_counts_and_an_independent_test_set(setup, train_counts,
                                                                       variant):
    """nesterov2022: exactly the papers' 40 inner + 80 outer training points (no longer the
    first 120 of a 130-point draw); the 10 test points (3 + 7) come from their own stream."""
    cfg = task.resolve(setup, {"variant": variant})
    (x, y), (x_test, y_test) = task.load_data(cfg)
    assert _counts(y) == train_counts and _counts(y_test) == (3, 7)
    assert x.shape == (sum(train_counts), 2) and x_test.shape == (10, 2)
    assert not (x[:, None, :] == x_test[None, :, :]).all(dim=2).any()  # disjoint
    (again, _), _ = task.load_data({**cfg, "n_test": 25})  # the test size leaves train alone
    assert torch.equal(x, again)
    (_, _), (other_test, _) = task.load_data({**cfg, "data_seed": 1})
    assert not torch.equal(x_test, other_test)
    manifest = task.prepare_data(cfg)
    assert (manifest["n_train_inner"], manifest["n_train_outer"]) == train_counts
    assert (manifest["n_test_inner"], manifest["n_test_outer"]) == (3, 7)
    assert manifest["sampler"] == ("radial" if (setup, variant) == ("nesterov2022",
                                                                   "official_code")
                                   else "rejection")
    assert manifest["sha256"] == task.prepare_data(cfg)["sha256"]


def test_class_counts_and_train_test_streams():
    assert class_counts(120) == (40, 80) and class_counts(10) == (3, 7)
    assert class_counts(2) == (1, 1) and class_counts(1) == (1, 0)
    (x, y), (x_test, y_test) = train_test_circles(30, 9, seed=4)
    assert _counts(y) == (10, 20) and _counts(y_test) == (3, 6)
    x_alone, _ = nested_circles(30, seed=4)
    assert not torch.equal(x, x_alone)  # a spawned stream, not the seed's own
    with pytest.raises(ValueError, match="valid: rejection, radial"):
        nested_circles(10, seed=0, sampler="uniform")


def test_official_code_radius_is_0_85_plus_0_15_sqrt_u():
    """NesterovNODE code (ANODE's random_point_in_sphere): distance = (max - min) *
    unif ** (1 / dim) + min, dim = 2, so u = ((r - 0.85) / 0.15)^2 is uniform on [0, 1) --
    not the area-uniform annulus, whose P(r < 0.925) is (0.925^2 - 0.85^2) / (1 - 0.85^2)."""
    x, y = nested_circles(6000, seed=3, sampler="radial")
    assert _counts(y) == (2000, 4000)
    radius = x.norm(dim=1)
    inner, outer = radius[y[:, 0] < 0], radius[y[:, 0] > 0]
    assert (inner < INNER_RADIUS).all() and inner.min() < 0.05
    assert outer.min() >= OUTER_RADII[0] - 1e-12 and outer.max() < OUTER_RADII[1]
    assert outer.min() < 0.851 and outer.max() > 0.999
    u_outer = ((outer - 0.85) / 0.15) ** 2
    u_inner = (inner / INNER_RADIUS) ** 2  # the disk is area-uniform under both samplers
    for u in (u_outer, u_inner):
        assert abs(float(u.mean()) - 0.5) < 0.02
        for q in (0.1, 0.25, 0.5, 0.75, 0.9):
            assert abs(float((u < q).double().mean()) - q) < 0.03
    official_cdf = float((outer < 0.925).double().mean())  # 0.25 exactly in law
    area_cdf = (0.925**2 - 0.85**2) / (1 - 0.85**2)  # 0.480
    x_area, y_area = nested_circles(6000, seed=3)
    area_outer = x_area.norm(dim=1)[y_area[:, 0] > 0]
    assert abs(official_cdf - 0.25) < 0.03
    assert abs(float((area_outer < 0.925).double().mean()) - area_cdf) < 0.03
    again, _ = nested_circles(6000, seed=3, sampler="radial")
    other, _ = nested_circles(6000, seed=4, sampler="radial")
    assert torch.equal(x, again) and not torch.equal(x, other)


# HBNODE paper Sec. 5.1 / App. E.2 and NesterovNODE Table 1.
@pytest.mark.parametrize("setup,model,expected", [
    ("hbnode2021", "node", 525),
    ("hbnode2021", "hbnode", 568),
    ("nesterov2022", "node", 545),
    ("nesterov2022", "hbnode", 582),
])
def test_parameter_counts_equal_the_papers(setup, model, expected):
    assert count_parameters(build_pointcloud_model(setup, model, SOLVER)) == expected


def test_unknown_setup_and_model_list_valid_choices():
    with pytest.raises(UnknownSetupError, match="hbnode2021, nesterov2022"):
        build_pointcloud_model("xia", "node", SOLVER)
    with pytest.raises(UnknownModelError, match="valid: node, anode, sonode, hbnode, ghbnode"):
        build_pointcloud_model("hbnode2021", "lstm", SOLVER)


def test_hbnode_initial_damping_and_state_layout():
    model = build_pointcloud_model("hbnode2021", "hbnode", SOLVER).double()
    gamma = model.dynamics.damping()
    assert torch.allclose(gamma, torch.sigmoid(torch.tensor([-3.0], dtype=torch.float64)))
    x, _ = nested_circles(6, seed=0)
    z0 = model.initial(x)
    assert z0.shape == (6, 2, 2)
    assert torch.equal(z0[:, 0], x)  # h0 = x (n = 2), m0 learned


def test_model_forward_is_within_head_range_and_counts_nfe():
    model = build_pointcloud_model("nesterov2022", "hbnode", SOLVER).double()
    x, _ = nested_circles(10, seed=0)
    with count_nfe() as meter:
        out = model(x)
    assert out.shape == (10, 1) and (out.abs() <= 1).all()
    assert meter.forward == model.last_nfe.forward > 0


def _tiny_training(tmp_path, loss_fn, nfe_cap=None):
    torch.manual_seed(0)
    model = build_pointcloud_model("hbnode2021", "node", SOLVER).double()
    x, y = nested_circles(20, seed=0)
    record = RunRecord(tmp_path, "pointcloud", "node", 0)
    settings = TrainSettings(epochs=5, lr=0.01, batch_size=10, nfe_cap=nfe_cap)
    return train(model, (x, y), (x, y), loss_fn, settings, record, log=lambda _m: None)


def test_nfe_cap_ends_the_run_as_stopped_not_crashed(tmp_path):
    outcome = _tiny_training(tmp_path, torch.nn.MSELoss(), nfe_cap=5)
    assert outcome.status == STATUS_NFE_CAP
    assert len(outcome.rows) == 1 and outcome.rows[0]["iterations"] == 1
    assert outcome.final["stopped_at_epoch"] == 1


def test_nan_loss_is_recorded_as_diverged_with_the_epoch(tmp_path):
    calls = {"n": 0}

    def nan_on_third_training_call(out, y):
        loss = torch.nn.functional.mse_loss(out, y)
        if out.requires_grad:  # evaluation runs without gradients
            calls["n"] += 1
            if calls["n"] == 3:
                return loss * float("nan")
        return loss

    outcome = _tiny_training(tmp_path, nan_on_third_training_call)
    assert outcome.status == STATUS_DIVERGED
    assert outcome.final["stopped_at_epoch"] == 2
    assert len(outcome.rows) == 2


def test_solver_blowup_inside_the_solve_is_recorded_as_diverged(tmp_path):
    torch.manual_seed(0)
    model = build_pointcloud_model("hbnode2021", "node", SOLVER).double()
    with torch.no_grad():
        model.dynamics.field.net[-1].bias.fill_(float("inf"))
    x, y = nested_circles(20, seed=0)
    record = RunRecord(tmp_path, "pointcloud", "node", 0)
    settings = TrainSettings(epochs=3, lr=0.01, batch_size=20)
    messages = []
    outcome = train(model, (x, y), (x, y), torch.nn.MSELoss(), settings, record,
                    log=messages.append)
    assert outcome.status == STATUS_DIVERGED and outcome.final["stopped_at_epoch"] == 1
    assert any("solver blow-up" in m for m in messages)
