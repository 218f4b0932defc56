"""Values at the precision a method publishes, for comparison with its thresholds.

A ratio of sums that is exactly 0.8 in decimal may be 0.8000000000000002 in binary floating point, and a value
that is 0.605 in decimal may be 0.6049999999999999.  Compared as they are, such values fall on the wrong side of a
published threshold or of a rounding tie.  ``at_precision`` first strips that binary noise (it rounds to
``SIGNIFICANT_DIGITS`` significant digits), then rounds half-up (ties away from zero, as ``decimal.ROUND_HALF_UP``
and 四舍五入) to the published number of decimal places.  The result is the float nearest to that decimal, the same
float as a threshold's literal, so ``<=`` and ``>=`` against the threshold then mean what the rule says.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SIGNIFICANT_DIGITS = 12
"""Digits kept before rounding: a float carries about 16, so 12 leaves room for the error of long sums and ratios
(a decimal difference in the 13th significant digit is taken for noise)."""


def _significant(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to ``SIGNIFICANT_DIGITS`` significant digits (zero, NaN and infinities unchanged)."""
    finite = np.isfinite(x) & (x != 0)
    safe = np.where(finite, x, 1.0)
    exponent = np.minimum(SIGNIFICANT_DIGITS - 1 - np.floor(np.log10(np.abs(safe))), 300)
    unit = 10.0 ** np.abs(exponent)  # a power of ten (exact up to 1e22): multiply or divide, never by an inverse
    with np.errstate(over="ignore", invalid="ignore"):  # np.where computes both branches
        rounded = np.where(exponent >= 0, np.round(safe * unit) / unit, np.round(safe / unit) * unit)
    return np.where(finite, rounded, x)


def at_precision(values, decimals: int):
    """``values`` as stated at ``decimals`` decimal places, rounded half-up in decimal terms (``decimals`` may be
    negative: -3 states thousands).  Digits past the ``SIGNIFICANT_DIGITS``-th significant one are dropped first:
    meant for values stated with fewer significant digits than that.  Vectorised: a Series keeps its index and
    name, an array gives an array, a scalar gives a float; NaN stays NaN.  Pure."""
    x = values.to_numpy(dtype=float, na_value=np.nan) if isinstance(values, pd.Series) else np.asarray(values, float)
    d = int(decimals)
    unit = 10.0 ** abs(d)
    with np.errstate(invalid="ignore"):
        scaled = _significant(_significant(x) * unit if d >= 0 else _significant(x) / unit)  # 0.605 * 100 is 60.4999…
        units = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
        out = units / unit if d >= 0 else units * unit
    if isinstance(values, pd.Series):
        return pd.Series(out, index=values.index, name=values.name)
    return float(out) if np.ndim(out) == 0 else out
