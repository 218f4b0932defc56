"""Recognise what kind of export a sheet is and turn its rows into typed interval rows.

Shapes: ``periods`` (the bureau template, or a unit in the header), ``register`` (meter index readings),
``bill`` (bills and 抄表 records with reading dates), ``day_curve`` (96/48/24-point day curves, one row per
account and day), ``interval_long`` and ``interval_wide`` (meter / EMS interval data).  Every shape yields the
same typed frame (``columns.INTERVAL_COLUMNS``), indexed by the user-visible row number, and the columns it read.

A column is a meter only when it holds quantities with a unit of energy (or volume or mass): identity columns
(户号, 计量点编号, 资产编号 …) name the meter, descriptive ones (用户名称, 电费(元) …) are ignored and listed, and
power (kW, 负荷) or reactive (无功, kvarh) columns are never read as energy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carbon.errors import InputError
from carbon.ingest import columns as cols
from carbon.ingest import meter_reads
from carbon.ingest.header import (
    Header,
    carrier_in_words,
    dimension_of,
    is_power,
    is_reactive,
    point_labels,
    refuse_repeated,
    split_unit,
)
from carbon.ingest.rules import Issues
from carbon.ingest.values import parse_months, parse_times

SUPPORTED_INTERVALS = {
    pd.Timedelta(minutes=15): "15min",
    pd.Timedelta(minutes=30): "30min",
    pd.Timedelta(hours=1): "1h",
    pd.Timedelta(days=1): "1d",
}
BILL_DATES = ("prev_read_date", "curr_read_date")
BILL_VALUES = ("prev_register", "curr_register", "billed_kwh")
ENERGY_LIKE = ("energy", "volume", "mass")
MIN_CURVE_LIKE = 12  # this many time-of-day or point columns make a day curve, whole or not
IDENTITY = ("meter_id", "account", "asset")
USED = {  # the fields each shape reads; other columns are ignored and listed in the report
    "bill": (
        *IDENTITY,
        *BILL_DATES,
        *BILL_VALUES,
        "multiplier",
        "register_type",
        "register_digits",
        "note",
        "bill_month",
    ),
    "register": (
        *IDENTITY,
        "carrier",
        "read_at",
        "register",
        "multiplier",
        "unit",
        "note",
        "register_type",
        "register_digits",
    ),
    "periods": (*IDENTITY, "carrier", "period_start", "period_end", "quantity", "unit"),
    "interval_long": (*IDENTITY, "carrier", "timestamp", "quantity", "unit", "register_type"),
    "interval_wide": ("timestamp",),
}
ONE_QUANTITY = ("periods", "interval_long", "bill")  # shapes that read a quantity from one column


@dataclass
class Shaped:
    """Typed interval rows of one sheet, the register readings to keep (register shape) and the columns read."""

    shape: str
    rows: pd.DataFrame
    registers: pd.DataFrame | None = None
    used: set[int] = field(default_factory=set)


def detect(header: Header) -> str:
    """The shape of a sheet from its header; raises ``InputError`` saying what the file looks like when its
    shape lacks something it needs (a bill without reading dates), or when it has two columns of a field the
    shape reads from one (``refuse_repeated``)."""
    shape = _shape(header)
    refuse_repeated(header, (*USED.get(shape, ()), *(("quantity",) if shape in ONE_QUANTITY else ())))
    return shape


def _shape(header: Header) -> str:
    present = set(header.fields.values())
    if header.curve is not None:
        return "day_curve"
    points = point_labels(header.names)
    if len(points) >= MIN_CURVE_LIKE:
        first, last = header.names[points[0]], header.names[points[-1]]
        raise InputError(
            f"这像是一行一天的曲线（{len(points)}个时刻列，{first}…{last}），但完整的日曲线须有24、48或96个点且按顺序排列；"
            "请导出完整的曲线（缺点请留空，不要删列）",
            f"This looks like a day curve with one row per day ({len(points)} time columns, {first}…{last}), but a "
            "whole day curve has 24, 48 or 96 points in order; export the whole curve (leave a missing point empty, "
            "do not delete its column)",
        )
    billish = bool(present & set(BILL_VALUES)) or ("bill_month" in present and "quantity" in present)
    if set(BILL_DATES) <= present and (billish or "quantity" in present):
        return "bill"
    if billish and "register" not in present and not {"period_start", "period_end"} <= present:
        raise meter_reads.missing_read_dates(header)
    if "register" in present and ("read_at" in present or "timestamp" in present) and "quantity" not in present:
        return "register"
    if {"period_start", "period_end", "quantity"} <= present:
        return "periods"
    if "timestamp" in present:
        return "interval_long" if _long(header) else "interval_wide"
    raise InputError(
        "无法识别文件格式：需要上报模板列（表号、能源品种、开始时间、结束时间、用量、单位），或抄表示数列（表号、抄表时间、示数），"
        "或电费账单列（户号、上次/本次抄表日期、上次/本次示数、倍率、抄见电量），或带时间列的分时数据或96点曲线",
        "Cannot recognise the file: give the template columns (meter_id, carrier, period_start, period_end, "
        "quantity, unit), register readings (meter_id, read_at, register), a bill (account, previous/current "
        "reading date and register, multiplier, billed kWh), interval data with a time column or a 96-point curve",
    )


NUMERIC_FIELDS = ("quantity", "register", "prev_register", "curr_register", "billed_kwh", "multiplier")


def numeric_columns(header: Header, shape: str) -> list[int]:
    """The columns a shape reads as numbers: the only cells that decide the file's number convention."""
    if shape == "day_curve" and header.curve is not None:
        return sorted(header.curve.points)
    named = [c for c, f in header.fields.items() if f in NUMERIC_FIELDS]
    return sorted(set(named) | set(_value_columns(header)[0])) if shape == "interval_wide" else named


