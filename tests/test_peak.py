"""Peak tracking on synthetic series with a known peak."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carbon.analytics.peak import estimate, rolling_12_months


def series(values: list[float], start: int = 2018) -> pd.Series:
    return pd.Series(values, index=range(start, start + len(values)))


def test_a_series_that_peaked_in_2022():
    e = estimate(series([100, 104, 108, 111, 113, 110, 106, 103]))  # 2018..2025, peak 2022
    assert (e.status, e.peak_year) == ("peaked", 2022)
    assert e.slope_per_year < 0
    assert (e.projection["emissions_projected_low_tco2e"] <= e.projection["emissions_projected_tco2e"]).all() and (
        e.projection["emissions_projected_tco2e"] <= e.projection["emissions_projected_high_tco2e"]
    ).all()


def test_a_flattening_rise_is_projected_to_peak_ahead():
    years = np.arange(2018, 2026)
    values = 200 - 0.5 * (years - 2028) ** 2  # a parabola with its vertex in 2028
    e = estimate(pd.Series(values, index=years))
    assert e.status == "projected" and e.peak_year == 2028


def test_a_steady_rise_has_no_peak_in_sight():
    e = estimate(series([100 + 5 * i for i in range(6)]))
    assert (e.status, e.peak_year) == ("rising", None) and e.slope_per_year == pytest.approx(5)
    assert e.projection["emissions_projected_tco2e"].tolist()[:2] == pytest.approx([130, 135])


def test_noise_does_not_fake_a_peak():
    rng = np.random.default_rng(3)
    values = [100 + 4 * i + rng.normal(0, 1.5) for i in range(7)]
    values[3] += 6  # one noisy year above the trend
    assert estimate(series(values)).status in ("rising", "projected")
    assert estimate(series(values)).status != "peaked"


def test_a_first_year_maximum_is_not_a_peak():
    e = estimate(series([120, 116, 113, 109, 104, 100], start=2020))  # 2020 is the first year loaded
    assert (e.status, e.peak_year) == ("declining_from_first_year", None)
    assert e.slope_per_year < 0 and len(e.projection) == 5  # the trend and projection are kept


def test_a_rise_then_fall_peaks_in_the_top_year():
    e = estimate(series([100, 107, 112, 109, 104, 98], start=2020))  # rises to 2022, falls since
    assert (e.status, e.peak_year) == ("peaked", 2022)


def test_a_fall_after_one_rising_year_peaks_in_the_second_year():
    e = estimate(series([118, 120, 116, 111, 107], start=2020))  # the smallest rise still counts
    assert (e.status, e.peak_year) == ("peaked", 2021)


@pytest.mark.parametrize(
    "values",
    [
        [100, 100, 100, 100, 100],  # flat: the last fallback used to call this peaked in its first year
        [105, 100, 103, 101, 102, 100],  # noisy, highest in the first year
        [104, 104, 101, 103, 100, 102, 99],  # the first year tied for the top
    ],
)
def test_flat_or_noisy_series_never_peak_in_their_first_year(values):
    e = estimate(series(values, start=2020))
    assert e.status != "peaked" and e.peak_year is None
    assert e.status == "declining_from_first_year"


def test_the_last_fallback_peaks_only_in_a_year_that_was_risen_to():
    # 2018 is the highest, then a rise from 80 to 125 (2024) and a slow fall; the window's trend is falling and its
    # quadratic vertex lies behind, so the last fallback decides: the peak is 2024, not the first year.
    e = estimate(series([130, 80, 90, 100, 110, 120, 125, 124, 123, 122, 121]))
    assert (e.status, e.peak_year) == ("peaked", 2024)


def test_short_series_say_so():
    assert estimate(series([100, 101])).status == "insufficient_data"


def test_rolling_12_months():
    monthly = pd.Series(np.ones(24), index=pd.date_range("2023-01-01", periods=24, freq="MS"))
    r = rolling_12_months(monthly)
    assert r.isna().sum() == 11 and (r.dropna() == 12).all()
