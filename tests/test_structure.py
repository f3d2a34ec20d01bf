"""Structure properties: closed forms on hand-made probes, "not applicable" with reasons, every
property on every registered model, and the structure experiment end to end."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from odebench.structure.probe import FlowProbe
from odebench.structure.properties import (
    PROPERTIES,
    PropertySettings,
    discrete_adjoint_error,
    flow_lipschitz,
    invertibility_error,
    measure,
    one_sided_lipschitz,
    orthogonality_defect,
    step_contractivity,
)
from odebench.tasks import structure
from odebench.tasks.run import run_one

RATES = torch.tensor([-1.5, -0.2, 0.3], dtype=torch.float64)
QUICK = PropertySettings(samples=4, times=3, energy_steps=200, euler_steps=8)


class LinearField(torch.nn.Module):
    """ż = diag(a) z with a trainable a."""

    def __init__(self, rates: torch.Tensor):
        super().__init__()
        self.rates = torch.nn.Parameter(rates.clone())

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return z * self.rates


def linear_probe(t1: float = 1.0, exact_reverse: bool = True) -> FlowProbe:
    field = LinearField(RATES)
    z0 = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def flow(z: torch.Tensor) -> torch.Tensor:
        return z * torch.exp(field.rates.detach() * t1)

    def reverse(z: torch.Tensor) -> torch.Tensor:
        scale = 1.0 if exact_reverse else 1.0 + 1e-3
        return z * torch.exp(-field.rates.detach() * t1) * scale

    return FlowProbe("linear", field, z0, 0.0, t1, flow, reverse, list(field.parameters()),
                     field, lambda z: z, "closed form")


def test_closed_forms_of_a_diagonal_linear_field():
    probe = linear_probe(t1=2.0)
    assert flow_lipschitz(probe, QUICK).value == pytest.approx(math.exp(0.3 * 2.0), rel=1e-9)
    assert one_sided_lipschitz(probe, QUICK).value == pytest.approx(0.3, abs=1e-12)
    contract = step_contractivity(probe, QUICK)
    for h in QUICK.step_sizes:  # max_i |1 + h a_i|
        expected = float((1 + h * RATES).abs().max())
        assert contract.detail[f"h={h:g}"] == pytest.approx(expected, rel=1e-6)
    assert invertibility_error(probe, QUICK).value < 1e-14
    assert invertibility_error(linear_probe(exact_reverse=False), QUICK).value == \
        pytest.approx(1e-3, rel=1e-6)


def test_discrete_adjoint_recursion_equals_autograd_to_round_off():
    assert discrete_adjoint_error(linear_probe(), QUICK).value < 1e-14


def test_properties_a_model_cannot_have_are_not_applicable_with_the_reason():
    outcomes = measure(linear_probe(), settings=QUICK)
    assert set(outcomes) == set(PROPERTIES)
    for name in ("energy_drift", "symplecticity_defect", "conformal_symplecticity_defect",
                 "orthogonality_defect", "adjoint_gradient_error"):
        assert not outcomes[name].applicable
        assert outcomes[name].note.startswith("not applicable: ") and "linear" in \
            outcomes[name].note
    assert "O(d)" in orthogonality_defect(linear_probe(), QUICK).note


def test_unknown_property_and_bad_settings_are_named():
    with pytest.raises(ValueError, match="unknown structure property lipshitz"):
        measure(linear_probe(), ["lipshitz"])
    with pytest.raises(ValueError, match="energy_steps"):
        PropertySettings(energy_steps=0)
    with pytest.raises(ValueError, match="step_sizes"):
        PropertySettings(step_sizes=(0.1, -1.0))


QUICK_CFG = {"samples": 4, "times": 3, "energy_steps": 300, "euler_steps": 8,
             "solver_tol": 1e-7}


@pytest.mark.parametrize("model", structure.models("celledoni2021"))
def test_every_property_runs_on_every_registered_model(model):
    cfg = structure.resolve("celledoni2021", QUICK_CFG)
    torch.manual_seed(0)
    built = structure.build(cfg, model)
    x, _ = structure._points(cfg, 0)
    outcomes = measure(structure.probe(cfg, model, built, x, 0),
                       settings=structure.settings(cfg))
    for name, outcome in outcomes.items():
        if outcome.applicable:
            assert isinstance(outcome.value, float) and not math.isnan(outcome.value), name
        else:
            assert outcome.note.startswith("not applicable: "), name
    assert outcomes["discrete_adjoint_error"].value < 1e-12  # Theorem 3.2 / Eqs. 29-30
    assert outcomes["flow_lipschitz"].applicable and outcomes["invertibility_error"].applicable


def test_structure_experiment_writes_one_row_per_phase_and_property(tmp_path):
    config = {"profile": "test", "results_dir": str(tmp_path), "device": "cpu", "threads": 1,
              "offline": True, "experiments": {"structure": {
                  **QUICK_CFG, "models": ["node", "odetoode"], "train_steps": 2}}}
    summary = run_one(config, "structure", "node", 0, log=lambda _: None)
    assert summary["status"] == "completed"
    epochs = pd.read_csv(tmp_path / "runs/structure/node/seed0/epochs.csv")
    assert list(epochs.groupby("phase", sort=False).size()) == [len(PROPERTIES)] * 2
    assert set(epochs["property"]) == set(PROPERTIES)
    flow = run_one(config, "structure", "odetoode", 0, log=lambda _: None)
    assert flow["final"]["orthogonality_defect"] < 1e-12


def test_bad_structure_settings_are_named():
    with pytest.raises(ValueError, match="train_steps"):
        structure.resolve("celledoni2021", {"train_steps": -1})
    with pytest.raises(ValueError, match="samples"):
        structure.resolve("celledoni2021", {"samples": 0})


def test_table_puts_properties_by_model_and_lists_the_reasons():
    from odebench.report.structure import structure_markdown, structure_table

    rows = []
    for model, energy in (("node", None), ("hamnode", 2.5e-3)):
        rows.append({"model": model, "seed": 0, "phase": "init", "property": "energy_drift",
                     "value": math.nan if energy is None else energy,
                     "applicable": energy is not None,
                     "note": "not applicable: node is not Hamiltonian" if energy is None
                     else "max |H − H0|, Störmer–Verlet"})
        rows.append({"model": model, "seed": 0, "phase": "init", "property": "flow_lipschitz",
                     "value": 1.25, "applicable": True, "note": "max ‖DΦ(z)‖₂"})
    table = structure_table(pd.DataFrame(rows), model_order=["hamnode", "node"])
    assert list(table["model"].cat.categories[:2]) == ["hamnode", "node"]
    text = structure_markdown(table, "structure")
    assert "| energy error (10⁴ steps) | 0.0025 | n/a |" in text
    assert "energy error (10⁴ steps), node: node is not Hamiltonian" in text
    assert "| flow Lipschitz (empirical) | 1.25 | 1.25 |" in text
