"""Connector state in the database: watermark, health, counts; and the quarantine of unusable payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlmodel import Session

from carbon.models import ConnectorState, Quarantine

UNHEALTHY_AFTER = 3  # consecutive failed runs


def load_state(engine: Engine, name: str, kind: str) -> ConnectorState:
    """The connector's state row (created on first use)."""
    with Session(engine) as session:
        state = session.get(ConnectorState, name)
        if state is None:
            state = ConnectorState(name=name, kind=kind)
            session.add(state)
            session.commit()
            session.refresh(state)
        session.expunge(state)
        return state


def record_success(
    engine: Engine,
    name: str,
    *,
    watermark: str | None,
    stored: int,
    duplicates: int,
    quarantined: int,
    newest: datetime | None,
    now: datetime,
) -> None:
    """A successful run: counts added, failures reset; ``newest`` (aware) the end of the newest reading it
    brought, kept when later than the one stored."""
    with Session(engine) as session:
        s = session.get(ConnectorState, name)
        if watermark is not None:
            s.watermark = watermark
        s.last_run_at = s.last_success_at = now
        s.consecutive_failures, s.healthy = 0, True
        s.runs += 1
        s.readings_stored += stored
        s.readings_duplicate += duplicates
        s.quarantined += quarantined
        if newest is not None:
            kept = s.newest_reading_at
            kept = None if kept is None else kept if kept.tzinfo else kept.replace(tzinfo=UTC)  # SQLite: naive UTC
            s.newest_reading_at = newest if kept is None else max(kept, newest)
        session.commit()


def record_failure(engine: Engine, name: str, message: str, now: datetime, unhealthy_after: int) -> None:
    """A failed run: its error kept, unhealthy after ``unhealthy_after`` failures in a row; the newest reading (and
    so the lag, measured when read) is left as it was."""
    with Session(engine) as session:
        s = session.get(ConnectorState, name)
        s.last_run_at = s.last_error_at = now
        s.last_error = message[:2000]
        s.consecutive_failures += 1
        s.runs += 1
        s.healthy = s.consecutive_failures < unhealthy_after
        session.commit()


def quarantine(engine: Engine, connector: str, items: list[tuple[str, str]], now: datetime | None = None) -> None:
    """Keep payloads that could not be used, with their reasons."""
    if not items:
        return
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Quarantine),
            [
                {
                    "connector": connector,
                    "received_at": now,
                    "payload": storable(p, 100_000),
                    "reason": storable(r, 2000),
                }
                for p, r in items
            ],
        )


def storable(text: str, limit: int) -> str:
    """Text as a database keeps it: NUL characters (PostgreSQL refuses them) written as ``\\x00`` and lone
    surrogates (no UTF-8 form) as ``\\udxxx``, cut to ``limit``."""
    kept = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return kept.replace("\x00", "\\x00")[:limit]


def lag_seconds(newest_reading_at: pd.Series, now: datetime) -> pd.Series:
    """Seconds from each newest reading (UTC; naive read as UTC) to ``now``, never negative; NaN where a connector
    has stored no reading yet (no lag to tell, not zero).  Pure."""
    newest = pd.to_datetime(newest_reading_at, utc=True, format="ISO8601")
    return (pd.Timestamp(now) - newest).dt.total_seconds().clip(lower=0.0).rename("lag_seconds")


def health(engine: Engine, now: datetime | None = None) -> pd.DataFrame:
    """One row per connector: health, last success, last error, the end of its newest reading, its lag behind
    ``now`` (default: the current time; ``lag_seconds`` keeps growing while the connector fails) and counts (for
    the CLI and dashboard)."""
    with engine.connect() as conn:
        states = pd.read_sql(select(ConnectorState).order_by(ConnectorState.name), conn)
    lag = lag_seconds(states["newest_reading_at"], now or datetime.now(UTC))
    states.insert(states.columns.get_loc("newest_reading_at") + 1, "lag_seconds", lag)
    return states
