"""The recalculation outbox: work owed to the result ledger, recorded in the same transaction as the change it
follows from (stored readings, corrections, a factor release, an enterprise's new region), so that a crash between
the change and its recalculation leaves a debt the next command pays (``carbon.intake.settle``), never a stale
figure.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Connection, Engine, delete, insert, select

from carbon.accounting import LOCAL_TZ
from carbon.models import RecalcDue

COLUMNS = ["id", "enterprise_uscc", "year_from", "year_to", "reason"]


def local_years(period_start: pd.Series, period_end: pd.Series) -> tuple[int, int] | None:
    """First and last local (Asia/Shanghai) calendar year touched by UTC periods ``[start, end)``; None if empty."""
    if not len(period_start):
        return None
    first = pd.to_datetime(period_start, utc=True).min().tz_convert(LOCAL_TZ).year
    last = (pd.to_datetime(period_end, utc=True).max() - pd.Timedelta(seconds=1)).tz_convert(LOCAL_TZ).year
    return int(first), int(last)


def owe(
    conn: Connection, reason: str, enterprise: str | None = None, years: tuple[int, int] | None = None
) -> None:
    """Record a recalculation owed, inside the caller's transaction: one enterprise (None: all) over ``years``
    (first, last; None: every year)."""
    conn.execute(
        insert(RecalcDue).values(
            enterprise_uscc=enterprise,
            year_from=years[0] if years else None,
            year_to=years[1] if years else None,
            reason=reason[:500],
            created_at=datetime.now(UTC),
        )
    )


def owed(engine: Engine) -> pd.DataFrame:
    """Every recalculation owed, oldest first (``COLUMNS``)."""
    with engine.connect() as conn:
        rows = conn.execute(select(*(getattr(RecalcDue, c) for c in COLUMNS)).order_by(RecalcDue.id)).all()
    return pd.DataFrame(rows, columns=COLUMNS)


def paid(engine: Engine, ids: list[int]) -> None:
    """Remove exactly the debts whose results are stored.  Not "every id up to the highest": on PostgreSQL a debt
    with a lower id can commit after a higher one was read, and must stay to be paid."""
    with engine.begin() as conn:
        conn.execute(delete(RecalcDue).where(RecalcDue.id.in_(ids)))
