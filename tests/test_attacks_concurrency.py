"""Concurrency attacks from the hardening list, raced for real on SQLite (a file database) and PostgreSQL.

Overlap race: two uploads of one meter's same ten days at different resolutions (15-minute and hourly readings, 960
kWh each), sent at once by two threads with their own engines and by two ``carbon ingest`` processes, several
rounds.  Sent one after the other, the second is refused (its readings overlap the stored ones and would be counted
twice); sent at once, the outcome must be one of the two sequential orders: 960 kWh stored, one file stored, the
other refused for overlap.

Readers and a writer: while ``carbon ingest`` stores a large file in another process, the dashboard's reads
(``carbon.views``) all succeed, and some of them start and end while the import holds its write transaction.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from carbon import db, intake, views
from carbon.access import Viewer
from carbon.enterprises import add_enterprise
from carbon.ingest import FileReport
from carbon.models import Activity, Batch, Meter
from tests.helpers import uscc, write_template
from tests.test_attacks_races import ENT, ROOT, ROUNDS, cli_ingest_at_once, race

DAYS = 10
KWH = 960.0  # what the ten days used, in either file
START = datetime(2025, 3, 1)


def interval_lines(meter: str, minutes: int) -> list[str]:
    """``DAYS`` of readings of ``meter`` every ``minutes``, ``KWH`` in all (template lines)."""
    steps = DAYS * 24 * 60 // minutes
    each = KWH / steps
    fmt = "%Y-%m-%d %H:%M"
    return [
        f"{meter},电力,{(START + timedelta(minutes=minutes * i)).strftime(fmt)},"
        f"{(START + timedelta(minutes=minutes * (i + 1))).strftime(fmt)},{each:g},kWh"
        for i in range(steps)
    ]


def two_resolutions(tmp: Path, meter: str) -> tuple[Path, Path]:
    """The same meter and days as 15-minute and as hourly readings."""
    return (
        write_template(tmp / f"{meter}-15min.csv", interval_lines(meter, 15)),
        write_template(tmp / f"{meter}-hourly.csv", interval_lines(meter, 60)),
    )


def meter_kwh(engine: Engine, meter: str) -> float:
    """The meter's current (not superseded) stored electricity, kWh; its two files must be archived as one stored
    and one rejected batch."""
    with Session(engine) as s:
        total = s.exec(
            select(func.coalesce(func.sum(Activity.quantity_canonical), 0.0))
            .join(Meter, Activity.meter_id == Meter.id)
            .where(Meter.enterprise_uscc == ENT, Meter.meter_code == meter, Activity.superseded_at.is_(None))
        ).one()
        batches = s.exec(select(Batch.status).where(Batch.file_name.startswith(f"{meter}-"))).all()
    assert sorted(b for (b,) in batches) == ["rejected", "stored"], batches
    return float(total[0])


def one_stored_one_refused(reports: list[FileReport]) -> None:
    """As a sequential second upload: one file stored, the other refused with its readings' overlaps."""
    stored = [r for r in reports if r.stored]
    refused = [r for r in reports if not r.stored]
    assert len(stored) == 1 and len(refused) == 1, [(r.file, r.status) for r in reports]
    assert refused[0].status == "rejected" and refused[0].readings == 0
    assert refused[0].errors and {e.code for e in refused[0].errors} == {"overlap"}


@pytest.fixture
def ent(engine: Engine) -> str:
    add_enterprise(engine, code=ENT, name="青浦并发重叠测试有限公司", region="qingpu", industry="26")
    return ENT


def receive(db_url: str, path: Path) -> Callable[[], FileReport]:
    """An upload through the one door, on its own engine (as another process or dashboard session would)."""

    def call() -> FileReport:
        engine = db.make_engine(db_url)
        try:
            (report,) = intake.receive_files(engine, [path], ENT, actor="race-test")
            return report
        finally:
            engine.dispose()

    return call


def test_sequential_overlap_at_another_resolution_is_refused(engine, ent, tmp_path):
    """The rule the races are held to: the second upload of the same days is refused, either order."""
    for meter, order in (("SEQ-A", (0, 1)), ("SEQ-B", (1, 0))):
        files = two_resolutions(tmp_path, meter)
        reports = [intake.receive_files(engine, [files[i]], ENT, actor="seq-test")[0] for i in order]
        one_stored_one_refused(reports)
        assert reports[0].stored and meter_kwh(engine, meter) == pytest.approx(KWH)