def _value_columns(header: Header) -> tuple[list[int], list[int]]:
    """Columns of a time-indexed file holding energy and power.

    A quantity column (用电量, 用量(kWh)) or an unnamed column with a unit of energy, volume or mass is energy;
    power (kW, 负荷) is set apart; reactive (kvarh, 无功) and anything else is not a meter.
    """
    energy, power = [], []
    for c, name in header.names.items():
        f = header.fields.get(c)
        if not name.strip() or (f is not None and f != "quantity"):
            continue
        unit = header.unit_of(c)
        if is_reactive(name, unit):
            continue
        if is_power(name, unit):
            power.append(c)
        elif f == "quantity" or dimension_of(unit) in ENERGY_LIKE:
            energy.append(c)
    return energy, power


def _long(header: Header) -> bool:
    energy, _ = _value_columns(header)
    return header.identity() is not None and len(energy) == 1 and header.fields.get(energy[0]) == "quantity"


def _used(header: Header, *names: str) -> set[int]:
    """The columns of ``names`` a shape reads; of the identity columns only the one naming the meter (a 户号 beside
    a 表号 is not read, so it is listed as ignored)."""
    meter = header.identity()
    return {c for c, f in header.fields.items() if f in names and (f not in IDENTITY or c == meter)}


def periods(data: pd.DataFrame, header: Header, issues: Issues) -> Shaped:
    """The bureau template (or any file with start, end and quantity columns).

    Months written as labels (``2024年01月``) read as calendar months: a start month is its first day; an end
    month is the first day of that month (the template's end is exclusive), unless some row of the file has
    the same start and end month, in which case every end month of the file is inclusive.
    """
    _refuse_power(header, [header.column("quantity")], None)
    meter, carrier, qty, unit, factor, q_text = _quantity_columns(data, header, issues)
    s_text, e_text = cols.col(data, header, "period_start"), cols.col(data, header, "period_end")
    assert s_text is not None and e_text is not None
    s_month, _ = parse_months(s_text)
    e_month, e_next = parse_months(e_text)
    start = parse_times(s_text).where(s_month.isna(), s_month)
    end = parse_times(e_text).where(e_month.isna(), e_month)
    months = s_month.notna() & e_month.notna()
    inclusive = bool((months & (s_month == e_month)).any())
    if months.any():
        end = end.where(~(months & inclusive), e_next)
        first = months.idxmax()
        issues.add(
            pd.Series(months.index == first, index=months.index),
            "month_labels",
            s_text,
            column="period_end",
            example=f"{s_text[first]} – {e_text[first]}",
            convention="结束月份含当月" if inclusive else "结束月份不含（结束时间为该月1日）",
            convention_en="the end month is included"
            if inclusive
            else "the end month is excluded (it is the 1st of that month)",
        )
    _time_issues(s_text, start, issues, "period_start")
    _time_issues(e_text, end, issues, "period_end")
    return Shaped(
        "periods",
        cols.frame(meter, carrier, start, end, qty, unit, factor, _written(q_text, s_text, e_text)),
        used=_used(header, *USED["periods"]),
    )


