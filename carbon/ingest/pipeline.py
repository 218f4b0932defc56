"""Ingest orchestration: read each file, recognise its shape, validate, check against storage, store.

By default a call is all or nothing for readings: if any row of any file is refused, no reading is stored,
every problem is reported, and each refused file is archived as ``rejected`` with its refused rows kept.
With ``accept_valid`` each file's good rows are stored and its refused rows kept to download and fix.
Each file is written in one transaction.  Re-sent rows count as duplicates; a different value for a
stored meter and period supersedes it (the old value stays in history).  Concurrent uploads of one enterprise end
as if one had come after the other: each file is written holding the enterprise's write lock, and a file checked
before another upload of the enterprise was stored is read and checked again inside its write transaction (the same
bytes become a duplicate file, overlapping readings are refused as a sequential second upload's would be).  A file
whose write still loses a unique-constraint race is read again against what is now stored (``write_or_reread``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from carbon import outbox, reference
from carbon.errors import InputError, NotFoundError, RowIssue
from carbon.ingest import checks, shapes, store
from carbon.ingest.cells import DELIMITERS, CellBudget, cell_budget, read_sheets
from carbon.ingest.header import Header, find_header, is_total_row, template_names
from carbon.ingest.rules import Issues
from carbon.ingest.values import decimal_comma_file
from carbon.limits import limit
from carbon.models import Activity, Batch, Enterprise, Meter, RegisterReading
from carbon.partitions import prepare_activity_partitions


@dataclass
class FileReport:
    """What happened to one file (the ``--json`` object of ``carbon ingest``)."""

    file: str
    sha256: str
    size_bytes: int
    enterprise: str = ""
    shape: str = ""
    sheet: str = ""
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rows_corrected: int = 0
    rows_skipped: int = 0
    readings: int = 0
    duplicate_file: bool = False
    stored: bool = False
    batch_id: int | None = None
    status: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    issues: list[RowIssue] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    data: bytes = field(default=b"", repr=False)
    rows: pd.DataFrame | None = field(default=None, repr=False)
    registers: pd.DataFrame | None = field(default=None, repr=False)
    refused: set[int] = field(default_factory=set, repr=False)
    cells: pd.DataFrame | None = field(default=None, repr=False)
    header: Header | None = field(default=None, repr=False)
    read_rows: pd.Index | None = field(default=None, repr=False)  # row numbers of the data rows read (``rows_read``)
    checked: pd.DataFrame | None = field(default=None, repr=False)  # rows checked against storage, with ``status``
    cells_read: int = field(default=0, repr=False)  # of every sheet read, against the upload's cell limit
    stored_before: int = field(default=-1, repr=False)  # the enterprise's stored batches when checked

    @property
    def errors(self) -> list[RowIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[RowIssue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def notes(self) -> list[RowIssue]:
        return [i for i in self.issues if i.severity == "info"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "shape": self.shape,
            "sheet": self.sheet,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "rows_duplicate": self.rows_duplicate,
            "duplicates": self.rows_duplicate,
            "rows_corrected": self.rows_corrected,
            "rows_skipped": self.rows_skipped,
            "readings": self.readings,
            "duplicate_file": self.duplicate_file,
            "stored": self.stored,
            "status": self.status,
            "batch_id": self.batch_id,
            "ignored_columns": self.ignored_columns,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
            "notes": [n.as_dict() for n in self.notes],
            "corrections": self.corrections,
        }


def kept(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> pd.DataFrame:
    """``frame.loc[mask]`` (boolean ``mask`` aligned with its rows), without copying a frame whose every row is
    kept (a million-row file that is all good is not held twice)."""
    return frame if bool(np.all(mask)) else frame.loc[mask]


def _choose_sheet(
    data: bytes, name: str, sheet: str | None, budget: CellBudget
) -> tuple[str, pd.DataFrame, Header, int]:
    """The first sheet with a header: its name, cells and header, and the cells of every sheet read."""
    sheets = read_sheets(data, name, sheet, budget)
    for s in sheets:
        header = find_header(s.cells)
        if header is not None:
            return s.source, s.cells, header, sum(t.cells.size for t in sheets)
    first = sheets[0]
    line = next((r for r in first.cells.itertuples(index=False) if any(str(v).strip() for v in r)), ())
    cells = " | ".join(str(v).strip() for v in line if str(v).strip())[:120]
    zh, _, en = DELIMITERS.get(first.delimiter, "").partition(" ")
    split, split_en = (f"按{zh}分列，", f"split by {en}, ") if first.delimiter else ("", "")
    raise InputError(
        f"找不到表头：{split}首个非空行为“{cells}”，前30行中没有可识别的列名"
        "（如 表号、开始时间、用量、抄表时间、示数、户号、日期+96点）；请检查分隔符和表头",
        f"No header found: {split_en}the first non-empty line reads “{cells}”, and none of the first 30 rows names "
        "known columns (e.g. meter_id, period_start, quantity, read_at, register, account, a date with 96 points); "
        "check the delimiter and the header",
        file=name,
    )


def stored_registers(session: Session, enterprise: str, codes: list[str]) -> pd.DataFrame:
    """Stored register readings of these meters (``meter_code``, ``read_at``, ``register``, ``multiplier``)."""
    stmt = (
        select(Meter.meter_code, RegisterReading.read_at, RegisterReading.register_value, RegisterReading.multiplier)
        .join(RegisterReading, RegisterReading.meter_id == Meter.id)
        .where(Meter.enterprise_uscc == enterprise, Meter.meter_code.in_(codes))
    )
    df = pd.DataFrame(session.exec(stmt).all(), columns=["meter_code", "read_at", "register", "multiplier"])
    df["read_at"] = pd.to_datetime(df["read_at"], utc=True)
    return df


def parse_file(
    session: Session,
    report: FileReport,
    enterprise: str,
    now: datetime,
    sheet: str | None,
    budget: CellBudget | None = None,
) -> None:
    """Read, recognise and validate one file within the cell ``budget`` left to it (by default one file's); fills
    the report's rows, issues and rejected cells."""
    name = Path(report.file).name
    report.sheet, cells, header, report.cells_read = _choose_sheet(report.data, name, sheet, budget or cell_budget())
    data = cells.loc[header.data_start :]
    data = kept(data, (data.apply(lambda c: c.str.strip()) != "").any(axis=1))
    totals = is_total_row(data)
    issues = Issues()
    issues.add(totals, "totals_row", data.iloc[:, 0])
    report.rows_skipped = int(totals.sum())
    data = kept(data, ~totals)
    report.rows_read, report.read_rows = len(data), data.index
    report.shape = shapes.detect(header)
    numeric = shapes.numeric_columns(header, report.shape)
    header.decimal_comma = decimal_comma_file(data[numeric])
    if header.decimal_comma and len(data):
        first = pd.Series(data.index == data.index[0], index=data.index)
        issues.add(first, "decimal_comma", data[numeric[0]], column=header.names[numeric[0]])
    if report.shape == "register":
        shaped = shapes.register(data, header, issues, lambda codes: stored_registers(session, enterprise, codes))
        report.registers = shaped.registers
    else:
        shaped = shapes.PARSERS[report.shape](data, header, issues)
    report.ignored_columns = shapes.ignored_columns(header, shaped.used)
    rows = shaped.rows
    checks.row_checks(rows, issues, now)
    checks.series_checks(rows, issues)
    rows = rows.assign(source_row=rows.index.astype(int))
    report.rows = kept(rows, issues.ok(rows.index))
    report.issues = issues.items
    report.refused = issues.refused
    report.cells, report.header = cells, header


def file_column(header: Header, column: str) -> str:
    """The file's own header for a field name (``quantity`` -> ``用量``), as the user sees the column; a field the
    file has no column for by the template's name (``period_end`` -> ``结束时间``); any other name as given."""
    c = header.column(column)
    if c is not None and header.names.get(c, "").strip():
        return header.names[c]
    return template_names().get(column, column)


def rejected_records(report: FileReport) -> pd.DataFrame:
    """The first ``max_refused_rows_stored`` refused rows as the user sent them (``cells``: header -> text) with
    every issue of each row; how many more there were is in the stored report (``rejected_rows_not_kept``)."""
    cells, header = report.cells, report.header
    rows = sorted(r for r in report.refused if cells is not None and r in cells.index)[
        : limit("max_refused_rows_stored")
    ]
    if not rows or cells is None or header is None:
        return pd.DataFrame(columns=["source_row", "cells", "issues"])
    names = [header.names.get(c) or f"col{c + 1}" for c in cells.columns]
    by_row: dict[int, list[dict[str, Any]]] = {}
    for i in report.issues:
        by_row.setdefault(i.row, []).append(i.as_dict())
    return pd.DataFrame(
        {
            "source_row": rows,
            "cells": [dict(zip(names, cells.loc[r].tolist(), strict=True)) for r in rows],
            "issues": [by_row.get(r, []) for r in rows],
        }
    )


def _stored_rows(session: Session, enterprise: str, new: pd.DataFrame) -> pd.DataFrame:
    cols = ["id", "meter_code", "carrier", "period_start", "period_end", "quantity_canonical"]
    if new.empty:
        return pd.DataFrame(columns=cols)
    stmt = (
        select(
            Activity.id,
            Meter.meter_code,
            Meter.carrier,
            Activity.period_start,
            Activity.period_end,
            Activity.quantity_canonical,
        )
        .join(Meter, Activity.meter_id == Meter.id)
        .where(
            Meter.enterprise_uscc == enterprise,
            Meter.meter_code.in_(new["meter_code"].unique().tolist()),
            Activity.superseded_at.is_(None),
            Activity.period_end > new["period_start"].min().to_pydatetime(),
            Activity.period_start < new["period_end"].max().to_pydatetime(),
        )
    )
    df = pd.DataFrame(session.exec(stmt).all(), columns=cols)
    for col in ("period_start", "period_end"):
        df[col] = pd.to_datetime(df[col], utc=True).astype("datetime64[us, UTC]")
    return df


def check_against_storage(session: Session, reports: list[FileReport], enterprise: str) -> None:
    """Check the reports' good rows against stored rows and each other; mark duplicates, corrections, refusals."""
    live = [r for r in reports if r.rows is not None]
    if not live:
        return
    parts = [r.rows.assign(file_idx=i) for i, r in enumerate(live)]
    new = parts[0].reset_index(drop=True) if len(parts) == 1 else pd.concat(parts, ignore_index=True)  # one: no copy
    meters = dict(
        session.exec(select(Meter.meter_code, Meter.carrier).where(Meter.enterprise_uscc == enterprise)).all()
    )
    checked = checks.cross_check(new, _stored_rows(session, enterprise, new), meters)
    for i, report in enumerate(live):
        mine = kept(checked, checked["file_idx"] == i)
        issues = Issues()
        issues.items, issues.refused = report.issues, set(report.refused)
        for status in ("meter_carrier", "conflict_in_file", "overlap", "correction", "duplicate"):
            hit = mine.loc[mine["status"] == status].set_index("source_row")
            if hit.empty:
                continue
            value = hit["meter_code"] if status == "meter_carrier" else checks.as_written(hit, "quantity_original")
            if status == "meter_carrier":  # the carrier the meter already measures, by its names
                zh = reference.carriers()["name_zh"]
                hit = hit.assign(detail=hit["detail"].map(zh) + " " + hit["detail"])
            detail = (
                hit["meter_code"]
                + " "
                + checks.local_text(hit["period_start"])
                + " ~ "
                + checks.local_text(hit["period_end"])
            )
            issues.add(
                pd.Series(True, index=hit.index),
                status,
                value,
                detail=detail if status == "correction" else hit["detail"],
                old=hit["old_quantity"].map(checks.number),
                new=hit["quantity_canonical"].map(checks.number),
            )
        refused = issues.refused
        report.checked = mine
        report.issues = sorted(issues.items, key=lambda x: (x.row, x.column))
        report.rows = kept(mine, mine["status"].isin(["ok", "correction"]) & ~mine["source_row"].isin(list(refused)))
        corrected = mine.loc[mine["status"] == "correction"]
        report.corrections = [
            {
                "row": int(r.source_row),
                "meter_id": r.meter_code,
                "period_start": str(r.period_start),
                "period_end": str(r.period_end),
                "old": float(r.old_quantity),
                "new": float(r.quantity_canonical),
            }
            for r in corrected.itertuples(index=False)
        ]
        report.rows_duplicate = int((mine["status"] == "duplicate").sum())
        report.rows_corrected = len(corrected)
        report.refused = refused


def _batch_fields(
    report: FileReport, enterprise: str, uploaded_by: str | None, now: datetime, status: str
) -> dict[str, Any]:
    return {
        "enterprise_uscc": enterprise,
        "file_name": Path(report.file).name,
        "sha256": report.sha256,
        "size_bytes": report.size_bytes,
        "uploaded_by": uploaded_by,
        "received_at": now,
        "shape": report.shape,
        "status": status,
        "rows_read": report.rows_read,
        "rows_accepted": report.rows_accepted,
        "rows_rejected": report.rows_rejected,
        "rows_duplicate": report.rows_duplicate,
        "rows_corrected": report.rows_corrected,
        "warnings": len(report.warnings),
        "report_json": json.dumps(stored_report(report), ensure_ascii=False, default=str),
    }


REPORT_ISSUES_KEPT = 1000  # per kind in the stored report; refused rows: the first max_refused_rows_stored


def stored_report(report: FileReport) -> dict[str, Any]:
    """The report as stored with its batch: ``as_dict`` with errors and warnings cut to the first
    ``REPORT_ISSUES_KEPT`` each, their totals in ``errors_total`` and ``warnings_total``."""
    d = {k: v for k, v in report.as_dict().items() if k not in ("status", "batch_id", "stored")}
    for kind in ("errors", "warnings", "notes"):
        d[f"{kind}_total"] = len(d[kind])
        d[kind] = d[kind][:REPORT_ISSUES_KEPT]
    d["rejected_rows_not_kept"] = max(len(report.refused) - limit("max_refused_rows_stored"), 0)
    return d


Recheck = Callable[[Session], FileReport]  # reads and checks a file again, inside the write transaction


def write_report(
    engine: Engine,
    report: FileReport,
    enterprise: str,
    uploaded_by: str | None,
    now: datetime,
    store_rows: Callable[[FileReport], bool],
    recheck: Recheck | None = None,
    ours: Sequence[int] = (),
) -> FileReport:
    """Write one file in one transaction holding the enterprise's write lock: archive, batch, and (if
    ``store_rows(report)``) its rows and corrections.  If an upload other than ``ours`` (this call's batches) was
    stored since the file was checked, ``recheck`` reads and checks it again first, in the same transaction.
    Returns the report written, or the recheck's duplicate file (nothing written)."""
    if report.rows is not None and len(report.rows) and store_rows(report):
        prepare_activity_partitions(engine, report.rows["period_start"])  # PostgreSQL: no lock taken for them below
    with engine.begin() as conn:
        store.lock_enterprise(conn, enterprise)
        if recheck is not None and store.stored_batches(conn, enterprise, ours) != report.stored_before:
            with Session(bind=conn) as session:
                report = recheck(session)
            if report.duplicate_file:
                return report
        keep = store_rows(report)
        status = "stored" if keep else "rejected"
        batch_id = store.archive_and_batch(
            conn, data=report.data, fields=_batch_fields(report, enterprise, uploaded_by, now, status)
        )
        store.insert_rejected(conn, batch_id, rejected_records(report))
        if keep:
            rows = report.rows if report.rows is not None else pd.DataFrame(columns=["meter_code", "carrier"])
            regs = report.registers if report.registers is not None else pd.DataFrame(columns=["meter_code", "carrier"])
            ids = store.meter_ids(
                conn, enterprise, pd.concat([rows[["meter_code", "carrier"]], regs[["meter_code", "carrier"]]])
            )
            if "supersedes" in rows:
                fixed = rows.loc[rows["supersedes"].notna()]
                store.supersede(conn, fixed["supersedes"].astype(int).tolist(), batch_id, now, fixed["period_start"])
            store.bulk_insert_activity(
                conn, rows.assign(batch_id=batch_id, enterprise_uscc=enterprise, meter_id=rows["meter_code"].map(ids))
            )
            store.insert_registers(conn, batch_id, report.registers, ids)
            years = outbox.local_years(rows["period_start"], rows["period_end"]) if len(rows) else None
            if years:  # the results these rows change are owed in the same transaction
                outbox.owe(conn, f"batch {batch_id} {report.file}", enterprise, years)
    report.batch_id, report.status, report.stored = batch_id, status, keep
    return report


Upload = Path | tuple[str, bytes]  # a file on disk, or (file name, content) as received by the dashboard


def read_files(
    engine: Engine,
    uploads: list[Upload],
    enterprise: str,
    now: datetime | None = None,
    progress: Callable[[list[Upload]], Iterable[Upload]] = iter,
    sheet: str | None = None,
) -> list[FileReport]:
    """Read, validate and check files against storage without storing anything (the upload preview).

    The file type is told by content, never by its name.  A file that cannot be read at all raises
    ``InputError`` naming it.
    """
    with Session(engine) as session:
        return read_in(session, uploads, enterprise, now or datetime.now(UTC), progress, sheet)


def read_in(
    session: Session,
    uploads: list[Upload],
    enterprise: str,
    now: datetime,
    progress: Callable[[list[Upload]], Iterable[Upload]] = iter,
    sheet: str | None = None,
) -> list[FileReport]:
    """``read_files`` in a session (an open write transaction's, to check a file again under the lock)."""
    if session.get(Enterprise, enterprise) is None:
        raise NotFoundError(
            f"企业 {enterprise} 未登记，请先运行 carbon enterprise add",
            f"Enterprise {enterprise} is not registered; run carbon enterprise add first",
            value=enterprise,
        )
    before = store.stored_batches(session.connection(), enterprise)  # first: what is read below is at least as new
    reports: list[FileReport] = []
    seen: dict[str, int | None] = {}
    used = 0  # cells read from the upload's earlier files
    for upload in progress(uploads):
        name, data = (str(upload), upload.read_bytes()) if isinstance(upload, Path) else upload
        report = FileReport(
            file=name,
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            data=data,
            enterprise=enterprise,
            stored_before=before,
        )
        reports.append(report)
        stored = session.exec(
            select(Batch.id).where(
                Batch.enterprise_uscc == enterprise, Batch.status == "stored", Batch.sha256 == report.sha256
            )
        ).first()
        if stored is not None or report.sha256 in seen:
            report.duplicate_file, report.batch_id, report.status = True, stored, "duplicate_file"
            continue
        seen[report.sha256] = None
        try:
            parse_file(session, report, enterprise, now, sheet, cell_budget(used))
            used += report.cells_read
        except InputError as exc:
            exc.context.setdefault("file", Path(name).name)
            raise
    check_against_storage(session, reports, enterprise)
    for r in reports:
        if r.header is not None:
            r.issues = [replace(i, column=file_column(r.header, i.column)) for i in r.issues]
        if not r.duplicate_file:
            r.rows_rejected = len(r.refused)
            r.rows_accepted = max(r.rows_read - r.rows_rejected - r.rows_duplicate, 0)
            r.readings = len(r.rows) if r.rows is not None else 0
    return reports


def ingest_files(
    engine: Engine,
    paths: list[Upload],
    enterprise: str,
    uploaded_by: str | None = None,
    now: datetime | None = None,
    progress: Callable[[list[Upload]], Iterable[Upload]] = iter,
    accept_valid: bool = False,
    sheet: str | None = None,
) -> list[FileReport]:
    """Ingest files for one enterprise; returns one report per file (see the module docstring for the rules).

    ``progress`` wraps the list of files while they are read (e.g. ``tqdm``); ``sheet`` names the XLSX sheet.
    A file that cannot be read at all raises ``InputError`` and nothing is stored.
    """
    now = now or datetime.now(UTC)
    reports = read_files(engine, paths, enterprise, now, progress, sheet)
    failed = any(r.errors for r in reports)
    done: list[FileReport] = []
    for r in reports:
        r.checked = None  # the preview's; writing needs the cells of refused rows only (``rejected_records``)
        if not r.refused:
            r.cells = None
        if r.duplicate_file:
            pass
        elif accept_valid or not failed:
            ours = [d.batch_id for d in done if d.stored and d.batch_id is not None]
            r = write_or_reread(engine, r, enterprise, uploaded_by, now, accept_valid, sheet, ours)
        elif r.errors:
            write_report(engine, r, enterprise, uploaded_by, now, store_rows=lambda _: False)
        else:
            r.status = "not_stored"
        if not r.stored:
            r.readings = 0
        r.cells = r.checked = r.rows = r.registers = None  # written: the settling that follows needs the memory
        done.append(r)
    return done


WRITE_ATTEMPTS = 3  # a file whose write keeps losing races to other uploads is refused after this many


def write_or_reread(
    engine: Engine,
    report: FileReport,
    enterprise: str,
    uploaded_by: str | None,
    now: datetime,
    accept_valid: bool,
    sheet: str | None,
    ours: Sequence[int] = (),
) -> FileReport:
    """Store a file's rows (``write_report``: checked again under the enterprise's lock if another upload was
    stored meanwhile, so the same bytes become a duplicate file and overlapping readings are refused, as for a
    sequential second upload; other rows become duplicates or corrections).  If a unique constraint still refuses
    the transaction (which leaves nothing), write again, checking again under the lock.  The report written (or
    the duplicate's).  Other database errors propagate."""

    def recheck(session: Session) -> FileReport:
        (again,) = read_in(session, [(report.file, report.data)], enterprise, now, sheet=sheet)
        return again

    for _ in range(WRITE_ATTEMPTS):
        try:
            return write_report(
                engine, report, enterprise, uploaded_by, now, lambda r: accept_valid or not r.errors, recheck, ours
            )
        except IntegrityError as exc:
            if not store.unique_violation(exc):
                raise
            lost = exc
            report.stored_before = -1  # never a count: checked again in the next transaction
    raise InputError(
        f"文件 {Path(report.file).name} 写入时{WRITE_ATTEMPTS}次与同时进行的其他上传冲突，未存入；请稍后重新上传",
        f"File {Path(report.file).name} collided {WRITE_ATTEMPTS} times with other uploads running at the same time "
        "and was not stored; upload it again later",
        file=Path(report.file).name,
        constraint=str(lost.orig).splitlines()[0],
    )
