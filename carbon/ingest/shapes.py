"""Recognise what kind of export a sheet is and turn its rows into typed interval rows.

Shapes: ``periods`` (the bureau template, or a unit in the header), ``register`` (meter index readings),
``bill`` (State Grid style bills), ``interval_long`` and ``interval_wide`` (meter / EMS interval data).
Every shape yields the same typed frame (``INTERVAL_COLUMNS``), indexed by the user-visible row number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pint

from carbon import reference
from carbon.errors import InputError
from carbon.ingest.header import Header, carrier_in_words, split_unit
from carbon.ingest.registers import REPLACEMENT_WORDS, register_intervals
from carbon.ingest.rules import Issues, param
from carbon.ingest.values import parse_numbers, parse_times
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
SUPPORTED_INTERVALS = {
    pd.Timedelta(minutes=15): "15min",
    pd.Timedelta(minutes=30): "30min",
    pd.Timedelta(hours=1): "1h",
    pd.Timedelta(days=1): "1d",
}
SHAPES = {
    "bill": ("prev_read_date", "curr_read_date", "prev_register", "curr_register"),
    "register": ("read_at", "register"),
    "periods": ("period_start", "period_end", "quantity"),
    "interval_long": ("timestamp", "meter_id", "quantity"),
    "interval_wide": ("timestamp",),
}

USED = {  # every field a shape reads; other columns are ignored and listed in the report
    "bill": {
        "meter_id",
        "account",
        "bill_month",
        "prev_read_date",
        "curr_read_date",
        "prev_register",
        "curr_register",
        "multiplier",
        "billed_kwh",
    },
    "register": {"meter_id", "carrier", "read_at", "register", "multiplier", "unit", "note"},
    "periods": {"meter_id", "carrier", "period_start", "period_end", "quantity", "unit"},
    "interval_long": {"meter_id", "carrier", "timestamp", "quantity", "unit"},
    "interval_wide": {"timestamp", "quantity"},
}


def ignored_columns(header: Header, shape: str) -> list[str]:
    """Header names of the columns the shape does not read (a wide file reads every unnamed column)."""
    if shape == "interval_wide":
        return [header.names[c] for c, f in header.fields.items() if f not in USED[shape]]
    return [n for c, n in header.names.items() if n.strip() and header.fields.get(c) not in USED[shape]]


@dataclass
class Shaped:
    """Typed interval rows of one sheet, and the register readings to keep (register shape)."""

    shape: str
    rows: pd.DataFrame
    registers: pd.DataFrame | None = None


def detect(header: Header) -> str:
    """The first shape whose required fields the header has."""
    present = set(header.fields.values())
    for shape, needed in SHAPES.items():
        if set(needed) <= present:
            return shape
    raise InputError(
        "无法识别文件格式：需要上报模板列（表号、能源品种、开始时间、结束时间、用量、单位），或抄表示数列（表号、抄表时间、示数），"
        "或电费账单列（户号、上次/本次抄表日期、上次/本次示数、倍率、抄见电量），或带时间列的分时数据",
        "Cannot recognise the file: give the template columns (meter_id, carrier, period_start, period_end, "
        "quantity, unit), register readings (meter_id, read_at, register), a bill (account, previous/current "
        "reading date and register, multiplier, billed kWh) or interval data with a time column",
    )


def _col(data: pd.DataFrame, header: Header, name: str) -> pd.Series | None:
    c = header.column(name)
    return None if c is None else data[c].astype(str).str.strip()


def _carrier(data: pd.DataFrame, header: Header, issues: Issues, qty_col: int | None) -> pd.Series:
    """Carrier id per row: the carrier column, else the header word of the quantity column."""
    text = _col(data, header, "carrier")
    if text is not None:
        ids = text.str.lower().map(reference.carrier_lookup())
        carriers = reference.carriers()
        issues.add(
            ids.isna(),
            "unknown_carrier",
            text,
            accepted_zh="、".join(carriers["name_zh"]),
            accepted_en=", ".join(carriers.index),
        )
        return ids
    hint = header.carriers.get(qty_col) if qty_col is not None else None
    if hint is None and qty_col is not None and (by_unit := _carrier_of_unit(header.units.get(qty_col, ""))):
        hint = (by_unit, False)
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


def _units(data: pd.DataFrame, header: Header, qty_col: int | None) -> pd.Series:
    text = _col(data, header, "unit")
    default = header.units.get(qty_col, "") if qty_col is not None else ""
    if text is None:
        return pd.Series(default, index=data.index, dtype=object)
    return text.where(text != "", default)


def to_canonical(carrier: pd.Series, unit: pd.Series, issues: Issues) -> pd.Series:
    """Multiplier to each row's carrier canonical unit; NaN (and an issue) where the unit is missing or wrong.

    One conversion per distinct (carrier, unit) pair; works by position, so the index may repeat.
    """
    carriers = reference.carriers()
    out = np.full(len(carrier), np.nan)
    issues.add(carrier.notna() & (unit == ""), "missing_unit", unit)
    known = (carrier.notna() & (unit != "")).to_numpy()
    pairs = pd.DataFrame({"c": carrier.to_numpy(), "u": unit.to_numpy()}).loc[known]
    for (cid, u), pos in pairs.groupby(["c", "u"]).indices.items():
        rows = pairs.index[pos]
        canonical = carriers.loc[cid, "canonical_unit"]
        mask = np.zeros(len(carrier), dtype=bool)
        mask[rows] = True
        mask = pd.Series(mask, index=carrier.index)
        try:
            out[rows] = conversion_factor(u, canonical)
        except pint.errors.DimensionalityError:
            issues.add(
                mask, "wrong_dimension", unit, carrier=cid, carrier_zh=carriers.loc[cid, "name_zh"], canonical=canonical
            )
        except ValueError:
            issues.add(mask, "unknown_unit", unit)
    return pd.Series(out, index=carrier.index)


def _quantities(text: pd.Series, unit: pd.Series, issues: Issues, column: str) -> tuple[pd.Series, pd.Series]:
    """Numbers (NaN and an issue where missing or not numeric) and the unit, filled from inline unit text."""
    values, inline = parse_numbers(text)
    issues.add(text == "", "missing_value", text, column=column)
    issues.add(values.isna() & (text != ""), "not_a_number", text, column=column)
    has_inline = inline != ""
    unit = unit.where(~(has_inline & (unit == "")), inline)
    both = has_inline & (unit != inline)
    if both.any():
        differ = both & pd.Series([not _same_unit(a, b) for a, b in zip(inline, unit, strict=True)], index=unit.index)
        issues.add(differ, "unit_conflict", text, inline=inline, unit=unit)
    return values, unit


def _same_unit(a: str, b: str) -> bool:
    try:
        return parse_unit(a).dimensionality == parse_unit(b).dimensionality and conversion_factor(a, b) == 1
    except (ValueError, pint.errors.DimensionalityError):
        return False


def _times(text: pd.Series | None, issues: Issues, column: str) -> pd.Series:
    assert text is not None
    t = parse_times(text)
    issues.add(text == "", "missing_value", text, column=column)
    issues.add(t.isna() & (text != ""), "bad_time", text, column=column)
    return t


def _meters(text: pd.Series | None, index: pd.Index, issues: Issues) -> pd.Series:
    """Meter ids; a file without a meter column is one main meter (``MAIN_METER``) per carrier."""
    if text is None:
        return pd.Series(MAIN_METER, index=index, dtype=object)
    issues.add(text == "", "missing_meter", text)
    return text


def _frame(
    meter: pd.Series,
    carrier: pd.Series,
    start: pd.Series,
    end: pd.Series,
    qty: pd.Series,
    unit: pd.Series,
    factor: pd.Series,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "meter_code": meter,
            "carrier": carrier,
            "period_start": start,
            "period_end": end,
            "quantity_original": qty,
            "unit_original": unit,
            "quantity_canonical": qty * factor,
        }
    )


def _quantity_columns(
    data: pd.DataFrame, header: Header, issues: Issues
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series, pd.Series]:
    """Meter, carrier, quantity, unit and factor to the canonical unit of files with a quantity column."""
    qcol = header.column("quantity")
    meter = _meters(_col(data, header, "meter_id"), data.index, issues)
    carrier = _carrier(data, header, issues, qcol)
    qty, unit = _quantities(_col(data, header, "quantity"), _units(data, header, qcol), issues, "quantity")
    return meter, carrier, qty, unit, to_canonical(carrier, unit, issues)


def periods(data: pd.DataFrame, header: Header, issues: Issues) -> Shaped:
    """The bureau template (or any file with start, end and quantity columns)."""
    meter, carrier, qty, unit, factor = _quantity_columns(data, header, issues)
    start = _times(_col(data, header, "period_start"), issues, "period_start")
    end = _times(_col(data, header, "period_end"), issues, "period_end")
    return Shaped("periods", _frame(meter, carrier, start, end, qty, unit, factor))


def _infer_intervals(
    meter: pd.Series, t: pd.Series, issues: Issues, t_text: pd.Series, end_labelled: bool
) -> tuple[pd.Series, pd.Series]:
    """Each row's period from its time label and its meter's inferred interval (15 min, 30 min, 1 h, 1 d).

    Works by position, so the index may repeat (a wide file has one row per line and meter).
    """
    naive = t.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()  # datetime64, not one Timestamp per row
    frame = pd.DataFrame({"m": meter.to_numpy(), "t": naive, "pos": np.arange(len(t))})
    frame = frame.dropna(subset=["t"]).sort_values(["m", "t"], kind="stable")
    step = frame.groupby("m")["t"].diff()
    modes = step.groupby(frame["m"]).agg(lambda s: s.mode().iloc[0] if s.notna().any() else pd.NaT)
    overall = step.mode()
    fallback = overall.iloc[0] if len(overall) else pd.NaT
    chosen = frame["m"].map(modes).fillna(fallback)
    interval = np.full(len(t), np.timedelta64("NaT"), dtype="timedelta64[ns]")
    interval[frame["pos"].to_numpy()] = chosen.to_numpy(dtype="timedelta64[ns]")
    interval = pd.Series(interval, index=t.index)
    supported = interval.isin(list(SUPPORTED_INTERVALS))
    issues.add(t.notna() & ~supported, "unknown_interval", t_text)
    pos = frame["pos"].to_numpy()
    short = np.zeros(len(t), dtype=bool)
    short[pos] = (step.notna() & (step < chosen)).to_numpy()

    def step_text() -> pd.Series:
        text = np.full(len(t), "", dtype=object)
        text[pos] = step.astype(str).to_numpy()
        return pd.Series(text, index=t.index)

    issues.add(
        pd.Series(short, index=t.index) & supported,
        "irregular_interval",
        t_text,
        detail=step_text,
        interval=lambda: interval.map(SUPPORTED_INTERVALS),
    )
    interval = interval.where(supported)
    start = t - interval if end_labelled else t
    return start, start + interval


def interval_long(data: pd.DataFrame, header: Header, issues: Issues) -> Shaped:
    """One row per meter and interval: a time label, a meter, a value."""
    meter, carrier, qty, unit, factor = _quantity_columns(data, header, issues)
    t_text = _col(data, header, "timestamp")
    t = _times(t_text, issues, "timestamp")
    start, end = _infer_intervals(meter, t, issues, t_text, _end_labelled(header))
    return Shaped("interval_long", _frame(meter, carrier, start, end, qty, unit, factor))


def _end_labelled(header: Header) -> bool:
    name = header.names[header.column("timestamp")].lower()
    return any(w in name for w in ("结束", "截止", "end"))


def _carrier_of_unit(unit: str) -> str | None:
    """The carrier a wide-file column measures, from its unit: energy -> electricity (GJ/MJ/TJ: heat), volume -> gas."""
    try:
        dim = parse_unit(unit).dimensionality
    except ValueError:
        return None
    if dim == parse_unit("kWh").dimensionality:
        return "heat" if unit.strip() in ("GJ", "MJ", "TJ") else "electricity"
    if dim == parse_unit("m3").dimensionality:
        return "natural_gas"
    return None


def interval_wide(data: pd.DataFrame, header: Header, issues: Issues) -> Shaped:
    """A time column and one column per meter (its header = meter id, unit in the header or a units line)."""
    tcol = header.column("timestamp")
    meter_cols = [c for c, n in header.names.items() if c != tcol and c not in header.fields and n.strip()]
    meter_cols += [c for c, f in header.fields.items() if f == "quantity"]
    if not meter_cols:
        raise InputError("分时数据没有表计列", "Interval data without meter columns")
    t_text = data[tcol].astype(str).str.strip()
    t = _times(t_text, issues, "timestamp")
    pieces = []
    for c in meter_cols:
        name, unit = split_unit(header.names[c])
        unit = header.units.get(c) or unit
        carrier, _ = carrier_in_words(name)
        carrier = carrier or _carrier_of_unit(unit)
        if carrier is None:
            raise InputError(
                f"无法确定列“{header.names[c]}”的能源品种：请在表头写明单位（如 kWh、m3）或能源（电、气）",
                f"Cannot tell the carrier of column {header.names[c]}: put a unit (kWh, m3) or carrier in its header",
            )
        text = data[c].astype(str).str.strip()
        pieces.append(
            pd.DataFrame(
                {
                    "meter": header.names[c].strip(),
                    "carrier": carrier,
                    "unit": unit,
                    "text": text,
                    "t": t,
                    "t_text": t_text,
                }
            )
        )
    long = pd.concat(pieces)
    long = long.loc[long["text"] != ""]  # an empty cell in a wide file is no reading, not an error
    sub = Issues()
    qty, unit = _quantities(long["text"], long["unit"], sub, "quantity")
    factor = to_canonical(long["carrier"], unit, sub)
    start, end = _infer_intervals(long["meter"], long["t"], sub, long["t_text"], _end_labelled(header))
    issues.items.extend(sub.items)
    issues.refused |= sub.refused
    return Shaped("interval_wide", _frame(long["meter"], long["carrier"], start, end, qty, unit, factor))


def _replaced(note: pd.Series | None, index: pd.Index) -> pd.Series:
    if note is None:
        return pd.Series(False, index=index)
    low = note.str.lower()
    return pd.Series(np.logical_or.reduce([low.str.contains(w, regex=False) for w in REPLACEMENT_WORDS]), index=index)


def register(
    data: pd.DataFrame,
    header: Header,
    issues: Issues,
    previous: Callable[[list[str]], pd.DataFrame] | None = None,
) -> Shaped:
    """Register readings: consumption between consecutive readings of a meter, rollovers and replacements handled.

    ``previous(meter_codes)``: the stored readings of those meters (``meter_code``, ``read_at``, ``register``,
    ``multiplier``), so a file holding one reading per meter still yields the interval since the last upload.
    """
    rcol = header.column("register")
    meter = _meters(_col(data, header, "meter_id"), data.index, issues)
    carrier = _carrier(data, header, issues, rcol)
    reg, unit = _quantities(_col(data, header, "register"), _units(data, header, rcol), issues, "register")
    factor = to_canonical(carrier, unit, issues)
    mtext = _col(data, header, "multiplier")
    if mtext is None:
        mult = pd.Series(1.0, index=data.index)
    else:
        mult, _ = parse_numbers(mtext.where(mtext != "", "1"))
        issues.add(mult.isna() | (mult <= 0), "not_a_number", mtext, column="multiplier")
    read_at = _times(_col(data, header, "read_at"), issues, "read_at")
    readings = pd.DataFrame(
        {
            "meter_code": meter,
            "carrier": carrier,
            "read_at": read_at,
            "register": reg,
            "multiplier": mult,
            "unit": unit,
            "factor": factor,
            "replaced": _replaced(_col(data, header, "note"), data.index),
            "source_row": data.index.astype(int),
        },
        index=data.index,
    )
    return register_steps(readings, issues, previous)


def register_steps(
    readings: pd.DataFrame, issues: Issues, previous: Callable[[list[str]], pd.DataFrame] | None = None
) -> Shaped:
    """Typed register readings to intervals: rollovers, replacements and decreases reported.

    ``readings`` (indexed by row): ``meter_code``, ``carrier``, ``read_at``, ``register``, ``multiplier``,
    ``unit``, ``factor`` (to the canonical unit), ``replaced``, ``source_row``.
    """
    usable = readings.loc[issues.ok(readings.index)]
    stored = previous(sorted(usable["meter_code"].unique())) if previous is not None else None
    fresh, earlier = _against_stored(usable, stored, issues)
    steps = register_intervals(pd.concat([earlier, fresh], ignore_index=True), param("register_drop"))
    steps = steps.loc[steps["source_row"] >= 0].set_index("source_row", drop=False)
    steps.index = steps.index.astype(int)
    if steps.empty:
        none = pd.Series(dtype=object)
        stamp = pd.Series(dtype="datetime64[us, UTC]")
        return Shaped("register", _frame(none, none, stamp, stamp, none, none, none), registers=fresh)
    rows_text = readings["register"].astype(str).reindex(steps.index)
    kinds = steps["kind"]
    issues.add(
        kinds == "rollover",
        "register_rollover",
        rows_text,
        maximum=steps["maximum"].map("{:g}".format),
        quantity=steps["quantity"].map("{:g}".format),
    )
    detail = steps["earlier"].map("{:g}".format) + " → " + steps["later"].map("{:g}".format)
    flagged = readings["replaced"].reindex(steps.index).fillna(False).astype(bool)
    issues.add((kinds == "replaced") & flagged, "meter_replaced", rows_text, detail=detail)
    issues.add((kinds == "replaced") & ~flagged, "register_drop", rows_text, detail=detail)
    issues.add(kinds == "decrease", "register_decrease", rows_text, detail=detail)
    counted = steps.loc[steps["kind"].isin(["ok", "rollover"])]
    src = readings.loc[counted.index]
    frame = _frame(
        counted["meter_code"],
        src["carrier"],
        counted["period_start"],
        counted["period_end"],
        counted["quantity"],
        src["unit"],
        src["factor"],
    )
    return Shaped("register", frame, registers=fresh.loc[issues.ok(fresh.index)])


def _against_stored(
    readings: pd.DataFrame, previous: pd.DataFrame | None, issues: Issues
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off readings already stored (same meter and time); a different stored register is an error.

    Returns the readings not yet stored and the stored ones of the same meters (``source_row`` -1).
    """
    if previous is None or previous.empty or readings.empty:
        return readings, readings.iloc[:0]
    prev = previous.loc[previous["meter_code"].isin(readings["meter_code"])]
    merged = readings.reset_index(names="_row").merge(
        prev[["meter_code", "read_at", "register"]], on=["meter_code", "read_at"], how="left", suffixes=("", "_s")
    )
    seen = merged["register_s"].notna()
    clash = merged.loc[seen & (merged["register_s"] != merged["register"])].set_index("_row")
    issues.add(
        pd.Series(True, index=clash.index),
        "register_conflict",
        clash["register"].map("{:g}".format),
        stored=clash["register_s"].map("{:g}".format),
    )
    fresh = readings.loc[~readings.index.isin(merged.loc[seen, "_row"])]
    return fresh, prev.assign(replaced=False, source_row=-1)


