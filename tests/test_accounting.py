"""Pure accounting functions: period splitting and activity x factor (property tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon.accounting import allocate_to_months, apply_factors, combustion_co2_factor, month_shares


def test_month_shares_proportional_to_time():
    start = np.array(["2023-12-16", "2024-02-01"], dtype="datetime64[s]")
    end = np.array(["2024-01-16", "2024-03-01"], dtype="datetime64[s]")
    row, month, share = month_shares(start, end)
    assert row.tolist() == [0, 0, 1]
    assert month.astype(str).tolist() == ["2023-12", "2024-01", "2024-02"]
    np.testing.assert_allclose(share, [16 / 31, 15 / 31, 1.0])


def _frame(starts, hours, qty):
    start = np.datetime64("2023-01-01T00:00:00") + np.asarray(starts, dtype="int64").astype("timedelta64[h]")
    end = start + np.asarray(hours, dtype="int64").astype("timedelta64[h]")
    return pd.DataFrame(
        {
            "start_local": start,
            "end_local": end,
            "quantity": np.asarray(qty, dtype=float),
            "province": "CN-SH",
            "carrier": "electricity",
        }
    )


rows = st.lists(
    st.tuples(st.integers(0, 24 * 365 * 2), st.integers(1, 24 * 120), st.floats(0, 1e7)), min_size=1, max_size=40
)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_monthly_pieces_add_up_to_each_row(data):
    df = _frame(*zip(*data, strict=True))
    pieces = allocate_to_months(df)
    assert pieces["quantity"].sum() == pytest.approx(df["quantity"].sum(), rel=1e-9, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_monthly_sums_equal_the_annual_total(data):
    df = _frame(*zip(*data, strict=True))
    all_pieces = allocate_to_months(df)
    for year in (2023, 2024, 2025):
        annual = allocate_to_months(df, year)["quantity"].sum()
        monthly = all_pieces.loc[all_pieces["year"] == year].groupby("month")["quantity"].sum().sum()
        assert annual == pytest.approx(monthly, rel=1e-9, abs=1e-6)


CHOICES = pd.DataFrame(
    {
        "province": ["CN-SH"],
        "carrier": ["electricity"],
        "tco2e_per_unit": [0.0005737],
        "tce_per_unit": [0.0001229],
        "reason": ["test"],
        "factor_ids": ["f1"],
        "flags": [()],
    }
)


@settings(max_examples=60, deadline=None)
@given(rows, st.floats(0.001, 1000))
def test_emissions_scale_linearly_with_activity(data, k):
    df = _frame(*zip(*data, strict=True))
    base = apply_factors(allocate_to_months(df), CHOICES)["emissions_tco2e"].sum()
    scaled_df = df.assign(quantity=df["quantity"] * k)
    scaled = apply_factors(allocate_to_months(scaled_df), CHOICES)["emissions_tco2e"].sum()
    assert scaled == pytest.approx(base * k, rel=1e-9, abs=1e-9)


def test_missing_factor_choice_is_an_error_not_a_zero():
    df = _frame([0], [24], [5.0]).assign(carrier="diesel")
    with pytest.raises(KeyError, match="diesel"):
        apply_factors(allocate_to_months(df), CHOICES)


def test_combustion_factor_formula():
    # GB/T 32150 natural gas: 389.31 GJ/10^4 Nm3, 15.3 tC/TJ, 99 %
    assert combustion_co2_factor(389.31, 0.0153, 0.99) == pytest.approx(21.6219, rel=1e-5)