def _written(quantity: pd.Series | None, start: pd.Series | None, end: pd.Series | None) -> dict[str, pd.Series | None]:
    """The cells the typed columns were read from (``cols.frame``'s ``written``)."""
    return {"quantity_original": quantity, "period_start": start, "period_end": end}


def _time_issues(text: pd.Series, t: pd.Series, issues: Issues, column: str) -> None:
    issues.add(text == "", "missing_value", text, column=column)
    issues.add(t.isna() & (text != ""), "bad_time", text, column=column)


def _quantity_columns(
    data: pd.DataFrame, header: Header, issues: Issues
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series, pd.Series, pd.Series]:
    """Meter, carrier, quantity, unit, factor to the canonical unit and the quantity cells as written, of files with
    a quantity column."""
    qcol = header.column("quantity")
    meter = cols.identity(data, header, issues)
    carrier = cols.carriers(data, header, issues, qcol)
    text = cols.col(data, header, "quantity")
    assert text is not None
    qty, unit = cols.quantities(text, cols.units(data, header, qcol), header, issues, "quantity")
    return meter, carrier, qty, unit, cols.to_canonical(carrier, unit, issues), text


def _refuse_power(header: Header, columns: list[int], step: pd.Timedelta | None) -> None:
    """Refuse a file whose value columns are all power (kW, 负荷), saying what energy would be."""
    power = [c for c in columns if is_power(header.names[c], header.unit_of(c))]
    if power and len(power) == len(columns):
        raise power_refusal("、".join(header.names[c] for c in power), step)


def power_refusal(what: str, step: pd.Timedelta | None) -> InputError:
    """The refusal of power (load, kW) data: it is not energy; kWh = kW × the interval in hours."""
    if step is not None and pd.notna(step):
        hours, minutes = step / pd.Timedelta(hours=1), int(step / pd.Timedelta(minutes=1))
        how_zh = f"本文件为{minutes}分钟数据，电量按 kWh = kW × {hours:g} h 计算"
        how_en = f"for this file's {minutes}-minute data kWh = kW × {hours:g} h"
    else:
        how_zh = "电量按 kWh = kW × 时段小时数计算（15分钟为 0.25 h）"
        how_en = "kWh = kW × the interval in hours (0.25 h for 15 minutes)"
    return InputError(
        f"{what} 是功率（负荷，kW），不是电量：功率不能直接累加为用电量。{how_zh}。"
        "请导出电量（kWh）曲线或抄表数据后再上传",
        f"{what} holds power (load, kW), not energy: power readings cannot be added up as electricity use; "
        f"{how_en}. Export the energy (kWh) curve or the meter readings instead",
        column=what,
    )


def _modal_step(t: pd.Series) -> pd.Timedelta | None:
    step = t.dropna().sort_values().diff().dropna()
    step = step.loc[step > pd.Timedelta(0)]
    return step.mode().iloc[0] if len(step) else None


def _infer_intervals(
    meter: pd.Series, t: pd.Series, issues: Issues, t_text: pd.Series, end_labelled: bool
) -> tuple[pd.Series, pd.Series]:
    """Each row's period from its time label and its meter's inferred interval (15 min, 30 min, 1 h, 1 d);
    month labels (``2024-01``, ``202401``, ``2024年1月``) are calendar months.

    Works by position, so the index may repeat (a wide file has one row per line and meter).
    """
    if cols.month_labels(t_text):
        start, end = parse_months(t_text)
        return start, end
    if t.isna().all():  # every time refused already (bad_time): no interval to infer
        return t, t
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


def _end_labelled(header: Header, t_text: pd.Series) -> bool:
    """Time labels are interval ends when the header says so (结束, 截止, end) or a label reads 24:00."""
    name = header.names[header.column("timestamp")].lower()
    return any(w in name for w in ("结束", "截止", "end")) or bool(t_text.str.contains(r"[ T]24:00", regex=True).any())


