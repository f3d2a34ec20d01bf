"""ODEtoODE's gradient-norm theory, measured (ODEtoODE Lemma 4.1, Sec. 3.2; CPU, float64).

For every (number of Euler steps N, horizon T) of a grid, and for each flow model, the
gradient-ratio profile r_i = ‖∂L/∂x_i‖ / ‖∂L/∂x_N‖ over the states x_0..x_N of the main flow
is checked at every step t = iη against that t's own finite-N bounds
(1 − η)^{(T−t)/η} ≤ r_t ≤ (1 + η)^{(T−t)/η}, η = T/N (the proof of Lemma 4.1 read at finite
N). The lemma's upper bound e (e^{T−t} for a horizon T) holds at every N, since
(1 + η)^{(T−t)/η} ≤ e^{T−t}; only its lower bound 1/e is asymptotic: (1 − η)^{(T−t)/η} <
e^{−(T−t)} tends to it only as N → ∞, so at finite N a ratio may lie below 1/e.

Each profile is taken at initialisation and again after training the model on a small task
(the bundled 8×8 digits, always offline); the trained parameters are evaluated at every
(N, T), since the flows' parameters do not depend on N or T. For the ISO flow the W-flow
integrators (exponential map, the paper's; Cayley, an ablation; naive Euler) are compared by
their orthogonality defect max_i ‖W_iᵀW_i − I‖_F and isospectrality
max_i |spec(W_iᵀQW_i) − spec(Q)|.

Rows of ``epochs.csv``: ``phase`` ``init`` / ``trained`` (one row per (T, N); with
``log_over_lower_min`` / ``log_over_upper_max``, each t's ratio against its own bounds, see
:func:`bound_margins`) and ``integrator`` (one row per (w_step, N), ISO models only).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from odebench.data.mnist import digits_standin
from odebench.models import count_parameters
from odebench.models.flow_baselines import build_flow_classifier
from odebench.records import STATUS_COMPLETED, RunRecord
from odebench.solvers.lie import W_STEPS, orthogonality_defect
from odebench.tasks.trainer import TrainOutcome

if TYPE_CHECKING:
    from odebench.tasks.run import RunContext

NAME = "odetoode_theory"
SETUPS = ("odetoode2020",)
MODELS = ["odetoode_iso", "odetoode-1", "node", "hypernet-1", "nanode-1"]
PROFILE_POINTS = 11  # profile sampled at (T - t) / T = 0, 0.1, ..., 1
DIVERGED_DEFECT = 1e6  # an orthogonality defect past this counts as a diverged W-flow
ROUND_OFF = 1e-9  # float64 round-off allowed on log(r_t / bound_t) (N-term products)

DEFAULTS: dict[str, Any] = {
    "seeds": 3,
    "width": 16,                 # ODEtoODE Sec. 5.1: h = 16 (all tasks but Humanoid)
    "activation": "abs",         # ODEtoODE Sec. 5.1.1: f(x) = |x|
    "steps_grid": [10, 25, 100, 400, 1000],  # ours: depths from 10 to 1000 Euler steps
    "horizons": [1, 2, 5, 10],   # ours: horizons beyond the paper's T = 1
    "probe_batch": 32,           # inputs whose per-sample gradient ratios are checked
    "train_steps": 25,           # N while training (ODEtoODE RL: eta = 0.04, N = 25)
    "train_epochs": 30,          # ours: a small task, enough for weights to move
    "train_lr": 1e-2,            # ours (Adam)
    "train_batch": 128,          # ours
    "integrator_steps": [25, 100, 1000],  # W-flow integrators compared at these N (T = 1)
    "integrator_steps_norm": 3.0,  # ours: Q and N rescaled to this spectral norm for the
                                   # integrator check (a stiffer flow shows the differences)
    "model_options": {},
}


def setups() -> list[str]:
    return list(SETUPS)


def models(setup: str) -> list[str]:
    return list(MODELS)


def resolve(setup: str, overrides: dict[str, Any]) -> dict[str, Any]:
    resolved = {**DEFAULTS, **overrides, "setup": setup}
    for key in ("steps_grid", "horizons", "integrator_steps"):
        values = resolved[key]
        if not values or any(not isinstance(v, int | float) or v <= 0 for v in values):
            raise ValueError(f"{key}: expected a list of positive numbers, got {values!r}")
    return resolved


def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    train_x, train_y, _, _ = digits_standin()
    return train_x.flatten(1).double(), train_y


def prepare_data(cfg: dict[str, Any], data_dir: str | None = None,
                 offline: bool = True) -> dict[str, Any]:
    x, y = _digits()
    return {"source": "scikit-learn load_digits (bundled; the theory task is always offline)",
            "train": len(x), "features": x.shape[1], "classes": int(y.unique().numel())}


def build(cfg: dict[str, Any], model_name: str, horizon: float, n_steps: int,
          **extra: Any) -> nn.Module:
    """The classifier ``model_name`` on the digits with its flow on [0, T] in N steps, built
    in float64 (a Haar W_0 drawn in float32 is orthogonal only to ~1e-7)."""
    options = {"activation": cfg["activation"], **cfg["model_options"].get(model_name, {}),
               **extra}
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return build_flow_classifier(model_name, in_features=64, width=cfg["width"],
                                     dropout=0.0, eta=horizon / n_steps, T=horizon, **options)
    finally:
        torch.set_default_dtype(previous)


def finite_n_bounds(eta: float, steps_left: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(1 − η)^k and (1 + η)^k for k = (T − t)/η remaining steps (Lemma 4.1 proof, finite N)."""
    k = steps_left.double()
    return (1 - eta) ** k if eta < 1 else torch.zeros_like(k), (1 + eta) ** k


