"""The trainer's gradient-norm record, clipping flag, probe, lr schedule and tuple data."""

from __future__ import annotations

import pytest
import torch

from odebench.data.pointcloud import nested_circles
from odebench.models.pointcloud import build_pointcloud_model
from odebench.records import RunRecord
from odebench.solvers import SolverSpec
from odebench.tasks.trainer import TrainSettings, gradient_norm, take, train

SOLVER = SolverSpec(rtol=1e-5, atol=1e-5, adjoint=True)


def _model():
    torch.manual_seed(0)
    return build_pointcloud_model("hbnode2021", "hbnode", SOLVER).double()


def _train(tmp_path, grad_clip=None, epochs=1, **settings):
    model = _model()
    x, y = nested_circles(20, seed=0)
    tmp_path.mkdir(parents=True, exist_ok=True)
    record = RunRecord(tmp_path, "pointcloud", "hbnode", 0)
    outcome = train(model, (x, y), None, torch.nn.MSELoss(),
                    TrainSettings(epochs=epochs, lr=0.01, batch_size=20, grad_clip=grad_clip,
                                  **settings),
                    record, log=lambda _m: None)
    return outcome, model


def test_gradient_norm_is_the_norm_before_clipping(tmp_path):
    x, y = nested_circles(20, seed=0)
    reference = _model()
    torch.nn.functional.mse_loss(reference(x), y).backward()
    expected = torch.sqrt(sum((p.grad ** 2).sum() for p in reference.parameters()
                              if p.grad is not None))
    for clip, fired in ((None, 0.0), (1e-6, 1.0), (1e6, 0.0)):
        outcome, _ = _train(tmp_path / str(clip), grad_clip=clip)
        row = outcome.rows[0]
        assert row["grad_norm_mean"] == pytest.approx(float(expected), rel=1e-6)
        assert row["grad_norm_max"] == pytest.approx(float(expected), rel=1e-6)
        assert row["clip_fraction"] == fired


def test_clipping_uses_the_recorded_norm(tmp_path):
    """Clipping with the recorded norm scales the gradient to the clip value (torch adds
    1e-6 to the norm in the coefficient)."""
    model = _model()
    x, y = nested_circles(20, seed=0)
    torch.nn.functional.mse_loss(model(x), y).backward()
    params = list(model.parameters())
    norm = gradient_norm(params)
    torch.nn.utils.clip_grads_with_norm_(params, 0.5, norm)
    assert float(gradient_norm(params)) == pytest.approx(0.5, rel=1e-5)


def test_probe_values_are_epoch_means_and_not_counted_as_nfe(tmp_path):
    calls = []

    def probe(model, out, y):
        before = model.last_nfe.backward  # the solve's own counts see the probe's adjoint
        torch.autograd.grad(out.sum(), next(model.parameters()), retain_graph=True)
        calls.append(model.last_nfe.backward - before)
        return {"probe_value": float(len(calls))}

    model = _model()
    x, y = nested_circles(20, seed=0)
    (tmp_path / "probe").mkdir()
    outcome = train(model, (x, y), None, torch.nn.MSELoss(),
                    TrainSettings(epochs=1, lr=0.01, batch_size=10), RunRecord(
                        tmp_path / "probe", "pointcloud", "hbnode", 0),
                    log=lambda _m: None, probe=probe)
    assert calls and all(c > 0 for c in calls)
    assert outcome.rows[0]["probe_value"] == pytest.approx(1.5)  # mean of 1, 2
    # the probe's adjoint solves are not in the iteration's backward NFE: rerun the same
    # two iterations without the probe and get the same counts
    torch.manual_seed(0)
    again = train(_model(), (x, y), None, torch.nn.MSELoss(),
                  TrainSettings(epochs=1, lr=0.01, batch_size=10), RunRecord(
                      tmp_path, "pointcloud", "hbnode", 1), log=lambda _m: None)
    assert again.rows[0]["nfe_backward"] == outcome.rows[0]["nfe_backward"]


def test_lr_schedule_recreates_adam_at_listed_epochs(tmp_path):
    outcome, _ = _train(tmp_path, epochs=3, lr_schedule={0: 0.02, 2: 0.005})
    assert [row["lr"] for row in outcome.rows] == [0.02, 0.02, 0.005]


def test_take_indexes_tuples_of_tensors():
    a, b = torch.arange(6).reshape(3, 2), torch.arange(3)
    picked = take((a, b), torch.tensor([2, 0]))
    assert torch.equal(picked[0], a[[2, 0]]) and torch.equal(picked[1], b[[2, 0]])
