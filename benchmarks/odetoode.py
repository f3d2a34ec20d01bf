"""asv benchmarks of the ODEtoODE-1 (gated) MNIST-C classifier (Choromanski et al. 2020,
Tables 1-2: width 128 and 256, eta = 0.01, i.e. N = 100 steps on [0, 1]).

One batch of 128 seeded standard-normal "images" of 784 features with random labels, float32,
1 CPU thread. ``ODEtoODEStep``:

* ``time_forward_backward``: zero_grad, forward (which computes the W-sequence W_1..W_100,
  100 matrix exponentials of width x width, once for the batch), cross-entropy, backward.
* ``time_w_sequence``: the W-sequence alone, forward and backward, fed the upstream gradient
  dL/dW_{1..N} of that same step (the cost of backpropagating through ``matrix_exp``
  depends on the size of the incoming gradient, so a synthetic one would mislead).
* ``track_w_sequence_share``: min(W-sequence) / min(whole step) over 5 interleaved repeats
  (order alternating; minima, as a shared machine only ever adds time), the share of the
  step spent on the matrix flow (the matrix exponentials, the products W_{i-1} exp(.) and
  the gated generator; the exponentials' forward + backward are nearly all of it).

A width-256 step takes several seconds on one thread, so each benchmark samples a few times
(``repeat``) under a 600 s timeout, e.g.
``.venv/bin/asv run --python=same --quick --bench ODEtoODEStep``.
"""

from __future__ import annotations

import time

import torch
from torch.nn import functional

from odebench.models.flow_baselines import FlowClassifier, build_flow_classifier

MODEL = "odetoode-1"
WIDTHS = [128, 256]  # Table 1 (w = 128) and Table 2 (w = 256)
ETA = 0.01  # the paper's ODEtoODE step for Tables 1-2
BATCH = 128
IN_FEATURES = 784  # 28 x 28 MNIST-C images, flattened
CLASSES = 10
SEED = 0
SHARE_REPEATS = 5


class ClassifierStep:
    """A seeded ODEtoODE-1 classifier with a fixed batch, and the upstream gradient of its
    W-sequence for :meth:`w_sequence_step`."""

    def __init__(self, width: int):
        generator = torch.Generator().manual_seed(SEED)
        torch.manual_seed(SEED)
        self.model: FlowClassifier = build_flow_classifier(MODEL, IN_FEATURES, width,
                                                           dropout=0.0, eta=ETA)
        self.x = torch.randn(BATCH, IN_FEATURES, generator=generator)
        self.y = torch.randint(0, CLASSES, (BATCH,), generator=generator)
        self.weight_grad = self._weight_gradient()

    def _weight_gradient(self) -> torch.Tensor:
        """``dL/d(W_1..W_N)`` of one step, from the flow with its weights passed in."""
        model = self.model
        weights = model.block.weights().detach().requires_grad_()
        hidden = model.block(model.encoder(model.flatten(self.x)), weights=weights)
        loss = functional.cross_entropy(model.head(model.dropout(hidden)), self.y)
        (grad,) = torch.autograd.grad(loss, weights)
        return grad

    def step(self) -> None:
        """Forward, cross-entropy and backward of the whole classifier."""
        self.model.zero_grad(set_to_none=True)
        functional.cross_entropy(self.model(self.x), self.y).backward()

    def w_sequence_step(self) -> None:
        """The W-sequence forward and backward, with the step's upstream gradient."""
        self.model.zero_grad(set_to_none=True)
        self.model.block.weights().backward(self.weight_grad)


_CASES: dict[int, ClassifierStep] = {}


def warm_case(width: int) -> ClassifierStep:
    """The case of ``width``, built and warmed up (one call of each) once per process."""
    if width not in _CASES:
        case = ClassifierStep(width)
        case.step()
        case.w_sequence_step()
        _CASES[width] = case
    return _CASES[width]


def seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


class ODEtoODEStep:
    """ODEtoODE-1 classifier, batch 128, eta = 0.01 (1 CPU thread); see the module docstring."""

    params = WIDTHS
    param_names = ["width"]
    timeout = 600.0
    number = 1
    repeat = (1, 3, 60.0)  # a width-256 step takes seconds: bound the samples
    rounds = 1
    warmup_time = 0.0

    def setup(self, width: int) -> None:
        torch.set_num_threads(1)
        self.case = warm_case(width)

    def time_forward_backward(self, width: int) -> None:
        """One forward + backward of the classifier (W-sequence computed once per batch)."""
        self.case.step()

    def time_w_sequence(self, width: int) -> None:
        """The W-sequence (100 matrix exponentials and products) forward + backward alone."""
        self.case.w_sequence_step()

    def track_w_sequence_share(self, width: int) -> float:
        """Min W-sequence time / min whole-step time (interleaved repeats)."""
        whole, sequence = [], []
        for index in range(SHARE_REPEATS):
            if index % 2:
                sequence.append(seconds(self.case.w_sequence_step))
            whole.append(seconds(self.case.step))
            if not index % 2:
                sequence.append(seconds(self.case.w_sequence_step))
        return min(sequence) / min(whole)

    track_w_sequence_share.unit = "fraction"
