"""MQTT end to end: N readings published to a local Mosquitto, stored by the MQTT connector, vs a bare subscriber.

Ours: the connector's persistent QoS 1 session drained in batches through the validated, idempotent storage path
into a fresh SQLite database (acknowledged after storing), timed from the first publish to the last stored
reading.  Baseline, same run and broker: a bare QoS 1 subscriber that only counts messages.  The broker is a
local `mosquitto` with the project's settings (connectors/mosquitto.conf).  The meters publish from a process of
their own in both runs, as real meters do (not sharing the receiver's interpreter).

    python benchmarks/mqtt_throughput.py [--messages 200000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carbon import db  # noqa: E402
from carbon.enterprises import add_enterprise  # noqa: E402
from carbon.uscc import check_character  # noqa: E402
from connectors.config import ConnectorConfig  # noqa: E402
from connectors.runtime import run_once  # noqa: E402
from connectors.state import load_state  # noqa: E402
from tests.mqtt_broker import Broker  # noqa: E402

METERS = 100
ENT = "91330421000000999" + check_character("91330421000000999")


def messages(n: int) -> list[tuple[str, bytes]]:
    start = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=8)))
    out = []
    for i in range(n):
        meter, step = i % METERS, i // METERS
        end = start + timedelta(minutes=15 * (step + 1))
        body = {"timestamp": end.isoformat(), "value": 1.0 + (i % 7) / 10, "unit": "kWh", "kind": "interval"}
        out.append((f"carbon/{ENT}/M{meter:03d}/reading", json.dumps(body).encode()))
    return out


def publish(port: int, msgs: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for lo in range(0, len(msgs), 1000):  # as fast as the broker acknowledges, 1000 in flight
        infos = [client.publish(t, b, qos=1) for t, b in msgs[lo : lo + 1000]]
        for info in infos:
            info.wait_for_publish(timeout=120)
    client.disconnect()
    client.loop_stop()


def meters(port: int, msgs: list[tuple[str, bytes]]) -> multiprocessing.Process:
    """The meters publishing, started in a process of their own."""
    process = multiprocessing.get_context("fork").Process(target=publish, args=(port, msgs))
    process.start()
    return process


def bare(port: int, msgs: list[tuple[str, bytes]]) -> float:
    """Seconds from the first publish until a counting QoS 1 subscriber has seen every message."""
    done = threading.Event()
    count = [0]

    def on_message(*_: object) -> None:
        count[0] += 1
        if count[0] == len(msgs):
            done.set()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-counter")
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe("carbon/+/+/reading", qos=1)
    sub.loop_start()
    time.sleep(0.5)
    t0 = time.perf_counter()
    publisher = meters(port, msgs)
    done.wait(600)
    took = time.perf_counter() - t0
    publisher.join()
    sub.disconnect()
    sub.loop_stop()
    return took


def ours(port: int, msgs: list[tuple[str, bytes]], folder: Path) -> tuple[float, int]:
    """Seconds from the first publish until the connector has stored every reading, and how many it stored."""
    engine = db.make_engine(f"sqlite:///{folder / 'bench.db'}")
    db.initialise(engine)
    add_enterprise(engine, code=ENT, name="基准测试企业", region="jiashan", industry="26")
    config = ConnectorConfig(
        "bench-meters",
        "mqtt",
        5,
        {"port": port, "client_id": "bench-connector", "idle_seconds": 0.5, "max_seconds": 600},
    )
    run_once(engine, config)  # creates the persistent session
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            run_once(engine, config)
            if load_state(engine, "bench-meters", "mqtt").readings_stored >= len(msgs):
                stop.set()

    worker = threading.Thread(target=drain)
    t0 = time.perf_counter()
    worker.start()
    publisher = meters(port, msgs)
    stop.wait(1800)
    took = time.perf_counter() - t0
    stop.set()
    worker.join()
    publisher.join()
    return took, load_state(engine, "bench-meters", "mqtt").readings_stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    args = parser.parse_args()
    msgs = messages(args.messages)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Broker(folder)
        broker.start()
        try:
            t_bare = bare(broker.port, msgs)
            t_ours, stored = ours(broker.port, msgs, folder)
        finally:
            broker.stop()
    n = len(msgs)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"messages: {n:,} (QoS 1, {METERS} meters, 15-minute readings)")
    print(f"bare subscriber (count only):            {t_bare:7.2f} s  {n / t_bare:10,.0f} msg/s")
    print(
        f"MQTT connector, stored end to end:       {t_ours:7.2f} s  {stored / t_ours:10,.0f} readings/s "
        f"({stored:,} stored)"
    )
    print(f"ratio connector/bare time: {t_ours / t_bare:.2f}x")


if __name__ == "__main__":
    main()
