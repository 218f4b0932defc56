"""Numbers, units and dates as Chinese readers expect them (万吨, 吨标准煤, 万kWh, 2024年1月), English second.

Pure functions; ``lang`` is ``zh`` or ``en``.
"""

from __future__ import annotations

import math

import pandas as pd

WAN = 10_000


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def tonnes_co2e(value: float | None, lang: str = "zh") -> str:
    """Emissions: ``35.73 万吨CO₂e`` at or above 10^4 t, else ``1,234 吨CO₂e``; English ``357,337 t CO₂e``."""
    if _missing(value):
        return "—"
    if lang == "en":
        return f"{value:,.0f} t CO₂e"
    return f"{value / WAN:,.2f} 万吨CO₂e" if abs(value) >= WAN else f"{value:,.1f} 吨CO₂e"


def tce(value: float | None, lang: str = "zh") -> str:
    """Energy: ``11.25 万吨标准煤`` or ``950.0 吨标准煤``; English ``112,507 tce``."""
    if _missing(value):
        return "—"
    if lang == "en":
        return f"{value:,.0f} tce"
    return f"{value / WAN:,.2f} 万吨标准煤" if abs(value) >= WAN else f"{value:,.1f} 吨标准煤"


def kwh(value: float | None, lang: str = "zh") -> str:
    """Electricity in 万kWh (Chinese) or MWh (English)."""
    if _missing(value):
        return "—"
    return f"{value / WAN:,.1f} 万kWh" if lang == "zh" else f"{value / 1000:,.0f} MWh"


def intensity(value: float | None, unit: str, lang: str = "zh") -> str:
    """An intensity per 10^4 CNY: ``0.0079 吨CO₂e/万元`` / ``0.0079 t CO₂e per 10⁴ CNY``."""
    if _missing(value):
        return "—"
    names = {
        "tco2e": ("吨CO₂e/万元", "t CO₂e per 10⁴ CNY"),
        "tce": ("吨标准煤/万元", "tce per 10⁴ CNY"),
    }[unit]
    return f"{value:.4f} {names[0] if lang == 'zh' else names[1]}"


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


def as_of(ts: pd.Timestamp | None, lang: str = "zh") -> str:
    """An as-of time in Beijing time: ``2026年11月25日 18:30``."""
    if ts is None or pd.isna(ts):
        return "尚无结果" if lang == "zh" else "no results yet"
    local = pd.Timestamp(ts).tz_convert("Asia/Shanghai")
    if lang == "zh":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（北京时间）"
    return f"{local:%Y-%m-%d %H:%M} (Beijing time)"
