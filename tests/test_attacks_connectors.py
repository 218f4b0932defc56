"""Attacks on the doors data and people come in by: poison messages to the connectors, and a storm of simultaneous
wrong sign-ins against the lockout.  Real parts only: a real Mosquitto broker, a real HTTP server, a real Modbus
TCP server and the real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from carbon import db
from carbon.enterprises import add_enterprise
from carbon.ingest.records import ingest_records
from carbon.intake import READING_COLUMNS
from carbon.models import Activity, AuditEvent, Quarantine, RegisterReading
from carbon.users import LOCKOUT_FAILURES, add_user, authenticate
from connectors.base import records_frame
from connectors.config import ConnectorConfig
from connectors.decoding import EARLIEST, LATEST, MAX_VALUE, TEXT_LIMITS, DecodeError, reading
from connectors.http_api import decode_page
from connectors.modbus_tcp import FORMATS, decode_words, encode_words, word_count
from connectors.mqtt import decode_batch, decode_message
from connectors.runtime import run_once
from tests.helpers import uscc
from tests.modbus_meter import Meter
from tests.mqtt_broker import publish
from tests.platform_server import ENT as PLATFORM_ENT
from tests.platform_server import TOKEN, Platform, item

PASSWORD = "Qingpu-2024-secret"
APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
ENT = uscc(81)
TOPIC = f"carbon/{ENT}/M1/reading"
# max_examples comes from the profile in conftest.py (60, deterministic; CARBON_FUZZ=long for a long random run)
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- poison messages: the decoders, fuzzed ----------------------------------------------------------------------

GOOD = {"timestamp": "2024-05-01T00:15:00+08:00", "value": 0.5, "unit": "kWh", "kind": "interval"}
ODD = [
    "2024-05-01T00:15:00+08:00",
    "2024-05-01T00:15:00",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "1e20",
    "NaN",
    "-5",
    "kWh",
    "electricity",
    "register",
    "M\x00",
    "Ж" * 70,
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(ODD),
)
values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=12,
)
changes = st.dictionaries(
    st.sampled_from(["timestamp", "value", "unit", "kind", "start", "interval_seconds", "carrier"]), values, max_size=4
)
bodies = st.builds(
    lambda change, drop: {**{k: v for k, v in GOOD.items() if k not in drop}, **change},
    changes,
    st.sets(st.sampled_from(list(GOOD)), max_size=2),
)
payloads = st.one_of(
    bodies.map(lambda b: json.dumps(b).encode()),  # NaN and Infinity written as JSON allows them
    st.binary(max_size=200),
)


def nested(levels: int) -> bytes:
    return b'{"value": ' * levels + b"1" + b"}" * levels


def body(**change) -> bytes:
    return json.dumps({**GOOD, **change}).encode()


def assert_reading(record: dict) -> None:
    """A decoded record is a reading the store can take: every field of the right type and within range."""
    assert list(record) == READING_COLUMNS
    assert record["kind"] in ("interval", "register")
    assert isinstance(record["value"], float) and math.isfinite(record["value"]) and 0 <= record["value"] <= MAX_VALUE
    for field, limit in TEXT_LIMITS.items():
        text = record[field]
        assert isinstance(text, str) and 0 < len(text) <= limit and not any(ord(c) < 32 for c in text)
        text.encode("utf-8")  # no lone surrogate
    times = [record["end"]] + ([record["start"]] if record["kind"] == "interval" else [])
    assert record["kind"] == "interval" or record["start"] is None
    for t in times:
        parsed = datetime.fromisoformat(t)
        assert parsed.utcoffset() is not None and EARLIEST <= parsed <= LATEST


def assert_reason(exc: DecodeError) -> None:
    assert exc.zh and exc.en and str(exc) == f"{exc.zh} / {exc.en}"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A real database the fuzzed readings are stored in: nothing a decoder lets through may break the store."""
    engine = db.make_engine(f"sqlite:///{tmp_path_factory.mktemp('poison') / 'poison.db'}")
    db.initialise(engine)
    add_enterprise(engine, code=ENT, name="投毒测试企业", region="jiashan", industry="26")
    return engine


