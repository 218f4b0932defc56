"""Readable Chinese and English text for what results carry: their flags (``code:arg:...``) and the factor records
they used.

Carriers, areas and provinces are named by their labels (``carbon/data/carriers.csv``, the ``area`` kind of
``carbon/data/codes.csv``), never by their ids: ``tce_from_ncv:bituminous_coal`` reads "烟煤无折标系数，按低位发热量
折算"; a factor record reads "排放因子 0.5737 千克二氧化碳/千瓦时（上海市，2023年，基于位置（…），公告2025年第47号）".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

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


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip()) and not pd.isna(value)


def factor_text(row: Mapping[str, Any], lang: str = "zh") -> str:
    """One factor record (a row of the library) as a reader cites it: what it is, its value and unit as written,
    and in brackets its area, year (when it has one), basis and document number (else title)."""
    what = codes.label("factor_parameter", str(row["parameter"]), lang)
    if row["parameter"] == "gwp" and _given(row.get("gas")):
        what += f" {codes.label('gas', str(row['gas']), lang)}"
    parts = [codes.area(str(row["region"]), lang)]
    if _given(row.get("vintage")):
        year = int(float(row["vintage"]))
        parts.append(f"{year}年" if lang == "zh" else str(year))
    parts.append(codes.label("factor_basis", str(row["basis"]), lang))
    number = row.get("document_number")
    parts.append(str(number if _given(number) else row["document_title"]))
    unit = codes.label("unit", str(row["unit"]), lang)
    shown = f"{what} {float(row['value']):g}{'' if unit == '%' else ' '}{unit}"
    return f"{shown}（{'，'.join(parts)}）" if lang == "zh" else f"{shown} ({', '.join(parts)})"


def factors_text(ids: str | list[str], library: pd.DataFrame, lang: str = "zh") -> str:
    """The records of a result's factor ids (a list, or comma-separated) described from ``library`` (indexed by
    id), in order; an id the library does not hold is named as it is.  "—" for none."""
    wanted = ids.split(",") if isinstance(ids, str) else list(ids)
    out = [factor_text(library.loc[i], lang) if i in library.index else i for i in wanted if i]
    return ("；" if lang == "zh" else "; ").join(out) or "—"
