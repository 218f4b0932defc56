"""Display names of categories: regions, sectors, carriers, bases, statuses, roles and LMDI effects, in Chinese and
English.  Fields (figures and columns) take their labels from the registry, ``carbon.fields``."""

from __future__ import annotations

from carbon import reference

BASIS = {
    "location": ("基于位置（生态环境部省级平均因子）", "location (MEE provincial average)"),
    "local": ("地方口径（地方规定因子）", "local (jurisdiction's own rule)"),
    "market": ("基于市场（绿电计零、剩余组合）", "market (green power at zero, residual mix)"),
}
STATUS = {
    "on_track": ("进度正常", "on track"),
    "at_risk": ("有风险", "at risk"),
    "off_track": ("滞后", "off track"),
    "no_base_data": ("缺基年数据", "no base-year data"),
    "no_data": ("本年无数据，无法评估", "no data for the year: cannot be assessed"),
    "peaked": ("已达峰", "peaked"),
    "projected": ("预计达峰", "peak projected"),
    "rising": ("仍在上升", "still rising"),
    "declining_from_first_year": (
        "首个数据年份以来下降或持平，峰值年份未知",
        "falling or flat since the first year of data; the peak year is unknown",
    ),
    "insufficient_data": ("数据不足", "insufficient data"),
}
ROLE = {
    "zone": ("示范区执委会", "zone executive committee"),
    "region": ("区县生态环境部门", "jurisdiction bureau"),
    "enterprise": ("企业用户", "enterprise user"),
}
EFFECTS = {
    "activity": ("经济规模", "activity"),
    "structure": ("产业结构", "structure"),
    "intensity": ("能源强度", "energy intensity"),
    "fuel_mix": ("能源结构", "fuel mix"),
    "emission_factor": ("排放因子", "emission factors"),
}


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def region(region_id: str, lang: str) -> str:
    r = reference.regions().loc[region_id]
    return r["name_zh"] if lang == "zh" else r["name_en"]


def sector(sector_id: str, lang: str) -> str:
    s = reference.sectors().loc[sector_id]
    return s["name_zh"] if lang == "zh" else s["name_en"]


def carrier(carrier_id: str, lang: str) -> str:
    c = reference.carriers()
    if carrier_id not in c.index:
        return carrier_id
    return c.loc[carrier_id, "name_zh"] if lang == "zh" else c.loc[carrier_id, "name_en"]


PROVINCES = {
    "CN": ("全国", "national"),
    "CN-SH": ("上海市", "Shanghai"),
    "CN-JS": ("江苏省", "Jiangsu"),
    "CN-ZJ": ("浙江省", "Zhejiang"),
}


def target_region(region_id: str, lang: str) -> str:
    """A target's region: a zone region, a province or the country."""
    if region_id in PROVINCES:
        return pick(PROVINCES[region_id], lang)
    return region(region_id, lang)
