"""Monthly coverage: the share of each month an enterprise's meters cover, hand-checked."""

from __future__ import annotations

import pandas as pd
import pytest

from carbon.analytics.completeness import monthly_coverage


def periods(rows: list[tuple[str, int, str, str]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["enterprise_uscc", "meter_id", "start_local", "end_local"])
    for col in ("start_local", "end_local"):
        df[col] = pd.to_datetime(df[col], format="ISO8601")
    return df


def test_partial_months_gaps_and_meters_count_by_time():
    cov = monthly_coverage(
        periods(
            [
                ("A", 1, "2024-01-01", "2024-03-01"),  # Jan and Feb whole
                ("A", 2, "2024-02-01", "2024-02-15 12:00"),  # half of leap February (14.5 of 29 days)
                ("B", 3, "2024-12-31 18:00", "2025-01-02"),  # six hours of 2024
            ]
        ),
        2024,
    )
    assert list(cov.columns) == list(range(1, 13))
    assert cov.loc["A", 1] == pytest.approx(0.5)  # meter 2 reports in the year but not in January
    assert cov.loc["A", 2] == pytest.approx((29 + 14.5) / (2 * 29))
    assert cov.loc["A", 3] == 0.0
    assert cov.loc["B", 12] == pytest.approx(6 / (31 * 24)) and cov.loc["B", 1] == 0.0


def test_no_readings_gives_an_empty_table_with_twelve_months():
    cov = monthly_coverage(periods([]), 2024)
    assert cov.empty and list(cov.columns) == list(range(1, 13))
