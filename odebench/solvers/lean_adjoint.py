"""The adjoint method over the lean solver, step for step torchdiffeq 0.2.5's ``odeint_adjoint``.

The forward pass solves without recording a graph; the backward pass integrates, interval by
interval from ``t[-1]`` back to ``t[0]``, the augmented state ``(vjp_t, y, a, a_θ)`` of
torchdiffeq's ``OdeintAdjointMethod``: ``y`` re-solved backwards, the adjoint ``a = ∂L/∂y``
with ``a' = -aᵀ ∂f/∂y`` and the parameter integral ``a_θ' = -aᵀ ∂f/∂θ``, flattened into one
tensor exactly as torchdiffeq flattens a tuple state, under torchdiffeq's default adjoint norm
``max(|vjp_t|, rms(y), rms(a), max over θ of rms(a_θ))``. With the same tolerances, method and
options (minus ``norm``) as the forward solve, the backward pass takes the same steps and makes
the same number of vector-field evaluations as torchdiffeq's adjoint, and returns the same
gradients (bit for bit on the same device and thread count; the tests compare them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from odebench.solvers.lean import LeanTrace, _rms, normalise, solve_normalised

__all__ = ["lean_odeint_adjoint"]


def _adjoint_norm(shapes: Sequence[torch.Size], device: torch.device):
    """torchdiffeq's ``default_adjoint_norm`` applied to the flattened augmented state."""
    sizes = [s.numel() for s in shapes]

    def norm(flat: torch.Tensor) -> torch.Tensor:
        parts = torch.split(flat, sizes)
        vjp_t, y, adj_y, adj_params = parts[0], parts[1], parts[2], parts[3:]
        mixed = max([_rms(p) for p in adj_params]) if adj_params else 0.0
        return max(vjp_t.abs().reshape(()), _rms(y), _rms(adj_y), mixed)

    if device.type != "cpu":
        return norm
    counts: dict[torch.dtype, torch.Tensor] = {}

    def cpu_norm(flat: torch.Tensor) -> torch.Tensor:
        # The same value with a few ops instead of four per part: abs(x).pow(2) is x * x, and on
        # the CPU mean is the sum divided by the count in the state dtype; the sums run on views
        # of one squared tensor (contiguous, so summed exactly as the parts are); sqrt and the
        # division act elementwise, and floats compare like the 0-dim tensors they come from.
        count = counts.get(flat.dtype)
        if count is None:
            count = counts[flat.dtype] = torch.tensor(sizes[1:], dtype=flat.dtype)
        squares = torch.split(flat * flat, sizes)[1:]
        rms = torch.stack([p.sum() for p in squares]).div_(count).sqrt_().tolist()
        mixed = max(rms[2:]) if len(rms) > 2 else 0.0
        value = max(abs(flat[0].item()), rms[0], rms[1], mixed)
        return torch.scalar_tensor(value, dtype=flat.dtype)

    return cpu_norm


def _augmented_dynamics(func: Callable, shapes: Sequence[torch.Size],
                        params: tuple[torch.Tensor, ...]):
    """``(vjp_t, f, vjp_y, *vjp_params)`` of torchdiffeq's augmented system, flattened."""
    sizes = [s.numel() for s in shapes]
    y_shape = shapes[1]

    def aug(t: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
        parts = torch.split(flat, sizes)
        y, adj_y = parts[1].view(y_shape), parts[2].view(y_shape)
        with torch.enable_grad():
            t = t.detach().requires_grad_(True)
            y = y.detach().requires_grad_(True)
            f = func(t, y)
            vjp_t, vjp_y, *vjp_params = torch.autograd.grad(
                f, (t, y) + params, -adj_y, allow_unused=True, retain_graph=True)
        vjp_t = torch.zeros_like(t) if vjp_t is None else vjp_t
        vjp_y = torch.zeros_like(y) if vjp_y is None else vjp_y
        vjp_params = [torch.zeros_like(p) if v is None else v
                      for p, v in zip(params, vjp_params, strict=True)]
        return torch.cat([vjp_t.reshape(-1), f.reshape(-1), vjp_y.reshape(-1),
                          *(v.reshape(-1) for v in vjp_params)])

    return aug


class _LeanAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, func, y0, t, rtol, atol, method, options, adjoint_options, *params):
        with torch.no_grad():
            ys = solve_normalised(func, y0, t, rtol, atol, method, options, LeanTrace(method))
        ctx.func, ctx.rtol, ctx.atol, ctx.method = func, rtol, atol, method
        ctx.adjoint_options = adjoint_options
        ctx.save_for_backward(t, ys, *params)
        return ys

    @staticmethod
    def backward(ctx, grad_ys):
        t, ys, *params = ctx.saved_tensors
        params = tuple(params)
        shapes = [torch.Size([]), ys.shape[1:], ys.shape[1:], *(p.shape for p in params)]
        aug = _augmented_dynamics(ctx.func, shapes, params)
        norm = _adjoint_norm(shapes, ys.device)
        with torch.no_grad():
            state = [torch.zeros((), dtype=ys.dtype, device=ys.device), ys[-1], grad_ys[-1],
                     *(torch.zeros_like(p) for p in params)]
            for i in range(len(t) - 1, 0, -1):
                flat = torch.cat([s.reshape(-1) for s in state])
                f, span, method, options = normalise(aug, flat, t[i - 1:i + 1].flip(0),
                                                     ctx.method, ctx.adjoint_options)
                sol = solve_normalised(f, flat, span, ctx.rtol, ctx.atol, method, options,
                                       LeanTrace(method), norm=norm)
                end = torch.split(sol[1], [s.numel() for s in shapes])
                state = [e.view(s) for e, s in zip(end, shapes, strict=True)]
                state[1] = ys[i - 1]
                state[2] = state[2] + grad_ys[i - 1]
        return (None, state[2], None, None, None, None, None, None, *state[3:])


def lean_odeint_adjoint(
    func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    y0: torch.Tensor,
    t: torch.Tensor,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    method: str | None = "dopri5",
    options: dict | None = None,
    adjoint_params: Sequence[torch.Tensor] = (),
) -> torch.Tensor:
    """``torchdiffeq.odeint_adjoint`` on the lean solver (its defaults for the backward pass:
    the forward tolerances, method and options without ``norm``, the default adjoint norm).

    Gradients reach ``y0`` and the ``adjoint_params`` that require grad, not ``t``.
    """
    adjoint_options = {k: v for k, v in (options or {}).items() if k != "norm"}
    f, t_n, method, options_n = normalise(func, y0, t, method, options)
    params = tuple(p for p in adjoint_params if p.requires_grad)
    return _LeanAdjoint.apply(f, y0, t_n, rtol, atol, method, options_n, adjoint_options,
                              *params)
