"""The lean backend behind the solver door: on every point-cloud model of the project, the
same NFE and bit-identical outputs as torchdiffeq, gradients equal to round-off."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from odebench.data.pointcloud import train_test_circles
from odebench.models.defaults import sized_models, task_models
from odebench.models.pointcloud import build_pointcloud_model
from odebench.solvers import SolverConfigError, SolverSpec, count_nfe, solve

TORCHDIFFEQ = SolverSpec(method="dopri5", rtol=1e-7, atol=1e-7, adjoint=False)
LEAN = replace(TORCHDIFFEQ, backend="lean")


def _run(model, spec, x):
    model.solver = spec
    model.zero_grad(set_to_none=True)
    with count_nfe() as meter:
        out = model(x)
        out.square().sum().backward()
    grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    return out.detach(), meter.forward, grads


CASES = [(setup, name) for setup in ("nesterov2022", "hbnode2021")
         for name in [*task_models(setup, "pointcloud"), *sized_models(setup, "pointcloud")]]


@pytest.mark.parametrize(("setup", "name"), CASES)
def test_lean_takes_torchdiffeqs_steps_on_every_model(setup, name):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        model = build_pointcloud_model(setup, name, TORCHDIFFEQ)
    finally:
        torch.set_default_dtype(previous)
    model.eval()  # fixed weights (spectral norm: no power iteration between the two runs)
    (x, _), _ = train_test_circles(24, 4, 0)
    out_ref, nfe_ref, grad_ref = _run(model, TORCHDIFFEQ, x)
    out, nfe, grad = _run(model, LEAN, x)
    assert nfe == nfe_ref and nfe > 0
    assert torch.equal(out, out_ref)
    # To round-off, also where torchdiffeq's autograd runs through its step-size choices (the
    # first step size, step_t clamps of the paper-form NesterovNODE).
    torch.testing.assert_close(grad, grad_ref, rtol=1e-10, atol=1e-12)


def test_fixed_step_methods_match_too():
    y0 = torch.tensor([[1.0, 0.5]], dtype=torch.float64)

    def field(t, y):
        return torch.stack((y[:, 1], -torch.sin(y[:, 0])), 1)

    t = torch.tensor([0.0, 0.35, 1.0], dtype=torch.float64)
    for method in ("rk4", "euler"):
        options = {"step_size": 0.1}
        ref = solve(field, y0, t, method=method, options=options, adjoint=False)
        lean = solve(field, y0, t, method=method, options=options, adjoint=False,
                     backend="lean")
        assert torch.equal(ref.ys, lean.ys) and ref.nfe.forward == lean.nfe.forward


def test_lean_backend_names_what_it_cannot_do():
    with pytest.raises(SolverConfigError, match="backend"):
        SolverSpec(backend="fast")
    with pytest.raises(SolverConfigError, match="bosh3"):
        SolverSpec(method="bosh3", backend="lean", adjoint=False)
    with pytest.raises(SolverConfigError, match="tuple"):
        solve(lambda t, y: y, (torch.ones(1), torch.ones(1)), [0.0, 1.0], adjoint=False,
              backend="lean")


def test_a_pointcloud_run_with_the_lean_backend_records_what_torchdiffeq_records(tmp_path):
    import pandas as pd

    from odebench.tasks.run import run_one

    frames = []
    for backend in ("torchdiffeq", "lean"):
        folder = tmp_path / backend
        folder.mkdir()
        config = {"profile": "test", "results_dir": str(folder), "device": "cpu",
                  "threads": 1, "offline": True, "experiments": {"pointcloud": {
                      "seeds": 1, "epochs": 2, "tol": 1e-5, "adjoint": False,
                      "solver_backend": backend, "models": ["hbnode"]}}}
        assert run_one(config, "pointcloud", "hbnode", 0, log=lambda _: None)["status"] \
            == "completed"
        frames.append(pd.read_csv(folder / "runs/pointcloud/hbnode/seed0/epochs.csv"))
    columns = [c for c in frames[0] if "seconds" not in c]
    pd.testing.assert_frame_equal(frames[0][columns], frames[1][columns])
    assert (frames[1]["nfe_forward"] > 0).all()