def decode_and_store(store, topic: str, payload: bytes) -> None:
    try:
        record = decode_message(topic, payload)
    except DecodeError as exc:
        assert_reason(exc)
        return
    assert_reading(record)
    reports, refused = ingest_records(store, records_frame([record]), "fuzz")
    assert all(r for r in refused["reason"]) and len(refused) + sum(r.rows_read for r in reports) == 1


@SETTINGS
@given(
    st.sampled_from([TOPIC, f"carbon/{ENT}/{'m' * 80}/reading", "carbon/x/reading", f"carbon/{ENT}/M\t/reading"]),
    payloads,
)
@example(TOPIC, body(timestamp=1e20))  # OverflowError: every run failed, nothing acknowledged, forever
@example(TOPIC, body(timestamp=-1e20))
@example(TOPIC, body(timestamp=float("nan")))  # ValueError from fromtimestamp
@example(TOPIC, body(timestamp="9999-12-31T23:59:59-12:00"))  # beyond datetime's range in UTC
@example(TOPIC, body(timestamp="0001-01-01T00:00:00+00:00"))  # its interval starts in year 0
@example(TOPIC, body(value=float("inf")))
@example(TOPIC, body(value=float("nan")))
@example(TOPIC, body(value=-5))
@example(TOPIC, body(value=1e300))
@example(TOPIC, b'{"timestamp": 1714492800, "value": ' + b"9" * 5000 + b', "unit": "kWh"}')  # int digit limit
@example(TOPIC, body(value=10**400))
@example(TOPIC, body(interval_seconds="x"))  # ValueError from float()
@example(TOPIC, body(interval_seconds=1e300))  # OverflowError
@example(TOPIC, body(interval_seconds=[1]))  # TypeError
@example(TOPIC, body(carrier=[1]))
@example(TOPIC, body(unit="kW\x00h"))  # NUL: PostgreSQL refuses it
@example(TOPIC, body(unit="u" * 100))
@example(TOPIC, b"[" * 5000 + b"]" * 5000)  # RecursionError in the JSON parser
@example(TOPIC, nested(100))
@example(TOPIC, b"\xff\xfe{}")  # not UTF-8
@example(TOPIC, b"{" + b" " * 1_000_001 + b"}")  # too large
@example(f"carbon/{ENT}/{'m' * 80}/reading", body())  # a meter id longer than the store keeps
def test_mqtt_payloads_become_readings_or_a_reason_never_an_exception(store, topic, payload):
    decode_and_store(store, topic, payload)


def one_by_one(messages: list[tuple[str, bytes]], interval: float = 900) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """What ``decode_message`` makes of each message: the records (index = position) and the refusals."""
    records, refused = {}, []
    for i, (topic, payload) in enumerate(messages):
        try:
            records[i] = decode_message(topic, payload, interval_seconds=interval)
        except DecodeError as exc:
            refused.append((i, str(exc)))
    frame = records_frame(list(records.values()))
    frame.index = list(records)
    return frame, refused


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from([TOPIC, f"carbon/{ENT}/M2/reading", f"carbon/{ENT}/ M1 /reading", "carbon/x/reading"]),
            st.one_of(
                payloads,
                st.builds(
                    lambda t, v, s: body(timestamp=t, value=v, interval_seconds=s),
                    st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()),
                    st.one_of(st.floats(0, 1e6), st.integers(0, 10**6)),
                    st.one_of(st.sampled_from([900, 900.0, 1800, 0.5, 86400 * 366]), st.integers(-5, 10**9)),
                ),
            ),
        ),
        max_size=12,
    )
)
@example(
    [(TOPIC, body(timestamp="2024-05-01T00:15:00.000000+08:00")), (TOPIC, body(timestamp="2024-05-01T00:15:00-00:00"))]
)
@example(
    [(TOPIC, body(timestamp="2024-05-01T00:15:00.123456+08:00", interval_seconds=1e300)), (TOPIC, body(value=True))]
)
@example([(TOPIC, body(timestamp="2024-02-30T00:15:00+08:00")), (TOPIC, body(timestamp="1990-01-01T00:10:00+00:00"))])
def test_a_batch_decodes_exactly_as_each_message_alone(messages):
    """The column checks of ``decode_batch`` give the same records, in order, and the same refusals as
    ``decode_message`` one message at a time, whatever the messages."""
    frame, refused = decode_batch(messages)
    expected, reasons = one_by_one(messages)
    pd.testing.assert_frame_equal(frame, expected, check_index_type=False)
    assert [(i, str(exc)) for i, exc in refused] == reasons


