"""The HTTP platform connector against a real HTTP server on 127.0.0.1: pages, auth, errors, bad bodies."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from carbon.enterprises import add_enterprise
from carbon.models import AccountingRun, Activity, ConnectorState, Quarantine
from connectors.config import ConnectorConfig
from connectors.http_api import decode_page
from connectors.runtime import run_once
from tests.platform_server import ENT, TOKEN, Platform, item


@pytest.fixture
def config(platform, monkeypatch):
    monkeypatch.setenv("PLATFORM_TOKEN", TOKEN)
    return ConnectorConfig(
        "platform",
        "http_api",
        60,
        {
            "base_url": platform,
            "token_env": "PLATFORM_TOKEN",
            "timeout_seconds": 1,
            "retries": 3,
            "retry_base_seconds": 0.01,
        },
    )


@pytest.fixture
def ent(engine):
    add_enterprise(engine, code=ENT, name="青浦平台测试", region="qingpu", industry="26")
    return ENT


def test_decode_page_is_pure():
    good, bad, nxt = decode_page(json.dumps({"items": [item(0), {"meter": "x"}], "next": "/p2"}).encode())
    assert len(good) == 1 and "missing" in bad[0][1] and nxt == "/p2"
    with pytest.raises(ValueError):
        decode_page(b"[1, 2]")


def test_pages_are_stored_once_and_the_watermark_resumes(engine, ent, config):
    r = run_once(engine, config, sleep=lambda s: None)
    assert r.ok and r.stored == 9 and r.quarantined == 1
    with Session(engine) as s:
        st = s.get(ConnectorState, "platform")
        assert st.watermark == "2024-03-01T01:00:00+00:00" and st.healthy and st.readings_stored == 9
        assert len(s.exec(select(Activity)).all()) == 9
        (q,) = s.exec(select(Quarantine)).all()
        assert "missing" in q.reason
        runs = s.exec(select(AccountingRun)).all()  # results follow the new readings, on every basis
        assert {r.basis for r in runs} == {"location", "local", "market"} and {r.subject_id for r in runs} == {ENT}
        (run,) = [r for r in runs if r.basis == "location"]
        assert run.total_tco2e == pytest.approx(9 * 2.0 * 0.5737 / 1000)
    again = run_once(engine, config, sleep=lambda s: None)
    assert again.ok and again.stored == 0
    assert "since=2024-03-01T01%3A00%3A00%2B00%3A00" in Platform.seen[-3]["path"]


def test_500_429_and_timeouts_are_retried_with_backoff(engine, ent, config):
    Platform.script = ["500", "429", "slow"]
    waits: list[float] = []
    r = run_once(engine, config, sleep=waits.append)
    assert r.ok and r.attempts == 4 and r.stored == 9
    assert waits[1] == 1.0  # Retry-After honoured
    assert 0 < waits[0] < 0.02 and 0 < waits[2] < 0.08  # exponential backoff with jitter


def test_persistent_failure_marks_unhealthy_but_never_leaks_the_token(engine, ent, config, monkeypatch):
    monkeypatch.setenv("PLATFORM_TOKEN", "wrong")
    for _ in range(3):
        r = run_once(engine, config, sleep=lambda s: None)
        assert not r.ok and "401" in r.error and "wrong" not in r.error and TOKEN not in r.error
    with Session(engine) as s:
        st = s.get(ConnectorState, "platform")
        assert st.consecutive_failures == 3 and not st.healthy and "401" in st.last_error
    monkeypatch.setenv("PLATFORM_TOKEN", TOKEN)
    assert run_once(engine, config, sleep=lambda s: None).ok
    with Session(engine) as s:
        assert s.get(ConnectorState, "platform").healthy


def test_a_malformed_page_is_quarantined_and_the_connector_goes_on(engine, ent, config):
    Platform.script = ["garbage"]
    r = run_once(engine, config, sleep=lambda s: None)
    assert r.ok and r.stored == 0 and r.quarantined == 1
    with Session(engine) as s:
        (q,) = s.exec(select(Quarantine)).all()
        assert "maintenance" in q.payload and "not JSON" in q.reason
    assert run_once(engine, config, sleep=lambda s: None).stored == 9
