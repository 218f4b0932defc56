"""Display names of categories: regions, sectors, carriers, bases, statuses, roles and LMDI effects, in Chinese and
English.  Fields (figures and columns) take their labels from the registry, ``carbon.fields``."""

from __future__ import annotations

from carbon import codes, reference


def _pairs(*kinds: str) -> dict[str, tuple[str, str]]:
    return {c: (codes.label(k, c, "zh"), codes.label(k, c, "en")) for k in kinds for c in codes.codes(k)}


BASIS = _pairs("basis")
STATUS = _pairs("target_status", "peak_status")
ROLE = _pairs("role")
EFFECTS = _pairs("effect")


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
