"""Meter reads: register files (抄表时间, 示数), bills and 抄表 records (上次/本次示数, 抄见电量), and which
register a row reads (示数类型: 有功（总）, 尖峰/峰/平/谷, 无功, 反向).

Registers of every shape go through the one set of rules in ``carbon.ingest.registers``.  Of the registers a
抄表 record lists, the total active one is the metering point's electricity use; its time-of-use parts are
summed only when no total is given; reactive (kvarh) and demand (kW) registers are never electricity use;
reverse active energy is electricity supplied out, stored as its own flow.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from carbon.errors import InputError
from carbon.ingest import checks
from carbon.ingest import columns as cols
from carbon.ingest.header import Header, flow_in_words
from carbon.ingest.registers import (
    classify_steps,
    digits_maximum,
    register_intervals,
    register_maximum,
    replacement_marked,
)
from carbon.ingest.rules import Issues, param
from carbon.ingest.values import parse_numbers

PART_WORDS = ("尖", "峰", "平", "谷", "tip", "peak", "flat", "valley", "shoulder", "off-peak")
EXPORT = "electricity_exported"


def register_roles(text: pd.Series) -> pd.Series:
    """What each 示数类型 names: ``total``, ``part`` (time of use), ``export`` (reverse active total),
    ``export_part``, ``not_active`` (reactive, apparent, demand, or 组合有功: forward and reverse combined) or
    ``unknown``."""
    low = text.astype(str).str.lower()

    def has(words: tuple[str, ...]) -> pd.Series:
        return pd.Series(np.logical_or.reduce([low.str.contains(w, regex=False) for w in words]), index=text.index)

    reactive = has(("无功", "视在", "组合", "reactive", "apparent", "combined", "kvar", "kva", "需量", "demand"))
    export = has(("反向", "上网", "外供", "export", "reverse"))
    part = has(PART_WORDS)
    total = has(("总", "有功", "正向", "total", "active"))
    role = pd.Series("unknown", index=text.index, dtype=object)
    role[total] = "total"
    role[part] = "part"
    role[export] = "export"
    role[export & part] = "export_part"
    role[reactive] = "not_active"
    return role


def report_register_types(type_text: pd.Series, issues: Issues) -> pd.Series:
    """Roles of a 示数类型 column; an unknown type is refused, reactive and demand registers reported."""
    role = register_roles(type_text)
    issues.add(role == "unknown", "unknown_register_type", type_text)
    issues.add(role.isin(["not_active", "export_part"]), "not_active_energy", type_text, detail=type_text)
    return role


def select_registers(rows: pd.DataFrame, role: pd.Series, type_text: pd.Series, issues: Issues) -> pd.DataFrame:
    """Keep what a 抄表 record's registers say of electricity use, one row per metering point and period.

    ``rows`` (typed interval rows, indexed by row number, unique) and ``role``/``type_text`` aligned with it.
    Totals are kept; time-of-use parts are summed where no total is given (warning), else reported as parts
    (and checked against the total); reverse active totals become electricity supplied out; reactive and
    demand registers are never counted (see ``report_register_types``).
    """
    key = ["meter_code", "period_start", "period_end"]
    total = rows.loc[role == "total"]
    parts = rows.loc[(role == "part") & rows["quantity_canonical"].notna()]
    with_total = parts.set_index(key).index.isin(total.set_index(key).index)
    issues.add(
        pd.Series(with_total, index=parts.index),
        "register_part",
        type_text.reindex(parts.index),
        detail=type_text.reindex(parts.index),
    )
    if with_total.any():
        sums = parts.loc[with_total].groupby(key)["quantity_canonical"].sum()
        t = total.set_index(key)["quantity_canonical"]
        t = t.loc[~t.index.duplicated()].reindex(sums.index)
        off = ~agree(sums, t)
        first = parts.loc[with_total].reset_index(names="_row").groupby(key)["_row"].first()
        bad = first.loc[off[off].index]
        issues.add(
            pd.Series(True, index=bad.to_numpy()),
            "register_parts_mismatch",
            type_text.reindex(bad.to_numpy()),
            parts=pd.Series(sums.loc[bad.index].map(checks.number).to_numpy(), index=bad.to_numpy()),
            total=pd.Series(t.loc[bad.index].map(checks.number).to_numpy(), index=bad.to_numpy()),
        )
    alone = parts.loc[~with_total]
    summed = (
        alone.reset_index(names="_row")
        .groupby(key, as_index=False)
        .agg(
            _row=("_row", "first"),
            carrier=("carrier", "first"),
            quantity_original=("quantity_original", "sum"),
            unit_original=("unit_original", "first"),
            quantity_canonical=("quantity_canonical", "sum"),
        )
    )
    summed = summed.set_index("_row").reindex(columns=rows.columns)  # a sum was written in no one cell
    summed.index.name = None
    issues.add(
        pd.Series(True, index=summed.index),
        "register_parts_summed",
        type_text.reindex(summed.index),
        quantity=summed["quantity_canonical"].map(checks.number),
    )
    exported = rows.loc[role == "export"]
    exported = exported.assign(
        carrier=EXPORT, meter_code=exported["meter_code"] + "/" + type_text.reindex(exported.index)
    )
    return pd.concat([total, summed, exported]).sort_index()


def _register_limits() -> tuple[float, float, float]:
    """The register plausibility thresholds, as data (``validation_rules.csv``): the drop that is a
    replacement, the rate a wrap may imply, the share of the range a wrap may use with no history."""
    return param("register_drop"), param("register_rollover"), param("register_decrease")


def agree(a: pd.Series, b: pd.Series) -> pd.Series:
    """Two energies agree within the bill tolerance: ``bill_mismatch`` kWh of rounding plus 0.1 % of ``b``."""
    return (a - b).abs() <= param("bill_mismatch") + 0.001 * b.abs()


def report_steps(
    issues: Issues,
    kind: pd.Series,
    text: pd.Series,
    steps: pd.DataFrame,
    flagged: pd.Series,
    column: str | None = None,
) -> None:
    """Report register steps by kind: rollovers, replacements (flagged by a note or inferred) and decreases.

    ``steps`` (aligned with ``kind``): ``earlier``, ``later``, ``maximum``, ``quantity``; ``text`` the cell shown
    and ``column`` the file's header of the register (the rule's column if None).
    """
    detail = steps["earlier"].map(checks.number) + " → " + steps["later"].map(checks.number)
    issues.add(
        kind == "rollover",
        "register_rollover",
        text,
        column,
        maximum=steps["maximum"].map("{:.0f}".format),
        quantity=steps["quantity"].map(checks.number),
    )
    issues.add((kind == "replaced") & flagged, "meter_replaced", text, column, detail=detail)
    issues.add((kind == "replaced") & ~flagged, "register_drop", text, column, detail=detail)
    issues.add(kind == "decrease", "register_decrease", text, column, detail=detail)


def _multipliers(data: pd.DataFrame, header: Header, issues: Issues) -> pd.Series:
    mtext = cols.col(data, header, "multiplier")
    if mtext is None:
        return pd.Series(1.0, index=data.index)
    mult, _ = parse_numbers(mtext.where(mtext != "", "1"), header.decimal_comma)
    issues.add(mult.isna() | (mult <= 0), "not_a_number", mtext, column="multiplier")
    return mult


def _maximum(data: pd.DataFrame, header: Header) -> pd.Series:
    text = cols.col(data, header, "register_digits")
    return pd.Series(np.nan, index=data.index) if text is None else digits_maximum(text)


def _replaced(data: pd.DataFrame, header: Header) -> pd.Series:
    note = cols.col(data, header, "note")
    return pd.Series(False, index=data.index) if note is None else replacement_marked(note)


def register(
    data: pd.DataFrame,
    header: Header,
    issues: Issues,
    previous: Callable[[list[str]], pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Register readings: consumption between consecutive readings of a meter, rollovers and replacements handled.

    ``previous(meter_codes)``: the stored readings of those meters (``meter_code``, ``read_at``, ``register``,
    ``multiplier``), so a file holding one reading per meter still yields the interval since the last upload.
    A file with several register columns (正向有功总, 反向有功总) or a 示数类型 column holds one series per
    register; a reverse (export) register is electricity supplied out.  Returns the typed interval rows and
    the fresh register readings to keep.
    """
    meter = cols.identity(data, header, issues)
    read_col = header.column("read_at") if header.column("read_at") is not None else header.column("timestamp")
    read_at = cols.times(data[read_col].astype(str).str.strip(), issues, "read_at")
    mult, maximum, replaced = _multipliers(data, header, issues), _maximum(data, header), _replaced(data, header)
    type_text = cols.col(data, header, "register_type")
    pieces = []
    imports = 0
    for rcol in header.columns("register"):
        name = header.names[rcol]
        carrier = cols.carriers(data, header, issues, rcol)
        if flow_in_words(name) == EXPORT:
            carrier = pd.Series(EXPORT, index=data.index, dtype=object)
            series = meter + "/" + name
        else:
            series = meter if imports == 0 else meter + "/" + name  # the first forward register is the meter's own
            imports += 1
        if type_text is not None:
            series = series.where(register_roles(type_text) == "total", meter + "/" + type_text)
        reg_text = data[rcol].astype(str).str.strip()
        reg, unit = cols.quantities(reg_text, cols.units(data, header, rcol), header, issues, name)
        pieces.append(
            pd.DataFrame(
                {
                    "meter_code": series,
                    "carrier": carrier,
                    "read_at": read_at,
                    "register": reg,
                    "register_text": reg_text,  # as written: what an issue of the reading shows
                    "multiplier": mult,
                    "unit": unit,
                    "factor": cols.to_canonical(carrier, unit, issues),
                    "replaced": replaced,
                    "maximum": maximum,
                    "source_row": data.index.astype(int),
                    "register_type": type_text if type_text is not None else "",
                    "column": name,
                },
                index=data.index,
            )
        )
    readings = pd.concat(pieces)
    if type_text is not None:  # only active registers make series
        role = report_register_types(type_text, issues)
        readings = readings.loc[role.reindex(readings.index).isin(["total", "part", "export"]).to_numpy()]
    rows, fresh = register_steps(readings, issues, previous)
    if type_text is not None and len(rows):
        typed = type_text.reindex(rows.index)
        rows = select_registers(rows.assign(meter_code=meter.reindex(rows.index)), register_roles(typed), typed, issues)
    return rows, fresh