def test_a_batch_of_ordinary_readings_is_decoded_by_columns():
    """Ordinary interval readings (local offsets, microseconds, the configured interval) need no message-by-message
    decoding, and come out as ``decode_message`` writes them."""
    messages = [(TOPIC, body(timestamp=f"2024-05-01T0{h}:15:00.25000{h}+08:00", value=h)) for h in range(1, 10)]
    frame, refused = decode_batch(messages, interval_seconds=1800)
    assert not refused and frame.loc[0, "start"] == "2024-04-30T16:45:00.250001+00:00"
    assert frame.loc[0, "end"] == "2024-05-01T01:15:00.250001+08:00" and frame["value"].tolist() == list(range(1, 10))
    expected, _ = one_by_one(messages, interval=1800)
    pd.testing.assert_frame_equal(frame, expected, check_index_type=False)


pages = st.one_of(
    st.builds(
        lambda items, nxt: json.dumps({"items": items, "next": nxt}).encode(),
        st.lists(st.one_of(bodies.map(lambda b: {**item(1), **b, "end": b.get("timestamp")}), values), max_size=4),
        st.one_of(st.none(), st.text(max_size=10), values),
    ),
    st.binary(max_size=200),
    values.map(lambda v: json.dumps(v).encode()),
)


@SETTINGS
@given(pages)
@example(b"<html>maintenance</html>")
@example(json.dumps({"items": [{**item(1), "end": 1e20}]}).encode())
@example(json.dumps({"items": [{**item(1), "value": float("nan")}, {**item(1), "value": -1}, item(2)]}).encode())
@example(json.dumps({"items": [{**item(1), "start": "9999-12-31T23:59:59-12:00"}, [1], None]}).encode())
@example(json.dumps({"items": [{**item(1), "value": 10**400}]}).encode())
@example(b'{"items": ' + b"[" * 5000 + b"]" * 5000 + b"}")
@example(b'{"items": [], "next": ' + b"9" * 5000 + b"}")
def test_platform_pages_become_readings_or_reasons_never_an_exception(page):
    try:
        good, bad, nxt = decode_page(page)
    except DecodeError as exc:
        assert_reason(exc)
        return
    items = json.loads(page)["items"]
    assert len(good) + len(bad) == len(items) and (nxt is None or isinstance(nxt, str))
    for record in good:
        assert_reading(record)
    for payload, reason in bad:
        assert isinstance(payload, str) and " / " in reason


@SETTINGS
@given(
    st.sampled_from(sorted(FORMATS)).flatmap(
        lambda t: st.tuples(
            st.just(t), st.lists(st.integers(0, 0xFFFF), min_size=word_count(t), max_size=word_count(t))
        )
    ),
    st.sampled_from(["big", "little"]),
    st.floats(allow_nan=True, allow_infinity=True),
)
@example(("float32", [0x7FC0, 0]), "big", 1.0)  # NaN
@example(("float32", [0x7F80, 0]), "big", 1.0)  # infinity
@example(("float32", [0xFF80, 0]), "big", 1.0)  # minus infinity
@example(("float64", [0x7FF8, 0, 0, 0]), "big", 1.0)  # NaN
@example(("float64", encode_words(1e300, "float64")), "big", 1.0)  # out of range
@example(("float32", encode_words(3e38, "float32")), "big", 1e10)  # finite words, infinite once scaled
@example(("int32", [0xFFFF, 0xFFFB]), "big", 0.01)  # a negative meter index
@example(("uint64", [0xFFFF] * 4), "big", 1.0)  # out of range
def test_modbus_words_become_readings_or_a_reason_never_an_exception(words, order, scale):
    data_type, registers = words
    try:
        value = decode_words(registers, data_type, order)
    except DecodeError as exc:
        assert_reason(exc)
        return
    assert math.isfinite(value)
    try:
        record = reading(
            ENT, "MB-01", "electricity", "register", None, "2024-05-01T00:00:00+08:00", value * scale, "kWh"
        )
    except DecodeError as exc:
        assert_reason(exc)
        return
    assert_reading(record)


