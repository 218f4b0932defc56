"""Readable Chinese and English text for the flag codes that results carry."""

from __future__ import annotations

from carbon import reference

_TEXT = {
    "vintage_fallback": (
        "{0}年因子尚未发布，采用{2}地区{1}年因子",
        "the {0} factor is not yet published; the {1} vintage for {2} is used",
    ),
    "vintage_later_than_data": (
        "{0}年无因子，采用{2}地区较晚的{1}年因子",
        "no factor for {0}; the later {1} vintage for {2} is used",
    ),
    "region_fallback": ("{1}无省级因子，采用{2}因子", "no provincial factor for {1}; the {2} factor is used"),
    "tce_from_ncv": (
        "{0}无折标系数，按低位发热量折算",
        "{0} has no coal-equivalent coefficient; converted from its NCV",
    ),
    "unverified_factor": ("因子 {0} 未经核实", "factor {0} is unverified"),
    "single_source_factor": ("因子 {0} 仅有单一来源", "factor {0} has a single secondary source"),
    "period_split": (
        "{0}条记录跨月，已按时间比例拆分",
        "{0} rows crossed a month boundary and were split in proportion to time",
    ),
    "electricity_flow": ("{0}", "{1}"),
    "no_activity": ("该年度无活动数据", "no activity data for this year"),
}


def describe(flag: str) -> str:
    """``code:arg:...`` to a bilingual sentence (the code itself if unknown)."""
    code, *args = flag.split(":")
    if code in ("vintage_fallback", "vintage_later_than_data"):
        _carrier, region, span = args
        older, year = span.split("->")
        args = [year, older, region]
    elif code == "region_fallback":
        args = [args[0], *args[1].split("->")]
    elif code == "electricity_flow":
        rule = reference.electricity_flows().loc[args[0]]
        args = [rule["method_zh"], rule["method_en"]]
    if code not in _TEXT:
        return flag
    zh, en = _TEXT[code]
    return f"{zh.format(*args)} / {en.format(*args)}"