def bill(data: pd.DataFrame, header: Header, issues: Issues) -> Shaped:
    """State Grid style electricity bills: one row per account and billing period, energy in kWh."""
    account = _col(data, header, "meter_id")
    if account is None:
        account = _col(data, header, "account")
    meter = _meters(account, data.index, issues)
    prev_r, _ = _quantities(
        _col(data, header, "prev_register"), pd.Series("kWh", index=data.index), issues, "prev_register"
    )
    curr_r, _ = _quantities(
        _col(data, header, "curr_register"), pd.Series("kWh", index=data.index), issues, "curr_register"
    )
    mtext = _col(data, header, "multiplier")
    mult = parse_numbers(mtext.where(mtext != "", "1"))[0] if mtext is not None else pd.Series(1.0, index=data.index)
    computed = (curr_r - prev_r) * mult
    btext = _col(data, header, "billed_kwh")
    if btext is not None:
        billed, _ = parse_numbers(btext)
        issues.add(billed.isna() & (btext != ""), "not_a_number", btext, column="billed_kwh")
        tolerance = param("bill_mismatch") + 0.001 * billed.abs()
        mismatch = billed.notna() & computed.notna() & ((computed - billed).abs() > tolerance)
        issues.add(
            mismatch, "bill_mismatch", btext, computed=computed.map("{:g}".format), billed=billed.map("{:g}".format)
        )
        qty = billed.where(billed.notna(), computed)
    else:
        qty = computed
    start = _times(_col(data, header, "prev_read_date"), issues, "prev_read_date")
    end = _times(_col(data, header, "curr_read_date"), issues, "curr_read_date")
    carrier = pd.Series("electricity", index=data.index, dtype=object)
    unit = pd.Series("kWh", index=data.index, dtype=object)
    return Shaped("bill", _frame(meter, carrier, start, end, qty, unit, pd.Series(1.0, index=data.index)))


PARSERS = {"periods": periods, "interval_long": interval_long, "interval_wide": interval_wide, "bill": bill}
