"""Typed columns shared by every shape: cell text to meters, carriers, numbers, units, times and periods.

Every function works on whole columns (pandas Series indexed by the user-visible row number) and reports
problems through ``Issues``; no cell text reaches a parser that can raise anything but our own input errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pint

from carbon import reference
from carbon.errors import InputError
from carbon.ingest.header import Header, dimension_of
from carbon.ingest.rules import Issues
from carbon.ingest.values import ambiguous_numbers, parse_months, parse_numbers, parse_times
from carbon.units import conversion_factor, parse_unit

MAIN_METER = "总表"  # the meter id of files that name none
INTERVAL_COLUMNS = [
    "meter_code",
    "carrier",
    "period_start",
    "period_end",
    "quantity_original",
    "unit_original",
    "quantity_canonical",
]
# The cells a typed column was read from, as the file wrote them (optional columns of the typed frame): what a row's
# issue shows as its value.  A quantity computed from registers or a period inferred from time labels has none.
TEXT_COLUMNS = {"quantity_original": "quantity_text", "period_start": "start_text", "period_end": "end_text"}


def col(data: pd.DataFrame, header: Header, name: str) -> pd.Series | None:
    """Stripped text of the column holding field ``name``, or None."""
    c = header.column(name)
    return None if c is None else data[c].astype(str).str.strip()


def carrier_of_unit(unit: str) -> str | None:
    """The carrier a column measures, from its unit: energy -> electricity (GJ/MJ/TJ: heat), volume -> gas."""
    kind = dimension_of(unit)
    if kind == "energy":
        return "heat" if unit.strip() in ("GJ", "MJ", "TJ") else "electricity"
    return "natural_gas" if kind == "volume" else None


def carriers(data: pd.DataFrame, header: Header, issues: Issues, qty_col: int | None) -> pd.Series:
    """Carrier id per row: the carrier column, else the header word of the quantity column, else its unit (in
    the header, or each row's unit column: kWh -> electricity, m3 -> natural gas, GJ -> heat)."""
    text = col(data, header, "carrier")
    if text is not None:
        ids = text.str.lower().map(reference.carrier_lookup())
        table = reference.carriers()
        issues.add(
            ids.isna(),
            "unknown_carrier",
            text,
            accepted_zh="、".join(table["name_zh"]),
            accepted_en=", ".join(table.index),
        )
        return ids
    hint = header.carriers.get(qty_col) if qty_col is not None else None
    if hint is None and qty_col is not None and (by_unit := carrier_of_unit(header.unit_of(qty_col))):
        hint = (by_unit, False)
    unit_text = col(data, header, "unit")
    if hint is None and unit_text is not None:  # a unit column: the carrier each row's unit measures
        by_row = unit_text.map({u: carrier_of_unit(u) for u in unit_text.unique()})
        if by_row.notna().all():
            return by_row
    if hint is None:
        raise InputError(
            "无法确定能源品种：请加“能源品种”列，或在用量表头写明（如 用电量、用气量）",
            "Cannot tell the carrier: add a carrier column or name it in the quantity header (e.g. 用电量, 用气量)",
        )
    carrier, assumed = hint
    if assumed:
        issues.add(
            pd.Series(True, index=data.index[:1]),
            "assumed_carrier",
            pd.Series("", index=data.index[:1]),
            column=header.names[qty_col],
            header=header.names[qty_col],
        )
    return pd.Series(carrier, index=data.index, dtype=object)


def units(data: pd.DataFrame, header: Header, qty_col: int | None) -> pd.Series:
    """Unit per row: the unit column, else the quantity column's unit (header, units line or title)."""
    text = col(data, header, "unit")
    default = header.unit_of(qty_col) if qty_col is not None else ""
    if text is None:
        return pd.Series(default, index=data.index, dtype=object)
    return text.where(text != "", default)


def to_canonical(carrier: pd.Series, unit: pd.Series, issues: Issues) -> pd.Series:
    """Multiplier to each row's carrier canonical unit; NaN (and an issue) where the unit is missing or wrong.

    One conversion per distinct (carrier, unit) pair; works by position, so the index may repeat.
    """
    table = reference.carriers()
    out = np.full(len(carrier), np.nan)
    issues.add(carrier.notna() & (unit == ""), "missing_unit", unit)
    known = (carrier.notna() & (unit != "")).to_numpy()
    pairs = pd.DataFrame({"c": carrier.to_numpy(), "u": unit.to_numpy()}).loc[known]
    for (cid, u), pos in pairs.groupby(["c", "u"]).indices.items():
        rows = pairs.index[pos]
        canonical = table.loc[cid, "canonical_unit"]
        mask = np.zeros(len(carrier), dtype=bool)
        mask[rows] = True
        mask = pd.Series(mask, index=carrier.index)
        try:
            out[rows] = conversion_factor(u, canonical)
        except pint.errors.DimensionalityError:
            if dimension_of(u) == "power":
                issues.add(mask, "power_unit", unit)
                continue
            issues.add(
                mask, "wrong_dimension", unit, carrier=cid, carrier_zh=table.loc[cid, "name_zh"], canonical=canonical
            )
        except ValueError:
            issues.add(mask, "unknown_unit", unit)
    return pd.Series(out, index=carrier.index)


def _same_unit(a: str, b: str) -> bool:
    try:
        return parse_unit(a).dimensionality == parse_unit(b).dimensionality and conversion_factor(a, b) == 1
    except (ValueError, pint.errors.DimensionalityError):
        return False


def numbers(text: pd.Series, header: Header, issues: Issues, column: str) -> pd.Series:
    """Numbers in the file's convention; NaN and an issue where missing, ambiguous or not numeric."""
    return _numbers(text, header, issues, column)[0]


def _numbers(text: pd.Series, header: Header, issues: Issues, column: str) -> tuple[pd.Series, pd.Series]:
    values, inline = parse_numbers(text, header.decimal_comma)
    unread = (values.isna() & (text != "")).to_numpy()  # only a cell that did not parse can be ambiguous
    ambiguous = pd.Series(np.zeros(len(text), dtype=bool), index=text.index)
    if unread.any():
        ambiguous[unread] = ambiguous_numbers(text[unread], header.decimal_comma).to_numpy()
    issues.add(text == "", "missing_value", text, column=column)
    issues.add(ambiguous, "ambiguous_number", text, column=column, value=text)
    issues.add(values.isna() & (text != "") & ~ambiguous, "not_a_number", text, column=column)
    return values, inline


def quantities(
    text: pd.Series, unit: pd.Series, header: Header, issues: Issues, column: str
) -> tuple[pd.Series, pd.Series]:
    """Numbers (NaN and an issue where missing or not numeric) and the unit, filled from inline unit text."""
    values, inline = _numbers(text, header, issues, column)
    has_inline = inline != ""
    unit = unit.where(~(has_inline & (unit == "")), inline)
    both = has_inline & (unit != inline)
    if both.any():
        differ = both & pd.Series([not _same_unit(a, b) for a, b in zip(inline, unit, strict=True)], index=unit.index)
        issues.add(differ, "unit_conflict", text, inline=inline, unit=unit)
    return values, unit


def times(text: pd.Series | None, issues: Issues, column: str) -> pd.Series:
    """Local date/time text to UTC timestamps; NaT and an issue where missing or unreadable."""
    assert text is not None
    t = parse_times(text)
    issues.add(text == "", "missing_value", text, column=column)
    issues.add(t.isna() & (text != ""), "bad_time", text, column=column)
    return t


AMBIGUOUS_MONTH = r"^\d{4}\.\d$"  # 2024.1: January, or October shown by a spreadsheet as a number


def month_labels(text: pd.Series) -> bool:
    """True if every non-empty cell is a month label (``2024-01``, ``202401``, ``2024年1月``) or an ambiguous
    one (``2024.1``, refused by ``month_issues``)."""
    filled = pd.Series(pd.unique(text.loc[text != ""].to_numpy()), dtype=object)

    def months(part: pd.Series) -> bool:
        return bool((parse_months(part)[0].notna() | part.str.match(AMBIGUOUS_MONTH)).all())

    return not filled.empty and months(filled.head(20)) and months(filled)


def month_issues(text: pd.Series, start: pd.Series, issues: Issues, column: str) -> None:
    """Month labels that could not be read: ``2024.1`` is ambiguous, anything else unreadable."""
    ambiguous = text.str.match(AMBIGUOUS_MONTH)
    issues.add(ambiguous, "ambiguous_month", text, column=column, value=text)
    issues.add(start.isna() & (text != "") & ~ambiguous, "bad_time", text, column=column)


def meters(text: pd.Series | None, index: pd.Index, issues: Issues) -> pd.Series:
    """Meter ids; a file without a meter column is one main meter (``MAIN_METER``) per carrier."""
    if text is None:
        return pd.Series(MAIN_METER, index=index, dtype=object)
    issues.add(text == "", "missing_meter", text)
    return text


def identity(data: pd.DataFrame, header: Header, issues: Issues) -> pd.Series:
    """The meter of each row, named by the identity column (计量点编号/表号, else 户号, else 资产编号)."""
    c = header.identity()
    return meters(None if c is None else data[c].astype(str).str.strip(), data.index, issues)


def frame(
    meter: pd.Series,
    carrier: pd.Series,
    start: pd.Series,
    end: pd.Series,
    qty: pd.Series,
    unit: pd.Series,
    factor: pd.Series,
    written: dict[str, pd.Series | None] | None = None,
) -> pd.DataFrame:
    """The typed interval rows every shape yields (``INTERVAL_COLUMNS``), and the cell text each typed column was
    read from where the shape has it (``written``: typed column -> text aligned with the rows, added as its
    ``TEXT_COLUMNS`` column)."""
    typed = {
        "meter_code": meter,
        "carrier": carrier,
        "period_start": start,
        "period_end": end,
        "quantity_original": qty,
        "unit_original": unit,
        "quantity_canonical": qty * factor,
    }
    texts = {TEXT_COLUMNS[c]: t for c, t in (written or {}).items() if t is not None}
    return pd.DataFrame({**typed, **texts})


def empty_frame() -> pd.DataFrame:
    none = pd.Series(dtype=object)
    stamp = pd.Series(dtype="datetime64[us, UTC]")
    return frame(none, none, stamp, stamp, pd.Series(dtype=float), none, pd.Series(dtype=float))
