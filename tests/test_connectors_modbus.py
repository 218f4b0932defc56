"""The Modbus TCP connector against a pymodbus server on 127.0.0.1 holding a meter's energy registers."""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session, select

from carbon.enterprises import add_enterprise
from carbon.models import Activity, ConnectorState, RegisterReading
from connectors.config import ConnectorConfig
from connectors.modbus_tcp import decode_words, encode_words
from connectors.runtime import run_once
from tests.helpers import uscc
from tests.modbus_meter import Meter

ENT = uscc(91, "330421")


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        ("uint16", 513),
        ("int16", -2),
        ("uint32", 123456789),
        ("int32", -5),
        ("float32", 1.5),
        ("uint64", 2**40 + 3),
        ("float64", 1234.5678),
    ],
)
@pytest.mark.parametrize("order", ["big", "little"])
def test_words_round_trip(data_type, value, order):
    assert decode_words(encode_words(value, data_type, order), data_type, order) == pytest.approx(value)


def test_word_order_matters():
    assert decode_words([0x0001, 0x0000], "uint32", "big") == 65536
    assert decode_words([0x0001, 0x0000], "uint32", "little") == 1
    with pytest.raises(ValueError):
        decode_words([1], "uint32")


@pytest.fixture
def meter():
    m = Meter()
    m.start()
    yield m
    m.stop()
    m.loop.call_soon_threadsafe(m.loop.stop)


@pytest.fixture
def cfg(engine, meter):
    add_enterprise(engine, code=ENT, name="嘉善电表测试", region="jiashan", industry="26")
    points = [
        {
            "meter": "MB-01",
            "address": 0,
            "register_type": "holding",
            "data_type": "uint32",
            "word_order": "big",
            "scale": 0.01,
            "unit": "kWh",
        }
    ]
    return ConnectorConfig(
        "modbus",
        "modbus_tcp",
        60,
        {"port": meter.port, "enterprise": ENT, "points": points, "retries": 1, "retry_base_seconds": 0.01},
    )


def test_polls_of_a_cumulative_register_become_consumption(engine, meter, cfg):
    meter.set_energy(1234.56)
    first = run_once(engine, cfg, sleep=lambda s: None)
    assert first.ok and first.stored == 0  # one reading: nothing to subtract yet
    time.sleep(1.1)
    meter.set_energy(1240.06)
    second = run_once(engine, cfg, sleep=lambda s: None)
    assert second.ok and second.stored == 1
    with Session(engine) as s:
        (row,) = s.exec(select(Activity)).all()
        assert row.quantity_canonical == pytest.approx(5.5) and row.carrier == "electricity"
        assert len(s.exec(select(RegisterReading)).all()) == 2


def test_an_unreachable_meter_fails_the_run_and_is_recorded(engine, meter, cfg):
    meter.stop()
    r = run_once(engine, cfg, sleep=lambda s: None)
    assert not r.ok and "not reachable" in r.error and r.attempts == 2
    with Session(engine) as s:
        st = s.get(ConnectorState, "modbus")
        assert st.consecutive_failures == 1 and st.healthy and "not reachable" in st.last_error
    meter.start()
    assert run_once(engine, cfg, sleep=lambda s: None).ok
