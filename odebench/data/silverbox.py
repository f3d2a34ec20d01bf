"""Silverbox (HBNODE Fig. 3, NesterovNODE Fig. 2: the initialisation test) and its stand-in.

Silverbox is an electronic Duffing oscillator: input voltage V1, output voltage V2, sampled at
610.35 Hz. The stand-in simulates ``y'' + c y' + k y + k3 y^3 = g u`` in units of one sample,
driven by band-limited Gaussian noise whose amplitude grows over the record (like the
"arrow" excitation at the start of the real record), with constants chosen so that the
resonance (about 0.11 cycles/sample) and the channel scales resemble the real data.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from odebench.data.benchcsv import read_silverbox_csv
from odebench.data.download import fetch
from odebench.data.registry import Source

SCALE = 100.0               # HBNODE silverbox_init.py: mean removed, then x 100
STANDIN_SAMPLES = 4096
OMEGA = 2 * math.pi * 0.11  # resonance of the real record, rad/sample
DAMPING = 0.1               # damping ratio
CUBIC = 10.0                # k3 / k: adds about half of k at the largest |y| (~0.22 V)
GAIN = 1.5                  # g / k: V2 about 2.4 times V1 in spread, as in the real record
INPUT_STD = 0.022           # V1 standard deviation of the real record (volts)
BANDWIDTH = 0.3             # input band limit, cycles/sample
SUBSTEPS = 4                # RK4 steps per sample


def _input(rng: np.random.Generator, n: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[np.fft.rfftfreq(n) > BANDWIDTH] = 0.0
    noise = np.fft.irfft(spectrum, n)
    ramp = np.linspace(0.1, 1.0, n)
    return INPUT_STD * ramp * noise / (noise * ramp).std()


def simulate_duffing(n_samples: int = STANDIN_SAMPLES, seed: int = 0) -> np.ndarray:
    """Raw volts (n_samples x 2): V1 the input, V2 the Duffing response (fixed-step RK4)."""
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    u = _input(np.random.default_rng(seed), n_samples)
    k = OMEGA**2
    c, k3, g = 2 * DAMPING * OMEGA, CUBIC * k, GAIN * k
    h = 1.0 / SUBSTEPS

    def rhs(y: float, v: float, force: float) -> tuple[float, float]:
        return v, g * force - c * v - k * y - k3 * y**3

    y = v = 0.0
    out = np.empty(n_samples)
    out[0] = y
    for i in range(n_samples - 1):
        u0, du = float(u[i]), float(u[i + 1] - u[i])
        for j in range(SUBSTEPS):
            f0, fm, f1 = u0 + du * j * h, u0 + du * (j + 0.5) * h, u0 + du * (j + 1) * h
            k1 = rhs(y, v, f0)
            k2 = rhs(y + 0.5 * h * k1[0], v + 0.5 * h * k1[1], fm)
            k3_ = rhs(y + 0.5 * h * k2[0], v + 0.5 * h * k2[1], fm)
            k4 = rhs(y + h * k3_[0], v + h * k3_[1], f1)
            y += h / 6 * (k1[0] + 2 * k2[0] + 2 * k3_[0] + k4[0])
            v += h / 6 * (k1[1] + 2 * k2[1] + 2 * k3_[1] + k4[1])
        out[i + 1] = y
    return np.stack([u, out], axis=1)


def load_silverbox(data_dir: str | Path | None = None, offline: bool = False, *,
                   n_samples: int | None = None, base_url: str | None = None,
                   source: Source | None = None,
                   dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """``(v1, v2)``, each of shape (N,): mean removed over the whole record, then x 100.

    Real data: ``sb.csv`` (N = 131,072, or its first ``n_samples``). Offline: the simulated
    Duffing oscillator (N = ``n_samples``, default 4,096).
    """
    if offline:
        raw = simulate_duffing(n_samples or STANDIN_SAMPLES)
    else:
        raw = read_silverbox_csv(fetch(source or "silverbox", data_dir, base_url)["sb.csv"])
    series = (raw - raw.mean(axis=0)) * SCALE
    if n_samples is not None:
        series = series[:n_samples]
    tensor = torch.as_tensor(series, dtype=dtype)
    return tensor[:, 0].contiguous(), tensor[:, 1].contiguous()
