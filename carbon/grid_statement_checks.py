"""Statements as received, checked: a statement file read into ``STATEMENT_COLUMNS`` (``read_statement_file``) and
rows typed or refused (``check_statements``), with reasons in Chinese and English naming the row, column and value.

Numbers and dates are read as meter-reading files are (``carbon.ingest.values``): thousands separators in groups of
three (``1,000,000``), never a decimal comma guessed (``987,25`` is refused); dates ``2023-04-01``, ``2023/4/1``,
``20230401``, ``2023年4月1日``, ``2023.4.1`` or a date cell, never a day-first form guessed (``01/04/2023`` is refused).
An issue time (发布时间) later than now plus ``grid_issue_clock_skew_minutes`` is refused: a statement dated in the
future would make every real restatement of its period look stale.  Stored by ``carbon.grid_statements``.
"""

from __future__ import annotations

import io
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from carbon import encoding
from carbon.errors import InputError
from carbon.grid_accounts import normalise_account, utility_code
from carbon.grid_statements import REQUIRED, STATEMENT_COLUMNS, parameters
from carbon.ingest.values import ambiguous_numbers, parse_numbers, parse_times
from carbon.units import normalise_unit_text, parse_unit, registry

LOCAL_TZ = "Asia/Shanghai"

# Header names a statement file may use for each column (Chinese as in utilities' exports, and the English name).
HEADERS: dict[str, tuple[str, ...]] = {
    "utility": ("供电单位", "utility"),
    "account": ("户号", "用户编号", "account"),
    "account_name": ("户名", "用户名称", "account_name"),
    "period_start": ("上次抄表日期", "period_start"),
    "period_end": ("本次抄表日期", "period_end"),
    "energy": ("结算电量", "energy"),
    "unit": ("单位", "unit"),
    "issued_at": ("发布时间", "issued_at"),
}


def _reason(zh: str, en: str) -> str:
    return f"{zh} / {en}"


def _dates(values: pd.Series) -> pd.Series:
    """Reading dates as ``datetime.date``: a date cell, or text in the forms ``carbon.ingest.values.parse_times``
    reads (``2023-04-01``, ``2023/4/1``, ``20230401``, ``2023年4月1日``; a day-first form is never guessed), Beijing
    time; None where unreadable, also for a time of day other than midnight (a reading date is a date).  Pure."""
    out = pd.Series(None, index=values.index, dtype=object)
    text: dict[Any, str] = {}
    for i, v in values.items():
        if isinstance(v, datetime):
            out[i] = v.date() if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0) else None
        elif isinstance(v, date):
            out[i] = v
        elif v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v).strip():
            text[i] = unicodedata.normalize("NFKC", str(v)).strip()
    if text:
        local = parse_times(pd.Series(text, dtype=str)).dt.tz_convert(LOCAL_TZ)
        midnight = local.notna() & (local.dt.normalize() == local)
        out.loc[local.index] = [t.date() if m else None for t, m in zip(local, midnight, strict=True)]
    return out


def _issued(values: pd.Series, now: datetime) -> pd.Series:
    """Issue times as UTC: ISO text with an offset, or without one read as Beijing time; empty means ``now`` (the
    time it was received).  NaT where unreadable."""
    empty = values.isna() | (values.astype(str).str.strip() == "")
    out = pd.Series(pd.Timestamp(now).tz_convert("UTC"), index=values.index)
    given = values.loc[~empty].astype(str).str.strip()
    parsed = []
    for s in given:
        try:
            ts = pd.Timestamp(s)
        except (ValueError, TypeError):
            parsed.append(pd.NaT)
            continue
        parsed.append(ts.tz_localize(LOCAL_TZ) if ts.tzinfo is None else ts)
    if len(given):
        out.loc[given.index] = pd.to_datetime(pd.Series(parsed, index=given.index, dtype=object), utc=True)
    return out


