"""Reference tables shipped with the package: regions, sectors, industry divisions, energy carriers."""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

from carbon.errors import InputError

JURISDICTIONS = ("qingpu", "wujiang", "jiashan")


def read_data(name: str) -> pd.DataFrame:
    """A CSV of the package's ``carbon/data/`` as text, empty cells as empty strings."""
    with resources.files("carbon").joinpath(f"data/{name}").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


@cache
def regions() -> pd.DataFrame:
    """The zone and its three jurisdictions (admin code, province ISO code, grid)."""
    return read_data("regions.csv").set_index("id")


@cache
def sectors() -> pd.DataFrame:
    """Dashboard sectors with Chinese and English names."""
    return read_data("sectors.csv").set_index("id")


@cache
def industry_divisions() -> pd.DataFrame:
    """GB/T 4754-2017 divisions (2-digit codes) with names and their dashboard sector."""
    return read_data("industry_divisions.csv").set_index("code")


@cache
def carriers() -> pd.DataFrame:
    """Energy carriers: kind, scope, canonical unit and accepted names."""
    return read_data("carriers.csv").set_index("id")


@cache
def electricity_flows() -> pd.DataFrame:
    """How electricity supplied out and generated on site enter the totals (sign against purchased electricity),
    with the method's text and source; see ``carbon/data/electricity_flows.csv``."""
    table = read_data("electricity_flows.csv").set_index("carrier")
    table["sign"] = table["sign"].astype(int)
    return table


@cache
def carrier_lookup() -> dict[str, str]:
    """Map every accepted carrier name (id, Chinese, English, alias; case-insensitive) to its id."""
    table: dict[str, str] = {}
    for cid, row in carriers().iterrows():
        names = [cid, row["name_zh"], row["name_en"], *[a for a in row["aliases"].split("|") if a]]
        for n in names:
            table[n.strip().lower()] = str(cid)
    return table


def region_ids(region: str) -> list[str]:
    """The jurisdictions covered by ``region`` (``zone`` covers all three)."""
    if region == "zone":
        return list(JURISDICTIONS)
    if region not in JURISDICTIONS:
        raise InputError(
            f"未知区域 {region}，可选：zone、qingpu、wujiang、jiashan",
            f"Unknown region {region}; choose zone, qingpu, wujiang or jiashan",
            value=region,
        )
    return [region]


def industry_division(code: str) -> str:
    """Validate a GB/T 4754-2017 industry code (division, group or class) and return its 2-digit division."""
    c = str(code).strip().upper()
    if c[:1].isalpha():
        c = c[1:]
    if not (c.isdigit() and 2 <= len(c) <= 4):
        raise InputError(
            f"行业代码 {code} 格式不对：应为 GB/T 4754-2017 的2至4位数字代码（如 26 或 2614）",
            f"Industry code {code} is malformed: give a 2- to 4-digit GB/T 4754-2017 code (e.g. 26 or 2614)",
            value=code,
        )
    if c[:2] not in industry_divisions().index:
        raise InputError(
            f"行业代码 {code} 的大类 {c[:2]} 不在 GB/T 4754-2017 中",
            f"Industry code {code}: division {c[:2]} does not exist in GB/T 4754-2017",
            value=code,
        )
    return c[:2]
