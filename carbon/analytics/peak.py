"""Peak tracking: an annual emissions series, a robust trend with an uncertainty band, and whether and when
emissions peak.

Method (simple, robust to short series): the trend is the Theil–Sen slope (median of pairwise slopes) of the last
``WINDOW`` years; the projection runs from the last year along that slope; the band uses the 10th and 90th
percentiles of the pairwise slopes.  The peak, with at least three years (below that, ``insufficient_data``):

1. a series whose maximum lies before the last year and whose slope since that maximum is negative has ``peaked``
   in the year of the maximum;
2. otherwise a quadratic through the window whose vertex lies ahead (within ``HORIZON`` years) gives a
   ``projected`` peak year;
3. otherwise a rising trend is ``rising`` (no peak in sight), and a falling or flat one has ``peaked`` in its
   highest year that was risen to (see below).

A peak is never declared in the first year of the series: a peak year must have an earlier year in the series that
is lower (emissions rose to it).  Nobody can tell from the data whether emissions were higher before the first
year loaded.  So a series whose maximum is its first year and which falls since (rule 1), or a falling or flat
series with no year that was risen to (rule 3), is ``declining_from_first_year``, with no peak year; its trend and
projection are kept.  Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WINDOW = 6
HORIZON = 15
MIN_YEARS = 3
PROJECTION_COLUMNS = [
    "year", "emissions_projected_tco2e", "emissions_projected_low_tco2e", "emissions_projected_high_tco2e"
]  # fmt: skip


@dataclass(frozen=True)
class PeakEstimate:
    """Peak status (peaked, projected, rising, declining_from_first_year, insufficient_data), the peak year if any,
    and the trend."""

    status: str
    peak_year: int | None
    slope_per_year: float | None
    projection: pd.DataFrame  # PROJECTION_COLUMNS: year, central, low (10 %) and high (90 %) projection


def pairwise_slopes(years: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Slopes between every pair of points (the Theil–Sen slope is their median)."""
    i, j = np.triu_indices(len(years), k=1)
    return (values[j] - values[i]) / (years[j] - years[i])


def rose_to(values: np.ndarray) -> np.ndarray:
    """Per year, whether an earlier year in the series is lower (only such a year can be a peak)."""
    earlier_min = np.minimum.accumulate(values)
    return np.concatenate([[False], values[1:] > earlier_min[:-1]])


def rolling_12_months(monthly: pd.Series) -> pd.Series:
    """Rolling 12-month totals of a monthly series (indexed by month start); NaN until 12 months are there."""
    return monthly.sort_index().rolling(12, min_periods=12).sum()


def estimate(annual: pd.Series, to_year: int | None = None) -> PeakEstimate:
    """Peak estimate and projection for ``annual`` (tCO2e indexed by year)."""
    s = annual.dropna().sort_index()
    years, values = s.index.to_numpy(dtype=float), s.to_numpy(dtype=float)
    if len(s) < MIN_YEARS:
        return PeakEstimate("insufficient_data", None, None, pd.DataFrame(columns=PROJECTION_COLUMNS))
    w_years, w_values = years[-WINDOW:], values[-WINDOW:]
    slopes = pairwise_slopes(w_years, w_values)
    slope, low, high = float(np.median(slopes)), float(np.percentile(slopes, 10)), float(np.percentile(slopes, 90))
    last_year, last = int(years[-1]), float(values[-1])
    ahead = np.arange(last_year + 1, (to_year or last_year + 5) + 1)
    steps = ahead - last_year
    projection = pd.DataFrame(
        {
            "year": ahead,
            "emissions_projected_tco2e": last + slope * steps,
            "emissions_projected_low_tco2e": last + low * steps,
            "emissions_projected_high_tco2e": last + high * steps,
        }
    )
    top = int(np.argmax(values))
    if top < len(values) - 1:
        since = pairwise_slopes(years[top:], values[top:])
        if np.median(since) < 0:
            if top == 0:  # highest in the first year: whether it was higher before is not in the data
                return PeakEstimate("declining_from_first_year", None, slope, projection)
            return PeakEstimate("peaked", int(years[top]), slope, projection)
    a, b, _ = np.polyfit(w_years - last_year, w_values, 2)
    if a < 0:
        vertex = -b / (2 * a)
        if 0 < vertex <= HORIZON:
            return PeakEstimate("projected", round(last_year + vertex), slope, projection)
    if slope > 0:
        return PeakEstimate("rising", None, slope, projection)
    risen = rose_to(values)
    if not risen.any():
        return PeakEstimate("declining_from_first_year", None, slope, projection)
    return PeakEstimate("peaked", int(years[np.flatnonzero(risen)[np.argmax(values[risen])]]), slope, projection)
