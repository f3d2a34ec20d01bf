"""Offline stand-ins (smoke profile): shapes, ranges, determinism, balance, learnability."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from odebench.data.cifar10 import load_cifar10
from odebench.data.colour_shapes import colour_shapes
from odebench.data.mnist import load_mnist
from odebench.data.silverbox import load_silverbox, simulate_duffing


def test_digits_standin_shapes_range_split_and_balance():
    train_x, train_y, test_x, test_y = load_mnist(offline=True)
    assert train_x.shape == (1442, 1, 8, 8) and test_x.shape == (355, 1, 8, 8)
    assert train_x.dtype == torch.float32 and train_y.dtype == torch.int64
    assert float(train_x.min()) == 0.0 and float(train_x.max()) == 1.0
    for labels, low in ((train_y, 140), (test_y, 34)):
        counts = torch.bincount(labels, minlength=10)
        assert int(counts.min()) >= low and int(counts.max()) - int(counts.min()) <= 7
    again = load_mnist(offline=True)
    assert all(torch.equal(a, b) for a, b in zip((train_x, train_y, test_x, test_y), again,
                                                 strict=True))
    train_rows = {row.numpy().tobytes() for row in train_x}
    assert sum(row.numpy().tobytes() in train_rows for row in test_x) <= 3   # split, not copy


def test_cifar_standin_shapes_range_determinism_and_balance():
    train_x, train_y, test_x, test_y = load_cifar10(offline=True, standin_sizes=(203, 50))
    assert train_x.shape == (203, 3, 32, 32) and test_x.shape == (50, 3, 32, 32)
    assert train_x.dtype == torch.float32 and train_y.dtype == torch.int64
    assert 0.0 <= float(train_x.min()) and float(train_x.max()) <= 1.0
    assert torch.equal(train_x * 255, (train_x * 255).round())             # uint8 / 255
    counts = torch.bincount(train_y, minlength=10)
    assert int(counts.max()) - int(counts.min()) <= 1
    assert torch.equal(torch.bincount(test_y, minlength=10), torch.full((10,), 5))
    again = load_cifar10(offline=True, standin_sizes=(203, 50))
    assert torch.equal(again[0], train_x) and torch.equal(again[3], test_y)
    bigger = load_cifar10(offline=True, standin_sizes=(400, 50))
    assert torch.equal(bigger[2], test_x)                    # test set independent of n_train
    other = load_cifar10(offline=True, standin_sizes=(203, 50), standin_seed=1)
    assert not torch.equal(other[0], train_x)


def test_colour_shapes_default_size_small_and_validates():
    x, y = colour_shapes(20, seed=4, size=16)
    assert x.shape == (20, 3, 16, 16) and x.dtype == np.uint8 and y.dtype == np.int64
    assert load_cifar10(offline=True)[0].shape[0] <= 2000
    with pytest.raises(ValueError, match="n >= 0"):
        colour_shapes(-1)


def test_cifar_standin_is_learnable_by_a_small_conv_net():
    torch.manual_seed(0)
    train_x, train_y, test_x, test_y = load_cifar10(offline=True, standin_sizes=(500, 200))
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
                          nn.Flatten(), nn.Linear(128, 10))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(60):
        batch = slice(50 * (step % 10), 50 * (step % 10 + 1))
        loss = nn.functional.cross_entropy(model(train_x[batch]), train_y[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        accuracy = float((model(test_x).argmax(1) == test_y).float().mean())
    assert accuracy > 0.5                                    # chance is 0.1


def test_duffing_standin_two_channels_deterministic_and_resonant():
    raw = simulate_duffing(2048, seed=0)
    assert raw.shape == (2048, 2) and np.isfinite(raw).all()
    assert np.array_equal(raw, simulate_duffing(2048, seed=0))
    assert not np.array_equal(raw, simulate_duffing(2048, seed=1))
    v1, v2 = load_silverbox(offline=True, n_samples=2048)
    assert v1.shape == v2.shape == (2048,) and v1.dtype == torch.float64
    assert abs(float(v1.mean())) < 1e-9 and abs(float(v2.mean())) < 1e-9   # mean removed
    assert 1.5 < float(v1.std()) < 3.0 and 3.0 < float(v2.std()) < 8.0      # like real x 100
    spectrum = np.abs(np.fft.rfft(v2.numpy())) ** 2
    peak = np.argmax(spectrum) / len(v2)
    assert 0.07 < peak < 0.15                                 # resonance ~0.11 cycles/sample
    first, _ = load_silverbox(offline=True, n_samples=64)
    assert first.shape == (64,)


def test_duffing_standin_is_nonlinear(monkeypatch):
    """Doubling the input does not double the response (the cubic stiffness)."""
    from odebench.data import silverbox

    raw = simulate_duffing(2048)
    monkeypatch.setattr(silverbox, "INPUT_STD", 2 * silverbox.INPUT_STD)
    doubled = simulate_duffing(2048)
    np.testing.assert_allclose(doubled[:, 0], 2 * raw[:, 0])
    assert doubled[:, 1].std() / raw[:, 1].std() < 1.9