def _time_text(data: pd.DataFrame, header: Header) -> pd.Series:
    """The time label of each row: the time column, or a date column and a time-of-day column (日期 + 时间)."""
    texts = [data[c].astype(str).str.strip() for c in header.columns("timestamp")]
    if len(texts) == 1:
        return texts[0]
    clock = [t for t in texts if len(t) and t.str.fullmatch(r"\d{1,2}:\d{2}(?::\d{2})?").all()]
    dates = [t for t in texts if len(t) and not t.str.fullmatch(r"\d{1,2}:\d{2}(?::\d{2})?").all()]
    if len(clock) == 1 and len(dates) == 1:
        return dates[0] + " " + clock[0]
    return texts[0]


def _series_times(data: pd.DataFrame, header: Header, issues: Issues) -> tuple[pd.Series, pd.Series]:
    t_text = _time_text(data, header)
    if cols.month_labels(t_text):
        start = parse_months(t_text)[0]
        cols.month_issues(t_text, start, issues, "timestamp")
        first = start.notna() & ~start.notna().shift(fill_value=False).cummax()
        issues.add(
            first,
            "month_labels",
            t_text,
            column="timestamp",
            example=t_text,
            convention="每个月份为该自然月",
            convention_en="each month label is that calendar month",
        )
        return start, t_text
    return cols.times(t_text, issues, "timestamp"), t_text


def interval_long(data: pd.DataFrame, header: Header, issues: Issues) -> Shaped:
    """One row per meter and interval: a time label, a meter, a value."""
    t, t_text = _series_times(data, header, issues)
    qcol = header.column("quantity")
    _refuse_power(header, [qcol], _modal_step(t))
    role = _typed_rows(data, header, issues, header.names[qcol], _modal_step(t))
    meter, carrier, qty, unit, factor, q_text = _quantity_columns(data, header, issues)
    meter, carrier, keep = _apply_roles(meter, carrier, role, cols.col(data, header, "register_type"))
    start, end = _infer_intervals(meter, t, issues, t_text, _end_labelled(header, t_text))
    return Shaped(
        "interval_long",
        cols.frame(meter, carrier, start, end, qty, unit, factor, _written(q_text, t_text, t_text)).loc[keep],
        used=_used(header, *USED["interval_long"]),
    )


def _column_carrier(header: Header, c: int, unit: str) -> str:
    name, _ = split_unit(header.names[c])
    carrier, _ = carrier_in_words(name)
    carrier = carrier or cols.carrier_of_unit(unit)
    if carrier is None:
        raise InputError(
            f"无法确定列“{header.names[c]}”的能源品种：请在表头写明单位（如 kWh、m3）或能源（电、气）",
            f"Cannot tell the carrier of column {header.names[c]}: put a unit (kWh, m3) or carrier in its header",
            column=header.names[c],
        )
    return carrier


def interval_wide(data: pd.DataFrame, header: Header, issues: Issues) -> Shaped:
    """A time column and one column per meter (its header names it; a unit in the header, a units line or the
    title).  With an identity column (户号) the meters are ``<account>/<column>``."""
    t, t_text = _series_times(data, header, issues)
    energy, power = _value_columns(header)
    _refuse_power(header, energy + power, _modal_step(t))
    if not energy:
        raise InputError(
            "分时数据没有电量列：没有一列带能量、体积或质量单位（如 kWh、m3、t）；请在表头或表头下的单位行写明单位",
            "Interval data without energy columns: no column has a unit of energy, volume or mass (kWh, m3, t); "
            "put the unit in the header or in a units line under it",
        )
    ident = header.identity()
    prefix = None if ident is None else data[ident].astype(str).str.strip() + "/"
    pieces = []
    for c in energy:
        unit = header.unit_of(c)
        name = header.names[c].strip()
        pieces.append(
            pd.DataFrame(
                {
                    "meter": name if prefix is None else prefix + name,
                    "carrier": _column_carrier(header, c, unit),
                    "unit": unit,
                    "text": data[c].astype(str).str.strip(),
                    "t": t,
                    "t_text": t_text,
                }
            )
        )
    long = pd.concat(pieces)
    long = long.loc[long["text"] != ""]  # an empty cell in a wide file is no reading, not an error
    sub = Issues()
    qty, unit = cols.quantities(long["text"], long["unit"], header, sub, "quantity")
    factor = cols.to_canonical(long["carrier"], unit, sub)
    start, end = _infer_intervals(long["meter"], long["t"], sub, long["t_text"], _end_labelled(header, t_text))
    issues.items.extend(sub.items)
    issues.refused |= sub.refused
    used = set(energy) | _used(header, *USED["interval_wide"]) | ({ident} if ident is not None else set())
    rows = cols.frame(
        long["meter"],
        long["carrier"],
        start,
        end,
        qty,
        unit,
        factor,
        _written(long["text"], long["t_text"], long["t_text"]),
    )
    return Shaped("interval_wide", rows, used=used)


