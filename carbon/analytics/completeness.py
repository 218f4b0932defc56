"""Data completeness: how much of each month an enterprise's meters cover with current readings.

Coverage of an enterprise in a month = hours covered by its meters' readings / (its meters reporting in the year
× hours in the month), between 0 and 1.  Periods are split over local calendar months in proportion to time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, String, select, type_coerce

from carbon.accounting import allocate_to_months
from carbon.ledger import read_periods, year_bounds_utc
from carbon.models import Activity, Enterprise


def monthly_coverage(periods: pd.DataFrame, year: int) -> pd.DataFrame:
    """Enterprise × month (1–12) coverage share from ``enterprise_uscc, meter_id, start_local, end_local``.  Pure."""
    months = pd.Index(range(1, 13), name="month")
    if periods.empty:
        return pd.DataFrame(columns=months, dtype=float)
    hours = (periods["end_local"] - periods["start_local"]).dt.total_seconds() / 3600
    pieces = allocate_to_months(periods.assign(quantity=hours.to_numpy()), year)
    covered = pieces.groupby(["enterprise_uscc", "month"])["quantity"].sum().unstack("month")
    covered = covered.reindex(columns=months, fill_value=0.0).fillna(0.0)
    meters = pieces.groupby("enterprise_uscc")["meter_id"].nunique().reindex(covered.index)
    starts = pd.date_range(f"{year}-01-01", periods=13, freq="MS")
    month_hours = np.diff(starts.to_numpy()).astype("timedelta64[s]").astype(float) / 3600
    return covered.div(meters, axis=0).div(month_hours, axis=1).clip(upper=1.0)


def coverage(engine: Engine, year: int, regions: list[str]) -> pd.DataFrame:
    """Monthly coverage (enterprise × month) of a year for the enterprises of some jurisdictions."""
    start, end = year_bounds_utc(year)
    stmt = (
        select(
            Activity.enterprise_uscc,
            Activity.meter_id,
            type_coerce(Activity.period_start, String).label("period_start"),
            type_coerce(Activity.period_end, String).label("period_end"),
        )
        .join(Enterprise, Enterprise.uscc == Activity.enterprise_uscc)
        .where(Activity.period_end > start, Activity.period_start < end, Activity.superseded_at.is_(None))
        .where(Enterprise.region_id.in_(regions))
    )
    with engine.connect() as conn:
        return monthly_coverage(read_periods(pd.read_sql(stmt, conn)), year)
