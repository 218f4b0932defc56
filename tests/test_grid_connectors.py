"""The grid statements connector: statement files dropped in a folder, and a grid company's API polled with a
watermark on the issue time, both stored through the intake."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlmodel import Session, select

from carbon.access import Viewer
from carbon.enterprises import add_enterprise
from carbon.grid_accounts import add_account
from carbon.intake import receive_files
from carbon.models import GridStatement, Quarantine
from connectors.config import ConnectorConfig
from connectors.runtime import run_once
from tests.helpers import uscc, write_template

TOKEN = "grid-token-value"
ENT = uscc(701, "320509")


def item(start: str, end: str, kwh: float, issued: str, account: str = "3200700001") -> dict:
    return {
        "utility": "sgcc_jiangsu",
        "account": account,
        "account_name": "吴江接入甲",
        "period_start": start,
        "period_end": end,
        "energy": kwh,
        "unit": "kWh",
        "issued_at": issued,
    }


class GridApi(BaseHTTPRequestHandler):
    """A grid company's data-sharing API: statements issued at or after ``since``, two a page."""

    items: ClassVar[list[dict]] = []
    seen: ClassVar[list[str]] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        GridApi.seen.append(self.path)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        q = parse_qs(urlsplit(self.path).query)
        since, page = q.get("since", [None])[0], int(q.get("page", ["1"])[0])
        chosen = [i for i in GridApi.items if since is None or i.get("issued_at", "") >= since]
        chosen.sort(key=lambda i: str(i.get("issued_at")))
        part = chosen[2 * (page - 1) : 2 * page]
        more = len(chosen) > 2 * page
        query = {"page": page + 1, **({"since": since} if since else {})}
        nxt = "/statements?" + urlencode(query) if more else None
        body = json.dumps({"items": part, "next": nxt}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def grid_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), GridApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    GridApi.items, GridApi.seen = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def registered(engine, tmp_path):
    add_enterprise(engine, code=ENT, name="吴江接入甲", region="wujiang", industry="26")
    upload = write_template(tmp_path / "m1.csv", ["M1,电力,2023-01-01,2023-02-01,800,kWh"])
    assert receive_files(engine, [upload], ENT, actor="test")[0].stored  # the meter behind the account
    add_account(
        engine, Viewer("z", "zone"), enterprise=ENT, utility="sgcc_jiangsu", account="3200700001", meters=["M1"]
    )
    return engine


def current(engine, account: str = "3200700001") -> dict[str, float]:
    with Session(engine) as s:
        rows = s.exec(
            select(GridStatement).where(GridStatement.superseded_at.is_(None), GridStatement.account_no == account)
        ).all()
    return {str(r.period_start): r.energy_kwh for r in rows}


def test_http_statements_are_polled_with_a_watermark_and_a_restatement_is_fetched(registered, grid_api, monkeypatch):
    monkeypatch.setenv("GRID_TOKEN", TOKEN)
    cfg = ConnectorConfig(
        "sgcc-js", "grid_statements", 3600, {"base_url": grid_api, "token_env": "GRID_TOKEN", "retries": 0}
    )
    GridApi.items = [
        item("2024-01-05", "2024-02-05", 1000, "2024-02-08T09:00:00+08:00"),
        item("2024-02-05", "2024-03-05", 1100, "2024-03-08T09:00:00+08:00"),
        item("2024-03-05", "2024-04-05", 1200, "2024-04-08T09:00:00+08:00"),
        {"account": "3200700001", "energy": 5},  # unusable: quarantined, the rest stored
        item("2024-04-05", "2024-03-05", 1, "2024-04-08T09:00:00+08:00"),  # refused by the intake: quarantined
    ]
    r = run_once(registered, cfg)
    assert r.ok, r.error
    assert r.stored == 3 and r.quarantined == 2
    assert current(registered) == {"2024-01-05": 1000, "2024-02-05": 1100, "2024-03-05": 1200}
    assert r.watermark == "2024-04-08T01:00:00+00:00"
    with Session(registered) as s:
        reasons = [q.reason for q in s.exec(select(Quarantine)).all()]
    assert any("missing" in x for x in reasons) and any("period_end must come after" in x for x in reasons)
    # the utility restates February later; the next run asks from the watermark on and gets it
    GridApi.items.append(item("2024-02-05", "2024-03-05", 1150, "2024-05-02T10:00:00+08:00"))
    asked = len(GridApi.seen)
    again = run_once(registered, cfg)
    assert again.ok and (again.stored, again.duplicates) == (1, 1)  # the statement issued at the watermark: once
    assert "since=2024-04-08T01%3A00%3A00%2B00%3A00" in GridApi.seen[asked]
    assert current(registered)["2024-02-05"] == 1150
    with Session(registered) as s:
        assert len(s.exec(select(GridStatement)).all()) == 4  # the first February figure stays as history


