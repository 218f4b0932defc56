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

import json
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pandas as pd
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from carbon.intake import READING_COLUMNS
from connectors.base import Connector, Fetched, TransientError, records_frame
from connectors.decoding import (
    EARLIEST,
    LATEST,
    MAX_INTERVAL,
    MAX_JSON_BYTES,
    MAX_VALUE,
    DecodeError,
    interval_start,
    load_json,
    moment,
    reading,
    shown,
    text,
)

TOPIC = "carbon/+/+/reading"
RECEIVE_MAXIMUM = 50_000  # un-acknowledged messages the broker may send us at once (the next batches keep coming)
BATCH = 20_000  # messages stored (one transaction per enterprise) and acknowledged together at most


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


# What the column checks of ``decode_batch`` settle: an interval reading ending at a time written as
# ``datetime.isoformat`` writes it (seconds, microseconds only when not zero, an offset of hours and minutes), so the
# record keeps the text as sent; anything else goes through ``decode_message``.
_OFFSET = r"(?:[01]\d|2[0-3]):[0-5]\d"
_ISOFORMAT = (
    rf"\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}(?:\.(?!000000)\d{{6}})?(?:\+{_OFFSET}|-(?!00:00){_OFFSET})"
)
_PLAIN = (str, int, float, bool, type(None))
_EXACT_INT = 2**53  # integers a float holds exactly


