"""What a source sends, checked before it becomes a reading: pure functions every connector's decoder shares.

A message, page item or register value that cannot become a reading raises ``DecodeError`` with the reason in
Chinese and English; the connector quarantines it with that reason and goes on, so one poison message never stops
the readings behind it.  Nothing here raises anything else, whatever the input: JSON too large or nested too deep,
invalid UTF-8, timestamps out of range, numbers that are huge, negative, NaN or not numbers, wrong types.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from carbon.limits import limit, max_length, time_limits
from carbon.models import Activity, Meter, RegisterReading

# The limits of what a reading can be: project defaults in ``carbon/data/input_limits.csv``, the same time range as
# files, and the stored length of each text column.
MAX_JSON_BYTES = limit("max_message_bytes")
MAX_JSON_DEPTH = limit("max_message_depth")
MAX_VALUE = float(limit("max_reading_value"))
MAX_INTERVAL = timedelta(days=limit("max_interval_days"))
EARLIEST, LATEST = (t.to_pydatetime() for t in time_limits())
TEXT_LIMITS = {  # characters, as stored
    "enterprise": max_length(Activity.enterprise_uscc),
    "meter": max_length(Meter.meter_code),
    "carrier": max_length(Meter.carrier),
    "unit": max_length(RegisterReading.unit),
}
KINDS = ("interval", "register")


class DecodeError(ValueError):
    """Something a source sent that cannot become a reading; ``zh`` and ``en`` say why."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def shown(value: Any, limit: int = 60) -> str:
    """A value as a reason shows it: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def load_json(payload: bytes, limit: int = MAX_JSON_BYTES) -> Any:
    """``payload`` parsed as JSON (``NaN`` and ``Infinity`` are parsed, and refused where a value is checked)."""
    if len(payload) > limit:
        raise DecodeError(f"内容过大（{len(payload)} 字节，上限 {limit}）", f"payload too large: {len(payload)} bytes")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(
            f"内容不是 UTF-8 文本：{exc.reason}", f"payload is not JSON: not UTF-8 ({exc.reason})"
        ) from None
    try:
        data = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:  # JSONDecodeError, or an integer of more digits than Python converts
        raise DecodeError(f"内容不是 JSON：{exc}", f"payload is not JSON: {exc}") from None
    if depth(data) > MAX_JSON_DEPTH:
        raise _too_deep()
    return data


def _too_deep() -> DecodeError:
    return DecodeError(
        f"JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）", f"payload is not JSON: nested deeper than {MAX_JSON_DEPTH}"
    )


def depth(data: Any) -> int:
    """How deep lists and objects nest in parsed JSON (a scalar is 0), without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def text(value: Any, field: str) -> str:
    """A required text field: a non-empty string without control characters, within its stored length."""
    limit = TEXT_LIMITS[field]
    if not isinstance(value, str) or not value.strip():
        raise DecodeError(f"{field} 缺失或不是文本（{shown(value)}）", f"{field} missing or not text: {shown(value)}")
    if len(value) > limit:
        raise DecodeError(
            f"{field} 超过 {limit} 个字符：{shown(value)}", f"{field} longer than {limit} characters: {shown(value)}"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise DecodeError(f"{field} 含控制字符：{shown(value)}", f"{field} contains control characters: {shown(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800"): valid JSON, but not text a database can hold
        raise DecodeError(
            f"{field} 含无效的 Unicode 字符：{shown(value)}", f"{field} contains invalid Unicode: {shown(value)}"
        ) from None
    return value.strip()


def number(value: Any, field: str = "value") -> float:
    """A reading's value: a finite number (or decimal text) from 0 to ``MAX_VALUE``."""
    if isinstance(value, str) and len(value) <= 40:
        with contextlib.suppress(ValueError):
            value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError(f"{field} {shown(value)} 不是数字", f"{field} {shown(value)} is not a number")
    if not 0 <= value <= MAX_VALUE:  # False for NaN; exact for integers of any size
        raise DecodeError(
            f"{field} {shown(value)} 不在 0 至 {MAX_VALUE:g} 之间（不是有限的非负数）",
            f"{field} {shown(value)} is not a number from 0 to {MAX_VALUE:g}",
        )
    return float(value)


def moment(value: Any, field: str = "timestamp") -> datetime:
    """A time: ISO 8601 text with a UTC offset, or epoch seconds; between ``EARLIEST`` and ``LATEST``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not EARLIEST.timestamp() <= value <= LATEST.timestamp():  # False for NaN
            raise _out_of_range(value, field)
        return datetime.fromtimestamp(0, UTC) + timedelta(seconds=float(value))  # seconds since the Unix epoch
    if not isinstance(value, str) or not value:
        raise DecodeError(f"{field} 缺失或类型错误（{shown(value)}）", f"{field} missing or not a time: {shown(value)}")
    try:
        if len(value) > 64:
            raise ValueError(value)
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DecodeError(
            f"{field} {shown(value)} 不是 ISO 8601 时间", f"{field} {shown(value)} is not ISO 8601"
        ) from None
    if t.tzinfo is None or t.utcoffset() is None:
        raise DecodeError(f"{field} {shown(value)} 缺少 UTC 偏移", f"{field} {shown(value)} has no UTC offset")
    try:
        utc = t.astimezone(UTC)
    except OverflowError:
        raise _out_of_range(value, field) from None
    if not EARLIEST <= utc <= LATEST:
        raise _out_of_range(value, field)
    return t


def _out_of_range(value: Any, field: str) -> DecodeError:
    return DecodeError(
        f"{field} {shown(value)} 超出时间范围（{EARLIEST:%Y}–{LATEST:%Y}年）",
        f"{field} {shown(value)} is out of range ({EARLIEST:%Y} to {LATEST:%Y})",
    )


def interval_start(end: datetime, seconds: Any) -> datetime:
    """The start of an interval ending at ``end`` that lasts ``seconds`` (a positive number up to a year)."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 < seconds <= MAX_INTERVAL.total_seconds()
    ):
        raise DecodeError(
            f"interval_seconds {shown(seconds)} 不是 0 至 {MAX_INTERVAL.days} 天之间的秒数",
            f"interval_seconds {shown(seconds)} is not a number of seconds from 0 to {MAX_INTERVAL.days} days",
        )
    start = end.astimezone(UTC) - timedelta(seconds=float(seconds))
    if start < EARLIEST:
        raise _out_of_range(start.isoformat(), "start")
    return start


