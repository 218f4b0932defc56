"""Readable Chinese and English text for the flag codes that results carry (``code:arg:...``).

Carriers, areas and provinces in a flag are named by their labels (``carbon/data/carriers.csv``, the ``area`` kind
of ``carbon/data/codes.csv``), never by their ids: ``tce_from_ncv:bituminous_coal`` reads
"烟煤无折标系数，按低位发热量折算".
"""

from __future__ import annotations

from carbon import codes, reference

_TEXT = {
    "vintage_fallback": (
        "{carrier}：{year}年因子尚未发布，采用{area}{older}年因子",
        "{carrier}: the {year} factor is not yet published; the {older} factor for {area} is used",
    ),
    "vintage_later_than_data": (
        "{carrier}：{year}年无因子，采用{area}较晚的{older}年因子",
        "{carrier}: no factor for {year}; the later {older} factor for {area} is used",
    ),
    "region_fallback": (
        "{carrier}：{province}无省级因子，采用{area}因子",
        "{carrier}: no provincial factor for {province}; the {area} factor is used",
    ),
    "tce_from_ncv": (
        "{carrier}无折标系数，按低位发热量折算",
        "{carrier} has no coal-equivalent coefficient; converted from its net calorific value",
    ),
    "unverified_factor": ("因子 {factor} 未经核实", "factor {factor} is unverified"),
    "single_source_factor": ("因子 {factor} 仅有单一来源", "factor {factor} has a single secondary source"),
    "period_split": (
        "{rows}条记录跨月，已按时间比例拆分",
        "{rows} rows crossed a month boundary and were split in proportion to time",
    ),
    "electricity_flow": ("{method_zh}", "{method_en}"),
    "no_activity": ("该年度无活动数据", "no activity data for this year"),
}


def carrier_label(carrier: str, lang: str = "zh") -> str:
    """A carrier's name (``carbon/data/carriers.csv``): ``烟煤`` / ``bituminous coal``; ``KeyError`` if unknown."""
    return str(reference.carriers().loc[carrier, f"name_{lang}"])


def area_label(area: str, lang: str = "zh") -> str:
    """A factor's area (province, regional grid, country, a zone region): ``上海市`` / ``Shanghai``."""
    return codes.area(area, lang)


def _arguments(code: str, args: list[str], lang: str) -> dict[str, str]:
    """The named parts of a flag's arguments, labelled in ``lang``."""
    if code in ("vintage_fallback", "vintage_later_than_data"):
        carrier, area, span = args
        older, year = span.split("->")
        return {
            "carrier": carrier_label(carrier, lang),
            "area": area_label(area, lang),
            "older": older,
            "year": year,
        }
    if code == "region_fallback":
        province, area = args[1].split("->")
        return {
            "carrier": carrier_label(args[0], lang),
            "province": area_label(province, lang),
            "area": area_label(area, lang),
        }
    if code == "tce_from_ncv":
        return {"carrier": carrier_label(args[0], lang)}
    if code in ("unverified_factor", "single_source_factor"):
        return {"factor": args[0]}
    if code == "period_split":
        return {"rows": args[0]}
    if code == "electricity_flow":
        rule = reference.electricity_flows().loc[args[0]]
        return {"method_zh": rule["method_zh"], "method_en": rule["method_en"]}
    return {}


def text(flag: str, lang: str = "zh") -> str:
    """``code:arg:...`` as a sentence in ``lang`` (``zh`` or ``en``).

    ``KeyError`` for a flag code without text, or a carrier or area without a label (a defect: add the text here or
    the label to the registry, never show the raw flag)."""
    code, *args = flag.split(":")
    if code not in _TEXT:
        raise KeyError(f"flag {code!r} has no text in carbon/flags.py")
    zh, en = _TEXT[code]
    return (zh if lang == "zh" else en).format(**_arguments(code, args, lang))


def describe(flag: str) -> str:
    """``code:arg:...`` to a bilingual sentence for CLI text: ``烟煤无折标系数，按低位发热量折算 / bituminous coal
    has no coal-equivalent coefficient; converted from its net calorific value``."""
    return f"{text(flag, 'zh')} / {text(flag, 'en')}"
