"""Modbus TCP meters: poll registers given as data and store them as register (meter index) readings.

Each point of the register map: ``meter``, ``carrier`` (default electricity), ``address``, ``register_type``
(``holding`` or ``input``), ``data_type`` (uint16, int16, uint32, int32, float32, uint64, int64, float64),
``word_order`` (``big``: high word first, or ``little``), ``scale`` (multiplier to ``unit``), ``unit``.
Consecutive polls of a cumulative energy register become interval consumption through the same register logic
as uploaded meter readings (rollovers and replacements handled).
"""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime
from typing import Any

from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusException

from connectors.base import Connector, Fetched, TransientError, records_frame
from connectors.decoding import DecodeError, reading, shown

FORMATS = {
    "uint16": "H",
    "int16": "h",
    "uint32": "I",
    "int32": "i",
    "float32": "f",
    "uint64": "Q",
    "int64": "q",
    "float64": "d",
}


def word_count(data_type: str) -> int:
    """How many 16-bit registers a value of ``data_type`` spans."""
    return struct.calcsize(">" + FORMATS[data_type]) // 2


def decode_words(words: list[int], data_type: str, word_order: str = "big") -> float:
    """16-bit register words to a finite number (big-endian bytes within each word); raises ``DecodeError`` for
    a float register holding NaN or infinity, or words that do not fit ``data_type``.  Pure."""
    if data_type not in FORMATS:
        raise DecodeError(
            f"data_type {data_type!r} 须为 {'、'.join(FORMATS)} 之一",
            f"data_type {data_type!r} is not one of {', '.join(FORMATS)}",
        )
    n = word_count(data_type)
    if len(words) != n:
        raise DecodeError(
            f"{data_type} 需要 {n} 个寄存器，收到 {len(words)} 个", f"{data_type} needs {n} registers, got {len(words)}"
        )
    ordered = list(words) if word_order == "big" else list(reversed(words))
    raw = b"".join(struct.pack(">H", w & 0xFFFF) for w in ordered)
    value = float(struct.unpack(">" + FORMATS[data_type], raw)[0])
    if not math.isfinite(value):
        raise DecodeError(
            f"寄存器字 {shown(list(words))} 按 {data_type} 读出 {value}，不是有限数",
            f"register words {shown(list(words))} read as {data_type} give {value}, not a finite number",
        )
    return value


def encode_words(value: float, data_type: str, word_order: str = "big") -> list[int]:
    """The inverse of ``decode_words`` (for simulators and tests)."""
    fmt = FORMATS[data_type]
    raw = struct.pack(">" + fmt, int(value) if fmt not in "fd" else value)
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return words if word_order == "big" else list(reversed(words))


class ModbusMeters(Connector):
    """Polls every point of the register map once per run."""

    def fetch(self, watermark: str | None) -> Fetched:
        o = self.config.options
        client = ModbusTcpClient(
            o.get("host", "127.0.0.1"),
            port=int(o.get("port", 502)),
            timeout=float(o.get("timeout_seconds", 3)),
            retries=0,
        )
        if not client.connect():
            raise TransientError(f"Modbus device {o.get('host', '127.0.0.1')}:{o.get('port', 502)} not reachable")
        out = Fetched()
        rows: list[dict[str, Any]] = []
        try:
            now = datetime.now(UTC).replace(microsecond=0)
            for point in o.get("points", []):
                try:
                    rows.append(self._read(client, point, now))
                except (ModbusException, ValueError, KeyError) as exc:
                    reason = str(exc) if isinstance(exc, DecodeError) else f"{type(exc).__name__}: {exc}"
                    out.quarantined.append((str(point), reason))
        finally:
            client.close()
        out.records = records_frame(rows)
        out.watermark = now.isoformat()
        return out

    def _read(self, client: ModbusTcpClient, point: dict[str, Any], now: datetime) -> dict[str, Any]:
        data_type = point.get("data_type", "uint32")
        count = word_count(data_type)
        device = int(self.config.options.get("device_id", 1))
        read = client.read_input_registers if point.get("register_type") == "input" else client.read_holding_registers
        response = read(int(point["address"]), count=count, device_id=device)
        if response.isError():
            raise ModbusException(f"device answered {response}")
        value = decode_words(response.registers, data_type, point.get("word_order", "big"))
        return reading(
            self.config.options["enterprise"],
            point["meter"],
            point.get("carrier", "electricity"),
            "register",
            None,
            now.isoformat(),
            value * float(point.get("scale", 1)),
            point.get("unit", "kWh"),
        )