def test_two_threads_uploading_overlapping_resolutions_store_one(db_url, engine, ent, tmp_path):
    for n in range(ROUNDS):
        meter = f"T{n}"
        fine, hourly = two_resolutions(tmp_path, meter)
        out = race(receive(db_url, fine), receive(db_url, hourly))
        assert not [o for o in out if isinstance(o, Exception)], out
        one_stored_one_refused(out)
        assert meter_kwh(engine, meter) == pytest.approx(KWH), f"round {n}"


def test_two_processes_ingesting_overlapping_resolutions_store_one(db_url, engine, ent, tmp_path):
    for n in range(ROUNDS):
        meter = f"P{n}"
        done = cli_ingest_at_once(db_url, list(two_resolutions(tmp_path, meter)), tmp_path)
        codes = sorted(p.returncode for p in done)
        assert codes == [0, 2], [(p.returncode, p.stdout, p.stderr) for p in done]
        (refused,) = [p for p in done if p.returncode == 2]
        assert "重叠" in refused.stdout + refused.stderr and "Overlaps" in refused.stdout + refused.stderr
        assert meter_kwh(engine, meter) == pytest.approx(KWH), f"round {n}"


# Readers during a large import.

BIG_METERS = 100
BIG_STEPS = 3_000  # per meter: 300,000 rows, about 31 days of 15-minute readings
READER = Viewer("reader", "zone")


def big_file(path: Path) -> Path:
    """``BIG_METERS`` x ``BIG_STEPS`` 15-minute readings in the template (a file of about 20 MB)."""
    times = [START + timedelta(minutes=15 * i) for i in range(BIG_STEPS + 1)]
    text_times = [t.strftime("%Y-%m-%d %H:%M") for t in times]
    lines = [
        f"BIG{m:03d},电力,{text_times[i]},{text_times[i + 1]},{1 + (m + i) % 7},kWh"
        for m in range(BIG_METERS)
        for i in range(BIG_STEPS)
    ]
    return write_template(path, lines)


def import_in_background(db_url: str, enterprise: str, path: Path) -> subprocess.Popen:
    """``carbon --db URL ingest --enterprise E FILE`` in another process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "carbon.cli", "--db", db_url, "ingest", "--enterprise", enterprise, str(path)]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def write_lock_held(engine: Engine, enterprise: str) -> bool:
    """True while another connection holds the enterprise's import lock (SQLite: the database's write lock)."""
    if engine.dialect.name == "sqlite":
        probe = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    with engine.connect() as conn:
        key = conn.execute(text("SELECT hashtextextended(:k, 0)"), {"k": f"ingest:{enterprise}"}).scalar_one()
        held = conn.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
                " AND classid::text::bigint = :hi AND objid::text::bigint = :lo"
            ),
            {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF},
        ).scalar_one()
    return bool(held)


def dashboard_reads(engine: Engine) -> None:
    """What the overview and the enterprise list read."""
    views.overview(engine, READER, "zone", 2025)
    views.enterprise_table(engine, READER, 2025)
    views.uploads(engine, READER)


def test_readers_are_never_blocked_by_an_import(db_url, engine, tmp_path, capsys):
    code = uscc(97, "310118")
    add_enterprise(engine, code=code, name="青浦大文件导入测试有限公司", region="qingpu", industry="26")
    other = write_template(tmp_path / "small.csv", interval_lines("SMALL", 60))
    add_enterprise(engine, code=ENT, name="青浦读者测试有限公司", region="qingpu", industry="26")
    intake.receive_files(engine, [other], ENT, actor="reader-test")  # something for the reads to find
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    reader = db.make_engine(db_url)
    started = time.perf_counter()
    dashboard_reads(reader)
    idle = time.perf_counter() - started
    proc = import_in_background(db_url, code, big_file(tmp_path / "big.csv"))
    inside, worst, reads = 0, 0.0, 0
    try:
        while proc.poll() is None:
            before = write_lock_held(engine, code)
            started = time.perf_counter()
            dashboard_reads(reader)  # raises if a read fails (e.g. "database is locked")
            took = time.perf_counter() - started
            reads += 1
            if before and write_lock_held(engine, code) and proc.poll() is None:
                inside += 1  # this read began and ended inside the import's write transaction
                worst = max(worst, took)
    finally:
        stdout, stderr = proc.communicate(timeout=600)
        reader.dispose()
    assert proc.returncode == 0, stderr.decode()
    assert "已入库 / stored" in stdout.decode()
    with capsys.disabled():
        print(
            f"\n[{engine.dialect.name}] reads during the import: {reads}, {inside} inside its write transaction; "
            f"idle read {idle:.2f} s, worst read inside {worst:.2f} s"
        )
    assert inside >= 3, f"only {inside} of {reads} reads ran inside the import's write transaction"
