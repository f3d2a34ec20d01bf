"""The system-identification CSV files of the HBNODE repository: ``sb.csv`` and ``pv.csv``.

Format: a header of quoted column names, then numbers; every line ends with a comma. In
``pv.csv`` the last column ``Fs`` (sampling rate) is filled on the first data row only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from odebench.data.errors import FormatError

SILVERBOX_COLUMNS = ("V1", "V2")
PLANE_VIBRATION_COLUMNS = ("Force", "Voltage", "Acceleration1", "Acceleration2", "Acceleration3")


def _header(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        line = handle.readline().strip()
    return [name.strip().strip('"') for name in line.removesuffix(",").split(",")]


def read_benchmark_csv(path: str | Path, columns: Sequence[str],
                       extra: Sequence[str] = ()) -> np.ndarray:
    """The numeric ``columns`` (float64, rows x columns) after checking the header is exactly
    ``columns + extra``; blank lines are skipped."""
    path = Path(path)
    found, wanted = _header(path), [*columns, *extra]
    if found != wanted:
        raise FormatError(f"{path}: header {found} differs from the expected {wanted}")
    try:
        data = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(len(columns)),
                          dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise FormatError(f"{path}: cannot parse as {len(columns)} numeric columns: {err}") from err
    if len(data) == 0:
        raise FormatError(f"{path}: no data rows")
    return data


def read_silverbox_csv(path: str | Path) -> np.ndarray:
    """``sb.csv``: float64 array (131,072 x 2) of V1 (input) and V2 (output) voltages."""
    return read_benchmark_csv(path, SILVERBOX_COLUMNS)


def read_plane_vibration_csv(path: str | Path) -> tuple[np.ndarray, float]:
    """``pv.csv``: float64 array (73,728 x 5) of force, voltage, 3 accelerations; and ``Fs``."""
    path = Path(path)
    data = read_benchmark_csv(path, PLANE_VIBRATION_COLUMNS, extra=("Fs",))
    with open(path, encoding="utf-8") as handle:
        handle.readline()
        fields = handle.readline().split(",")
    try:
        rate = float(fields[len(PLANE_VIBRATION_COLUMNS)])
    except (IndexError, ValueError) as err:
        raise FormatError(f"{path}: no sampling rate Fs on the first data row") from err
    return data, rate
