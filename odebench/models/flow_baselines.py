"""Fully connected baselines of the ODEtoODE MNIST-C tables (Choromanski et al. 2020, Sec. 5.2,
Tables 1-2) and the classifier around every block.

Each flow is a :class:`~odebench.models.odetoode.WeightFlow` on R^width (same explicit-Euler
loop, step eta and f = |x| as ODEtoODE, so gradient-ratio profiles are comparable):

* :class:`BaseODEFlow` ("NODE"): a constant learned W (the theory's "unconstrained W").
* :class:`NANODEFlow`: W(t) a degree-k trigonometric polynomial (our reading of NANODE).
* :class:`HyperNetFlow`: the gated ODEtoODE with the O(n) constraint removed (our reading of
  the gated ANODEV2-style HyperNet).

:class:`DenseNet` is the plain MLP (no flow). :func:`build_flow_classifier` builds any table
entry by name (``dense-<k>``, ``node``, ``nanode-<k>``, ``hypernet-<k>``, ``odetoode-<k>``,
``odetoode_iso``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch
from torch import nn

from odebench.models.fields import activation as make_activation
from odebench.models.odetoode import (
    DEFAULT_ACTIVATION,
    DEFAULT_ETA,
    DEFAULT_T,
    GatedGenerator,
    GatedMatrices,
    IsoGenerator,
    ODEtoODEFlow,
    WeightFlow,
)
from odebench.solvers.lie import haar_orthogonal

TABLE1_MODELS = ["dense-1", "dense-10", "node", "nanode-1", "nanode-10", "hypernet-1",
                 "hypernet-10", "odetoode-1", "odetoode-10"]  # Table 1 columns
TABLE2_MODELS = ["dense-1", "dense-2", "dense-4", "node", "nanode-1", "nanode-2", "nanode-4",
                 "hypernet-1", "hypernet-2", "hypernet-4", "odetoode-1", "odetoode-2",
                 "odetoode-4"]  # Table 2 columns
NAME_FORMS = ("dense-<k>", "node", "nanode-<k>", "hypernet-<k>", "odetoode-<k>", "odetoode_iso")
_LABELS = {"dense": "Dense", "nanode": "NANODE", "hypernet": "HyperNet", "odetoode": "ODEtoODE"}
_FIXED_LABELS = {"node": "NODE", "odetoode_iso": "ISO-ODEtoODE"}
_NAME = re.compile(r"(dense|nanode|hypernet|odetoode)-([1-9][0-9]*)")


def _linear_init(tensor: torch.Tensor, fan_in: int) -> torch.Tensor:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): ``nn.Linear``'s default for weight and bias."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.init.uniform_(tensor, -bound, bound)


class BaseODEFlow(WeightFlow):
    """NODE / BaseODE: ``x' = f(W x + b)`` with constant learned W and b, explicit Euler.

    W and b start as ``nn.Linear(width, width)`` would (U(+-1/sqrt(width)); unspecified);
    ``init_scale`` multiplies the initial W (the theory check's unconstrained W of large norm).
    """

    def __init__(self, width: int, T: float = DEFAULT_T, eta: float = DEFAULT_ETA,
                 activation: str = DEFAULT_ACTIVATION, bias: bool = True,
                 init_scale: float = 1.0):
        super().__init__(width, T, eta, activation, bias)
        self.weight = nn.Parameter(init_scale * _linear_init(torch.empty(width, width), width))
        if self.bias is not None:
            with torch.no_grad():
                _linear_init(self.bias, width)

    def weights(self) -> torch.Tensor:
        return self.weight.expand(self.steps, self.width, self.width)


NODEFlow = BaseODEFlow


class NANODEFlow(WeightFlow):
    """NANODE-k: ``x' = f(W(t) x + b)`` with a degree-k trigonometric-polynomial W (Sec. 5.2.2)::

        W(t) = A_0 + sum_{j=1..k} (A_j cos(2 pi j t / T) + B_j sin(2 pi j t / T))

    Our reading of NANODE (the paper gives only "trigonometric polynomial of degree k").
    Explicit Euler evaluates W at the left end of each step, t_{i-1}. A_0 and b start as
    :class:`BaseODEFlow`'s; the harmonics A_j, B_j start at 0 (NANODE-k = NODE at init).
    ``trig_bias=False`` (default): b is constant; True: b(t) has the same trig form.
    """

    def __init__(self, width: int, degree: int = 1, T: float = DEFAULT_T,
                 eta: float = DEFAULT_ETA, activation: str = DEFAULT_ACTIVATION,
                 bias: bool = True, trig_bias: bool = False):
        super().__init__(width, T, eta, activation, bias)
        if degree < 1:
            raise ValueError(f"degree must be >= 1, got {degree}")
        self.degree = degree
        self.weight = nn.Parameter(_linear_init(torch.empty(width, width), width))
        self.cos_weights = nn.Parameter(torch.zeros(degree, width, width))
        self.sin_weights = nn.Parameter(torch.zeros(degree, width, width))
        if self.bias is not None:
            with torch.no_grad():
                _linear_init(self.bias, width)
        self.trig_bias = trig_bias and bias
        if self.trig_bias:
            self.cos_biases = nn.Parameter(torch.zeros(degree, width))
            self.sin_biases = nn.Parameter(torch.zeros(degree, width))

    def basis(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``cos(2 pi j t_i / T)`` and ``sin(...)``, each ``[N, degree]``."""
        harmonics = torch.arange(1, self.degree + 1, dtype=self.weight.dtype,
                                 device=self.weight.device)
        angles = (2.0 * math.pi / self.T) * self.step_times()[:, None] * harmonics
        return torch.cos(angles), torch.sin(angles)

    def weights(self) -> torch.Tensor:
        cos, sin = self.basis()
        return (self.weight + torch.einsum("nk,kij->nij", cos, self.cos_weights)
                + torch.einsum("nk,kij->nij", sin, self.sin_weights))

    def biases(self) -> torch.Tensor | None:
        if not self.trig_bias:
            return super().biases()
        cos, sin = self.basis()
        return self.bias + cos @ self.cos_biases + sin @ self.sin_biases


class HyperNetFlow(WeightFlow):
    """HyperNet-k: the gated ODEtoODE with the constraint removed (our reading of the gated
    ANODEV2-style hypernetwork, Sec. 5.2.2)::

        W_i = W_{i-1} + eta sum_j a_j F_j(t_{i-1}),   x_i = x_{i-1} + eta f(W_i x_{i-1} + b)

    F_j as in :class:`~odebench.models.odetoode.GatedMatrices` (not skew-symmetrised), the
    already-updated W_i in the main flow as in Eq. 5. W_0 is a learned unconstrained matrix
    that starts at a Haar sample (so at init only the W-update differs from ODEtoODE).
    """

    def __init__(self, width: int, gates: int = 1, gate_input: str = "time",
                 T: float = DEFAULT_T, eta: float = DEFAULT_ETA,
                 activation: str = DEFAULT_ACTIVATION, bias: bool = True):
        super().__init__(width, T, eta, activation, bias)
        self.gated = GatedMatrices(width, gates, gate_input)
        self.w0 = nn.Parameter(haar_orthogonal(width, dtype=torch.get_default_dtype()))

    def weights(self) -> torch.Tensor:
        return self.w0 + self.eta * torch.cumsum(self.gated(self.step_times()), dim=0)


class DenseNet(nn.Module):
    """Dense-k block: with the classifier's input projection, an MLP of k hidden layers of
    width w, each followed by the activation (default f = |x| as the flows, Sec. 5.1.1).

    The block is ``act`` then ``k - 1`` times ``Linear(w, w) -> act``: the classifier's
    ``Linear(in, w)`` is the first hidden layer (our reading of "hidden depth k").
    """

    def __init__(self, width: int, depth: int = 1, activation: str = DEFAULT_ACTIVATION):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.width, self.depth = width, depth
        self.activation = make_activation(activation)
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth - 1))

    def trajectory(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[x, act(x), ...]``: the input and each hidden layer's output (k + 1 tensors)."""
        states = [x, self.activation(x)]
        for layer in self.layers:
            states.append(self.activation(layer(states[-1])))
        return states

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trajectory(x)[-1]


class FlowClassifier(nn.Module):
    """``flatten -> Linear(in, w) -> block -> Dropout -> Linear(w, classes)``.

    Dropout sits once, between the block and the output layer (the paper gives only the
    rate, r = 0.1 in Table 2); 0 disables it (Table 1).
    """

    def __init__(self, in_features: int, width: int, block: nn.Module, classes: int = 10,
                 dropout: float = 0.0):
        super().__init__()
        if getattr(block, "width", width) != width:
            raise ValueError(f"block width {block.width} != classifier width {width}")
        self.flatten = nn.Flatten()
        self.encoder = nn.Linear(in_features, width)
        self.block = block
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.block(self.encoder(self.flatten(x)))))