def reading(
    enterprise: Any, meter: Any, carrier: Any, kind: Any, start: Any, end: Any, value: Any, unit: Any
) -> dict[str, Any]:
    """One reading record (``carbon.intake.READING_COLUMNS``), every field checked; ``start`` only for intervals."""
    if kind not in KINDS:
        raise DecodeError(
            f"kind {shown(kind)} 须为 interval 或 register", f"kind {shown(kind)} is not interval or register"
        )
    end_time = moment(end, "end")
    start_time = moment(start, "start") if kind == "interval" else None
    if start_time is not None and not timedelta(0) < end_time - start_time <= MAX_INTERVAL:
        raise DecodeError(
            f"时段 {start_time.isoformat()} 至 {end_time.isoformat()} 不是 0 至 {MAX_INTERVAL.days} 天",
            f"interval {start_time.isoformat()} to {end_time.isoformat()} is not from 0 to {MAX_INTERVAL.days} days",
        )
    return {
        "enterprise": text(enterprise, "enterprise"),
        "meter": text(meter, "meter"),
        "carrier": text(carrier, "carrier"),
        "kind": kind,
        "start": start_time.isoformat() if start_time else None,
        "end": end_time.isoformat(),
        "value": number(value),
        "unit": text(unit, "unit"),
    }
