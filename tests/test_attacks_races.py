"""Attacks and races from the hardening list, each kept as a test.

Races are raced for real: two processes or threads wait at a barrier and then send the same file at once, several
rounds, on SQLite (a file database) and PostgreSQL.  Whatever the interleaving, the file is stored once and the
other sender is told "duplicate file", exactly as a sequential second upload is.

The platform connector's token is attacked with two real HTTP servers on 127.0.0.1 (two origins: same host,
different ports): a next link and a redirect to the other one are refused, and the other one never hears from us.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from carbon import db, intake, outbox
from carbon.enterprises import add_enterprise
from carbon.models import Activity, AuditEvent, Batch, ConnectorState, FileArchive
from connectors.base import PermanentError
from connectors.config import ConnectorConfig
from connectors.http_api import check_origin, origin
from connectors.runtime import run_once
from tests.helpers import HEADER_ZH, uscc, write_template
from tests.platform_server import ENT as PLATFORM_ENT
from tests.platform_server import TOKEN, item

ROUNDS = 5
ENT = uscc(91, "310118")
ROOT = Path(__file__).resolve().parents[1]

# A process that has done its imports, says it is ready and waits for the word go: both senders really start
# together, not a process start-up apart.
LAUNCHER = """
import sys, time, pathlib
from carbon import cli, intake  # noqa: F401  (the imports done before the barrier)
ready, go = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.001)
cli.main(sys.argv[3:])
"""


def template_lines(tag: str, meters: int = 10, months: int = 24) -> list[str]:
    """A few hundred monthly readings, unique to ``tag`` (one file per round)."""
    lines = []
    for m in range(meters):
        for k in range(months):
            y, mo = 2023 + k // 12, k % 12 + 1
            end = f"{y + (mo == 12)}-{mo % 12 + 1:02d}-01"
            lines.append(f"{tag}-M{m},电力,{y}-{mo:02d}-01,{end},{100 + m + k},kWh")
    return lines


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together by a barrier; their results (or exceptions) in order."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = calls[i]()
        except Exception as exc:  # kept to assert on: a lost race must not raise
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return out


def stored_once(engine: Engine, sha256: str, readings: int) -> None:
    """The file is archived once, has one stored batch, its readings are stored once and nothing is owed."""
    with Session(engine) as s:
        batches = s.exec(select(Batch.id, Batch.status).where(Batch.sha256 == sha256)).all()
        archived = s.exec(select(func.count()).select_from(FileArchive).where(FileArchive.sha256 == sha256)).one()
        rows = s.exec(
            select(func.count()).select_from(Activity).where(Activity.batch_id.in_([b.id for b in batches]))
        ).one()
    assert [b.status for b in batches] == ["stored"] and archived == (1,) and rows == (readings,)
    assert outbox.owed(engine).empty


def upload_events(engine: Engine, sha256: str) -> list[str]:
    """The statuses the audit log recorded for uploads of this file."""
    with Session(engine) as s:
        details = s.exec(select(AuditEvent.detail).where(AuditEvent.action.in_(["ingest", "upload"]))).all()
    files = [f for (d,) in details for f in json.loads(d)["files"] if f["sha256"] == sha256]
    return sorted(f["status"] for f in files)


@pytest.fixture
def ent(engine: Engine) -> str:
    add_enterprise(engine, code=ENT, name="青浦并发上传测试有限公司", region="qingpu", industry="26")
    return ENT


def cli_ingest_at_once(db_url: str, files: list[Path], tmp: Path) -> list[subprocess.CompletedProcess]:
    """``carbon --db URL ingest --enterprise ENT FILE`` in one process per file, released together."""
    go = tmp / "go"
    go.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    for i, f in enumerate(files):
        ready = tmp / f"ready{i}"
        ready.unlink(missing_ok=True)
        args = [sys.executable, "-c", LAUNCHER, str(ready), str(go), "--db", db_url, "ingest", "--enterprise", ENT]
        procs.append(
            (ready, subprocess.Popen([*args, str(f)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        )
    deadline = time.monotonic() + 120
    while not all(r.exists() for r, _ in procs) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    out = []
    for _, p in procs:
        stdout, stderr = p.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout.decode(), stderr.decode()))
    return out


def test_two_processes_ingesting_the_same_file_at_once_store_it_once(db_url, engine, ent, tmp_path):
    for n in range(ROUNDS):
        f = write_template(tmp_path / f"same{n}.csv", template_lines(f"P{n}"))
        sha = hashlib.sha256(f.read_bytes()).hexdigest()
        done = cli_ingest_at_once(db_url, [f, f], tmp_path)
        assert [p.returncode for p in done] == [0, 0], [p.stderr for p in done]
        lines = sorted(p.stdout.strip() for p in done)
        assert sum("duplicate file" in x for x in lines) == 1 and sum("已入库 / stored" in x for x in lines) == 1, lines
        stored_once(engine, sha, 240)
        assert upload_events(engine, sha) == ["duplicate_file", "stored"]
        (again,) = cli_ingest_at_once(db_url, [f], tmp_path)  # a sequential second upload says the same
        assert again.returncode == 0 and again.stdout.strip() in lines and "duplicate file" in again.stdout


def test_two_threads_receiving_the_same_file_at_once_store_it_once(db_url, engine, ent):
    for n in range(ROUNDS):
        upload = (f"same{n}.csv", "\n".join([HEADER_ZH, *template_lines(f"T{n}")]).encode())
        engines = [db.make_engine(db_url) for _ in range(2)]
        try:
            got = race(*(lambda e=e, u=upload: intake.receive_files(e, [u], ent, actor="race") for e in engines))
        finally:
            for e in engines:
                e.dispose()
        assert not [g for g in got if isinstance(g, Exception)], got
        reports = [r for (r,) in got]
        assert sorted(r.status for r in reports) == ["duplicate_file", "stored"]
        stored, dup = sorted(reports, key=lambda r: r.duplicate_file)
        assert dup.batch_id == stored.batch_id and dup.readings == 0 and not dup.stored
        stored_once(engine, stored.sha256, 240)
        assert upload_events(engine, stored.sha256) == ["duplicate_file", "stored"]


def test_two_file_drops_delivering_the_same_file_at_once_store_it_once(db_url, engine, ent, tmp_path):
    for n in range(ROUNDS):
        configs, files = [], []
        for side in ("sftp", "ems"):
            inbox = tmp_path / f"{side}{n}" / "inbox"
            (inbox / ent).mkdir(parents=True)
            f = write_template(inbox / ent / "export.csv", template_lines(f"D{n}"))
            old = time.time() - 60
            os.utime(f, (old, old))
            files.append(f)
            configs.append(ConnectorConfig(f"{side}-drop-{n}", "file_drop", 60, {"inbox": str(inbox)}))
        engines = [db.make_engine(db_url) for _ in configs]
        try:
            got = race(*(lambda e=e, c=c: run_once(e, c) for e, c in zip(engines, configs, strict=True)))
        finally:
            for e in engines:
                e.dispose()
        assert all(r.ok and r.files == 1 for r in got), got
        statuses = sorted(r.details[0].get("status", r.details[0].get("error")) for r in got)
        assert statuses == ["duplicate_file", "stored"]
        for f in files:  # both copies are taken as done, neither put in failed/
            assert (f.parents[2] / "archive" / ent / "export.csv").exists() and not (f.parents[2] / "failed").exists()
        sha = got[0].details[0]["sha256"]
        stored_once(engine, sha, 240)
        assert upload_events(engine, sha) == ["duplicate_file", "stored"]


# --- the platform token stays on the platform's origin -------------------------------------------------------------


class Recorder(BaseHTTPRequestHandler):
    """Another origin (127.0.0.1, another port): records every request's headers and serves a valid page."""

    seen: ClassVar[list[dict[str, str]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        Recorder.seen.append(dict(self.headers.items()))
        body = json.dumps({"items": [item(h, 7.0) for h in (10, 11)], "next": None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


class Origin(BaseHTTPRequestHandler):
    """The configured platform: under /next/ a page whose next link is on the other origin, under /redirect/ a 302
    to the other origin, under /moved/ a 302 to its own /final/, which serves the last page."""

    elsewhere: ClassVar[str] = ""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        where = {"redirect": Origin.elsewhere + "/readings", "moved": "/final/readings"}.get(self.path.split("/")[1])
        if where:
            self.send_response(302)
            self.send_header("Location", where)
            self.end_headers()
            return
        nxt = Origin.elsewhere + "/readings?page=2" if self.path.startswith("/next/") else None
        body = json.dumps({"items": [item(h) for h in range(3)], "next": nxt}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (a free port) in a thread; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def two_origins() -> Iterator[tuple[str, str]]:
    """The platform and another origin on the same host, another port; the other one's record starts empty."""
    Recorder.seen = []
    with serving(Recorder) as other, serving(Origin) as platform:
        Origin.elsewhere = other
        yield platform, other


def platform_config(base_url: str) -> ConnectorConfig:
    return ConnectorConfig(
        "platform",
        "http_api",
        60,
        {"base_url": base_url, "token_env": "PLATFORM_TOKEN", "timeout_seconds": 2, "retries": 0},
    )


@pytest.mark.parametrize("route", ["next", "redirect"])
def test_the_token_is_never_sent_to_another_origin(engine, two_origins, monkeypatch, route):
    platform, other = two_origins
    monkeypatch.setenv("PLATFORM_TOKEN", TOKEN)
    add_enterprise(engine, code=PLATFORM_ENT, name="青浦平台测试", region="qingpu", industry="26")
    r = run_once(engine, platform_config(f"{platform}/{route}"), sleep=lambda s: None)
    assert [h for h in Recorder.seen if "authorization" in map(str.lower, h)] == []  # the token never got there
    assert Recorder.seen == []  # nor anything else: the link is refused before any request is sent
    link = f"{other}/readings" + ("?page=2" if route == "next" else "")
    assert not r.ok and link in r.error and "拒绝跟随" in r.error and "Refused to follow" in r.error
    assert TOKEN not in r.error
    with Session(engine) as s:  # a page that fails fails the run: nothing stored, the watermark stays
        assert s.exec(select(func.count()).select_from(Activity)).one() == (0,)
        st = s.get(ConnectorState, "platform")
        assert st.watermark is None and st.consecutive_failures == 1 and link in st.last_error


def test_a_redirect_on_the_platform_itself_keeps_the_token(engine, two_origins, monkeypatch):
    platform, _ = two_origins
    monkeypatch.setenv("PLATFORM_TOKEN", TOKEN)
    add_enterprise(engine, code=PLATFORM_ENT, name="青浦平台测试", region="qingpu", industry="26")
    r = run_once(engine, platform_config(f"{platform}/moved"), sleep=lambda s: None)
    assert r.ok and r.stored == 3 and Recorder.seen == []


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("https://platform.example/api/v1/readings?page=2", True),
        ("HTTPS://Platform.Example:443/other", True),
        ("http://platform.example/api/v1/readings", False),  # scheme
        ("https://platform.example:8443/api/v1/readings", False),  # port
        ("https://evil.example/api/v1/readings", False),  # host
        ("https://platform.example@evil.example/readings", False),  # user info that looks like the host
        ("https://platform.example.evil.example/readings", False),
        ("https://platform.example:notaport/readings", False),
    ],
)
def test_the_origin_is_scheme_host_and_port(url, same):
    base = "https://platform.example/api/v1"
    assert (origin(url) == origin(base)) is same
    if not same:
        with pytest.raises(PermanentError, match="Refused to follow"):
            check_origin(url, base, ("下一页链接", "the next-page link"))
