"""Official statistics: regional GDP and enterprises' value added / output value, by year, with sources.

``carbon stats import FILE``: a CSV (UTF-8 or GB18030) with columns subject (region id or USCC), year, indicator
(gdp 地区生产总值, value_added 增加值, output_value 产值), value, unit (万元, 亿元, 元, CNY, ...), status (provisional
初步 / final 最终 / revised 修订) and source.  A file of regional energy statistics (``carbon.regional_energy``) is
told apart by its header.  All or nothing; a changed figure supersedes the stored one, which stays as history, unless
it is of a weaker status (provisional < final < revised): an old file imported again never undoes a revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pint
from sqlalchemy import Engine, insert, select, update
from sqlmodel import Session

from carbon import reference
from carbon.errors import InputError, RowIssue
from carbon.limits import long_cells, time_limits
from carbon.models import Enterprise, Statistic
from carbon.regional_energy import COLUMNS as ENERGY_COLUMNS
from carbon.regional_energy import STATUS_LABELS, STATUS_ORDER, EnergyReport, import_regional_energy
from carbon.stats_csv import read_table
from carbon.units import conversion_factor, finite_numbers, overflows

INDICATORS = {
    "gdp": "gdp",
    "地区生产总值": "gdp",
    "value_added": "value_added",
    "增加值": "value_added",
    "工业增加值": "value_added",
    "output_value": "output_value",
    "产值": "output_value",
    "工业总产值": "output_value",
}
STATUSES = {
    "provisional": "provisional",
    "初步": "provisional",
    "初步核算": "provisional",
    "final": "final",
    "最终": "final",
    "最终核实": "final",
    "revised": "revised",
    "修订": "revised",
    "修订值": "revised",
}
COLUMNS = ("subject", "year", "indicator", "value", "unit", "status", "source")


@dataclass
class StatsReport:
    """What an import did."""

    file: str
    rows_read: int = 0
    stored: int = 0
    revised: int = 0
    unchanged: int = 0
    errors: list[RowIssue] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "rows_read": self.rows_read,
            "stored": self.stored,
            "revised": self.revised,
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in self.errors],
        }


def _money_factor(unit: str) -> float | None:
    """The factor from a unit of money to 万元, or None for a unit that is not money."""
    try:
        return conversion_factor(unit, "wan_CNY")
    except (ValueError, pint.errors.DimensionalityError):
        return None


def _issue(row: int, column: str, value: object, zh: str, en: str) -> RowIssue:
    return RowIssue(row, column, value, zh, en, code="stats")


def _parse(df: pd.DataFrame, regions: set[str], enterprises: set[str]) -> tuple[pd.DataFrame, list[RowIssue]]:
    issues: list[RowIssue] = []
    rows = []
    values = finite_numbers(df["value"].astype(str).str.replace(",", "", regex=False))
    earliest, latest = time_limits()
    for n, r in df.iterrows():
        row = int(n)
        subject = (
            str(r["subject"]).strip().upper()
            if str(r["subject"]).strip().upper() in enterprises
            else str(r["subject"]).strip().lower()
        )
        kind = "region" if subject in regions else "enterprise" if subject in enterprises else None
        if kind is None:
            issues.append(
                _issue(
                    row,
                    "subject",
                    r["subject"],
                    "未知区域或未登记企业",
                    "Unknown region or unregistered "
                    "enterprise (give zone, qingpu, wujiang, jiashan or a registered USCC)",
                )
            )
        indicator = INDICATORS.get(str(r["indicator"]).strip().lower())
        if indicator is None:
            issues.append(
                _issue(
                    row,
                    "indicator",
                    r["indicator"],
                    "指标须为 地区生产总值、增加值 或 产值",
                    "indicator must be gdp, value_added or output_value",
                )
            )
        status = STATUSES.get(str(r["status"]).strip().lower())
        if status is None:
            issues.append(
                _issue(
                    row,
                    "status",
                    r["status"],
                    "状态须为 初步、最终 或 修订",
                    "status must be provisional, final or revised",
                )
            )
        year = pd.to_numeric(r["year"], errors="coerce")
        if pd.isna(year) or not earliest.year <= year < latest.year:
            issues.append(
                _issue(
                    row,
                    "year",
                    r["year"],
                    f"年份不对，须在 {earliest.year} 至 {latest.year - 1} 之间",
                    f"year must be a year from {earliest.year} to {latest.year - 1}, such as 2024",
                )
            )
        too_long = long_cells(row, {"unit": r["unit"], "source": r["source"]}, "stats")  # before pint sees the unit
        issues += too_long
        long = {i.column for i in too_long}
        value = values[n]
        if pd.isna(value) or value <= 0:
            issues.append(
                _issue(row, "value", r["value"], "数值须为有限的正数", "value must be a finite positive number")
            )
        factor = None if "unit" in long else _money_factor(str(r["unit"]))
        if factor is None and "unit" not in long:
            issues.append(
                _issue(
                    row,
                    "unit",
                    r["unit"],
                    "单位须为货币单位，如 万元、亿元、元",
                    "unit must be money, e.g. 万元, 亿元, 元 (CNY)",
                )
            )
        if factor is not None and value > 0 and overflows(value * factor):
            issues.append(
                _issue(
                    row,
                    "value",
                    r["value"],
                    "换算为万元后超出可表示范围（大于约 1.8e308），请核对数值和单位",
                    "too large once converted to 万元 (10^4 CNY; beyond about 1.8e308); check the value and its unit",
                )
            )
        if not str(r["source"]).strip():
            issues.append(
                _issue(
                    row,
                    "source",
                    r["source"],
                    "请注明数据来源（如 统计年鉴、统计公报）",
                    "give the source (e.g. statistical yearbook or bulletin)",
                )
            )
        if not any(i.row == row for i in issues):
            rows.append(
                {
                    "row": row,
                    "status_as_given": str(r["status"]),
                    "subject_kind": kind,
                    "subject_id": subject,
                    "year": int(year),
                    "indicator": indicator,
                    "value_wan_cny": float(value) * factor,
                    "status": status,
                    "source": str(r["source"]).strip(),
                }
            )
    return pd.DataFrame(rows), issues


def import_stats(engine: Engine, path: Path, now: datetime | None = None) -> StatsReport | EnergyReport:
    """Import a statistics CSV; nothing is stored if any row is refused (the report lists every problem).

    The header tells the kind of file, exactly: ``COLUMNS`` (GDP, value added, output value) or
    ``carbon.regional_energy.COLUMNS`` (regional energy statistics, ``import_regional_energy``); any other header is
    refused, naming the columns each kind needs."""
    now = now or datetime.now(UTC)
    df = read_table(path)
    header = sorted(df.columns)
    if header == sorted(ENERGY_COLUMNS):
        return import_regional_energy(engine, path, now)
    if header != sorted(COLUMNS):
        raise InputError(
            f"表头既不是经济统计（{', '.join(COLUMNS)}）也不是地区能源统计（{', '.join(ENERGY_COLUMNS)}）；"
            f"本文件的表头为 {', '.join(df.columns)}",
            f"The header is neither economic statistics ({', '.join(COLUMNS)}) nor regional energy statistics "
            f"({', '.join(ENERGY_COLUMNS)}), exactly; this file has {', '.join(df.columns)}",
            file=path.name,
        )
    report = StatsReport(file=str(path), rows_read=len(df))
    with Session(engine) as session:
        enterprises = set(session.exec(select(Enterprise.uscc)).scalars())
        parsed, report.errors = _parse(df, set(reference.regions().index), enterprises)
        if report.errors:
            return report
        current = pd.DataFrame(
            session.exec(
                select(
                    Statistic.id,
                    Statistic.subject_id,
                    Statistic.year,
                    Statistic.indicator,
                    Statistic.value_wan_cny,
                    Statistic.status,
                ).where(Statistic.superseded_at.is_(None))
            ).all(),
            columns=["id", "subject_id", "year", "indicator", "old_value", "old_status"],
        )
    merged = parsed.merge(current, on=["subject_id", "year", "indicator"], how="left")
    same = (
        merged["old_value"].notna()
        & (merged["old_value"] == merged["value_wan_cny"])
        & (merged["old_status"] == merged["status"])
    )
    revised = merged["old_value"].notna() & ~same
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    weaker = revised & (merged["status"].map(rank) < merged["old_status"].map(rank))
    for r in merged.loc[weaker].itertuples():
        old_zh, old_en = STATUS_LABELS[r.old_status]
        report.errors.append(
            _issue(
                int(r.row),
                "status",
                r.status_as_given,
                f"已存有{old_zh}数字（{r.old_value:,.2f} 万元），“{r.status_as_given}”（{STATUS_LABELS[r.status][0]}）"
                "数字不能取代它：重新导入旧文件不会撤销修订；修订请填 修订（revised）",
                f"a {old_en} figure is stored ({r.old_value:,.2f} 万元); “{r.status_as_given}” "
                f"({STATUS_LABELS[r.status][1]}) cannot replace it: importing an old file again never undoes a "
                "revision; give a revision the status revised (修订)",
            )
        )
    if report.errors:
        return report
    columns = [c for c in parsed.columns if c not in ("row", "status_as_given")]
    new = merged.loc[~same, columns].assign(imported_at=now)
    with engine.begin() as conn:
        ids = merged.loc[revised, "id"].astype(int).tolist()
        if ids:
            conn.execute(update(Statistic).where(Statistic.id.in_(ids)).values(superseded_at=now))
        if len(new):
            conn.execute(insert(Statistic), new.to_dict("records"))
    report.stored, report.revised, report.unchanged = len(new), int(revised.sum()), int(same.sum())
    return report


def current_stats(engine: Engine, indicator: str, year: int) -> pd.DataFrame:
    """The current (not superseded) figures of one indicator and year: ``subject_id``, ``value_10k_cny`` (stored as
    ``value_wan_cny``), ``status``, ``source``."""
    value = Statistic.value_wan_cny.label("value_10k_cny")
    with engine.connect() as conn:
        return pd.read_sql(
            select(Statistic.subject_id, value, Statistic.status, Statistic.source).where(
                Statistic.indicator == indicator, Statistic.year == year, Statistic.superseded_at.is_(None)
            ),
            conn,
        )