def check_statements(frame: pd.DataFrame, now: datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type statements (``STATEMENT_COLUMNS``; ``source_row`` kept when given, else the position from 1).

    Returns ``(ok, refused)``: ``ok`` with utility (code), account_no, account_name, period_start and period_end
    (``datetime.date``), energy_kwh, energy_original, unit_original, issued_at (UTC) and source_row; ``refused``
    the rows as given with a ``reason`` (Chinese / English) naming the column and value.  Refused: an unknown
    utility, a bad account number, an unreadable or reversed date, a billing period longer than
    ``grid_max_billing_days``, an energy that is not a finite number or is negative, a unit that is not an energy
    unit.  Pure but for the clock (``now``, default the current time)."""
    now = now or datetime.now(UTC)
    f = frame.reset_index(drop=True).copy()
    for col in STATEMENT_COLUMNS:
        if col not in f:
            f[col] = None
    if "source_row" not in f:
        f["source_row"] = np.arange(1, len(f) + 1)
    reasons: dict[int, list[str]] = {}

    def refuse(mask: pd.Series, zh: str, en: str) -> None:
        for i, value in f.loc[mask].iterrows():
            reasons.setdefault(int(i), []).append(_reason(zh.format(**value), en.format(**value)))

    def typed(col: str, fn: Any) -> pd.Series:
        out = []
        for i, v in f[col].items():
            try:
                out.append(fn(v))
            except InputError as exc:
                reasons.setdefault(int(i), []).append(exc.message)
                out.append(None)
        return pd.Series(out, index=f.index, dtype=object)

    missing = pd.Series(False, index=f.index)
    for col in REQUIRED:
        gone = f[col].isna() | (f[col].astype(str).str.strip() == "")
        refuse(gone, f"{HEADERS[col][0]}（{col}）为空：请填写", f"{col} ({HEADERS[col][0]}) is empty: fill it in")
        missing |= gone
    utility = typed("utility", lambda v: None if v is None or pd.isna(v) or str(v).strip() == "" else utility_code(v))
    account = typed(
        "account", lambda v: None if v is None or pd.isna(v) or str(v).strip() == "" else normalise_account(v)
    )
    start, end = _dates(f["period_start"]), _dates(f["period_end"])
    refuse(
        start.isna() & ~missing,
        "上次抄表日期“{period_start}”无法读取：请写作 YYYY-MM-DD（如 2023-04-01、2023/4/1、2023年4月1日；"
        "日在月前的写法无法区分，不予猜测）",
        "period_start “{period_start}” is not a date: write it as YYYY-MM-DD (2023-04-01, 2023/4/1 or 2023年4月1日; "
        "a day-first date cannot be told from a month-first one and is never guessed)",
    )
    refuse(
        end.isna() & ~missing,
        "本次抄表日期“{period_end}”无法读取：请写作 YYYY-MM-DD（如 2023-05-01、2023/5/1、2023年5月1日；"
        "日在月前的写法无法区分，不予猜测）",
        "period_end “{period_end}” is not a date: write it as YYYY-MM-DD (2023-05-01, 2023/5/1 or 2023年5月1日; "
        "a day-first date cannot be told from a month-first one and is never guessed)",
    )
    both = start.notna() & end.notna()
    days = pd.Series(np.nan, index=f.index)
    days.loc[both] = [(e - s).days for s, e in zip(start[both], end[both], strict=True)]
    refuse(
        both & (days <= 0),
        "本次抄表日期须晚于上次抄表日期（{period_start} 至 {period_end}）",
        "period_end must come after period_start ({period_start} to {period_end})",
    )
    longest = parameters()["grid_max_billing_days"]
    refuse(
        both & (days > longest),
        f"账期超过{longest:g}天（{{period_start}} 至 {{period_end}}），请核对日期",
        f"the billing period is longer than {longest:g} days ({{period_start}} to {{period_end}}); check the dates",
    )
    energy_text = f["energy"].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
    energy, inline_unit = parse_numbers(energy_text)
    two_ways = ambiguous_numbers(energy_text)
    refuse(
        two_ways & ~missing,
        "结算电量“{energy}”的分隔符有两种读法（小数点还是千位分隔符），不予猜测：请写作 1234.5 或 1,234.5",
        "energy “{energy}” can be read two ways (decimal or thousands separator) and is never guessed: write "
        "1234.5 or 1,234.5",
    )
    refuse(
        energy.isna() & ~two_ways & ~missing,
        "结算电量“{energy}”不是数字：请写作数字，如 1234.5 或 1,234.5",
        "energy “{energy}” is not a number: write a number such as 1234.5 or 1,234.5",
    )
    unit_col = f["unit"].fillna("").astype(str).str.strip()
    written = inline_unit.str.strip()
    clash = (written != "") & (written.map(normalise_unit_text) != unit_col.map(normalise_unit_text))
    refuse(
        clash & energy.notna(),
        "结算电量“{energy}”中写的单位与单位列“{unit}”不同：请只在单位列写单位",
        "energy “{energy}” carries a unit other than the unit column’s “{unit}”: write the unit in the unit "
        "column only",
    )
    refuse(
        energy < 0,
        "结算电量为负数（{energy}）：退补电量请并入所属账期后重新提供",
        "energy is negative ({energy}); give the corrected figure of the period instead",
    )
    unit_text = f["unit"].fillna("").astype(str).str.strip()
    factor = pd.Series(np.nan, index=f.index)
    kwh = registry().parse_units("kWh")
    for u in unit_text.loc[unit_text != ""].unique():
        try:
            parsed = parse_unit(u)
            ok = parsed.dimensionality == kwh.dimensionality
        except ValueError:
            ok = False
        if ok:
            factor.loc[unit_text == u] = float(registry().Quantity(1.0, parsed).to(kwh).magnitude)
        else:
            refuse(
                unit_text == u,
                "单位“{unit}”不是电量单位（如 kWh、万kWh）",
                "unit “{unit}” is not a unit of energy (e.g. kWh, 万kWh)",
            )
    issued = _issued(f["issued_at"], now)
    refuse(
        issued.isna(),
        "发布时间“{issued_at}”无法读取：请写作 YYYY-MM-DD HH:MM（北京时间）或带时区的ISO时间",
        "issued_at “{issued_at}” is not a time: write YYYY-MM-DD HH:MM (Beijing time) or ISO 8601 with an offset",
    )
    skew = parameters()["grid_issue_clock_skew_minutes"]
    latest = pd.Timestamp(now).tz_convert("UTC") + pd.Timedelta(minutes=float(skew))
    refuse(
        issued.notna() & (issued > latest),
        f"发布时间“{{issued_at}}”晚于当前时间（允许时钟误差{skew:g}分钟）：未来发布的账单会使之后真实的更正被当作旧数据，"
        "请核对发布时间后重新提供",
        f"issued_at “{{issued_at}}” is later than now (a clock difference of {skew:g} minutes allowed): a statement "
        "issued in the future would make every later real restatement look stale; check the issue time and send it "
        "again",
    )
    energy_kwh = energy * factor
    refuse(
        np.isinf(energy_kwh),
        "结算电量“{energy}”（单位“{unit}”）换算为kWh后超出数值范围：请核对数值和单位",
        "energy “{energy}” ({unit}) is beyond the range of numbers in kWh: check the figure and its unit",
    )
    name = f["account_name"].map(
        lambda v: None if v is None or pd.isna(v) or str(v).strip() == "" else str(v).strip()[:200]
    )
    bad = pd.Series(f.index.isin(list(reasons)), index=f.index)
    ok = pd.DataFrame(
        {
            "utility": utility,
            "account_no": account,
            "account_name": name,
            "period_start": start,
            "period_end": end,
            "energy_kwh": energy_kwh,
            "energy_original": energy,
            "unit_original": unit_text.map(normalise_unit_text),
            "issued_at": issued,
            "source_row": f["source_row"].astype(int),
        }
    ).loc[~bad]
    refused = frame.reset_index(drop=True).loc[bad].copy()
    refused["source_row"] = f.loc[bad, "source_row"].astype(int)
    refused["reason"] = ["; ".join(reasons[int(i)]) for i in refused.index]
    return ok.reset_index(drop=True), refused.reset_index(drop=True)


def _header_column(name: str) -> tuple[str | None, str | None]:
    """The statement column a header names, and the unit written in it (``结算电量(万kWh)``).  Pure."""
    s = unicodedata.normalize("NFKC", str(name)).strip()
    unit = None
    if s.endswith(")") and "(" in s:
        s, unit = s[: s.index("(")].strip(), s[s.index("(") + 1 : -1].strip()
    for col, names in HEADERS.items():
        if s in names or s.lower() in names:
            return col, unit or None
    return None, None


def read_statement_file(name: str, data: bytes, utility: str | None = None) -> pd.DataFrame:
    """A statement file (CSV, comma-separated, UTF-8 or GBK; or XLSX, its first sheet), header in the first row, as
    ``STATEMENT_COLUMNS`` plus ``source_row`` (the file's row, the header being row 1).  The energy's unit is a
    ``单位`` column or written in the energy header (``结算电量(kWh)``), never both; ``utility`` (a code) fills a
    file without a 供电单位 column (a feed from one utility).  Raises ``InputError`` naming the file for a file that
    cannot be read or lacks a required column (nothing is stored)."""
    try:
        if data[:4] == b"PK\x03\x04":
            raw = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, header=0)
        else:
            text_, _ = encoding.decode(data, name)
            raw = pd.read_csv(io.StringIO(text_), sep=",", dtype=str, keep_default_na=False, skipinitialspace=True)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            "无法读取电网账单文件：须为逗号分隔的CSV或XLSX",
            f"Cannot read the statement file: it must be a comma-separated CSV or an XLSX ({type(exc).__name__})",
            file=name,
        ) from None
    columns: dict[str, str] = {}
    header_unit = None
    for h in raw.columns:
        col, unit = _header_column(h)
        if col is None:
            continue
        if col in columns.values():
            raise InputError(f"列“{col}”出现两次", f"Column {col} appears twice", file=name, column=str(h))
        columns[str(h)] = col
        if col == "energy":
            header_unit = unit
    out = raw.rename(columns=columns)[list(columns.values())].copy()
    if "utility" not in out and utility is not None:
        out["utility"] = utility
    if header_unit is not None:
        if "unit" in out:
            raise InputError(
                "电量单位既写在表头又有“单位”列：请只保留一处",
                "The energy unit is both in the header and in a unit column: keep one",
                file=name,
            )
        out["unit"] = header_unit
    missing = [c for c in REQUIRED if c not in out]
    if missing:
        names = "、".join(HEADERS[c][0] for c in missing)
        raise InputError(
            f"电网账单文件缺少列：{names}（表头须在第1行；电量单位写在“单位”列或表头，如 结算电量(kWh)）",
            f"The statement file lacks the columns {', '.join(missing)} (header in row 1; the energy unit in a unit "
            "column or in the header, e.g. 结算电量(kWh))",
            file=name,
        )
    for col in STATEMENT_COLUMNS:
        if col not in out:
            out[col] = None
    out["source_row"] = np.arange(2, len(out) + 2)
    return out[[*STATEMENT_COLUMNS, "source_row"]]
