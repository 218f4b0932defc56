"""The recalculation outbox: work owed to the result ledger, recorded in the same transaction as the change it
follows from (stored readings, corrections, a factor release, an enterprise's new region), so that a crash between
the change and its recalculation leaves a debt the next command pays (``carbon.intake.settle``), never a stale
figure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import Connection, Engine, delete, insert, or_, select, update

from carbon.accounting import LOCAL_TZ
from carbon.models import Factor, LedgerClock, RecalcDue

COLUMNS = ["id", "enterprise_uscc", "year_from", "year_to", "reason"]


def local_years(period_start: pd.Series, period_end: pd.Series) -> tuple[int, int] | None:
    """First and last local (Asia/Shanghai) calendar year touched by UTC periods ``[start, end)``; None if empty."""
    if not len(period_start):
        return None
    first = pd.to_datetime(period_start, utc=True).min().tz_convert(LOCAL_TZ).year
    last = (pd.to_datetime(period_end, utc=True).max() - pd.Timedelta(seconds=1)).tz_convert(LOCAL_TZ).year
    return int(first), int(last)


def owe(conn: Connection, reason: str, enterprise: str | None = None, years: tuple[int, int] | None = None) -> None:
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


def rule_dates_passed(priced_on: date | None, today: date, valid_from: list[date], valid_to: list[date]) -> list[date]:
    """The days in ``(priced_on, today]`` on which the set of rules in force changed: a record starts to apply on
    its ``valid_from`` and stops the day after its ``valid_to``.  ``priced_on`` None (never recorded): every such day
    up to today.  Pure."""
    starts = set(valid_from)
    ends = {(pd.Timestamp(d) + pd.Timedelta(days=1)).date() for d in valid_to}
    return sorted(d for d in starts | ends if (priced_on is None or d > priced_on) and d <= today)


def owe_for_dates(engine: Engine, today: date) -> list[date]:
    """If the rules in force changed since the ledger last read them (``ledger_clock``), owe a full recalculation;
    record ``today`` as read either way.  One process wins the update when several start on a new day; the others
    owe nothing more.  Returns the days that made the debt."""
    with engine.begin() as conn:
        priced_on = conn.execute(select(LedgerClock.priced_on).where(LedgerClock.id == 1)).scalar_one_or_none()
        if priced_on is not None and priced_on >= today:
            return []
        won = conn.execute(
            update(LedgerClock)
            .where(LedgerClock.id == 1, LedgerClock.priced_on.is_not_distinct_from(priced_on))
            .values(priced_on=today)
        ).rowcount
        if not won:
            return []
        dated = conn.execute(
            select(Factor.valid_from, Factor.valid_to).where(
                or_(Factor.valid_from.is_not(None), Factor.valid_to.is_not(None))
            )
        ).all()
        days = rule_dates_passed(
            priced_on, today, [f for f, _ in dated if f is not None], [t for _, t in dated if t is not None]
        )
        if days:
            owe(conn, f"rules in force changed on {days[-1].isoformat()} (factor valid_from/valid_to reached)")
        return days