def register_steps(
    readings: pd.DataFrame, issues: Issues, previous: Callable[[list[str]], pd.DataFrame] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed register readings to intervals: rollovers, replacements and decreases reported.

    ``readings`` (indexed by row; a row may hold several registers): ``meter_code``, ``carrier``, ``read_at``,
    ``register``, ``multiplier``, ``unit``, ``factor`` (to the canonical unit), ``replaced``, ``source_row`` and
    optionally ``maximum``.  Returns the interval rows (indexed by the later reading's row) and the fresh
    readings to keep.
    """
    checks.storable(readings, issues, ("read_at",))
    usable = readings.loc[issues.ok(readings.index).to_numpy()]
    stored = previous(sorted(usable["meter_code"].unique())) if previous is not None else None
    fresh, earlier = _against_stored(usable, stored, issues)
    fresh = _same_time_readings(fresh, issues)
    both = pd.concat([earlier, fresh], ignore_index=True)
    steps = register_intervals(both, *_register_limits())
    steps = steps.loc[steps["source_row"] >= 0]
    if steps.empty:
        return cols.empty_frame(), fresh
    src = both.iloc[steps["pos"].to_numpy()]
    index = pd.Index(steps["source_row"].astype(int).to_numpy())
    steps = steps.set_index(index)
    src.index = index
    kinds = steps["kind"]
    # each register column of a file names its own steps; records (no "column") name the rule's column
    columns = src["column"] if "column" in src else pd.Series("", index=src.index, dtype=object)
    for column in columns.unique():
        report_steps(
            issues,
            kinds.where(columns == column, ""),
            _register_written(src),
            steps[["earlier", "later", "maximum", "quantity"]],
            src["replaced"].astype(bool),
            column or None,
        )
    counted = kinds.isin(["ok", "rollover"]).to_numpy()
    c, s = steps.loc[counted], src.loc[counted]
    out = cols.frame(
        c["meter_code"], s["carrier"], c["period_start"], c["period_end"], c["quantity"], s["unit"], s["factor"]
    )
    kept = fresh.loc[issues.ok(fresh.index).to_numpy()]
    return out, kept.drop_duplicates(["meter_code", "read_at"], keep="last")  # a swap at one instant: the new meter


def _register_written(readings: pd.DataFrame) -> pd.Series:
    """The register cells of readings as the file wrote them (a connector's values, as numbers with every digit)."""
    return checks.written(readings.get("register_text"), readings["register"])


def _same_time_readings(readings: pd.DataFrame, issues: Issues) -> pd.DataFrame:
    """Two readings of one meter at one time: the same value is read once; a different value is refused unless
    it is marked as the new meter of a swap (换表), which then starts the meter's series again."""
    key = ["meter_code", "read_at"]
    repeated = readings.duplicated(key, keep=False).to_numpy()
    if not repeated.any():
        return readings
    later = readings.duplicated(key, keep="first").to_numpy()
    first = readings.groupby(key)["register"].transform("first").to_numpy()
    same = later & (readings["register"].to_numpy() == first)
    clash = later & ~same & ~readings["replaced"].to_numpy(dtype=bool)
    issues.add(
        pd.Series(clash, index=readings.index),
        "register_twice",
        _register_written(readings),
        detail=pd.Series(first, index=readings.index).map(checks.number),
    )
    return readings.loc[~same & ~clash]


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
    seen = merged["register_s"].notna().to_numpy()
    clash = merged.loc[seen & (merged["register_s"] != merged["register"]).to_numpy()].set_index("_row")
    issues.add(
        pd.Series(True, index=clash.index),
        "register_conflict",
        _register_written(clash),
        stored=clash["register_s"].map(checks.number),
    )
    fresh = readings.loc[~seen]
    return fresh, prev.assign(replaced=False, source_row=-1, maximum=np.nan)


def missing_read_dates(header: Header) -> InputError:
    """The refusal of a bill or 抄表 record without its reading dates, saying what the file looks like."""
    typed = header.column("register_type") is not None
    has = [
        header.names[c]
        for c in header.fields
        if header.fields[c] in ("bill_month", "billed_kwh", "quantity", "prev_register", "curr_register")
    ]
    looks_zh = "一行一个示数类型的抄表记录" if typed else "电费账单或抄表记录"
    looks_en = (
        "a 抄表 (meter reading) record with one row per 示数类型 (register type)" if typed else "a bill or 抄表 record"
    )
    registers = {"prev_register", "curr_register"} & set(header.fields.values())
    if registers:  # registers are read on reading days, never at month boundaries: only the dates will do
        tail_zh, tail_en = "", ""
    else:
        tail_zh = "；如果数据本来就是自然月合计，请把月份列命名为“月份”并去掉“电费年月”"
        tail_en = "; if the figures really are calendar-month totals, name the month column 月份 (month) instead"
    return InputError(
        f"这是{looks_zh}（有 {'、'.join(has)}），但没有抄表日期：缺少“上次抄表日期”和“本次抄表日期”两列，"
        "无法知道电量属于哪段时间（电费年月不是用电时段，账单按抄表日到抄表日计）。"
        f"请从营销系统导出带上次/本次抄表日期的明细{tail_zh}",
        f"This is {looks_en} (columns {', '.join(has)}) but it has no reading dates: the columns 上次抄表日期 and "
        "本次抄表日期 (previous and current reading date) are missing, so the period of the energy is unknown (a "
        "billing month is not the period used: bills run from reading date to reading date). Export the detail with "
        f"both reading dates{tail_en}",
    )


def bill(data: pd.DataFrame, header: Header, issues: Issues) -> pd.DataFrame:
    """Bills and 抄表 records: one row per metering point (and register type) and reading period, in kWh.

    Energy is 抄见电量 (or a quantity column), checked against (本次 − 上次示数) × 倍率 read with the register
    rules (a wrap is read across it where plausible; a replacement counts nothing for its interval).
    """
    meter = cols.identity(data, header, issues)
    prev_date, curr_date = cols.col(data, header, "prev_read_date"), cols.col(data, header, "curr_read_date")
    start = cols.times(prev_date, issues, "prev_read_date")
    end = cols.times(curr_date, issues, "curr_read_date")
    kwh = pd.Series("kWh", index=data.index, dtype=object)
    mult = _multipliers(data, header, issues)
    prev_t, curr_t = cols.col(data, header, "prev_register"), cols.col(data, header, "curr_register")
    computed = pd.Series(np.nan, index=data.index)
    kind = pd.Series("ok", index=data.index, dtype=object)
    type_text = cols.col(data, header, "register_type")
    btext = cols.col(data, header, "billed_kwh")
    qcol = header.column("quantity")
    if btext is None and qcol is not None:
        btext = data[qcol].astype(str).str.strip()
    billed = pd.Series(np.nan, index=data.index)
    if btext is not None:
        given = btext != ""
        billed = cols.numbers(btext.where(given, "0"), header, issues, "billed_kwh").where(given)
    if prev_t is not None and curr_t is not None:
        prev_r = cols.numbers(prev_t, header, issues, "prev_register")
        curr_r = cols.numbers(curr_t, header, issues, "curr_register")
        series = meter if type_text is None else meter + "/" + type_text
        replaced = _replaced(data, header) & (curr_r < prev_r)  # a row of the new meter that rises is counted
        maximum = _maximum(data, header).fillna(pd.Series(register_maximum(prev_r.to_numpy()), index=data.index))
        wrapped = (maximum - prev_r + curr_r) * mult
        agrees = agree(wrapped, billed).astype(float).where(billed.notna())
        kind_a, delta = classify_steps(
            series.to_numpy(),
            prev_r.to_numpy(),
            curr_r.to_numpy(),
            ((end - start).dt.total_seconds() / 3600).to_numpy(),
            replaced.to_numpy(),
            maximum.to_numpy(),
            *_register_limits(),
            agrees.to_numpy(),
        )
        kind = pd.Series(kind_a, index=data.index).where(prev_r.notna() & curr_r.notna(), "ok")
        computed = pd.Series(delta, index=data.index) * mult
        steps = pd.DataFrame({"earlier": prev_r, "later": curr_r, "maximum": maximum, "quantity": computed})
        report_steps(issues, kind, curr_t, steps, replaced)
    if btext is not None:
        counted = kind.isin(["ok", "rollover"])
        mismatch = counted & billed.notna() & computed.notna() & ~agree(computed, billed)
        issues.add(
            mismatch, "bill_mismatch", btext, computed=computed.map(checks.number), billed=billed.map(checks.number)
        )
        qty = billed.where(billed.notna(), computed)
    else:
        qty = computed
    counted = kind.isin(["ok", "rollover"])
    issues.add(
        counted & qty.isna() & issues.ok(data.index),
        "missing_value",
        btext if btext is not None else curr_t,
        column="billed_kwh",
    )
    rows = cols.frame(
        meter,
        pd.Series("electricity", index=data.index, dtype=object),
        start,
        end,
        qty,
        kwh,
        pd.Series(1.0, index=data.index),
        {  # the billed energy as written where the bill gives it (else computed from the registers) and the dates
            "quantity_original": None if btext is None else btext.where(billed.notna()),
            "period_start": prev_date,
            "period_end": curr_date,
        },
    )
    rows = rows.loc[counted]
    if type_text is None:
        return rows
    role = report_register_types(type_text, issues)
    return select_registers(rows, role.reindex(rows.index), type_text.reindex(rows.index), issues)