# --- poison messages end to end, against the real peers -----------------------------------------------------------


def stored(engine) -> list[Activity]:
    with Session(engine) as s:
        return s.exec(select(Activity).where(Activity.superseded_at.is_(None))).all()


def quarantined(engine) -> list[Quarantine]:
    with Session(engine) as s:
        return s.exec(select(Quarantine).order_by(Quarantine.id)).all()


POISON = [
    body(timestamp=1e20),
    body(value=float("nan")),
    body(value=-5),
    body(interval_seconds="x"),
    b"[" * 5000 + b"]" * 5000,
    b"\xff\xfe not json \x00",
    body(unit="kWh\ud800"),  # a lone surrogate: valid JSON, no UTF-8 form, so no database can hold it
    body(start="2020-01-01T00:00:00+08:00"),  # one "interval" of several years
]


def test_a_poison_message_is_quarantined_and_acknowledged_and_the_readings_behind_it_are_stored(engine, broker):
    add_enterprise(engine, code=ENT, name="投毒测试企业", region="jiashan", industry="26")
    cfg = ConnectorConfig(
        "meters", "mqtt", 30, {"port": broker.port, "client_id": "carbon-poison", "idle_seconds": 0.5, "retries": 0}
    )
    assert run_once(engine, cfg, sleep=lambda s: None).ok  # creates the persistent session
    valid = [body(timestamp=f"2024-05-01T{h:02d}:15:00+08:00", value=0.25 * h) for h in range(1, 9)]
    publish(broker.port, [(TOPIC, p) for p in [POISON[0], *valid[:4], *POISON[1:], *valid[4:]]])
    first = run_once(engine, cfg, sleep=lambda s: None)
    assert first.ok, first.error
    assert first.stored == 8 and first.quarantined == len(POISON) and first.duplicates == 0
    assert sorted(a.quantity_original for a in stored(engine)) == [0.25 * h for h in range(1, 9)]
    reasons = [q.reason for q in quarantined(engine)]
    assert len(reasons) == len(POISON) and "out of range" in reasons[0] and all(" / " in r for r in reasons)
    second = run_once(engine, cfg, sleep=lambda s: None)  # everything was acknowledged: nothing comes again
    assert second.ok and (second.stored, second.duplicates, second.quarantined) == (0, 0, 0)
    assert len(stored(engine)) == 8 and len(quarantined(engine)) == len(POISON)


@pytest.fixture
def platform_config(platform, monkeypatch):
    monkeypatch.setenv("PLATFORM_TOKEN", TOKEN)
    return ConnectorConfig(
        "platform", "http_api", 60, {"base_url": platform, "token_env": "PLATFORM_TOKEN", "retries": 0}
    )


def test_poison_items_on_a_platform_page_are_quarantined_and_the_rest_stored(engine, platform_config):
    add_enterprise(engine, code=PLATFORM_ENT, name="青浦平台测试", region="qingpu", industry="26")
    Platform.bad_item = False
    Platform.poison = [
        {**item(20), "end": 1e20},
        {**item(20), "value": float("nan")},
        {**item(20), "value": 10**400},
        {**item(20), "start": "9999-12-31T23:59:59-12:00"},
        {**item(20), "end": "2199-01-01T00:00:00+00:00"},  # far in the future: refused, the watermark not moved there
        [1, 2],
        {**item(20), "meter": "H-sur\ud800"},  # a lone surrogate in a text field
        {**item(20), "value": "\ud800"},  # ... in a value: quarantined, and the quarantine row must store
        {**item(20), "start": "2020-01-01T00:00:00+00:00"},  # one "interval" of several years
    ]
    first = run_once(engine, platform_config, sleep=lambda s: None)
    assert first.ok, first.error
    assert first.stored == 9 and first.quarantined == 9
    assert datetime.fromisoformat(first.watermark) <= datetime.now(UTC)  # not the future-dated item's end
    second = run_once(engine, platform_config, sleep=lambda s: None)
    assert second.ok and (second.stored, second.quarantined) == (0, 0) and len(stored(engine)) == 9


