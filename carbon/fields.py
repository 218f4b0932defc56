"""The registry of fields: every figure and column the system serves, defined once as data.

Each field has a name that carries its unit (``emissions_tco2e``, ``energy_tce``,
``carbon_intensity_tco2e_per_10k_cny``), a kind, a unit, the number of digits it is shown with, Chinese and
English labels and a short description in both languages (``carbon/data/fields.csv``).  Units are written in
the project's pint syntax (``carbon/data/units.txt``) and labelled once in ``carbon/data/field_units.csv``
(Chinese conventions: 吨二氧化碳当量 tCO2e, 吨标准煤 tce, 万元); ``dimensionless`` is a pure number, share, code
or text, and ``per_row`` a value whose unit its own row states (a factor's ``unit`` column, a carrier's canonical
unit).

CLI tables (``header``), dashboard columns (``title``, ``label``) and exports (``rename_for_export``) take their
labels from here.  Pure lookups, the tables read once per process.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from carbon.reference import read_data

LANGS = ("zh", "en")
DIMENSIONLESS = "dimensionless"
PER_ROW = "per_row"
KINDS = ("figure", "share", "count", "integer", "code", "text", "flag", "time", "link")
# what a figure without data reads as, wherever it is shown (never 0, never blank)
NO_DATA = {"zh": "无数据", "en": "no data"}


@cache
def registry() -> pd.DataFrame:
    """The fields (``carbon/data/fields.csv``), indexed by name: kind, unit, digits, labels and descriptions."""
    return read_data("fields.csv").set_index("name")


@cache
def units() -> pd.DataFrame:
    """Labels of the units fields use (``carbon/data/field_units.csv``), indexed by unit: the suffix a field name
    in that unit ends with, Chinese and English labels and the symbol the CLI adds to the Chinese label."""
    return read_data("field_units.csv").set_index("unit")


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"language must be zh or en, not {lang!r}")
    return lang


@cache
def field(name: str) -> pd.Series:
    """One field's row; ``KeyError`` naming the registry for a name that is not in it."""
    table = registry()
    if name not in table.index:
        raise KeyError(f"{name!r} is not a field of carbon/data/fields.csv")
    return table.loc[name]


def exists(name: object) -> bool:
    """Whether ``name`` is a field."""
    return isinstance(name, str) and name in registry().index


def kind(name: str) -> str:
    """The field's kind: figure, share, count, integer, code, text, flag, time or link."""
    return str(field(name)["kind"])


def unit(name: str) -> str:
    """The field's unit in the project's pint syntax, ``dimensionless`` or ``per_row``."""
    return str(field(name)["unit"])


def digits(name: str) -> int | None:
    """Decimal places the field is shown with (shares: of the percentage), or None for non-numbers."""
    d = field(name)["digits"]
    return int(d) if d else None


@cache
def label(name: str, lang: str = "zh") -> str:
    """The field's label without unit: ``碳排放量`` / ``emissions``."""
    return str(field(name)[f"label_{_lang(lang)}"])


@cache
def description(name: str, lang: str = "zh") -> str:
    """The field's short description."""
    return str(field(name)[f"description_{_lang(lang)}"])


@cache
def unit_label(name: str, lang: str = "zh") -> str:
    """The field's unit as readers write it (``吨二氧化碳当量`` / ``tCO2e``); empty for dimensionless and per-row
    fields."""
    u = unit(name)
    if u in (DIMENSIONLESS, PER_ROW):
        return ""
    return str(units().loc[u, f"label_{_lang(lang)}"])


@cache
def title(name: str, lang: str = "zh") -> str:
    """Label with unit for a column or an axis: ``碳排放强度（吨二氧化碳当量/万元）`` /
    ``carbon intensity (tCO2e per 10^4 CNY)``."""
    text, u = label(name, lang), unit_label(name, lang)
    if not u:
        return text
    return f"{text}（{u}）" if lang == "zh" else f"{text} ({u})"


@cache
def header(name: str) -> str:
    """Bilingual header for CLI tables: ``碳排放量 / emissions (吨二氧化碳当量 tCO2e)``,
    ``增加值 / value added (万元)``."""
    text = f"{label(name, 'zh')} / {label(name, 'en')}"
    u = unit(name)
    if u in (DIMENSIONLESS, PER_ROW):
        return text
    zh, symbol = units().loc[u, "label_zh"], units().loc[u, "symbol"]
    return f"{text} ({zh} {symbol})" if symbol else f"{text} ({zh})"


def rename_for_export(df: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """A copy of ``df`` whose field columns are headed by their ``title`` in ``lang``; other columns (months,
    carriers, an uploader's own headers) keep their names.  The values are untouched."""
    _lang(lang)
    return df.rename(columns={c: title(c, lang) for c in df.columns if exists(c)})


def suffix(unit_text: str) -> str:
    """The ending a field name in ``unit_text`` carries (``t_CO2e`` -> ``tco2e``)."""
    return str(units().loc[unit_text, "suffix"])
