"""Peak tracking: an annual emissions series, a robust trend with an uncertainty band, and whether and when
emissions peak.

Method (simple, robust to short series): the trend is the Theil–Sen slope (median of pairwise slopes) of the last
``WINDOW`` years; the projection runs from the last year along that slope; the band uses the 10th and 90th
percentiles of the pairwise slopes.  The peak: with at least three years, a series whose maximum lies before the
last year and whose slope since that maximum is negative has ``peaked``; otherwise a quadratic through the window
whose vertex lies ahead (within ``HORIZON`` years) gives a ``projected`` peak year; otherwise ``rising`` (no peak
in sight) or, below three years, ``insufficient_data``.  Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WINDOW = 6
HORIZON = 15
MIN_YEARS = 3


@dataclass(frozen=True)
class PeakEstimate:
    """Peak status (peaked, projected, rising, insufficient_data), the peak year if any, and the trend."""

    status: str
    peak_year: int | None
    slope_per_year: float | None
    projection: pd.DataFrame  # year, central, low, high


def pairwise_slopes(years: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Slopes between every pair of points (the Theil–Sen slope is their median)."""
    i, j = np.triu_indices(len(years), k=1)
    return (values[j] - values[i]) / (years[j] - years[i])


def rolling_12_months(monthly: pd.Series) -> pd.Series:
    """Rolling 12-month totals of a monthly series (indexed by month start); NaN until 12 months are there."""
    return monthly.sort_index().rolling(12, min_periods=12).sum()


def estimate(annual: pd.Series, to_year: int | None = None) -> PeakEstimate:
    """Peak estimate and projection for ``annual`` (tCO2e indexed by year)."""
    s = annual.dropna().sort_index()
    years, values = s.index.to_numpy(dtype=float), s.to_numpy(dtype=float)
    if len(s) < MIN_YEARS:
        return PeakEstimate("insufficient_data", None, None, pd.DataFrame(columns=["year", "central", "low", "high"]))
    w_years, w_values = years[-WINDOW:], values[-WINDOW:]
    slopes = pairwise_slopes(w_years, w_values)
    slope, low, high = float(np.median(slopes)), float(np.percentile(slopes, 10)), float(np.percentile(slopes, 90))
    last_year, last = int(years[-1]), float(values[-1])
    ahead = np.arange(last_year + 1, (to_year or last_year + 5) + 1)
    steps = ahead - last_year
    projection = pd.DataFrame(
        {"year": ahead, "central": last + slope * steps, "low": last + low * steps, "high": last + high * steps}
    )
    top = int(np.argmax(values))
    if top < len(values) - 1:
        since = pairwise_slopes(years[top:], values[top:])
        if np.median(since) < 0:
            return PeakEstimate("peaked", int(years[top]), slope, projection)
    a, b, _ = np.polyfit(w_years - last_year, w_values, 2)
    if a < 0:
        vertex = -b / (2 * a)
        if 0 < vertex <= HORIZON:
            return PeakEstimate("projected", round(last_year + vertex), slope, projection)
    return PeakEstimate("rising" if slope > 0 else "peaked", None if slope > 0 else int(years[top]), slope, projection)
