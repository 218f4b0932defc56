"""The MQTT connector against real Mosquitto brokers: the machine's on 1883 and a restartable one of our own."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from carbon.enterprises import add_enterprise
from carbon.ingest import ingest_files
from carbon.ingest.records import ingest_records
from carbon.models import Activity, ConnectorState, Quarantine
from connectors.config import ConnectorConfig
from connectors.mqtt import DecodeError, MqttMeters, decode_message
from connectors.runtime import run_once
from tests.helpers import uscc, write_template
from tests.mqtt_broker import Broker, listening, publish

ENT = uscc(71)


def payload(minute: int, value: float = 0.5, **extra) -> bytes:
    """An interval reading ending ``minute`` minutes after 2024-05-01 00:00 local time."""
    end = datetime(2024, 5, 1, tzinfo=timezone(timedelta(hours=8))) + timedelta(minutes=minute)
    body = {"timestamp": end.isoformat(), "value": value, "unit": "kWh", "kind": "interval", "interval_seconds": 900}
    return json.dumps({**body, **extra}).encode()


def config(port: int, **options) -> ConnectorConfig:
    return ConnectorConfig(
        "meters",
        "mqtt",
        30,
        {
            "port": port,
            "client_id": f"carbon-test-{uuid.uuid4().hex[:8]}",
            "idle_seconds": 0.5,
            "retries": 2,
            "retry_base_seconds": 0.01,
            **options,
        },
    )


def stored(engine) -> list[Activity]:
    with Session(engine) as s:
        return s.exec(select(Activity).where(Activity.superseded_at.is_(None))).all()


@pytest.fixture
def ent(engine):
    add_enterprise(engine, code=ENT, name="嘉善物联网测试", region="jiashan", industry="26")
    return ENT


def test_decode_message_is_pure():
    r = decode_message(f"carbon/{ENT}/M1/reading", payload(15))
    assert (r["meter"], r["kind"], r["start"], r["end"]) == (
        "M1",
        "interval",
        "2024-04-30T16:00:00+00:00",
        "2024-05-01T00:15:00+08:00",
    )
    reg = decode_message(
        f"carbon/{ENT}/M1/reading", b'{"timestamp": 1714492800, "value": 5, "unit": "kWh", "kind": "register"}'
    )
    assert reg["kind"] == "register" and reg["start"] is None and reg["end"].startswith("2024-04-30T16:00:00")
    for topic, body, reason in [
        ("carbon/x/reading", payload(1), "topic"),
        (f"carbon/{ENT}/M1/reading", b"{", "JSON"),
        (f"carbon/{ENT}/M1/reading", payload(1, value="x"), "number"),
        (f"carbon/{ENT}/M1/reading", b'{"value": 1, "unit": "kWh"}', "timestamp"),
        (f"carbon/{ENT}/M1/reading", payload(1, kind="gauge"), "kind"),
    ]:
        with pytest.raises(DecodeError, match=reason):
            decode_message(topic, body)


@pytest.mark.skipif(not listening(1883), reason="no MQTT broker on 127.0.0.1:1883")
def test_readings_through_the_machines_broker_are_stored(engine, ent):
    cfg = config(1883)
    assert run_once(engine, cfg, sleep=lambda s: None).ok  # creates the persistent session
    publish(1883, [(f"carbon/{ENT}/M1/reading", payload(15 * i)) for i in range(1, 41)])
    r = run_once(engine, cfg, sleep=lambda s: None)
    assert r.ok and r.stored == 40 and len(stored(engine)) == 40


def test_broker_unreachable_at_start_then_reachable(engine, ent, tmp_path):
    b = Broker(tmp_path)
    cfg = config(b.port)
    down = run_once(engine, cfg, sleep=lambda s: None)
    assert not down.ok and "not reachable" in down.error and down.attempts == 3
    b.start()
    try:
        assert run_once(engine, cfg, sleep=lambda s: None).ok
        publish(b.port, [(f"carbon/{ENT}/M1/reading", payload(15))])
        assert run_once(engine, cfg, sleep=lambda s: None).stored == 1
    finally:
        b.stop()
    with Session(engine) as s:
        st = s.get(ConnectorState, "meters")
        assert st.healthy and st.consecutive_failures == 0 and st.runs == 3


def test_broker_restart_with_messages_in_flight_loses_nothing_counts_nothing_twice(engine, ent, broker):
    cfg = config(broker.port)
    assert run_once(engine, cfg, sleep=lambda s: None).ok
    publish(broker.port, [(f"carbon/{ENT}/M1/reading", payload(15 * i)) for i in range(1, 101)])
    connector = MqttMeters(cfg)
    fetched = connector.fetch(None)  # received, stored, but the broker goes down before the acknowledgements
    assert len(fetched.records) == 100
    ingest_records(engine, fetched.records, "meters")
    broker.restart()
    connector.acknowledge(fetched.acknowledge)  # acknowledgements of a dead connection are not sent
    connector.close()
    publish(broker.port, [(f"carbon/{ENT}/M1/reading", payload(15 * i)) for i in range(101, 151)])
    r = run_once(engine, cfg, sleep=lambda s: None)
    assert r.ok and r.stored == 50 and r.duplicates == 100
    rows = stored(engine)
    assert len(rows) == 150 and len({(a.meter_id, a.period_start) for a in rows}) == 150
    assert run_once(engine, cfg, sleep=lambda s: None).stored == 0  # everything was acknowledged


def test_malformed_payload_is_quarantined_and_the_connector_goes_on(engine, ent, broker):
    cfg = config(broker.port)
    run_once(engine, cfg, sleep=lambda s: None)
    publish(
        broker.port,
        [
            (f"carbon/{ENT}/M1/reading", b"not json"),
            (f"carbon/{ENT}/M1/reading", payload(15)),
            ("carbon/unknown-enterprise/M1/reading", payload(30)),
        ],
    )
    r = run_once(engine, cfg, sleep=lambda s: None)
    assert r.ok and r.stored == 1 and r.quarantined == 2
    with Session(engine) as s:
        reasons = sorted(q.reason for q in s.exec(select(Quarantine)).all())
    assert any("not JSON" in x for x in reasons) and any("not registered" in x for x in reasons)


def test_the_same_reading_by_mqtt_and_a_later_file_export_is_stored_once(engine, ent, broker, tmp_path):
    cfg = config(broker.port)
    run_once(engine, cfg, sleep=lambda s: None)
    publish(broker.port, [(f"carbon/{ENT}/M1/reading", payload(15 * i, value=0.25 * i)) for i in range(1, 5)])
    assert run_once(engine, cfg, sleep=lambda s: None).stored == 4
    ends = {1: "00:15", 2: "00:30", 3: "00:45", 4: "01:00"}
    export = write_template(
        tmp_path / "export.csv",
        [f"M1,电力,2024-05-01 00:{15 * (i - 1):02d},2024-05-01 {ends[i]},{0.25 * i},kWh" for i in range(1, 5)],
    )
    (r,) = ingest_files(engine, [export], ent)
    assert r.rows_duplicate == 4 and r.readings == 0 and len(stored(engine)) == 4