def parse_model_name(name: str) -> tuple[str, int | None]:
    """``"odetoode-10"`` -> ``("odetoode", 10)``, ``"node"`` -> ``("node", None)``."""
    if name in _FIXED_LABELS:
        return name, None
    match = _NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"unknown flow model {name!r}; valid forms: {', '.join(NAME_FORMS)} "
                         "(k >= 1)")
    return match.group(1), int(match.group(2))


def display_label(name: str) -> str:
    """The paper's column label: ``"odetoode-10"`` -> ``"ODEtoODE-10"``."""
    family, k = parse_model_name(name)
    return _FIXED_LABELS[family] if k is None else f"{_LABELS[family]}-{k}"


def build_block(name: str, width: int, eta: float = DEFAULT_ETA, **options: Any) -> nn.Module:
    """The block of model ``name`` on R^width; ``options`` go to its constructor (e.g.
    ``activation``, ``T``, ``w0``, ``w_step``, ``gate_input``; Dense ignores ``eta`` and ``T``,
    so one option set serves every model)."""
    family, k = parse_model_name(name)
    if family == "dense":
        options.pop("T", None)
        return DenseNet(width, k, **options)
    if family == "node":
        return BaseODEFlow(width, eta=eta, **options)
    if family == "nanode":
        return NANODEFlow(width, degree=k, eta=eta, **options)
    if family == "hypernet":
        return HyperNetFlow(width, gates=k, eta=eta, **options)
    if family == "odetoode":
        generator = GatedGenerator(width, k, gate_input=options.pop("gate_input", "time"))
    else:
        generator = IsoGenerator(width)
    return ODEtoODEFlow(width, generator, eta=eta, **options)


def build_flow_classifier(name: str, in_features: int, width: int, dropout: float,
                          eta: float, **options: Any) -> FlowClassifier:
    """A :class:`FlowClassifier` around :func:`build_block` (10 classes unless
    ``classes=`` is given)."""
    classes = options.pop("classes", 10)
    block = build_block(name, width, eta=eta, **options)
    return FlowClassifier(in_features, width, block, classes=classes, dropout=dropout)


TABLE1_LABELS = [display_label(name) for name in TABLE1_MODELS]
TABLE2_LABELS = [display_label(name) for name in TABLE2_MODELS]
