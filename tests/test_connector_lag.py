"""A connector's lag is the time since its newest stored reading, measured when it is read: it keeps growing while
the connector fails (it used to be frozen at its last success, 0.0 h two days later), through the real HTTP
connector, the demo's simulated connectors, the view and a database migrated from the old schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import text

from carbon import db, views
from carbon.access import Viewer
from carbon.enterprises import add_enterprise
from carbon_demo.seed import record_demo_connectors
from connectors.config import ConnectorConfig
from connectors.runtime import run_once
from connectors.state import health, load_state, record_failure
from dashboard import format as fmt
from tests.platform_server import ENT, TOKEN

NEWEST = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)  # end of the platform's last hourly reading (09:00 Beijing time)
DAY = 86_400


@pytest.fixture
def config(platform, monkeypatch):
    monkeypatch.setenv("PLATFORM_TOKEN", TOKEN)
    options = {"base_url": platform, "token_env": "PLATFORM_TOKEN", "timeout_seconds": 1, "retries": 0}
    return ConnectorConfig("platform", "http_api", 60, options)


def test_a_failing_connectors_lag_grows_with_the_time_since_its_newest_reading(engine, config, monkeypatch):
    add_enterprise(engine, code=ENT, name="青浦平台滞后测试", region="qingpu", industry="26")
    ok = run_once(engine, config, sleep=lambda s: None, now=lambda: NEWEST + timedelta(minutes=5))
    assert ok.ok and ok.stored == 9
    row = health(engine, now=NEWEST + timedelta(minutes=5)).iloc[0]
    assert row["lag_seconds"] == 300

    monkeypatch.setenv("PLATFORM_TOKEN", "wrong")  # the platform refuses it from now on
    for hours in (1, 24, 48):
        failed = run_once(engine, config, sleep=lambda s: None, now=lambda h=hours: NEWEST + timedelta(hours=h))
        assert not failed.ok and "401" in failed.error
    two_days = health(engine, now=NEWEST + timedelta(days=2, hours=3)).iloc[0]
    assert not two_days["healthy"] and two_days["lag_seconds"] == 2 * DAY + 3 * 3600
    assert (
        fmt.duration(two_days["lag_seconds"]) == "2天3小时" and fmt.duration(two_days["lag_seconds"], "en") == "2 d 3 h"
    )
    assert health(engine, now=NEWEST + timedelta(days=5)).iloc[0]["lag_seconds"] == 5 * DAY

    # back up, but nothing new on the platform: the newest reading, and so the lag, stay what they are
    monkeypatch.setenv("PLATFORM_TOKEN", TOKEN)
    again = run_once(engine, config, sleep=lambda s: None, now=lambda: NEWEST + timedelta(days=6))
    assert again.ok and again.stored == 0
    row = health(engine, now=NEWEST + timedelta(days=6)).iloc[0]
    assert row["healthy"] and row["lag_seconds"] == 6 * DAY

    # the view measures against the current time
    before = (datetime.now(UTC) - NEWEST).total_seconds()
    lag = views.connector_health(engine, Viewer("zone1", "zone")).iloc[0]["lag_seconds"]
    assert before <= lag <= (datetime.now(UTC) - NEWEST).total_seconds()


def test_the_demos_failing_connector_lags_two_days_not_zero(engine):
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    record_demo_connectors(engine, now=now)
    states = health(engine, now=now).set_index("name")
    assert states.loc["demo-energy-platform", "lag_seconds"] == 2 * DAY  # last success and reading two days ago
    assert states.loc["demo-mqtt-meters", "lag_seconds"] == 15 * 60
    later = health(engine, now=now + timedelta(hours=6)).set_index("name")
    assert later.loc["demo-energy-platform", "lag_seconds"] == 2 * DAY + 6 * 3600


def test_a_connector_without_readings_has_no_lag_not_zero(engine):
    load_state(engine, "never", "http_api")
    record_failure(engine, "never", "HTTP 503", datetime(2026, 1, 1, tzinfo=UTC), 3)
    row = health(engine, now=datetime(2026, 1, 2, tzinfo=UTC)).iloc[0]
    assert row["lag_seconds"] != row["lag_seconds"]  # NaN
    assert fmt.duration(row["lag_seconds"]) == "无数据"


def test_the_migration_keeps_the_newest_reading_the_old_lag_was_measured_from(db_url):
    engine = db.make_engine(db_url)
    try:
        command.upgrade(db.alembic_config(engine), "0006")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO connector_state (name, kind, last_success_at, lag_seconds, consecutive_failures, "
                    "healthy, runs, readings_stored, readings_duplicate, quarantined) "
                    "VALUES ('old', 'mqtt', :at, 600.0, 3, false, 4, 10, 0, 0)"
                ),
                {"at": datetime(2026, 11, 28, 21, 0, tzinfo=UTC)},
            )
        db.migrate(engine)
        row = health(engine, now=datetime(2026, 11, 30, 21, 0, tzinfo=UTC)).iloc[0]
        assert row["lag_seconds"] == 2 * DAY + 600
    finally:
        engine.dispose()