def bound_margins(ratios: torch.Tensor, lower: torch.Tensor,
                  upper: torch.Tensor) -> tuple[float, float]:
    """(min of log(r_t / lower_t), max of log(r_t / upper_t)) over the samples and every
    t < T, each t against its own bounds (``ratios`` [N + 1, batch], ``lower`` / ``upper``
    [N + 1], rows t = 0..T): every t is within its bounds iff the first is ≥ 0 and the second
    ≤ 0, up to :data:`ROUND_OFF`. t = T is left out (r_T = 1 = both bounds by construction);
    a zero lower bound (η ≥ 1) sets no lower limit; a NaN ratio gives −inf / inf (outside)."""
    log_r = torch.log(ratios[:-1])
    low, high = lower[:-1, None], upper[:-1, None]
    over_lower = torch.where(low > 0, log_r - torch.log(low), torch.full_like(log_r, math.inf))
    over_upper = log_r - torch.log(high)
    over_lower = torch.nan_to_num(over_lower, nan=-math.inf, posinf=math.inf,
                                  neginf=-math.inf)
    over_upper = torch.nan_to_num(over_upper, nan=math.inf, posinf=math.inf, neginf=-math.inf)
    return float(over_lower.min()), float(over_upper.max())


# A sample whose output gradient ‖∂L/∂x_N‖ is below this share of the batch's largest has no
# measurable ratio: its softmax is saturated and the loss gradient has underflowed (to exactly 0
# in float64 at long horizons, where the states grow like e^T), so 0/0 or tiny/tiny is noise.
DEFINED_SHARE = 1e-8


