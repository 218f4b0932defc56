"""Numbers, units and dates as Chinese readers expect them (万吨CO₂e, 万吨标准煤, 2024年1月), English second.

Pure functions; ``lang`` is ``zh`` or ``en``.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from carbon.fields import NO_DATA

WAN = 10_000


# Every ASCII punctuation character may be backslash-escaped in CommonMark, which turns off all of its syntax: links,
# images (a remote request), emphasis, headings, HTML, and Streamlit's own ``:color[...]``, ``:material/...:`` and
# ``$...$``.
_MARKDOWN_SYNTAX = re.compile(r"([!-/:-@\[-`{-~])")


def plain(text: object) -> str:
    """Untrusted text (a name, code, file name, cell or a message quoting one) for a Streamlit element that renders
    Markdown, so that it shows exactly as written and nothing in it is rendered or fetched.  One line."""
    return _MARKDOWN_SYNTAX.sub(r"\\\1", " ".join(str(text).split()))


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _tonnes(value: float | None, zh_unit: str, en_unit: str, lang: str) -> str:
    """Tonnes of something: 万 + ``zh_unit`` at or above 10^4 in Chinese, whole ``en_unit`` in English; "无数据" /
    "no data" when there is none (never 0)."""
    if _missing(value):
        return NO_DATA[lang]
    if lang == "en":
        return f"{value:,.0f} {en_unit}"
    return f"{value / WAN:,.2f} 万{zh_unit}" if abs(value) >= WAN else f"{value:,.1f} {zh_unit}"


def tonnes_co2e(value: float | None, lang: str = "zh") -> str:
    """Emissions: ``35.73 万吨CO₂e`` at or above 10^4 t, else ``1,234.0 吨CO₂e``; English ``357,337 t CO₂e``."""
    return _tonnes(value, "吨CO₂e", "t CO₂e", lang)


def tce(value: float | None, lang: str = "zh") -> str:
    """Energy: ``11.25 万吨标准煤`` or ``950.0 吨标准煤``; English ``112,507 tce``."""
    return _tonnes(value, "吨标准煤", "tce", lang)


def number(value: float | None, digits: int = 2) -> str:
    """A plain number with thousands separators (the unit is in the label)."""
    return "—" if _missing(value) else f"{value:,.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    """A share or change as a percentage (``-1.3%``)."""
    return "—" if _missing(value) else f"{value * 100:.{digits}f}%"


def month(ts: pd.Timestamp | str, lang: str = "zh") -> str:
    """``2024年1月`` / ``Jan 2024``."""
    ts = pd.Timestamp(ts)
    return f"{ts.year}年{ts.month}月" if lang == "zh" else ts.strftime("%b %Y")


def year(y: int, lang: str = "zh") -> str:
    """``2024年`` / ``2024``."""
    return f"{y}年" if lang == "zh" else str(y)


def date(day: object, lang: str = "zh") -> str:
    """A calendar date: ``2026年3月31日`` / ``31 Mar 2026``."""
    d = pd.Timestamp(day)
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else f"{d.day} {d:%b} {d.year}"


def as_of(ts: pd.Timestamp | None, lang: str = "zh") -> str:
    """An as-of time in Beijing time: ``2026年11月25日 18:30``."""
    if ts is None or pd.isna(ts):
        return "尚无结果" if lang == "zh" else "no results yet"
    local = pd.Timestamp(ts).tz_convert("Asia/Shanghai")
    if lang == "zh":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（北京时间）"
    return f"{local:%Y-%m-%d %H:%M} (Beijing time)"


def duration(seconds: float | None, lang: str = "zh") -> str:
    """A time span as people say it, in its two largest whole units: ``2天3小时``, ``5小时12分钟``, ``40分钟``;
    English ``2 d 3 h``.  Under a minute ``不到1分钟``; "无数据" / "no data" when there is none (never 0)."""
    if _missing(seconds):
        return NO_DATA[lang]
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    zh, en = ("天", "小时", "分钟"), ("d", "h", "min")
    parts = [(n, u) for n, u in zip((days, hours, mins), range(3), strict=True) if n]
    if not parts:
        return "不到1分钟" if lang == "zh" else "under 1 min"
    first = parts[0][1]
    shown = [(n, u) for n, u in parts if u <= first + 1]
    if lang == "zh":
        return "".join(f"{n}{zh[u]}" for n, u in shown)
    return " ".join(f"{n} {en[u]}" for n, u in shown)