def test_statement_files_dropped_in_a_folder_are_stored_and_archived(registered, tmp_path):
    inbox = tmp_path / "grid" / "inbox"
    inbox.mkdir(parents=True)
    good = inbox / "2024-01.csv"
    good.write_text(
        "户号,户名,上次抄表日期,本次抄表日期,结算电量(kWh)\n"
        "3200700001,吴江接入甲,2024-01-05,2024-02-05,1000\n"
        "3200799999,未登记,2024-01-05,2024-02-05,70\n",
        encoding="utf-8-sig",
    )
    junk = inbox / "notes.csv"
    junk.write_text("备注\n无\n", encoding="utf-8")
    for f in (good, junk):
        t = time.time() - 60
        os.utime(f, (t, t))
    cfg = ConnectorConfig("sgcc-js-drop", "grid_statements", 3600, {"inbox": str(inbox), "utility": "sgcc_jiangsu"})
    r = run_once(registered, cfg)
    assert r.ok, r.error
    assert r.stored == 2 and r.files == 1
    root = inbox.parent
    report = json.loads((root / "archive" / "2024-01.csv.report.json").read_text(encoding="utf-8"))
    assert report["stored"] == 2 and report["unknown_accounts"] == [
        {"utility": "sgcc_jiangsu", "account_no": "3200799999"}
    ]
    failed = json.loads((root / "failed" / "notes.csv.report.json").read_text(encoding="utf-8"))
    assert "缺少列" in failed["error"]
    assert not good.exists() and not junk.exists()
    assert current(registered) == {"2024-01-05": 1000}
    with Session(registered) as s:
        unknown = s.exec(select(GridStatement).where(GridStatement.account_no == "3200799999")).one()
    assert unknown.energy_kwh == 70 and unknown.source == "sgcc-js-drop:2024-01.csv"


def test_a_grid_connector_needs_exactly_one_transport(registered, tmp_path):
    r = run_once(
        registered,
        ConnectorConfig("both", "grid_statements", 60, {"inbox": str(tmp_path), "base_url": "http://127.0.0.1:9"}),
    )
    assert not r.ok and "exactly one of inbox or base_url" in r.error


def test_a_dropped_file_with_a_refused_row_is_stored_not_at_all_and_moved_to_failed(registered, tmp_path):
    inbox = tmp_path / "grid" / "inbox"
    inbox.mkdir(parents=True)
    half = inbox / "2024-02.csv"
    half.write_text(
        "户号,上次抄表日期,本次抄表日期,结算电量,单位\n"
        "3200700001,2024-01-05,2024-02-05,1000,kWh\n"
        '3200700001,2024-02-05,2024-03-05,"1,000,000",Wh\n'
        "3200700001,2024-03-05,2024-04-05,一千,kWh\n",
        encoding="utf-8",
    )
    t = time.time() - 60
    os.utime(half, (t, t))
    cfg = ConnectorConfig("sgcc-js-drop", "grid_statements", 3600, {"inbox": str(inbox), "utility": "sgcc_jiangsu"})
    r = run_once(registered, cfg)
    assert r.ok, r.error
    assert r.stored == 0 and current(registered) == {} and not half.exists()
    assert not (inbox.parent / "archive" / "2024-02.csv").exists()
    report = json.loads((inbox.parent / "failed" / "2024-02.csv.report.json").read_text(encoding="utf-8"))
    assert report["stored"] == 0 and report["nothing_stored"]
    (row,) = report["refused"]
    assert row["source_row"] == "4" and "结算电量“一千”不是数字" in row["reason"] and "is not a number" in row["reason"]
    (inbox.parent / "failed" / "2024-02.csv").rename(half)  # corrected and dropped again: stored whole
    half.write_text(
        half.read_text(encoding="utf-8").replace("一千", "1000"),
        encoding="utf-8",
    )
    os.utime(half, (t, t))
    r = run_once(registered, cfg)
    assert r.ok and r.stored == 3
    assert current(registered) == {"2024-01-05": 1000, "2024-02-05": 1000, "2024-03-05": 1000}