def _typed_rows(data: pd.DataFrame, header: Header, issues: Issues, what: str, step: pd.Timedelta | None):
    """Roles of the rows of a file with a 数据类型 / 示数类型 column (None without one).  A file of cumulative
    readings (示值) or of power (功率, 负荷) is refused: neither is interval energy."""
    text = cols.col(data, header, "register_type")
    if text is None:
        return None
    if text.str.contains("示值|示数|表码|底数", regex=True).any():
        raise register_curve_refusal(what)
    if text.str.contains(r"功率|负荷|\(kW\)|（kW）", regex=True).any():
        raise power_refusal(what, step)
    return meter_reads.report_register_types(text, issues)


def register_curve_refusal(what: str) -> InputError:
    return InputError(
        f"{what} 是示值（表码累计读数），不是各时段电量：不能相加。请导出电量曲线，或按抄表示数格式上传"
        "（表号、抄表时间、示数、倍率），系统按相邻读数之差计算",
        f"{what} holds cumulative register readings (示值), not the energy of each interval: they cannot be added "
        "up. Export the energy curve, or upload them as register readings (meter_id, read_at, register, multiplier), "
        "read as differences of consecutive readings",
    )


def _apply_roles(
    meter: pd.Series, carrier: pd.Series, role: pd.Series | None, type_text: pd.Series | None
) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Meter and carrier of each row by its role: reverse active energy is electricity supplied out on its own
    meter; only total active and reverse rows are kept (reactive, demand and parts are reported, not read)."""
    if role is None or type_text is None:
        return meter, carrier, np.ones(len(meter), dtype=bool)
    export = (role == "export").to_numpy()
    meter = meter.where(~export, meter + "/" + type_text)
    carrier = carrier.where(~export, meter_reads.EXPORT)
    return meter, carrier, role.isin(["total", "export"]).to_numpy()


def day_curve(data: pd.DataFrame, header: Header, issues: Issues) -> Shaped:
    """Day curves: one row per account and day, the day's 96 (48, 24) values as columns.

    Each value becomes a reading of the account's meter over its point's interval of that day.  The unit
    comes from a units line, the header, a unit column or the title (``单位：kWh``); ``e1…e96`` without a unit
    are the energy curve in kWh (warned).  A power curve (kW, 负荷) is refused.
    """
    curve = header.curve
    assert curve is not None
    date_col = next(
        (header.column(f) for f in ("timestamp", "read_at", "period_start") if header.column(f) is not None), None
    )
    if date_col is None:
        raise InputError(
            f"这是一行一天的{len(curve.points)}点曲线（{curve.label}），但没有日期列：请加“日期”列",
            f"This is a {len(curve.points)}-point day curve ({curve.label}) with one row per day, but it has no date "
            "column: add a 日期 (date) column",
        )
    points = sorted(curve.points)
    step = pd.Timedelta(minutes=curve.minutes)
    unit_col = cols.col(data, header, "unit")
    units = {header.units.get(c, "") for c in points} - {""}
    unit = units.pop() if len(units) == 1 else header.title_unit
    label = f"{len(curve.points)}点曲线（{curve.label}）"
    if any(w in header.title for w in ("示值", "示数", "表码")):
        raise register_curve_refusal(label)
    role = _typed_rows(data, header, issues, label, step)
    power_title = any(w in header.title for w in ("负荷", "功率")) and "电量" not in header.title
    if dimension_of(unit) == "power" or (not unit and power_title):
        raise power_refusal(label, step)
    if not unit and unit_col is None:
        if curve.prefix != "e" and "电量" not in header.title:
            raise InputError(
                f"{label}没有单位：这类曲线可能是负荷（功率 kW）也可能是电量（kWh），不能猜测；"
                "请在表头下加单位行（kWh）或在标题中写明“单位：kWh”",
                f"The {len(curve.points)}-point curve ({curve.label}) gives no unit: such curves may be load (power, "
                "kW) or energy (kWh), which is never guessed; add a units line (kWh) under the header or state "
                "“单位：kWh” in the title",
            )
        unit = "kWh"  # e1…e96, or a title naming 电量: the energy curve, in kWh by convention (warned)
        issues.add(
            pd.Series(data.index == data.index[0], index=data.index),
            "assumed_unit",
            pd.Series(curve.label, index=data.index),
            column=curve.label,
            columns=curve.label,
            unit="kWh",
            what="e1…e96 电量曲线" if curve.prefix == "e" else "电量曲线",
            what_en="an energy curve (e1…e96 / 电量)",
        )
    type_text = cols.col(data, header, "register_type")
    meter, row_carrier, keep = _apply_roles(
        cols.identity(data, header, issues),
        pd.Series(cols.carrier_of_unit(unit) or "electricity", index=data.index, dtype=object),
        role,
        type_text,
    )
    data, meter, row_carrier = data.loc[keep], meter.loc[keep], row_carrier.loc[keep]
    day_text = data[date_col].astype(str).str.strip()
    day = cols.times(day_text, issues, "timestamp")
    local = day.dt.tz_convert("Asia/Shanghai")
    issues.add(day.notna() & (local != local.dt.floor("D")), "bad_time", day_text, column="timestamp")
    values = data[points].astype(str).apply(lambda c: c.str.strip())
    n = len(points)
    offsets = pd.to_timedelta([curve.points[c][0] for c in points], unit="min")
    long = pd.DataFrame(
        {
            "meter": np.repeat(meter.to_numpy(), n),
            "text": values.to_numpy().ravel(),
            "start": np.repeat(day.dt.tz_localize(None).to_numpy(dtype="datetime64[us]"), n)
            + np.tile(offsets.to_numpy(dtype="timedelta64[us]"), len(data)),
            "unit": np.repeat(unit_col.to_numpy(), n) if unit_col is not None and not unit else unit,
        },
        index=np.repeat(data.index.to_numpy(), n),
    )
    long["start"] = pd.to_datetime(long["start"], utc=True)
    long = long.loc[long["text"] != ""]
    carrier = pd.Series(np.repeat(row_carrier.to_numpy(), n), index=np.repeat(data.index.to_numpy(), n))
    carrier = carrier.loc[(values.to_numpy().ravel() != "")]
    sub = Issues()
    qty, unit_s = cols.quantities(long["text"], long["unit"], header, sub, "quantity")
    factor = cols.to_canonical(carrier, unit_s, sub)
    issues.items.extend(sub.items)
    issues.refused |= sub.refused
    used = set(points) | {date_col} | _used(header, "unit", "register_type", *IDENTITY)
    day_cell = day_text.reindex(long.index)  # the date cell each point's reading is timed by
    written = _written(long["text"], day_cell, day_cell)
    rows = cols.frame(long["meter"], carrier, long["start"], long["start"] + step, qty, unit_s, factor, written)
    return Shaped("day_curve", rows, used=used)


def bill(data: pd.DataFrame, header: Header, issues: Issues) -> Shaped:
    rows = meter_reads.bill(data, header, issues)
    used = _used(header, *USED["bill"])
    if header.column("billed_kwh") is None:
        used |= _used(header, "quantity")
    return Shaped("bill", rows, used=used)


def register(
    data: pd.DataFrame, header: Header, issues: Issues, previous: Callable[[list[str]], pd.DataFrame] | None = None
) -> Shaped:
    rows, fresh = meter_reads.register(data, header, issues, previous)
    used = _used(header, *USED["register"])
    if header.column("read_at") is None:
        used |= _used(header, "timestamp")
    return Shaped("register", rows, registers=fresh, used=used)


PARSERS = {
    "periods": periods,
    "interval_long": interval_long,
    "interval_wide": interval_wide,
    "bill": bill,
    "day_curve": day_curve,
}


def ignored_columns(header: Header, used: set[int]) -> list[str]:
    """Header names of the columns a shape did not read (listed in the report)."""
    return [n for c, n in header.names.items() if n.strip() and c not in used]
