"""Numbers as the papers print them: ``mean ± std`` rounded together to the std's first
significant digit, single values to a few significant digits, one missing-value dash.

Rules (every table writer of :mod:`odebench.report` goes through these):

* ``mean_std(0.4325, 0.004093)`` -> ``0.433 ± 0.004``: the std is rounded to its first
  significant digit (no two-digit exception for a leading 1), the mean to the same decimal
  place; halves round away from zero on the shortest decimal form of the float
  (``0.4325`` -> ``0.433``, not binary ``0.432``).
* A std of 0 keeps the mean as :func:`value` prints it: ``26 ± 0``, ``(1.5 ± 0) × 10⁻⁹``.
* A NaN std (a single run) prints the mean alone, 4 significant digits: ``0.4325``.
* When mean or std reaches 1e5, or both stay under 1e-3, both share one power of ten:
  ``(4.33 ± 0.04) × 10⁻⁷``.
* Missing (None, NaN) -> ``–``; infinities -> ``∞`` / ``-∞``.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

MISSING = "–"
PLUS_MINUS = "±"
# Fixed notation for magnitudes in [FIXED_LOW, FIXED_HIGH); scientific outside.
FIXED_LOW = Decimal("1e-3")
FIXED_HIGH_PAIR = Decimal("1e5")
FIXED_HIGH_VALUE = Decimal("1e4")
INTEGER_LIMIT = 1e6  # integral single values below this print in full (NFE, steps, params)
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def is_missing(x: object) -> bool:
    """None, NaN, pandas NA (but not infinity)."""
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _decimal(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _round(d: Decimal, exponent: int) -> Decimal:
    """``d`` to a multiple of 10**exponent, halves away from zero; never ``-0``."""
    rounded = d.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)
    return abs(rounded) if rounded == 0 else rounded


def _fixed(d: Decimal, decimals: int) -> str:
    return format(d, f".{max(decimals, 0)}f")


def _strip(text: str) -> str:
    """Trailing fractional zeros off (``2.470`` -> ``2.47``, ``10.00`` -> ``10``)."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def power_of_ten(exponent: int) -> str:
    """``× 10⁻⁷`` style suffix."""
    return f"× 10{str(exponent).translate(_SUPERSCRIPT)}"


def _infinite(x: float) -> str:
    return "∞" if x > 0 else "-∞"


def value(x: float | None, digits: int = 4) -> str:
    """One number: ``digits`` significant digits, trailing zeros dropped (``2.47``), integral
    values below 1e6 in full (``26``, ``12800``), scientific outside [1e-3, 1e4)
    (``1.5 × 10⁻⁷``)."""
    if is_missing(x):
        return MISSING
    x = float(x)
    if math.isinf(x):
        return _infinite(x)
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < INTEGER_LIMIT:
        return str(int(x))
    d = _decimal(x)
    exponent = d.adjusted()
    rounded = _round(d, exponent - digits + 1)
    exponent = rounded.adjusted()  # 9.99996 -> 10.00
    if FIXED_LOW <= abs(rounded) < FIXED_HIGH_VALUE:
        return _strip(_fixed(rounded, digits - 1 - exponent))
    mantissa = _strip(_fixed(rounded.scaleb(-exponent), digits - 1))
    return f"{mantissa} {power_of_ten(exponent)}"


def fixed(x: float | None, decimals: int) -> str:
    """``x`` with exactly ``decimals`` decimals, halves away from zero (``55.00``); the papers'
    percentage tables."""
    if is_missing(x):
        return MISSING
    x = float(x)
    if math.isinf(x):
        return _infinite(x)
    return _fixed(_round(_decimal(x), -decimals), decimals)


def mean_std(mean: float | None, std: float | None) -> str:
    """``mean ± std`` rounded together to the std's first significant digit (module doc)."""
    if is_missing(mean):
        return MISSING
    mean = float(mean)
    if math.isinf(mean):
        return _infinite(mean)
    if is_missing(std):
        return value(mean)
    std = abs(float(std))
    if math.isinf(std):
        return f"{value(mean)} {PLUS_MINUS} ∞"
    if std == 0:
        mantissa, _, power = value(mean).partition(" × ")
        return (f"({mantissa} {PLUS_MINUS} 0) × {power}" if power
                else f"{mantissa} {PLUS_MINUS} 0")
    exponent = _decimal(std).adjusted()
    spread = _round(_decimal(std), exponent)
    exponent = spread.adjusted()  # 0.096 -> 0.1: one digit still
    spread = _round(spread, exponent)
    centre = _round(_decimal(mean), exponent)
    largest = max(abs(centre), spread)
    if FIXED_LOW <= largest < FIXED_HIGH_PAIR:
        decimals = -exponent
        return f"{_fixed(centre, decimals)} {PLUS_MINUS} {_fixed(spread, decimals)}"
    shared = largest.adjusted()
    decimals = shared - exponent
    return (f"({_fixed(centre.scaleb(-shared), decimals)} {PLUS_MINUS} "
            f"{_fixed(spread.scaleb(-shared), decimals)}) {power_of_ten(shared)}")
