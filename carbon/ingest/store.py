"""Writing one ingested file in one transaction: archive, batch, meters, rows (bulk), corrections, rejects.

Bulk rows do not go through one ORM object per row: SQLite gets one ``executemany`` per chunk of plain
tuples, PostgreSQL a ``COPY``; the caller's transaction covers everything, so a failure leaves nothing.

Writers of one enterprise's readings are serialised (``lock_enterprise``), and a file checked against stored
readings before another upload of the enterprise was stored is checked again inside the write transaction
(``stored_batches`` tells): two uploads at once end as one after the other would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from carbon.models import Activity, Batch, FileArchive, Meter, RegisterReading, RejectedRow
from carbon.partitions import ensure_activity_partitions

CHUNK_ROWS = 50_000
ACTIVITY_COLUMNS = (
    "batch_id",
    "meter_id",
    "enterprise_uscc",
    "carrier",
    "period_start",
    "period_end",
    "quantity_canonical",
    "quantity_original",
    "unit_original",
    "source_row",
)


def _utc_text(ts: pd.Series, pg: bool) -> np.ndarray:
    """UTC timestamps as the text each database stores (SQLAlchemy's SQLite format; ISO with +00 for COPY)."""
    naive = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    codes, uniques = pd.factorize(naive)  # meters share their times: format each distinct time once
    if (codes < 0).any():
        raise ValueError("a reading without a time reached storage")  # refused rows never get here
    text = np.char.replace(np.datetime_as_string(np.asarray(uniques, dtype="datetime64[us]"), unit="us"), "T", " ")
    text = np.char.add(text, "+00") if pg else text
    return text[codes]


def _chunks(frame: pd.DataFrame, pg: bool) -> Iterator[list[tuple[Any, ...]]]:
    """Rows as tuples of ``ACTIVITY_COLUMNS``, ``CHUNK_ROWS`` at a time, in time order (the index inserts stay near
    the end); only one chunk is ever copied out of the frame."""
    order = np.argsort(frame["period_start"].to_numpy(), kind="stable")
    for lo in range(0, len(frame), CHUNK_ROWS):
        part = frame.iloc[order[lo : lo + CHUNK_ROWS]]
        cols = [
            part["batch_id"].astype(int).tolist(),
            part["meter_id"].astype(int).tolist(),
            part["enterprise_uscc"].tolist(),
            part["carrier"].tolist(),
            _utc_text(part["period_start"], pg).tolist(),
            _utc_text(part["period_end"], pg).tolist(),
            part["quantity_canonical"].astype(float).tolist(),
            part["quantity_original"].astype(float).tolist(),
            part["unit_original"].astype(str).tolist(),
            part["source_row"].astype(int).tolist(),
        ]
        yield list(zip(*cols, strict=True))


def bulk_insert_activity(conn: Connection, rows: pd.DataFrame) -> None:
    """Insert activity rows (``ACTIVITY_COLUMNS``) fast, inside the connection's transaction.  On PostgreSQL the
    months' partitions are made sure of first, in the same transaction (``carbon.partitions``)."""
    if rows.empty:
        return
    dialect = conn.dialect.name
    cols = ", ".join(ACTIVITY_COLUMNS)
    if dialect == "sqlite":
        sql = f"INSERT INTO activity ({cols}) VALUES ({', '.join('?' * len(ACTIVITY_COLUMNS))})"
        for chunk in _chunks(rows, pg=False):
            conn.exec_driver_sql(sql, chunk)
    elif dialect == "postgresql":
        ensure_activity_partitions(conn, rows["period_start"])
        raw = conn.connection.driver_connection
        sql = f"COPY activity ({cols}) FROM STDIN"
        try:
            with raw.cursor() as cur, cur.copy(sql) as copy:
                for chunk in _chunks(rows, pg=True):
                    for row in chunk:
                        copy.write_row(row)
        except conn.dialect.dbapi.IntegrityError as exc:  # the driver's own error: raised as SQLAlchemy raises it
            raise IntegrityError(sql, None, exc) from exc
    else:
        conn.execute(insert(Activity), rows[list(ACTIVITY_COLUMNS)].to_dict("records"))


def unique_violation(exc: IntegrityError) -> bool:
    """True when the database refused a row because a unique constraint already holds its key (another upload
    stored it first), not for other integrity errors (foreign keys, checks, triggers).  Pure."""
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "23505" or getattr(orig, "sqlite_errorname", None) in (
        "SQLITE_CONSTRAINT_UNIQUE",
        "SQLITE_CONSTRAINT_PRIMARYKEY",
    )


def lock_enterprise(conn: Connection, enterprise: str) -> None:
    """Hold the enterprise's write lock until the connection's transaction ends; must come first in it.

    PostgreSQL: a transaction-scoped advisory lock keyed by the enterprise (other enterprises' imports go on);
    SQLite: the database's write lock (``BEGIN IMMEDIATE``; SQLite has one writer at a time anyway).  Readers are
    never blocked: PostgreSQL's MVCC, SQLite's WAL journal (``carbon.db.make_engine``).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"ingest:{enterprise}"})
    elif conn.dialect.name == "sqlite":
        if conn.connection.dbapi_connection.in_transaction:
            raise RuntimeError("lock_enterprise must be the first statement of its transaction")
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def stored_batches(conn: Connection, enterprise: str, ours: Iterable[int] = ()) -> int:
    """How many stored batches the enterprise has, leaving out ``ours`` (batches are never deleted, so the count
    grows with every upload stored: a check made at one count is still good when the count is unchanged)."""
    stmt = select(func.count()).select_from(Batch).where(Batch.enterprise_uscc == enterprise, Batch.status == "stored")
    ours = list(ours)
    if ours:
        stmt = stmt.where(Batch.id.not_in(ours))
    return int(conn.execute(stmt).scalar_one())


def meter_ids(conn: Connection, enterprise: str, meters: pd.DataFrame) -> dict[str, int]:
    """Ids of the enterprise's meters, creating those in ``meters`` (``meter_code``, ``carrier``) not yet known."""
    known = dict(conn.execute(select(Meter.meter_code, Meter.id).where(Meter.enterprise_uscc == enterprise)).all())
    new = meters.loc[~meters["meter_code"].isin(known)].drop_duplicates("meter_code")
    if len(new):
        conn.execute(
            insert(Meter),
            [
                {"enterprise_uscc": enterprise, "meter_code": m, "carrier": c}
                for m, c in new[["meter_code", "carrier"]].itertuples(index=False)
            ],
        )
        known = dict(conn.execute(select(Meter.meter_code, Meter.id).where(Meter.enterprise_uscc == enterprise)).all())
    return known


def archive_and_batch(conn: Connection, *, data: bytes, fields: dict[str, Any]) -> int:
    """Archive the file as received and create its batch row; returns the batch id."""
    common = {
        k: fields[k] for k in ("enterprise_uscc", "file_name", "sha256", "size_bytes", "uploaded_by", "received_at")
    }
    file_id = conn.execute(insert(FileArchive).values(content=data, **common)).inserted_primary_key[0]
    return int(conn.execute(insert(Batch).values(file_id=file_id, **fields)).inserted_primary_key[0])


def supersede(
    conn: Connection, ids: list[int], batch_id: int, now: datetime, period_start: pd.Series | None = None
) -> None:
    """Mark stored rows as corrected by ``batch_id`` (they stay, with their values, as history).

    ``period_start`` (UTC-aware, one per id): the stored rows' period starts (a correction has its stored row's);
    on PostgreSQL each chunk's update is bounded by them, so it looks only in those months' partitions instead of
    probing every month's primary key."""
    pruned = period_start is not None and conn.dialect.name == "postgresql"
    order = pd.DataFrame({"id": ids, "start": period_start.reset_index(drop=True) if pruned else pd.NaT})
    if pruned:
        order = order.sort_values("start", kind="stable")  # nearby months together: each chunk spans few
    for lo in range(0, len(order), 10_000):
        chunk = order.iloc[lo : lo + 10_000]
        stmt = update(Activity).where(Activity.id.in_(chunk["id"].astype(int).tolist()))
        if pruned:
            first, last = chunk["start"].min().to_pydatetime(), chunk["start"].max().to_pydatetime()
            stmt = stmt.where(Activity.period_start >= first, Activity.period_start <= last)
        conn.execute(stmt.values(superseded_at=now, superseded_by_batch=batch_id))


def insert_rejected(conn: Connection, batch_id: int, rejected: pd.DataFrame) -> None:
    """Keep refused rows: ``source_row``, ``cells`` (dict header -> text), ``issues`` (list of dicts)."""
    if rejected.empty:
        return
    conn.execute(
        insert(RejectedRow),
        [
            {
                "batch_id": batch_id,
                "source_row": int(r.source_row),
                "cells_json": json.dumps(r.cells, ensure_ascii=False),
                "issues_json": json.dumps(r.issues, ensure_ascii=False),
            }
            for r in rejected.itertuples(index=False)
        ],
    )


def insert_registers(conn: Connection, batch_id: int, readings: pd.DataFrame, ids: dict[str, int]) -> None:
    """Keep register readings so the next upload can continue each meter's series."""
    if readings is None or readings.empty:
        return
    conn.execute(
        insert(RegisterReading),
        [
            {
                "batch_id": batch_id,
                "meter_id": ids[r.meter_code],
                "read_at": r.read_at.to_pydatetime(),
                "register_value": float(r.register),
                "multiplier": float(r.multiplier),
                "unit": r.unit,
                "replaced": bool(r.replaced),
                "source_row": int(r.source_row),
            }
            for r in readings.itertuples(index=False)
        ],
    )
