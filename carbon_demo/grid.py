"""Simulated grid accounts (户号) and the utility's monthly statements of the demo zone (模拟数据).

``GRID_AT`` enterprises (the first four of each jurisdiction: a dozen) register their main electricity meter
``E-01`` (and the sub-feeder ``E-02`` where they have one: the utility's meter sees both) behind one account of
their province's grid company.  The utility bills from a reading day (15th or 16th, per account) to the next, not
calendar months; its figure is the enterprise's true consumption prorated to the billing period (the demo's own
generated monthly electricity, the March correction included), with a metering difference within
``NOISE`` and rounded to whole kWh, so it agrees with the uploads within the tolerance wherever they cover the
period.  Planted, all in ``LAST_YEAR``:

- ``ABOVE``: the utility's figure ``ABOVE_FACTOR`` above the enterprise's for two billing periods of two
  enterprises (discrepancies);
- ``MISSING_STATEMENT``: one account's statement of one month missing (that period is not compared).

The enterprises' own planted problems (missing months, refused rows of Q4, no 2025 data) leave their billing
periods without a full upload (``no_data`` or ``partial``): not compared, never agreement.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from carbon import reference
from carbon.access import Viewer
from carbon.analytics.grid_reconciliation import period_overlaps
from carbon.grid_accounts import UTILITY_OF_PROVINCE, accounts, add_account
from carbon.grid_statements import STATEMENT_COLUMNS
from carbon.intake import receive_grid_statements

GRID_AT = [(j, k) for j in range(3) for k in range(4)]
GRID_YEAR = 2025
NOISE = 0.006  # the utility's figure within ±0.6 % of the enterprise's (the tolerance is 2 %)
ABOVE_FACTOR = 1.08
# (jurisdiction index, enterprise index) -> months (of the billing period's end) where the utility is 8 % above
ABOVE = {(0, 1): (5, 6), (2, 0): (8, 9)}
MISSING_STATEMENT = ((1, 1), 4)  # the statement of the billing period ending in April is missing
SOURCE = "demo-grid-statements（模拟 / simulated）"
STAFF = Viewer("zone-demo", "zone")


def account_no(j: int, k: int) -> str:
    """The demo account number of an enterprise: ten digits, by province (simulated)."""
    return f"{31 + j}{70_000_000 + 1000 * j + k:08d}"


def reading_day(j: int, k: int) -> int:
    """The account's meter-reading day (抄表例日): the 15th or the 16th."""
    return 15 + (j + k) % 2


def billing_periods(day: int, year: int = GRID_YEAR) -> pd.DataFrame:
    """The billing periods whose last day is in ``year``: ``period_start``, ``period_end`` (dates, reading day to
    reading day).  Pure."""
    ends = [date(year, m, day) for m in range(1, 13)]
    starts = [date(year - 1, 12, day), *ends[:-1]]
    return pd.DataFrame({"period_start": starts, "period_end": ends})


def prorated(monthly: pd.DataFrame, periods: pd.DataFrame) -> np.ndarray:
    """Monthly kWh (``start``, ``end`` local timestamps, ``kwh``) prorated by time to billing periods (dates, local
    midnight to midnight).  Pure."""
    ri, pi, sec = period_overlaps(
        monthly["start"].to_numpy(dtype="datetime64[s]"),
        monthly["end"].to_numpy(dtype="datetime64[s]"),
        pd.to_datetime(periods["period_start"]).to_numpy(dtype="datetime64[s]"),
        pd.to_datetime(periods["period_end"]).to_numpy(dtype="datetime64[s]"),
    )
    duration = (monthly["end"] - monthly["start"]).dt.total_seconds().to_numpy()
    out = np.zeros(len(periods))
    np.add.at(out, pi, monthly["kwh"].to_numpy()[ri] * sec / duration[ri])
    return out


def statements(j: int, k: int, name: str, monthly: pd.DataFrame) -> pd.DataFrame:
    """The utility's statements (``STATEMENT_COLUMNS``) of one demo account for ``GRID_AT`` enterprise ``(j, k)``
    from its true monthly electricity (``prorated``), with the planted problems.  Deterministic."""
    day = reading_day(j, k)
    periods = billing_periods(day)
    rng = np.random.default_rng(9_000_000 + 1000 * j + k)
    kwh = prorated(monthly, periods) * (1 + rng.uniform(-NOISE, NOISE, len(periods)))
    months = np.array([d.month for d in periods["period_end"]])
    kwh = np.where(np.isin(months, ABOVE.get((j, k), ())), kwh * ABOVE_FACTOR, kwh)
    province = reference.regions().loc[reference.JURISDICTIONS[j], "province"]
    out = periods.assign(
        utility=UTILITY_OF_PROVINCE[province],
        account=account_no(j, k),
        account_name=name,
        energy=np.round(kwh),
        unit="kWh",
        issued_at=[f"{e + timedelta(days=3):%Y-%m-%d} 09:00:00" for e in periods["period_end"]],
    )
    if MISSING_STATEMENT[0] == (j, k):
        out = out.loc[months != MISSING_STATEMENT[1]]
    out["period_start"] = out["period_start"].astype(str)
    out["period_end"] = out["period_end"].astype(str)
    return out[STATEMENT_COLUMNS].reset_index(drop=True)


def seed_grid(engine: Engine, enterprises: list[tuple[int, int, str, str, list[str], pd.DataFrame]]) -> dict:
    """Register the accounts not yet registered (by zone staff ``zone-demo``) and deliver every statement (a second
    delivery finds them duplicates).  ``enterprises``: (j, k, USCC, name, meter codes, true monthly kWh) of the
    ``GRID_AT`` enterprises.  Returns the delivery's report (``as_dict``)."""
    have = set(accounts(engine)["account_no"])
    frames = []
    for j, k, code, name, meters, monthly in enterprises:
        if account_no(j, k) not in have:
            add_account(engine, STAFF, enterprise=code, utility=None, account=account_no(j, k), meters=meters)
        frames.append(statements(j, k, name, monthly))
    report = receive_grid_statements(engine, pd.concat(frames, ignore_index=True), SOURCE)
    if len(report.refused):
        raise RuntimeError(f"demo statements refused: {report.refused.head(3).to_dict('records')}")
    return report.as_dict()
