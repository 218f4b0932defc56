"""What was received: an enterprise's meters with their current readings, its uploads (batches), and who owns a
batch.  Queries only; access rules are the caller's (``carbon.views``)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, Row, func, select

from carbon.accounting import LOCAL_TZ
from carbon.models import Activity, Batch, Meter


def meters(engine: Engine, uscc: str) -> pd.DataFrame:
    """An enterprise's meters: code, carrier, current readings and the first and last time they cover (local)."""
    stmt = (
        select(
            Meter.meter_code,
            Meter.carrier,
            func.count(Activity.id).label("readings"),
            func.min(Activity.period_start).label("first"),
            func.max(Activity.period_end).label("last"),
        )
        .join(Activity, (Activity.meter_id == Meter.id) & Activity.superseded_at.is_(None), isouter=True)
        .where(Meter.enterprise_uscc == uscc)
        .group_by(Meter.id, Meter.meter_code, Meter.carrier)
        .order_by(Meter.meter_code)
    )
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    for col in ("first", "last"):
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601").dt.tz_convert(LOCAL_TZ)
    return df


def batches(engine: Engine, codes: list[str]) -> pd.DataFrame:
    """Upload history of some enterprises, newest first: one row per file with its counts (received at, local)."""
    stmt = (
        select(
            Batch.id.label("batch_id"),
            Batch.enterprise_uscc,
            Batch.file_name,
            Batch.received_at,
            Batch.uploaded_by,
            Batch.shape,
            Batch.status,
            Batch.rows_read,
            Batch.rows_accepted,
            Batch.rows_rejected,
            Batch.rows_duplicate,
            Batch.rows_corrected,
            Batch.warnings,
        )
        .where(Batch.enterprise_uscc.in_(codes))
        .order_by(Batch.id.desc())
    )
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    df["received_at"] = pd.to_datetime(df["received_at"], utc=True, format="ISO8601").dt.tz_convert(LOCAL_TZ)
    return df


def batch_owner(engine: Engine, batch_id: int) -> Row | None:
    """The enterprise and stored report of a batch (``enterprise_uscc``, ``report_json``), None if unknown."""
    with engine.connect() as conn:
        return conn.execute(select(Batch.enterprise_uscc, Batch.report_json).where(Batch.id == batch_id)).first()
