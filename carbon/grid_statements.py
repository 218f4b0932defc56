"""The utility's statements per account and billing period (电费账单 / 用电信息采集 exports): read, checked, stored.

A statement is what a grid company shares with government platforms per customer account (户号) and billing
period: 供电单位 (utility), 户号 (account), 户名 (account name), 上次抄表日期 and 本次抄表日期 (the previous and this
meter-reading dates, which bound the billing period; they are not calendar months), 结算电量 (the settled active
energy of the period, in kWh or 万kWh) and, where the feed gives it, 发布时间 (when the utility issued or restated the
figure).  The reading dates are day-freeze readings (日冻结示数, taken at 00:00 by the utility's metering system), so
the period is ``[period_start 00:00, period_end 00:00)`` Beijing time: the energy between two reading dates belongs to
the days from the first up to, not including, the second.

``STATEMENT_COLUMNS`` is the shape a connector hands over (HTTP items) and a file is read into
(``read_statement_file``); ``check_statements`` types them and refuses what cannot be read exactly, with reasons in
Chinese and English; ``store_statements`` writes them in one transaction: the same statement twice is stored once, a
restated statement (another figure for the same account and period, issued later) supersedes the current one, which
stays as history, a statement of an account no enterprise has registered is kept and reported.  Entered through
``carbon.intake.receive_grid_statements`` (the one door).
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, and_, insert, or_, select, text, update

from carbon import encoding
from carbon.errors import InputError
from carbon.grid_accounts import normalise_account, utility_code
from carbon.models import GridAccount, GridStatement
from carbon.reference import read_data
from carbon.units import finite_numbers, normalise_unit_text, parse_unit, registry

STATEMENT_COLUMNS = ["utility", "account", "account_name", "period_start", "period_end", "energy", "unit", "issued_at"]
REQUIRED = ("utility", "account", "period_start", "period_end", "energy", "unit")
LOCAL_TZ = "Asia/Shanghai"
KEY = ["utility", "account_no", "period_start", "period_end"]

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


@cache
def parameters() -> pd.Series:
    """The reconciliation parameters of ``carbon/data/reconciliation_parameters.csv`` (project defaults), by name."""
    return read_data("reconciliation_parameters.csv").set_index("name")["value"].astype(float)


def _reason(zh: str, en: str) -> str:
    return f"{zh} / {en}"


def _dates(values: pd.Series) -> pd.Series:
    """Reading dates as ``datetime.date``: ISO ``YYYY-MM-DD``, ``YYYYMMDD`` or a date cell; NaT (None) otherwise,
    also for a time of day other than midnight (a reading date is a date).  Pure."""

    def one(v: Any) -> date | None:
        if isinstance(v, datetime):
            return v.date() if (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0) else None
        if isinstance(v, date):
            return v
        s = unicodedata.normalize("NFKC", str(v)).strip()
        for fmt in ("%Y-%m-%d", "%Y%m%d"):
            try:
                return datetime.strptime(s, fmt).date()  # noqa: DTZ007  (a calendar date, no time)
            except ValueError:
                continue
        return None

    return values.map(one)


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
        refuse(gone, f"缺少 {col}", f"{col} is missing")
        missing |= gone
    utility = typed("utility", lambda v: None if v is None or pd.isna(v) or str(v).strip() == "" else utility_code(v))
    account = typed(
        "account", lambda v: None if v is None or pd.isna(v) or str(v).strip() == "" else normalise_account(v)
    )
    start, end = _dates(f["period_start"]), _dates(f["period_end"])
    refuse(
        start.isna() & ~missing,
        "上次抄表日期“{period_start}”无法读取：请写作 YYYY-MM-DD",
        "period_start “{period_start}” is not a date: write it as YYYY-MM-DD",
    )
    refuse(
        end.isna() & ~missing,
        "本次抄表日期“{period_end}”无法读取：请写作 YYYY-MM-DD",
        "period_end “{period_end}” is not a date: write it as YYYY-MM-DD",
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
    energy = finite_numbers(f["energy"])
    refuse(energy.isna() & ~missing, "结算电量“{energy}”不是数字", "energy “{energy}” is not a number")
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
    refuse(issued.isna(), "发布时间“{issued_at}”无法读取", "issued_at “{issued_at}” is not a time")
    energy_kwh = energy * factor
    refuse(np.isinf(energy_kwh), "结算电量换算为kWh后超出数值范围", "energy is beyond the range of numbers in kWh")
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


@dataclass
class StatementReport:
    """What happened to one delivery of statements (a file or an HTTP run)."""

    source: str
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    restated: int = 0
    stale: int = 0
    refused: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[*STATEMENT_COLUMNS, "reason"]))
    unknown_accounts: list[dict[str, str]] = field(default_factory=list)
    statement_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (refused rows with their reasons, unknown accounts)."""
        refused = self.refused.astype(object).where(self.refused.notna(), None)
        return {
            "source": self.source,
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "restated": self.restated,
            "stale": self.stale,
            "refused": [
                {k: (str(v) if v is not None else None) for k, v in r.items()} for r in refused.to_dict("records")
            ],
            "unknown_accounts": self.unknown_accounts,
        }


