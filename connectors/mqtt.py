"""MQTT meters: readings that IoT meters publish to ``carbon/<enterprise>/<meter>/reading``.

Payload (JSON): ``{"timestamp": "2024-05-01T00:15:00+08:00", "value": 1.25, "unit": "kWh", "kind": "interval"}``;
``kind`` is ``interval`` (``timestamp`` ends the interval; ``interval_seconds`` or ``start`` give its start,
default ``interval_seconds`` from the configuration) or ``register`` (``timestamp`` is the read time);
``carrier`` defaults to the configuration's ``carrier`` (electricity).  Epoch seconds are accepted.

Delivery: QoS 1 on a persistent session (MQTT 5, ``clean_start`` off, session expiry), so the broker keeps
messages while the connector is away.  Messages are acknowledged by hand only after their batch is stored;
messages of a connection that dropped are never acknowledged (the broker sends them again and storage counts
them as duplicates): nothing lost, nothing twice.  The broker must keep the backlog: ``persistence true`` and
``max_queued_messages 0`` (see ``connectors/mosquitto.conf``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from connectors.base import Connector, Fetched, TransientError, records_frame
from connectors.decoding import DecodeError, interval_start, load_json, moment, reading, shown

TOPIC = "carbon/+/+/reading"
RECEIVE_MAXIMUM = 10_000  # un-acknowledged messages the broker may send us at once (one batch)


def decode_message(
    topic: str, payload: bytes, carrier: str = "electricity", interval_seconds: float = 900
) -> dict[str, Any]:
    """One MQTT message to a reading record (``READING_COLUMNS``); raises ``DecodeError`` and nothing else,
    whatever the payload (the checks of ``connectors.decoding``).  Pure."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "carbon" or parts[3] != "reading" or not parts[1] or not parts[2]:
        raise DecodeError(
            f"主题 {shown(topic)} 不是 carbon/<企业>/<表号>/reading",
            f"topic {shown(topic)} is not carbon/<enterprise>/<meter>/reading",
        )
    body = load_json(payload)
    if not isinstance(body, dict):
        raise DecodeError("内容不是 JSON 对象", "payload is not a JSON object")
    kind = body.get("kind", "interval")
    end = moment(body.get("timestamp"))
    start = None
    if kind == "interval":
        if "start" in body:
            start = moment(body["start"], "start")
        else:
            start = interval_start(end, body.get("interval_seconds", interval_seconds))
    return reading(
        parts[1],
        parts[2],
        body.get("carrier", carrier),
        kind,
        start.isoformat() if start else None,
        end.isoformat(),
        body.get("value"),
        body.get("unit"),
    )


class MqttMeters(Connector):
    """Drains the persistent session in batches; the runtime stores each batch, then it is acknowledged."""

    def __init__(self, config) -> None:
        super().__init__(config)
        self._client: mqtt.Client | None = None
        self._lock = threading.Lock()
        self._inbox: list[tuple[int, mqtt.MQTTMessage]] = []  # (connection generation, message)
        self._generation = 0
        self._connected = threading.Event()

    def _connect(self) -> mqtt.Client:
        o = self.config.options
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=o.get("client_id", f"carbon-{self.config.name}"),
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if o.get("username"):
            password = self.config.secret("password")
            client.username_pw_set(o["username"], password.reveal() if password else None)
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = int(o.get("session_expiry_seconds", 7 * 24 * 3600))
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *_: self._connected.clear()
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        try:
            client.connect(
                o.get("host", "127.0.0.1"), int(o.get("port", 1883)), keepalive=30, clean_start=False, properties=props
            )
        except OSError as exc:
            raise TransientError(f"MQTT broker not reachable: {exc.strerror or exc}") from None
        client.loop_start()
        if not self._connected.wait(float(o.get("connect_timeout_seconds", 10))):
            client.loop_stop()
            raise TransientError("MQTT broker did not accept the connection in time")
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            return
        with self._lock:
            self._generation += 1
            self._inbox = []  # messages of the old connection will come again; they were never acknowledged
        client.subscribe(self.config.options.get("topic", TOPIC), qos=1)
        self._connected.set()

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self._inbox.append((self._generation, message))

    def fetch(self, watermark: str | None) -> Fetched:
        if self._client is None:
            self._client = self._connect()
        o = self.config.options
        idle = float(o.get("idle_seconds", 1.0))
        limit = float(o.get("max_seconds", 60))
        started = last = time.monotonic()
        seen = 0
        while True:
            time.sleep(0.02)
            with self._lock:
                n = len(self._inbox)
            now = time.monotonic()
            if n != seen:
                seen, last = n, now
            if n >= RECEIVE_MAXIMUM or (now - last) >= idle or (now - started) >= limit:
                break
        with self._lock:
            batch, self._inbox = self._inbox[:RECEIVE_MAXIMUM], self._inbox[RECEIVE_MAXIMUM:]
        out = Fetched(more=len(batch) >= RECEIVE_MAXIMUM and (time.monotonic() - started) < limit)
        rows = []
        carrier = o.get("carrier", "electricity")
        interval = float(o.get("interval_seconds", 900))
        for generation, m in batch:
            try:
                rows.append(decode_message(m.topic, m.payload, carrier, interval))
            except DecodeError as exc:
                out.quarantined.append((f"{m.topic} {m.payload[:5000].decode('utf-8', 'replace')}", str(exc)))
            out.acknowledge.append((generation, m.mid, m.qos))
        out.records = records_frame(rows)
        return out

    def acknowledge(self, items: list[object]) -> None:
        if self._client is None:
            return
        with self._lock:
            generation = self._generation
        for item_generation, mid, qos in items:  # type: ignore[misc]
            if item_generation == generation and self._connected.is_set():
                self._client.ack(mid, qos)

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
