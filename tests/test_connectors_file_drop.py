"""The file-drop connector: inbox to archive/ or failed/ with a report; half-written files are left alone."""

from __future__ import annotations

import json
import os
import time

import pytest
from sqlmodel import Session, select

from carbon.enterprises import add_enterprise
from carbon.models import Activity
from connectors.config import ConnectorConfig
from connectors.file_drop import settled
from connectors.runtime import run_once
from tests.helpers import uscc, write_template

ENT = uscc(81, "320509")


@pytest.fixture
def drop(engine, tmp_path):
    add_enterprise(engine, code=ENT, name="吴江文件接入测试", region="wujiang", industry="26")
    inbox = tmp_path / "drop" / "inbox"
    (inbox / ENT).mkdir(parents=True)
    return inbox, ConnectorConfig("sftp-inbox", "file_drop", 60, {"inbox": str(inbox), "settle_seconds": 2})


def age(path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_new_files_are_imported_and_moved_with_a_report(engine, drop):
    inbox, cfg = drop
    good = write_template(inbox / ENT / "jan.csv", ["E1,电力,2024-01-01,2024-02-01,100,kWh"])
    bad = inbox / ENT / "junk.csv"
    bad.write_text("nothing,to,see\n1,2,3\n", encoding="utf-8")
    for f in (good, bad):
        age(f, 10)
    r = run_once(engine, cfg)
    assert r.ok and r.files == 2 and r.stored == 1
    root = inbox.parent
    assert (root / "archive" / ENT / "jan.csv").exists() and not good.exists()
    report = json.loads((root / "archive" / ENT / "jan.csv.report.json").read_text(encoding="utf-8"))
    assert report["stored"] is True and report["readings"] == 1
    failed = json.loads((root / "failed" / ENT / "junk.csv.report.json").read_text(encoding="utf-8"))
    assert "No header" in failed["error"]
    with Session(engine) as s:
        assert len(s.exec(select(Activity)).all()) == 1


def test_a_file_still_being_written_is_not_taken(engine, drop):
    inbox, cfg = drop
    growing = write_template(inbox / ENT / "feb.csv", ["E1,电力,2024-02-01,2024-03-01,90,kWh"])
    part = write_template(inbox / ENT / "mar.csv.part", ["E1,电力,2024-03-01,2024-04-01,80,kWh"])
    age(part, 60)
    assert not settled(growing, 2) and not settled(part, 2)
    r = run_once(engine, cfg)
    assert r.ok and r.files == 0 and growing.exists() and part.exists()
    age(growing, 10)
    assert run_once(engine, cfg).files == 1 and not growing.exists()


def test_the_same_file_dropped_twice_is_stored_once(engine, drop):
    inbox, cfg = drop
    for _ in range(2):
        f = write_template(inbox / ENT / "jan.csv", ["E1,电力,2024-01-01,2024-02-01,100,kWh"])
        age(f, 10)
        assert run_once(engine, cfg).ok
    archived = sorted(p.name for p in (inbox.parent / "archive" / ENT).iterdir() if p.suffix == ".csv")
    assert len(archived) == 2  # the second copy is kept under a new name, never overwriting the first
    with Session(engine) as s:
        assert len(s.exec(select(Activity)).all()) == 1
