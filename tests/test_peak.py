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
    assert (e.projection["low"] <= e.projection["central"]).all() and (
        e.projection["central"] <= e.projection["high"]
    ).all()


def test_a_flattening_rise_is_projected_to_peak_ahead():
    years = np.arange(2018, 2026)
    values = 200 - 0.5 * (years - 2028) ** 2  # a parabola with its vertex in 2028
    e = estimate(pd.Series(values, index=years))
    assert e.status == "projected" and e.peak_year == 2028


def test_a_steady_rise_has_no_peak_in_sight():
    e = estimate(series([100 + 5 * i for i in range(6)]))
    assert (e.status, e.peak_year) == ("rising", None) and e.slope_per_year == pytest.approx(5)
    assert e.projection["central"].tolist()[:2] == pytest.approx([130, 135])


def test_noise_does_not_fake_a_peak():
    rng = np.random.default_rng(3)
    values = [100 + 4 * i + rng.normal(0, 1.5) for i in range(7)]
    values[3] += 6  # one noisy year above the trend
    assert estimate(series(values)).status in ("rising", "projected")
    assert estimate(series(values)).status != "peaked"


def test_short_series_say_so():
    assert estimate(series([100, 101])).status == "insufficient_data"


def test_rolling_12_months():
    monthly = pd.Series(np.ones(24), index=pd.date_range("2023-01-01", periods=24, freq="MS"))
    r = rolling_12_months(monthly)
    assert r.isna().sum() == 11 and (r.dropna() == 12).all()