def gradient_ratios(model: nn.Module, x: torch.Tensor,
                    y: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Per-sample ratios ‖∂L/∂x_i‖ / ‖∂L/∂x_N‖, shape [N + 1, samples] (rows i = 0..N), of
    the samples whose output gradient is measurable (:data:`DEFINED_SHARE`), and the number of
    samples left out."""
    x0 = model.encoder(x)
    states = model.block.trajectory(x0)
    logits = model.head(states[-1])
    loss = nn.functional.cross_entropy(logits, y, reduction="sum")  # samples stay separate
    grads = torch.autograd.grad(loss, states)
    norms = torch.stack([g.norm(dim=1) for g in grads])
    last = norms[-1]
    defined = last > DEFINED_SHARE * last.max()
    return norms[:, defined] / last[defined], int((~defined).sum())


def profile_row(cfg: dict[str, Any], model: nn.Module, phase: str, horizon: float,
                n_steps: int, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """One (phase, T, N) row: extremes of the ratios, the widest bounds (t = 0), the margins
    of every t to its own bounds (:func:`bound_margins`; ``bounds_hold``), and the profile."""
    eta = horizon / n_steps
    ratios, undefined = gradient_ratios(model, x, y)
    ratios = ratios.detach()
    if ratios.shape[1] == 0:
        raise ValueError(f"odetoode_theory: no sample has a measurable output gradient at "
                         f"T = {horizon}, N = {n_steps} (all {undefined} saturated)")
    steps_left = torch.arange(n_steps, -1, -1)
    lower, upper = finite_n_bounds(eta, steps_left)
    over_lower, over_upper = bound_margins(ratios, lower, upper)
    holds = over_lower >= -ROUND_OFF and over_upper <= ROUND_OFF
    profile = ratios.norm(dim=1) / ratios[-1].norm()  # batch-Frobenius ratio per step
    row: dict[str, Any] = {
        "phase": phase, "horizon": horizon, "n_steps": n_steps, "eta": eta,
        "ratio_min": float(ratios.min()), "ratio_max": float(ratios.max()),
        "bound_lower": float(lower[0]), "bound_upper": float(upper[0]),
        "upper_excess": float((ratios / upper[:, None]).max()),
        "lower_excess": float((lower[:, None] / ratios.clamp_min(1e-300)).max()),
        "log_over_lower_min": over_lower, "log_over_upper_max": over_upper,
        "bounds_hold": holds,
        "samples_without_ratio": undefined,
        "log_ratio_span": math.log(float(ratios.max()) / max(float(ratios.min()), 1e-300)),
    }
    for k in range(PROFILE_POINTS):
        index = n_steps - round(k * n_steps / (PROFILE_POINTS - 1))
        row[f"ratio_at_{k}"] = float(profile[index])
    return row


def train_small_task(cfg: dict[str, Any], model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                     seed: int) -> list[float]:
    """Adam on the digits, full passes in seeded minibatches; returns the epoch losses."""
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["train_lr"])
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(cfg["train_epochs"]):
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), cfg["train_batch"]):
            index = order[start:start + cfg["train_batch"]]
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
        losses.append(total / len(x))
    return losses


def integrator_rows(cfg: dict[str, Any], model: nn.Module, model_name: str,
                    ) -> list[dict[str, Any]]:
    """Orthogonality defect and isospectrality of the ISO W-flow per integrator and N (T = 1)."""
    generator = getattr(model.block, "generator", None)
    if generator is None or not hasattr(generator, "symmetric_pair"):
        return []
    q, n = (m.detach() for m in generator.symmetric_pair())
    scale = cfg["integrator_steps_norm"]
    q = q * (scale / torch.linalg.matrix_norm(q, ord=2))
    n = n * (scale / torch.linalg.matrix_norm(n, ord=2))
    spectrum = torch.linalg.eigvalsh(q)
    w0 = model.block.initial_weight().detach()
    rows = []
    for w_step, step in W_STEPS.items():
        for n_steps in cfg["integrator_steps"]:
            eta, w = 1.0 / n_steps, w0
            defect, drift, finite = 0.0, 0.0, True
            for _ in range(n_steps):
                h = w.T @ q @ w
                w = step(w, h @ n - n @ h, eta)
                defect = max(defect, float(orthogonality_defect(w)))
                if not math.isfinite(defect) or defect > DIVERGED_DEFECT:
                    finite = False  # naive Euler: W grows without bound
                    break
                h = w.T @ q @ w
                drift = max(drift, float((torch.linalg.eigvalsh(0.5 * (h + h.T))
                                          - spectrum).abs().max()))
            rows.append({"phase": "integrator", "w_step": w_step, "n_steps": n_steps,
                         "horizon": 1.0, "eta": eta,
                         "orthogonality_defect": defect if finite else float("inf"),
                         "isospectral_deviation": drift if finite else float("inf")})
    return rows


def run(cfg: dict[str, Any], model_name: str, seed: int, record: RunRecord,
        context: RunContext) -> tuple[TrainOutcome, dict[str, Any]]:
    """Profiles at initialisation, training on the digits, profiles after, integrators."""
    started = time.perf_counter()
    x, y = _digits()
    probe = torch.Generator().manual_seed(10_000 + seed)
    chosen = torch.randperm(len(x), generator=probe)[:cfg["probe_batch"]]
    x_probe, y_probe = x[chosen], y[chosen]
    torch.manual_seed(seed)
    reference = build(cfg, model_name, 1.0, cfg["train_steps"])
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    rows: list[dict[str, Any]] = []

    def profiles(phase: str) -> None:
        for horizon in cfg["horizons"]:
            for n_steps in cfg["steps_grid"]:
                model = build(cfg, model_name, float(horizon), int(n_steps))
                model.load_state_dict(state)
                rows.append({"epoch": len(rows) + 1,
                             **profile_row(cfg, model, phase, float(horizon), int(n_steps),
                                           x_probe, y_probe)})
        held = sum(r["bounds_hold"] for r in rows if r.get("phase") == phase)
        context.log(f"[{record.experiment}/{model_name}/seed{seed}] {phase}: bounds hold in "
                    f"{held}/{len(cfg['horizons']) * len(cfg['steps_grid'])} (T, N) cells")

    profiles("init")
    losses = train_small_task(cfg, reference, x, y, seed)
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    profiles("trained")
    rows += [{"epoch": len(rows) + i + 1, **row}
             for i, row in enumerate(integrator_rows(cfg, reference, model_name))]
    record.rows = rows
    record.write_epochs()
    grid = [r for r in rows if r["phase"] in ("init", "trained")]
    final = {"bounds_hold_fraction": sum(r["bounds_hold"] for r in grid) / len(grid),
             "train_loss_first": losses[0] if losses else None,
             "train_loss_last": losses[-1] if losses else None,
             "max_upper_excess": max(r["upper_excess"] for r in grid),
             "total_seconds": time.perf_counter() - started}
    return TrainOutcome(STATUS_COMPLETED, rows, final), {"n_params": count_parameters(reference)}