def _plain_body(payload: bytes) -> dict[str, Any] | None:
    """The JSON object of a payload whose values are all scalars (depth 1, so within every limit ``load_json``
    checks), or None for anything else (left to ``decode_message``)."""
    if len(payload) > MAX_JSON_BYTES:
        return None
    try:
        body = json.loads(payload.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if type(body) is not dict or not all(type(v) in _PLAIN for v in body.values()):
        return None
    return body


def _checked_texts(values: pd.Series, field: str) -> pd.Series:
    """Each text value as ``connectors.decoding.text`` gives it (stripped), None where it refuses it or the value is
    not text; checked once per distinct value."""
    distinct: dict[Any, str | None] = {}
    for v in values.unique():
        try:
            distinct[v] = text(v, field) if type(v) is str else None
        except DecodeError:
            distinct[v] = None
    # A plain lookup: a dict mapper would build an index of the values, and a value with no UTF-8 form (a lone
    # surrogate) cannot become an Arrow string.
    return pd.Series([distinct[v] for v in values], index=values.index, dtype=object)


def _topic_parts(topic: str) -> tuple[str, str] | None:
    """Enterprise and meter of a reading topic, checked as ``decode_message`` checks them; None if it refuses."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "carbon" or parts[3] != "reading" or not parts[1] or not parts[2]:
        return None
    try:
        return text(parts[1], "enterprise"), text(parts[2], "meter")
    except DecodeError:
        return None


def _utc_isoformat(t: pd.Series) -> pd.Series:
    """UTC times as ``datetime.isoformat`` writes them (``2024-05-01T00:15:00+00:00``, microseconds when not 0)."""
    frac = t.dt.strftime(".%f").where(t.dt.microsecond != 0, "")
    return t.dt.strftime("%Y-%m-%dT%H:%M:%S") + frac + "+00:00"


def decode_batch(
    messages: Sequence[tuple[str, bytes]], carrier: str = "electricity", interval_seconds: float = 900
) -> tuple[pd.DataFrame, list[tuple[int, DecodeError]]]:
    """Messages ``(topic, payload)`` to reading records (``READING_COLUMNS``, in message order, index = the
    message's position) and the position and reason of each message that cannot become one: exactly what
    ``decode_message`` gives one by one.  The common message (an interval reading with an ISO time, a number
    and a unit) is checked for whole columns at once; the others go through ``decode_message``.  Pure."""
    n = len(messages)
    topics = {t: _topic_parts(t) for t in {t for t, _ in messages}}
    bodies = [_plain_body(p) if topics[t] is not None else None for t, p in messages]
    pos = np.array([i for i, b in enumerate(bodies) if b is not None], dtype=np.int64)
    fast = np.zeros(len(pos), dtype=bool)
    frame = pd.DataFrame(columns=READING_COLUMNS)
    if len(pos):
        got = [bodies[i] for i in pos]

        def column(key: str, default: Any = None) -> pd.Series:
            return pd.Series([b.get(key, default) for b in got], dtype=object)

        kind, ts, value, secs = (
            column("kind", "interval"),
            column("timestamp"),
            column("value"),
            column("interval_seconds", interval_seconds),
        )
        unit, carr = _checked_texts(column("unit"), "unit"), _checked_texts(column("carrier", carrier), "carrier")
        written = ts.where(ts.map(lambda v: type(v) is str), "")
        end = pd.to_datetime(
            written.where(written.str.fullmatch(_ISOFORMAT)), format="ISO8601", utc=True, errors="coerce"
        )
        secs_num = pd.to_numeric(secs.where(secs.map(_exact_number)), errors="coerce")
        whole = (secs_num > 0) & (secs_num <= MAX_INTERVAL.total_seconds()) & (np.floor(secs_num) == secs_num)
        seconds = pd.to_timedelta(secs_num.where(whole), unit="s")
        start = end - seconds
        number = pd.to_numeric(value.where(value.map(_exact_number)), errors="coerce")
        fast = (
            (kind == "interval")
            & ~pd.Series(["start" in b for b in got])
            & unit.notna()
            & carr.notna()
            & (end >= EARLIEST)
            & (end <= LATEST)
            & (seconds > pd.Timedelta(0))
            & (seconds <= MAX_INTERVAL)
            & (start >= EARLIEST)
            & (number >= 0)
            & (number <= MAX_VALUE)
        ).to_numpy()
        parts = [topics[messages[i][0]] for i in pos[fast]]
        frame = pd.DataFrame(
            {
                "enterprise": [p[0] for p in parts],  # type: ignore[index]
                "meter": [p[1] for p in parts],  # type: ignore[index]
                "carrier": carr[fast].to_numpy(),
                "kind": "interval",
                "start": _utc_isoformat(start[fast]).to_numpy(),
                "end": written[fast].to_numpy(),
                "value": number[fast].to_numpy(dtype=float),
                "unit": unit[fast].to_numpy(),
            },
            index=pos[fast],
            columns=READING_COLUMNS,
        )
    rest = np.setdiff1d(np.arange(n), pos[fast])
    slow, refused = {}, []
    for i in rest:
        topic, payload = messages[i]
        try:
            slow[int(i)] = decode_message(topic, payload, carrier, interval_seconds)
        except DecodeError as exc:
            refused.append((int(i), exc))
    if slow:
        frame = pd.concat([frame, pd.DataFrame.from_dict(slow, orient="index", columns=READING_COLUMNS)]).sort_index()
    if frame.empty:
        return records_frame([]), refused
    texts = {c: "str" for c in READING_COLUMNS if c != "value"}
    return frame.astype(texts | {"value": float}), refused


def _exact_number(v: Any) -> bool:
    """A JSON number a float holds exactly (not a bool, not an integer beyond 2**53)."""
    return type(v) is float or (type(v) is int and -_EXACT_INT < v < _EXACT_INT)


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
        """The messages received so far, once ``BATCH`` are in, no new one came for ``idle_seconds``, or
        ``batch_seconds`` passed with some in (the broker goes on sending the next while this batch is stored:
        ``RECEIVE_MAXIMUM`` un-acknowledged at once); ``more`` unless the session went idle or ``max_seconds``
        passed.  Decoded for the whole batch at once (``decode_batch``)."""
        if self._client is None:
            self._client = self._connect()
        o = self.config.options
        idle = float(o.get("idle_seconds", 1.0))
        linger = float(o.get("batch_seconds", 1.0))
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
            flowing = n >= BATCH or (n and now - started >= linger and now - last < idle)
            if flowing or (now - last) >= idle or (now - started) >= limit:
                break
        with self._lock:
            batch, self._inbox = self._inbox[:BATCH], self._inbox[BATCH:]
        out = Fetched(more=bool(flowing) and (time.monotonic() - started) < limit)
        o_carrier, interval = o.get("carrier", "electricity"), float(o.get("interval_seconds", 900))
        records, refused = decode_batch([(m.topic, m.payload) for _, m in batch], o_carrier, interval)
        for i, exc in refused:
            m = batch[i][1]
            out.quarantined.append((f"{m.topic} {m.payload[:5000].decode('utf-8', 'replace')}", str(exc)))
        out.acknowledge = [(generation, m.mid, m.qos) for generation, m in batch]
        out.records = records.reset_index(drop=True)
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
