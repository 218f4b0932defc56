"""The utility's statements per account and billing period (电费账单 / 用电信息采集 exports): read, checked, stored.

A statement is what a grid company shares with government platforms per customer account (户号) and billing
period: 供电单位 (utility), 户号 (account), 户名 (account name), 上次抄表日期 and 本次抄表日期 (the previous and this
meter-reading dates, which bound the billing period; they are not calendar months), 结算电量 (the settled active
energy of the period, in kWh or 万kWh) and, where the feed gives it, 发布时间 (when the utility issued or restated the
figure).  The reading dates are day-freeze readings (日冻结示数, taken at 00:00 by the utility's metering system), so
the period is ``[period_start 00:00, period_end 00:00)`` Beijing time: the energy between two reading dates belongs to
the days from the first up to, not including, the second.

``STATEMENT_COLUMNS`` is the shape a connector hands over (HTTP items) and a file is read into
(``carbon.grid_statement_checks.read_statement_file``); ``carbon.grid_statement_checks.check_statements`` types
them and refuses what cannot be read exactly, with reasons in Chinese and English; ``store_statements`` writes them
in one transaction: the same statement twice is stored once, a restated statement (another figure for the same
account and period, issued later) supersedes the current one, which stays as history, a statement of an account no
enterprise has registered is kept and reported. A file is stored whole or not at all (``all_or_nothing``): one
refused row and nothing of it is stored; a connector's HTTP pages keep their good items and quarantine the bad ones.
Entered through ``carbon.intake.receive_grid_statements`` (the one door).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, and_, false, insert, or_, select, text, update

from carbon.models import GridAccount, GridStatement
from carbon.reference import read_data

STATEMENT_COLUMNS = ["utility", "account", "account_name", "period_start", "period_end", "energy", "unit", "issued_at"]
REQUIRED = ("utility", "account", "period_start", "period_end", "energy", "unit")
LOCAL_TZ = "Asia/Shanghai"
KEY = ["utility", "account_no", "period_start", "period_end"]


@cache
def parameters() -> pd.Series:
    """The reconciliation parameters of ``carbon/data/reconciliation_parameters.csv`` (project defaults), by name."""
    return read_data("reconciliation_parameters.csv").set_index("name")["value"].astype(float)


def _reason(zh: str, en: str) -> str:
    return f"{zh} / {en}"


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
    all_or_nothing: bool = False  # a file: stored whole or not at all

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
            "all_or_nothing": self.all_or_nothing,
            "nothing_stored": self.all_or_nothing and len(self.refused) > 0,
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


def _refused_rows(rows: pd.DataFrame, zh: str | list[str], en: str | list[str]) -> pd.DataFrame:
    """Checked rows refused while storing, in the columns they were given in (``STATEMENT_COLUMNS``), with a reason
    (one for all, or one per row)."""
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
    if isinstance(zh, str):
        out["reason"] = _reason(zh, str(en))
    else:
        out["reason"] = [_reason(z, e) for z, e in zip(zh, en, strict=True)]
    return out


def _overlap_reasons(rows: pd.DataFrame, other_start: pd.Series, other_end: pd.Series, stored: bool) -> tuple:
    """Per row, the reason naming its reading dates and the period of the same account they overlap.  Pure."""
    where_zh = "已存的" if stored else "本批数据中"
    where_en = "a stored" if stored else "another"
    zh, en = [], []
    for r, s0, e0 in zip(rows.itertuples(index=False), other_start, other_end, strict=True):
        zh.append(
            f"上次抄表日期“{r.period_start}”至本次抄表日期“{r.period_end}”与{where_zh}户号 {r.account_no} 账期 "
            f"{s0} 至 {e0} 重叠：同一户号的账期不能重叠，请核对抄表日期（更正已有账期须用相同起止日期）"
        )
        en.append(
            f"period_start “{r.period_start}” to period_end “{r.period_end}” overlaps {where_en} billing period "
            f"{s0} to {e0} of account {r.account_no}: periods of one account cannot overlap; check the reading dates "
            "(a restatement keeps the same dates)"
        )
    return zh, en


def store_statements(
    engine: Engine,
    ok: pd.DataFrame,
    source: str,
    now: datetime | None = None,
    *,
    all_or_nothing: bool = False,
    refused_before: int = 0,
) -> StatementReport:
    """Write checked statements (``check_statements``'s ``ok``) in one transaction holding the statements' write
    lock.  The same statement (account, period and figure) again: a duplicate, not stored.  Another figure for a
    stored account and period issued at or after the stored one: a restatement, stored, the earlier kept as history
    (``superseded_at``, ``superseded_by``); issued before it: ``stale``, not stored.  Two figures for one account and
    period in one delivery: the one issued last, refused both when issued at the same time.  A period overlapping
    another of the same account (other dates): refused.  Accounts no enterprise has registered are listed in
    ``unknown_accounts``; their statements are stored all the same."""
    at = pd.Timestamp(now or datetime.now(UTC)).tz_convert("UTC").to_pydatetime()
    report = StatementReport(source=source, received=len(ok), all_or_nothing=all_or_nothing)
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
                [
                    f"结算电量“{e:g}”：户号 {a} 账期 {p0} 至 {p1} 在同批数据中有不同电量"
                    f"且发布时间“{t.isoformat()}”相同，无法判断哪个是更正：请只保留一个，或写明各自的发布时间"
                    for e, a, p0, p1, t in zip(
                        tied["energy_original"],
                        tied["account_no"],
                        tied["period_start"],
                        tied["period_end"],
                        tied["issued_at"],
                        strict=True,
                    )
                ],
                [
                    f"energy “{e:g}”: account {a}, period {p0} to {p1} has two figures in one delivery issued at the "
                    f"same time “{t.isoformat()}”, so neither can be taken as the restatement: keep one, or give "
                    "each its issue time"
                    for e, a, p0, p1, t in zip(
                        tied["energy_original"],
                        tied["account_no"],
                        tied["period_start"],
                        tied["period_end"],
                        tied["issued_at"],
                        strict=True,
                    )
                ],
            )
        )
    report.stale += int(((x["issued_at"] < last) & ~x.index.isin(tied.index)).sum())
    x = x.loc[(x["issued_at"] == last) & ~x.index.isin(tied.index)]
    # overlapping periods of one account within the delivery
    x = x.sort_values(["utility", "account_no", "period_start"]).reset_index(drop=True)
    by_account = x.groupby(["utility", "account_no"])
    prev_start, prev_end = by_account["period_start"].shift(), by_account["period_end"].shift()
    next_start, next_end = by_account["period_start"].shift(-1), by_account["period_end"].shift(-1)
    after_prev = prev_end.notna() & (x["period_start"] < prev_end)
    lap = after_prev | (next_start.notna() & (x["period_end"] > next_start))
    if lap.any():
        other_start = prev_start.where(after_prev, next_start)[lap]
        other_end = prev_end.where(after_prev, next_end)[lap]
        zh, en = _overlap_reasons(x.loc[lap], other_start, other_end, stored=False)
        refused.append(_refused_rows(x.loc[lap], zh, en))
        x = x.loc[~lap]
    with engine.begin() as conn:
        _lock(conn)
        keys = x[["utility", "account_no"]].drop_duplicates()
        cond = or_(
            false(),
            *(and_(GridStatement.utility == u, GridStatement.account_no == a) for u, a in keys.itertuples(index=False)),
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
        # a stored issue time beyond now (kept before such times were refused) makes nothing stale
        latest = pd.Timestamp(at) + pd.Timedelta(minutes=float(parameters()["grid_issue_clock_skew_minutes"]))
        older = known & ~dup & (m["issued_at"] < m["issued_at_stored"]) & (m["issued_at_stored"] <= latest)
        report.stale += int(older.sum())
        m = m.loc[~dup & ~older]
        # a new period overlapping a stored one of other dates
        fresh = m.loc[m["id"].isna()]
        if len(fresh) and len(stored):
            pairs = fresh.reset_index().merge(stored, on=["utility", "account_no"], suffixes=("", "_s"))
            hit = pairs.loc[
                (pairs["period_start"] < pairs["period_end_s"]) & (pairs["period_end"] > pairs["period_start_s"])
            ].drop_duplicates("index")
            if len(hit):
                rows = m.loc[hit["index"], list(ok.columns)]
                zh, en = _overlap_reasons(rows, hit["period_start_s"], hit["period_end_s"], stored=True)
                refused.append(_refused_rows(rows, zh, en))
                m = m.drop(index=hit["index"])
        if all_or_nothing and (refused or refused_before):
            m = m.iloc[0:0]  # a file with a refused row: nothing of it is stored
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
    if all_or_nothing and (refused or refused_before):
        x = x.iloc[0:0]  # nothing of the file was kept: no account to report as kept
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
