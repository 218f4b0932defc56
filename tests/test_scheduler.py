"""The scheduler as a real process: jobs in the project database, killed and restarted, resuming from watermarks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from carbon.enterprises import add_enterprise
from carbon.errors import InputError
from carbon.models import Activity, ConnectorState
from connectors.config import load_config
from connectors.scheduler import JOB_DEFAULTS, JOB_TABLE, build_scheduler
from tests.platform_server import ENT, TOKEN, Platform

CARBON = str(Path(sys.executable).parent / "carbon")


def write_config(path: Path, platform: str) -> Path:
    path.write_text(
        f"""
[[connector]]
name = "platform"
kind = "http_api"
every_seconds = 1
base_url = "{platform}"
token_env = "PLATFORM_TOKEN"
retry_base_seconds = 0.1
""",
        encoding="utf-8",
    )
    return path


def wait_for(predicate, seconds: float = 30) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def readings(engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(Activity)).all())


def start(db_url: str, config: Path) -> subprocess.Popen:
    env = {**os.environ, "PLATFORM_TOKEN": TOKEN}
    return subprocess.Popen(
        [CARBON, "--db", db_url, "scheduler", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_scheduler_restarts_from_its_store_and_watermark(engine, db_url, platform, tmp_path):
    add_enterprise(engine, code=ENT, name="青浦调度测试", region="qingpu", industry="26")
    Platform.bad_item = False
    config = write_config(tmp_path / "connectors.toml", platform)
    proc = start(db_url, config)
    try:
        assert wait_for(lambda: readings(engine) == 9), proc.stderr.read() if proc.poll() is not None else "no data"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    with engine.connect() as conn:
        assert inspect(conn).has_table(JOB_TABLE)
        (job_id, next_run) = conn.execute(text(f"SELECT id, next_run_time FROM {JOB_TABLE}")).one()
    assert job_id == "platform" and next_run is not None
    Platform.hours = 15  # six new hours while the scheduler was down
    proc = start(db_url, config)
    try:
        assert wait_for(lambda: readings(engine) == 15)
        time.sleep(2.5)  # more runs: nothing new, nothing twice
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert readings(engine) == 15
    with Session(engine) as s:
        st = s.get(ConnectorState, "platform")
        # the kill may land after readings were stored but before the run recorded them: the restarted scheduler
        # fetches them again from the older watermark and storage counts them as duplicates (nothing twice)
        assert st.watermark == "2024-03-01T07:00:00+00:00" and st.healthy and 6 <= st.readings_stored <= 15


def test_job_defaults_and_sync_with_the_configuration(engine, db_url, platform, tmp_path):
    assert JOB_DEFAULTS == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    config = write_config(tmp_path / "c.toml", platform)
    sched = build_scheduler(db_url, config)
    try:
        (job,) = sched.get_jobs()
        first_next = job.next_run_time
    finally:
        sched.shutdown(wait=False)
    again = build_scheduler(db_url, config)  # unchanged: the stored next run time is kept
    try:
        assert again.get_job("platform").next_run_time == first_next
    finally:
        again.shutdown(wait=False)
    config.write_text(config.read_text().replace("every_seconds = 1", "every_seconds = 120"))
    changed = build_scheduler(db_url, config)
    try:
        assert changed.get_job("platform").trigger.interval.total_seconds() == 120
    finally:
        changed.shutdown(wait=False)


def test_configuration_is_checked_and_keeps_secrets_out(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[connector]]\nname = "x"\nkind = "http_api"\ntoken = "inline-secret"\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_config(bad)
    assert "token_env" in exc.value.en and "inline-secret" not in exc.value.message
    good = tmp_path / "good.toml"
    good.write_text('[[connector]]\nname = "x"\nkind = "http_api"\ntoken_env = "X_TOKEN"\n', encoding="utf-8")
    monkeypatch.setenv("X_TOKEN", "abc123")
    secret = load_config(good)["x"].secret("token")
    assert secret.reveal() == "abc123" and "abc123" not in repr(secret) and "abc123" not in str(secret)


def test_connectors_cli_list_and_run(engine, db_url, platform, tmp_path):
    add_enterprise(engine, code=ENT, name="青浦调度测试", region="qingpu", industry="26")
    config = write_config(tmp_path / "connectors.toml", platform)
    env = {**os.environ, "PLATFORM_TOKEN": TOKEN}
    run = subprocess.run(
        [CARBON, "--db", db_url, "connectors", "run", "platform", "--once", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["stored"] == 9
    listed = subprocess.run(
        [CARBON, "--db", db_url, "connectors", "list", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "platform" and row["healthy"] is True and row["readings_stored"] == 9
    env["PLATFORM_TOKEN"] = "wrong-token"
    failed = subprocess.run(
        [CARBON, "--db", db_url, "connectors", "run", "platform", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert failed.returncode == 1 and "401" in failed.stdout and "wrong-token" not in failed.stdout + failed.stderr
