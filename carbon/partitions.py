"""Monthly partitions of the ``activity`` table on PostgreSQL (declarative RANGE partitioning on ``period_start``).

A partition holds one local (Asia/Shanghai) calendar month of readings by their start, named
``activity_yYYYYmMM``: the months the accounting splits into, so a query for a local month or year reads exactly
its own partitions (UTC months would add a neighbour's eight hours).  There is no DEFAULT partition: every writer
makes sure the months it writes exist first (``ensure_activity_partitions``), a row of a month without its partition
is refused by the database rather than put aside, and a month's partition can always be created later (a DEFAULT
partition holding rows of that month would refuse it).  SQLite has one plain table: everything here does nothing
there.

A partition is created as a plain table and then attached: ``ATTACH PARTITION`` takes a SHARE UPDATE EXCLUSIVE
lock on ``activity``, which neither its readers nor its writers wait for (``CREATE TABLE ... PARTITION OF`` would
take an ACCESS EXCLUSIVE one, blocking every reader until the creating transaction ends).  Its foreign keys, cloned
from ``activity``'s, take SHARE ROW EXCLUSIVE locks on ``batch``, ``meter`` and ``enterprise``: creation waits for
uploads in flight and holds their next ones until it commits.  So the intake creates a month's partitions in a short
transaction of its own before its write transaction begins (``prepare_activity_partitions``), and the write finds
them there; an upload that then fails leaves at most an empty month.  Creators are serialised by a
transaction-level advisory lock and look again under it, so two uploads reaching a new month at once both succeed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from carbon.accounting import LOCAL_TZ

TABLE = "activity"
LOCK_KEY = "carbon:activity partitions"
PARTITION_NAME = re.compile(rf"{TABLE}_y\d{{4}}m\d{{2}}")


@dataclass(frozen=True)
class MonthPartition:
    """One month's partition: its table name and bounds ``[lower, upper)`` as ISO timestamps with the offset."""

    name: str
    lower: str
    upper: str


def month_partition(month: np.datetime64) -> MonthPartition:
    """The partition of a local calendar month (``datetime64[M]``).  Pure."""
    first = pd.Timestamp(np.datetime64(month, "M")).tz_localize(LOCAL_TZ)
    following = pd.Timestamp(np.datetime64(month, "M") + 1).tz_localize(LOCAL_TZ)
    return MonthPartition(f"{TABLE}_y{first.year:04d}m{first.month:02d}", first.isoformat(), following.isoformat())


def not_a_partition(name: str | None, type_: str, _parents: object = None) -> bool:
    """Alembic's ``include_name`` hook: leave the months' partitions out of schema comparisons (they belong to
    ``activity``, made by writers, never declared by the models).  Pure."""
    return not (type_ == "table" and name is not None and PARTITION_NAME.fullmatch(name))


def months_of(period_start: pd.Series) -> np.ndarray:
    """The distinct local calendar months (``datetime64[M]``, ascending) of UTC-aware ``period_start``.  Pure."""
    if not len(period_start):
        return np.array([], dtype="datetime64[M]")
    local = pd.to_datetime(period_start, utc=True).dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    return np.unique(local.to_numpy(dtype="datetime64[s]").astype("datetime64[M]"))


def is_partitioned(conn: Connection) -> bool:
    """True when ``activity`` is a partitioned table (PostgreSQL at migration 0012 or later)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": TABLE}).scalar()
    return kind == "p"


def existing_partitions(conn: Connection) -> set[str]:
    """Names of the partitions attached to ``activity``."""
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": TABLE},
    )
    return {r[0] for r in rows}


def create_partitions(conn: Connection, months: np.ndarray) -> list[str]:
    """Create and attach the partitions of ``months`` (``datetime64[M]``) not yet there, in the connection's
    transaction, holding the partitions' advisory lock until it ends; returns the names created."""
    wanted = [month_partition(m) for m in months]
    if not wanted:
        return []
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key || to_regclass(:t)::oid, 0))"),
        {"key": LOCK_KEY, "t": TABLE},
    )
    have = existing_partitions(conn)  # again, under the lock: another writer may just have created some
    schema = conn.execute(
        text(
            "SELECT quote_ident(n.nspname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = to_regclass(:t)"
        ),
        {"t": TABLE},
    ).scalar_one()
    made = []
    for p in wanted:
        if p.name in have:
            continue
        conn.exec_driver_sql(f"CREATE TABLE {schema}.{p.name} (LIKE {schema}.{TABLE})")
        conn.exec_driver_sql(
            f"ALTER TABLE {schema}.{TABLE} ATTACH PARTITION {schema}.{p.name} "
            f"FOR VALUES FROM ('{p.lower}') TO ('{p.upper}')"
        )
        made.append(p.name)
    return made


def ensure_activity_partitions(conn: Connection, period_start: pd.Series) -> list[str]:
    """Make sure the months of ``period_start`` (UTC-aware) have their partitions, inside the connection's
    transaction; returns the names created (none on SQLite or an unpartitioned table).  Looks first without any
    lock: when every month is there, as for all but a month's first upload, it costs one catalogue query."""
    if not is_partitioned(conn):
        return []
    months = months_of(period_start)
    have = existing_partitions(conn)
    missing = np.array([m for m in months if month_partition(m).name not in have], dtype="datetime64[M]")
    return create_partitions(conn, missing) if len(missing) else []


def prepare_activity_partitions(engine: Engine, period_start: pd.Series) -> list[str]:
    """``ensure_activity_partitions`` in a short transaction of its own, committed before a write transaction
    begins: the write then finds its months there and takes no lock for them.  An upload that fails afterwards
    leaves at most an empty month's partition.  Returns the names created."""
    if engine.dialect.name != "postgresql" or not len(period_start):
        return []
    with engine.begin() as conn:
        return ensure_activity_partitions(conn, period_start)