def test_modbus_registers_reading_nan_infinity_or_out_of_range_are_quarantined(engine):
    add_enterprise(engine, code=ENT, name="投毒测试企业", region="jiashan", industry="26")
    meter = Meter()
    meter.start()
    meter.set_words(2, encode_words(float("nan"), "float32"))
    meter.set_words(4, encode_words(float("inf"), "float32"))
    meter.set_words(6, encode_words(1e300, "float64"))
    points = [
        {"meter": "MB-01", "address": 0, "data_type": "uint32", "scale": 0.01, "unit": "kWh"},
        {"meter": "MB-02", "address": 2, "data_type": "float32", "unit": "kWh"},
        {"meter": "MB-03", "address": 4, "data_type": "float32", "unit": "kWh"},
        {"meter": "MB-04", "address": 6, "data_type": "float64", "unit": "kWh"},
    ]
    cfg = ConnectorConfig("modbus", "modbus_tcp", 60, {"port": meter.port, "enterprise": ENT, "points": points})
    try:
        meter.set_energy(1234.56)
        first = run_once(engine, cfg, sleep=lambda s: None)
        time.sleep(1.1)
        meter.set_energy(1240.06)
        second = run_once(engine, cfg, sleep=lambda s: None)
    finally:
        meter.stop()
        meter.loop.call_soon_threadsafe(meter.loop.stop)
    assert first.ok and second.ok, (first.error, second.error)
    assert (first.quarantined, second.quarantined, second.stored) == (3, 3, 1)
    with Session(engine) as s:
        assert {r.meter_id for r in s.exec(select(RegisterReading)).all()} == {stored(engine)[0].meter_id}
    reasons = [q.reason for q in quarantined(engine)]
    assert sum("not a finite number" in r for r in reasons) == 4 and sum("from 0 to" in r for r in reasons) == 2


# --- the lockout under concurrency ------------------------------------------------------------------------------


def events(engine, username: str) -> list[AuditEvent]:
    with Session(engine) as s:
        return s.exec(select(AuditEvent).where(AuditEvent.username == username).order_by(AuditEvent.id)).all()


def dashboard_sign_in(username: str, password: str) -> str:
    """The message the dashboard's sign-in form shows (the database is ``CARBON_DATABASE_URL``)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    assert not at.exception and "viewer" not in at.session_state
    return at.error[0].value


def test_simultaneous_wrong_sign_ins_get_no_more_password_checks_than_the_limit(engine, db_url, monkeypatch):
    add_user(engine, "qp-staff", PASSWORD, "region", region="qingpu")
    n = 30
    engines = [db.make_engine(db_url) for _ in range(n)]  # one engine (own connection pool) per attacker
    barrier = threading.Barrier(n)

    def attempt(i: int):
        barrier.wait()
        return authenticate(engines[i], "qp-staff", f"guess-{i:02d}")

    try:
        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(attempt, range(n)))
    finally:
        for e in engines:
            e.dispose()
    assert results == [None] * n
    logged = events(engine, "qp-staff")
    checked = [e for e in logged if e.action == "login_failed"]  # an attempt whose password was verified
    locked = [e for e in logged if e.action == "login_locked"]  # refused before any check
    # at most the limit were checked; the attempts are counted one at a time, so exactly the limit
    assert len(checked) == LOCKOUT_FAILURES, [(e.action, e.detail) for e in logged]
    assert all('"wrong_password"' in e.detail for e in checked)
    attempts = [e for e in logged if e.action == "login_attempt"]  # every attempt, recorded before any check
    assert len(checked) + len(locked) == n == len(attempts) == len(logged) - n  # appended, never rewritten

    # the right password is refused while locked, with the same message as a wrong one
    monkeypatch.setenv("CARBON_DATABASE_URL", db_url)
    locked_message = dashboard_sign_in("qp-staff", PASSWORD)
    assert events(engine, "qp-staff")[-1].action == "login_locked"
    assert locked_message == dashboard_sign_in("nobody-at-all", "not the password")
    assert "用户名或密码错误" in locked_message
