"""The HTTP platform connector against a real HTTP server on 127.0.0.1: pages, auth, errors, bad bodies."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlmodel import Session, select

from carbon.enterprises import add_enterprise
from carbon.models import Activity, ConnectorState, Quarantine
from connectors.config import ConnectorConfig
from connectors.http_api import decode_page
from connectors.runtime import run_once
from tests.helpers import uscc

TOKEN = "s3cret-token-value"
ENT = uscc(61)


def item(hour: int, value: float = 2.0) -> dict:
    return {
        "enterprise": ENT,
        "meter": "P1",
        "carrier": "electricity",
        "kind": "interval",
        "start": f"2024-03-01T{hour:02d}:00:00+08:00",
        "end": f"2024-03-01T{hour + 1:02d}:00:00+08:00",
        "value": value,
        "unit": "kWh",
    }


class Platform(BaseHTTPRequestHandler):
    """A small energy-data platform: 3 pages of hourly readings, and scripted failures."""

    script: ClassVar[list[str]] = []  # what the next requests get: "ok", "500", "429", "slow", "garbage", "401"
    seen: ClassVar[list[dict]] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, code: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        q = parse_qs(urlsplit(self.path).query)
        Platform.seen.append({"path": self.path, "auth": self.headers.get("Authorization")})
        action = Platform.script.pop(0) if Platform.script else "ok"
        if self.headers.get("Authorization") != f"Bearer {TOKEN}" or action == "401":
            return self._send(401, b'{"error": "unauthorized"}')
        if action == "500":
            return self._send(500, b"oops")
        if action == "429":
            return self._send(429, b"slow down", {"Retry-After": "1"})
        if action == "slow":
            time.sleep(1.5)
        if action == "garbage":
            return self._send(200, b"<html>maintenance</html>")
        page = int(q.get("page", ["1"])[0])
        since = q.get("since", [None])[0]
        items = [item(h) for h in range(3 * (page - 1), 3 * page)] + ([{"meter": "P1"}] if page == 2 else [])
        if since:
            items = [i for i in items if "end" not in i or i["end"] > since]
        query = {"page": page + 1, **({"since": since} if since else {})}
        nxt = "/readings?" + urlencode(query) if page < 3 else None
        return self._send(200, json.dumps({"items": items, "next": nxt}).encode())


@pytest.fixture
def platform():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Platform.script, Platform.seen = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


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
    assert len(good) == 1 and bad[0][1].startswith("missing") and nxt == "/p2"
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
