"""Labels of coded values (enums): bases, statuses, roles, factor status, file shapes, audit actions, connector
kinds ... defined once as data (``carbon/data/codes.csv``: kind, code, Chinese and English label).

Every coded value a person reads (dashboard, CLI text, exports) goes through ``label``; a code without a label is
a defect, so ``label`` raises rather than showing the raw code.  Regions, sectors and carriers keep their own
reference tables (``carbon.reference``).
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from carbon import reference
from carbon.reference import read_data

LANGS = ("zh", "en")


@cache
def table() -> pd.DataFrame:
    """The code labels, indexed by (kind, code)."""
    return read_data("codes.csv").set_index(["kind", "code"])


def kinds() -> list[str]:
    """Every kind of code the registry labels."""
    return sorted(table().index.get_level_values("kind").unique())


@cache
def codes(kind: str) -> tuple[str, ...]:
    """The codes of one kind, in the registry's order; ``KeyError`` for an unknown kind."""
    if kind not in kinds():
        raise KeyError(f"{kind!r} is not a kind of carbon/data/codes.csv")
    return tuple(table().loc[kind].index)


@cache
def label(kind: str, code: str, lang: str = "zh") -> str:
    """The label of ``code`` of ``kind`` in ``lang`` (``zh`` or ``en``): ``label("basis", "local")`` →
    ``地方口径（地方规定因子）``.  ``KeyError`` naming the registry when the code has no label."""
    if lang not in LANGS:
        raise ValueError(f"language must be zh or en, not {lang!r}")
    key = (kind, str(code))
    if key not in table().index:
        raise KeyError(f"{kind}:{code!r} has no label in carbon/data/codes.csv")
    return str(table().loc[key, f"label_{lang}"])


def bilingual(kind: str, code: str) -> str:
    """``中文 / English`` for CLI text: ``进度正常 / on track``."""
    return f"{label(kind, code, 'zh')} / {label(kind, code, 'en')}"


def column(values: pd.Series, kind: str, lang: str = "zh") -> pd.Series:
    """A column of codes as their labels (missing values stay missing, so tables show them as no data)."""
    mapping = {c: label(kind, c, lang) for c in codes(kind)}
    unknown = set(values.dropna().astype(str)) - set(mapping)
    if unknown:
        raise KeyError(f"{kind}: {sorted(unknown)!r} have no label in carbon/data/codes.csv")
    return values.map(lambda c: c if pd.isna(c) else mapping[str(c)])


def area(area_id: str, lang: str = "zh") -> str:
    """Where a factor or target applies, by name: a zone region (``carbon/data/regions.csv``), else a province,
    regional grid, the country or the world (the ``area`` kind): ``CN-SH`` -> ``上海市`` / ``Shanghai``."""
    regions = reference.regions()
    if area_id in regions.index:
        return str(regions.loc[area_id, f"name_{lang}"])
    return label("area", area_id, lang)
