"""Running one connector once: fetch with retries (exponential backoff and jitter), store, record health.

A connector only fetches and decodes; storing goes through the one door, ``carbon.intake`` (files and
readings), and the run ends by settling the results on every basis.  The watermark moves only after the readings
are stored; if a run dies in between, the next run fetches again and the storage path counts the repeats as
duplicates: no gap, nothing twice.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine

from carbon import intake
from connectors import state
from connectors.base import Fetched, TransientError
from connectors.config import ConnectorConfig


@dataclass
class RunResult:
    """What one run did."""

    name: str
    ok: bool
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    files: int = 0
    attempts: int = 0
    error: str | None = None
    watermark: str | None = None
    details: list[dict] = field(default_factory=list)
    reports: list = field(default_factory=list, repr=False)


def build(config: ConnectorConfig):
    """The connector object for a configuration."""
    if config.kind == "file_drop":
        from connectors.file_drop import FileDrop

        return FileDrop(config)
    if config.kind == "http_api":
        from connectors.http_api import HttpApi

        return HttpApi(config)
    if config.kind == "grid_statements":
        from connectors.grid import build_grid

        return build_grid(config)
    if config.kind == "mqtt":
        from connectors.mqtt import MqttMeters

        return MqttMeters(config)
    from connectors.modbus_tcp import ModbusMeters

    return ModbusMeters(config)


def backoff(attempt: int, base: float, cap: float = 300.0) -> float:
    """Seconds before retry ``attempt`` (0-based): base x 2^attempt, capped, with full jitter on top half."""
    delay = min(cap, base * 2**attempt)
    return delay / 2 + random.uniform(0, delay / 2)


def run_once(
    engine: Engine,
    config: ConnectorConfig,
    *,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunResult:
    """Fetch, store and record health for one connector; never raises for a source failure."""
    st = state.load_state(engine, config.name, config.kind)
    attempts = int(config.options.get("retries", 3)) + 1
    base = float(config.options.get("retry_base_seconds", 1.0))
    unhealthy_after = int(config.options.get("unhealthy_after", state.UNHEALTHY_AFTER))
    result = RunResult(config.name, ok=False)
    connector = None
    try:
        connector = build(config)
        newest = None
        watermark = st.watermark
        intake.settle(engine)  # whatever an earlier run left owed
        while True:
            fetched = _fetch_with_retries(connector, watermark, attempts, base, sleep, result)
            if fetched.files:
                _store_files(engine, connector, config, fetched.files, result)
            if len(fetched.records):
                reports, refused = intake.receive_records(
                    engine, fetched.records, config.name, now=now(), settle_now=False
                )
                result.stored += sum(r.readings for r in reports if r.stored)
                result.duplicates += sum(r.rows_duplicate for r in reports)
                fetched.quarantined += [
                    (r.drop(labels="reason").to_json(date_format="iso"), r["reason"]) for _, r in refused.iterrows()
                ]
                ends = pd.to_datetime(fetched.records["end"], utc=True, errors="coerce").max()
                newest = ends if newest is None or (pd.notna(ends) and ends > newest) else newest
            for source, statements, path in fetched.statements:
                issued = _store_statements(engine, connector, source, statements, path, fetched, result, now())
                newest = issued if newest is None or (pd.notna(issued) and issued > newest) else newest
            state.quarantine(engine, config.name, fetched.quarantined, now())
            result.quarantined += len(fetched.quarantined)
            connector.acknowledge(fetched.acknowledge)
            watermark = fetched.watermark or watermark
            if not fetched.more:
                break
        intake.settle(engine)  # results follow the new data on every basis
        state.record_success(
            engine,
            config.name,
            watermark=watermark,
            stored=result.stored,
            duplicates=result.duplicates,
            quarantined=result.quarantined,
            newest=None if newest is None or pd.isna(newest) else newest.to_pydatetime(),
            now=now(),
        )
        result.ok, result.watermark = True, watermark
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
        state.record_failure(engine, config.name, result.error, now(), unhealthy_after)
    finally:
        if connector is not None:
            connector.close()
    return result


def _fetch_with_retries(
    connector,
    watermark: str | None,
    attempts: int,
    base: float,
    sleep: Callable[[float], None],
    result: RunResult,
) -> Fetched:
    for attempt in range(attempts):
        result.attempts += 1
        try:
            return connector.fetch(watermark)
        except TransientError as exc:
            if attempt == attempts - 1:
                raise
            sleep(exc.retry_after if exc.retry_after is not None else backoff(attempt, base))
    raise AssertionError("unreachable")


def _store_files(engine: Engine, connector, config: ConnectorConfig, files: list, result: RunResult) -> None:
    for path, enterprise in files:
        try:
            (report,) = intake.receive_files(
                engine,
                [path],
                enterprise,
                actor=f"connector:{config.name}",
                accept_valid=bool(config.options.get("accept_valid", True)),
                settle_now=False,
            )
            ok = report.stored or report.duplicate_file
            details = report.as_dict()
        except Exception as exc:
            ok, details = False, {"file": str(path), "error": getattr(exc, "message", str(exc))}
            report = None
        connector.finish(path, ok, details)
        result.files += 1
        result.details.append(details)
        if report is not None:
            result.reports.append(report)
            result.stored += report.readings
            result.duplicates += report.rows_duplicate


def _store_statements(
    engine: Engine, connector, source: str, statements: pd.DataFrame, path, fetched: Fetched, result: RunResult, at
) -> pd.Timestamp:
    """Grid statements through the intake; a file is stored whole or not at all and moved to archive/ (or failed/,
    with every refused row, when any row is refused) with its report; of an HTTP source the good statements are
    stored and the refused ones quarantined with their reasons.  Returns the newest issue time stored (NaT without)."""
    report = intake.receive_grid_statements(engine, statements, source, now=at, all_or_nothing=path is not None)
    details = report.as_dict()
    result.stored += report.stored
    result.duplicates += report.duplicates
    result.details.append(details)
    if path is not None:  # a file is stored whole or not at all: one refused row and it goes to failed/
        connector.finish(path, not details["refused"], details)
        result.files += 1
    else:
        fetched.quarantined += [
            (json.dumps({k: v for k, v in r.items() if k != "reason"}, ensure_ascii=False, default=str), r["reason"])
            for r in details["refused"]
        ]
    return pd.to_datetime(statements["issued_at"], utc=True, errors="coerce", format="ISO8601").max()
