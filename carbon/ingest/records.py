"""Reading records from connectors through the same validation and storage as uploads.

A connector hands over a frame of records (``READING_COLUMNS``); interval records carry their period, register
records their read time.  Per enterprise they become one batch (the records archived as JSON lines), checked
against stored rows (duplicates stored once, corrections kept as history) and written in one transaction.
Records that cannot be used are returned with their reasons, for the connector's quarantine.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import partial

import pandas as pd
from sqlalchemy import Engine
from sqlmodel import Session, select

from carbon import reference
from carbon.ingest import checks, meter_reads, store
from carbon.ingest.columns import to_canonical
from carbon.ingest.pipeline import FileReport, check_against_storage, kept, stored_registers, write_report
from carbon.ingest.rules import Issues
from carbon.models import Enterprise
from carbon.units import finite_numbers

READING_COLUMNS = ["enterprise", "meter", "carrier", "kind", "start", "end", "value", "unit"]
KINDS = ("interval", "register")


def _typed(frame: pd.DataFrame, issues: Issues) -> pd.DataFrame:
    carrier = frame["carrier"].astype(str).str.strip().str.lower().map(reference.carrier_lookup())
    carriers = reference.carriers()
    issues.add(
        carrier.isna(),
        "unknown_carrier",
        frame["carrier"].astype(str),
        accepted_zh="、".join(carriers["name_zh"]),
        accepted_en=", ".join(carriers.index),
    )
    unit = frame["unit"].fillna("").astype(str)
    factor = to_canonical(carrier, unit, issues)
    value = finite_numbers(frame["value"])  # inf, NaN, 1e400: refused like any other non-number
    issues.add(value.isna(), "not_a_number", frame["value"].astype(str), column="value")
    start = pd.to_datetime(frame["start"], utc=True, errors="coerce")
    end = pd.to_datetime(frame["end"], utc=True, errors="coerce")
    issues.add(end.isna(), "bad_time", frame["end"].astype(str), column="end")
    interval = frame["kind"] == "interval"
    issues.add(interval & start.isna(), "bad_time", frame["start"].astype(str), column="start")
    return pd.DataFrame(
        {
            "meter_code": frame["meter"].astype(str),
            "carrier": carrier,
            "start": start,
            "end": end,
            "value": value,
            "unit": unit,
            "factor": factor,
            "kind": frame["kind"],
        },
        index=frame.index,
    )


def _report(session: Session, enterprise: str, part: pd.DataFrame, source: str, now: datetime) -> FileReport:
    data = part[READING_COLUMNS].to_json(orient="records", lines=True, date_format="iso").encode()
    report = FileReport(
        enterprise=enterprise,
        file=f"{source}@{now.isoformat(timespec='seconds')}",
        sha256="",
        size_bytes=len(data),
        data=data,
        shape="records",
        rows_read=len(part),
    )
    report.sha256 = hashlib.sha256(data).hexdigest()
    issues = Issues()
    t = _typed(part, issues)
    interval = t.loc[t["kind"] == "interval"]
    rows = pd.DataFrame(
        {
            "meter_code": interval["meter_code"],
            "carrier": interval["carrier"],
            "period_start": interval["start"],
            "period_end": interval["end"],
            "quantity_original": interval["value"],
            "unit_original": interval["unit"],
            "quantity_canonical": interval["value"] * interval["factor"],
        }
    )
    reg = t.loc[t["kind"] == "register"]
    if len(reg):
        readings = pd.DataFrame(
            {
                "meter_code": reg["meter_code"],
                "carrier": reg["carrier"],
                "read_at": reg["end"],
                "register": reg["value"],
                "multiplier": 1.0,
                "unit": reg["unit"],
                "factor": reg["factor"],
                "replaced": False,
                "source_row": reg.index.astype(int),
            }
        )
        steps, report.registers = meter_reads.register_steps(
            readings, issues, lambda codes: stored_registers(session, enterprise, codes)
        )
        rows = pd.concat([rows, steps])
    checks.row_checks(rows, issues, now)
    rows = rows.assign(source_row=rows.index.astype(int))
    report.rows = kept(rows, issues.ok(rows.index))
    report.issues, report.refused = issues.items, issues.refused
    return report


def checked_report(session: Session, enterprise: str, part: pd.DataFrame, source: str, now: datetime) -> FileReport:
    """One enterprise's records read and checked against what is stored (again, under the write lock, when
    another upload of the enterprise was stored since)."""
    before = store.stored_batches(session.connection(), enterprise)  # first: what is read below is at least as new
    report = _report(session, enterprise, part, source, now)
    check_against_storage(session, [report], enterprise)
    report.stored_before, report.rows_rejected, report.readings = before, len(report.refused), len(report.rows)
    return report


def ingest_records(
    engine: Engine, records: pd.DataFrame, source: str, now: datetime | None = None
) -> tuple[list[FileReport], pd.DataFrame]:
    """Store connector records; returns the batch reports and the refused records with a ``reason`` column."""
    now = now or datetime.now(UTC)
    records = records.reset_index(drop=True)
    records.index = records.index + 1  # "row" in messages: position in the batch, from 1
    refused = []
    reports = []
    bad_kind = ~records["kind"].isin(KINDS)
    if bad_kind.any():
        refused.append(
            records.loc[bad_kind].assign(reason="kind 须为 interval 或 register / kind must be interval or register")
        )
    with Session(engine) as session:
        known = set(session.exec(select(Enterprise.uscc)).all())
        for enterprise, part in records.loc[~bad_kind].groupby("enterprise", sort=True):
            if enterprise not in known:
                refused.append(
                    part.assign(
                        reason=f"企业 {enterprise} 未登记，请先运行 carbon enterprise add / "
                        f"enterprise {enterprise} is not registered; run carbon enterprise add first"
                    )
                )
                continue
            reports.append((str(enterprise), checked_report(session, str(enterprise), part, source, now), part))
    done = []
    for enterprise, report, part in reports:
        if len(report.rows) or (report.registers is not None and len(report.registers)):
            report = write_report(
                engine,
                report,
                enterprise,
                source,
                now,
                store_rows=lambda _: True,
                recheck=partial(checked_report, enterprise=enterprise, part=part, source=source, now=now),
            )
        done.append(report)
        if report.refused:
            reasons = {}
            for issue in report.errors:
                reasons.setdefault(issue.row, []).append(issue.message)  # Chinese / English, as files get
            rows = sorted(report.refused)
            refused.append(part.loc[rows].assign(reason=["; ".join(reasons.get(r, [])) for r in rows]))
    out = pd.concat(refused) if refused else records.iloc[:0].assign(reason="")
    return done, out