def _lock(conn: Connection) -> None:
    """Serialise writers of statements until the transaction ends (first statement of it)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('grid_statement', 0))"))
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    return pd.Series(np.isclose(a.astype(float), b.astype(float), rtol=1e-12, atol=1e-9), index=a.index)


def _refused_rows(rows: pd.DataFrame, zh: str, en: str) -> pd.DataFrame:
    """Checked rows refused while storing, in the columns they were given in (``STATEMENT_COLUMNS``)."""
    out = pd.DataFrame(
        {
            "utility": rows["utility"],
            "account": rows["account_no"],
            "account_name": rows["account_name"],
            "period_start": rows["period_start"].map(str),
            "period_end": rows["period_end"].map(str),
            "energy": rows["energy_original"],
            "unit": rows["unit_original"],
            "issued_at": rows["issued_at"].map(lambda t: t.isoformat()),
            "source_row": rows["source_row"],
        }
    )
    out["reason"] = _reason(zh, en)
    return out


def store_statements(engine: Engine, ok: pd.DataFrame, source: str, now: datetime | None = None) -> StatementReport:
    """Write checked statements (``check_statements``'s ``ok``) in one transaction holding the statements' write
    lock.  The same statement (account, period and figure) again: a duplicate, not stored.  Another figure for a
    stored account and period issued at or after the stored one: a restatement, stored, the earlier kept as history
    (``superseded_at``, ``superseded_by``); issued before it: ``stale``, not stored.  Two figures for one account and
    period in one delivery: the one issued last, refused both when issued at the same time.  A period overlapping
    another of the same account (other dates): refused.  Accounts no enterprise has registered are listed in
    ``unknown_accounts``; their statements are stored all the same."""
    at = pd.Timestamp(now or datetime.now(UTC)).tz_convert("UTC").to_pydatetime()
    report = StatementReport(source=source, received=len(ok))
    if ok.empty:
        return report
    refused: list[pd.DataFrame] = []
    x = ok.sort_values(["issued_at", "source_row"], kind="stable").reset_index(drop=True)
    # one delivery: the same statement twice counts once; two figures of one key, the later issued
    same = x.duplicated([*KEY, "energy_kwh"], keep="last")
    report.duplicates += int(same.sum())
    x = x.loc[~same]
    last = x.groupby(KEY, sort=False)["issued_at"].transform("max")
    tie = x.loc[x["issued_at"] == last].duplicated(KEY, keep=False)
    tied = x.loc[tie[tie].index]
    if len(tied):
        refused.append(
            _refused_rows(
                tied,
                "同一户号和账期在同批数据中有不同电量且发布时间相同",
                "two figures for one account and period in one delivery, issued at the same time",
            )
        )
    report.stale += int(((x["issued_at"] < last) & ~x.index.isin(tied.index)).sum())
    x = x.loc[(x["issued_at"] == last) & ~x.index.isin(tied.index)]
    # overlapping periods of one account within the delivery
    x = x.sort_values(["utility", "account_no", "period_start"]).reset_index(drop=True)
    prev_end = x.groupby(["utility", "account_no"])["period_end"].shift()
    next_start = x.groupby(["utility", "account_no"])["period_start"].shift(-1)
    lap = (prev_end.notna() & (x["period_start"] < prev_end)) | (next_start.notna() & (x["period_end"] > next_start))
    if lap.any():
        refused.append(
            _refused_rows(
                x.loc[lap], "账期与同一户号的另一账期重叠", "the billing period overlaps another of the same account"
            )
        )
        x = x.loc[~lap]
    with engine.begin() as conn:
        _lock(conn)
        keys = x[["utility", "account_no"]].drop_duplicates()
        cond = or_(
            *(and_(GridStatement.utility == u, GridStatement.account_no == a) for u, a in keys.itertuples(index=False))
        )
        stored = (
            pd.read_sql(
                select(
                    GridStatement.id,
                    GridStatement.utility,
                    GridStatement.account_no,
                    GridStatement.period_start,
                    GridStatement.period_end,
                    GridStatement.energy_kwh,
                    GridStatement.issued_at,
                ).where(GridStatement.superseded_at.is_(None), cond),
                conn,
            )
            if len(keys)
            else pd.DataFrame(columns=["id", *KEY, "energy_kwh", "issued_at"])
        )
        for col in ("period_start", "period_end"):
            stored[col] = pd.to_datetime(stored[col]).dt.date
        stored["issued_at"] = pd.to_datetime(stored["issued_at"], utc=True, format="ISO8601")
        m = x.merge(stored, on=KEY, how="left", suffixes=("", "_stored"))
        known = m["id"].notna()
        dup = known & _same(m["energy_kwh"], m["energy_kwh_stored"])
        report.duplicates += int(dup.sum())
        older = known & ~dup & (m["issued_at"] < m["issued_at_stored"])
        report.stale += int(older.sum())
        m = m.loc[~dup & ~older]
        # a new period overlapping a stored one of other dates
        fresh = m.loc[m["id"].isna()]
        if len(fresh) and len(stored):
            pairs = fresh.reset_index().merge(stored, on=["utility", "account_no"], suffixes=("", "_s"))
            hits = pairs.loc[
                (pairs["period_start"] < pairs["period_end_s"]) & (pairs["period_end"] > pairs["period_start_s"]),
                "index",
            ]
            if len(hits):
                refused.append(
                    _refused_rows(
                        m.loc[hits.unique(), list(ok.columns)],
                        "账期与已存的同一户号账期重叠（起止日期不同）",
                        "the billing period overlaps a stored one of the same account with other dates",
                    )
                )
                m = m.drop(index=hits.unique())
        for r in m.itertuples(index=False):
            restates = not pd.isna(r.id)
            if restates:  # first out of the current index, then linked to what replaced it
                conn.execute(update(GridStatement).where(GridStatement.id == int(r.id)).values(superseded_at=at))
            new_id = conn.execute(
                insert(GridStatement).values(
                    utility=r.utility,
                    account_no=r.account_no,
                    account_name=r.account_name,
                    period_start=r.period_start,
                    period_end=r.period_end,
                    energy_kwh=float(r.energy_kwh),
                    energy_original=float(r.energy_original),
                    unit_original=str(r.unit_original)[:32],
                    issued_at=pd.Timestamp(r.issued_at).to_pydatetime(),
                    received_at=at,
                    source=source[:500],
                    source_row=int(r.source_row),
                )
            ).inserted_primary_key[0]
            if restates:
                conn.execute(
                    update(GridStatement).where(GridStatement.id == int(r.id)).values(superseded_by=int(new_id))
                )
                report.restated += 1
            report.stored += 1
            report.statement_ids.append(int(new_id))
        registered = set(
            conn.execute(
                select(GridAccount.utility, GridAccount.account_no).where(
                    GridAccount.account_no.in_(list(x["account_no"].unique()))
                )
            ).all()
        )
    unknown = x.loc[[(u, a) not in registered for u, a in zip(x["utility"], x["account_no"], strict=True)]]
    report.unknown_accounts = [
        {"utility": u, "account_no": a}
        for u, a in unknown[["utility", "account_no"]].drop_duplicates().itertuples(index=False)
    ]
    if refused:
        report.refused = pd.concat(refused, ignore_index=True)
    return report


def current_statements(engine: Engine, utility_accounts: list[tuple[str, str]] | None = None) -> pd.DataFrame:
    """The current statements (not superseded): id, utility, account_no, account_name, period_start, period_end
    (``datetime.date``), energy_kwh, issued_at (UTC), source.  Of the given (utility, account_no) pairs only, when
    given."""
    stmt = select(
        GridStatement.id,
        GridStatement.utility,
        GridStatement.account_no,
        GridStatement.account_name,
        GridStatement.period_start,
        GridStatement.period_end,
        GridStatement.energy_kwh,
        GridStatement.issued_at,
        GridStatement.source,
    ).where(GridStatement.superseded_at.is_(None))
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    for col in ("period_start", "period_end"):
        df[col] = pd.to_datetime(df[col]).dt.date
    df["issued_at"] = pd.to_datetime(df["issued_at"], utc=True, format="ISO8601")
    if utility_accounts is not None:
        keys = set(utility_accounts)
        df = df.loc[[(u, a) in keys for u, a in zip(df["utility"], df["account_no"], strict=True)]]
    return df.reset_index(drop=True)


def file_source(path: Path | str, source: str) -> str:
    """How a statement file is named as its statements' source: the connector or command, and the file name."""
    return f"{source}:{Path(path).name}"
