"""A small energy-data platform on 127.0.0.1 for connector tests: pages of readings and scripted failures."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

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
    hours: ClassVar[int] = 9  # hourly items on offer, 3 a page
    bad_item: ClassVar[bool] = True  # page 2 carries one item without the required fields
    poison: ClassVar[list] = []  # items page 1 carries when asked without a watermark (tests of poison items)

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
        hours = range(3 * (page - 1), min(3 * page, Platform.hours))
        items = [item(h) for h in hours] + ([{"meter": "P1"}] if page == 2 and Platform.bad_item else [])
        if since:
            items = [i for i in items if "end" not in i or i["end"] > since]
        items += Platform.poison if page == 1 and not since else []
        query = {"page": page + 1, **({"since": since} if since else {})}
        nxt = "/readings?" + urlencode(query) if 3 * page < Platform.hours else None
        return self._send(200, json.dumps({"items": items, "next": nxt}).encode())


@pytest.fixture
def platform():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Platform.script, Platform.seen, Platform.hours, Platform.bad_item, Platform.poison = [], [], 9, True, []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
