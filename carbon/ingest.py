"""Ingest orchestration: read files, check rows against each other and the database, store atomically.

Nothing is half-stored: if any row of any file in one call is refused, nothing from that call is stored
and every problem is reported.  Re-sending rows already stored (same meter, period and quantity) is
counted as duplicates and changes nothing; the same file bytes again are reported as a duplicate file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert
from sqlmodel import Session, select

from carbon.errors import NotFoundError, RowIssue
from carbon.models import Activity, Batch, Enterprise, Meter
from carbon.template import parse_template, read_table

REL_TOLERANCE = 1e-9  # two stored quantities this close are the same reading


@dataclass
class FileReport:
    """What happened to one file (the ``--json`` object of ``carbon ingest``)."""

    file: str
    sha256: str
    size_bytes: int
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    duplicate_file: bool = False
    stored: bool = False
    batch_id: int | None = None
    errors: list[RowIssue] = field(default_factory=list)
    rows: pd.DataFrame | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "rows_duplicate": self.rows_duplicate,
            "duplicate_file": self.duplicate_file,
            "stored": self.stored,
            "batch_id": self.batch_id,
            "errors": [e.as_dict() for e in self.errors],
        }


def _existing_activity(session: Session, uscc: str, codes: list[str]) -> pd.DataFrame:
    stmt = (
        select(Meter.meter_code, Meter.carrier, Activity.period_start, Activity.period_end, Activity.quantity_canonical)
        .join(Activity, Activity.meter_id == Meter.id)
        .where(Meter.enterprise_uscc == uscc, Meter.meter_code.in_(codes))
    )
    df = pd.DataFrame(
        session.exec(stmt).all(), columns=["meter_code", "carrier", "period_start", "period_end", "quantity_canonical"]
    )
    for col in ("period_start", "period_end"):
        df[col] = pd.to_datetime(df[col], utc=True)
    return df


def _cross_check(new: pd.DataFrame, stored: pd.DataFrame, meters: dict[str, str]) -> pd.DataFrame:
    """Mark each new row ``ok``, ``duplicate`` or an error code, comparing with stored rows and each other.

    ``new`` has ``file_idx``, ``source_row``, ``meter_code``, ``carrier``, ``period_start``, ``period_end``,
    ``quantity_canonical``.  Adds ``status`` and ``detail``.
    """
    new = new.copy()
    new["status"] = "ok"
    new["detail"] = ""
    if new.empty:
        return new
    known = new["meter_code"].map(meters)
    clash = known.notna() & (known != new["carrier"])
    new.loc[clash, "status"] = "meter_carrier"
    new.loc[clash, "detail"] = known[clash]
    first = new.groupby("meter_code")["carrier"].transform("first")
    mixed = ~clash & (first != new["carrier"])
    new.loc[mixed, "status"] = "meter_carrier"
    new.loc[mixed, "detail"] = first[mixed]

    both = pd.concat(
        [stored.assign(origin="stored", pos=-1), new.reset_index(names="pos").assign(origin="new")], ignore_index=True
    )
    both = both.sort_values(["meter_code", "period_start", "period_end", "pos"], kind="stable")
    key = ["meter_code", "period_start", "period_end"]
    q = both["quantity_canonical"].astype("float64")
    ref_q = q.groupby([both[k] for k in key]).transform("first")
    is_later = both.duplicated(key, keep="first")
    same_q = np.isclose(q, ref_q, rtol=REL_TOLERANCE, atol=0)
    dup_pos = both.loc[is_later & same_q & (both["origin"] == "new"), "pos"]
    conflict_pos = both.loc[is_later & ~same_q & (both["origin"] == "new"), "pos"]
    firsts = both.loc[~is_later]
    by_meter = firsts.groupby("meter_code")
    prev_end = by_meter["period_end"].cummax().groupby(firsts["meter_code"]).shift()
    next_start = by_meter["period_start"].shift(-1)  # sorted by start: the nearest later period
    overlapping = (firsts["period_start"] < prev_end) | (firsts["period_end"] > next_start)
    overlap_pos = firsts.loc[overlapping & (firsts["origin"] == "new"), "pos"]

    for positions, status in ((dup_pos, "duplicate"), (conflict_pos, "conflict"), (overlap_pos, "overlap")):
        idx = new.index[positions.astype(int).to_numpy()]
        new.loc[idx[new.loc[idx, "status"] == "ok"], "status"] = status
    return new


_MESSAGES = {
    "meter_carrier": (
        "meter_id",
        "该表号已登记为其他能源品种（{detail}），一块表只能计量一种能源",
        "This meter is already registered for another carrier ({detail}); one meter, one carrier",
    ),
    "conflict": (
        "quantity",
        "同一表号同一时段已有不同用量，请核对后只保留一条",
        "The same meter and period already has a different quantity; keep only the right one",
    ),
    "overlap": (
        "period_start",
        "与同一表号的另一时段重叠，会重复计算，请调整起止时间",
        "Overlaps another period of the same meter (would be counted twice); fix the start/end",
    ),
}


def ingest_files(
    engine: Engine,
    paths: list[Path],
    enterprise: str,
    uploaded_by: str | None = None,
    now: datetime | None = None,
    progress: Callable[[list[Path]], Iterable[Path]] = iter,
) -> list[FileReport]:
    """Ingest template files for one enterprise; store all or nothing.  Returns one report per file.

    ``progress`` wraps the list of files while they are read (e.g. ``tqdm``).
    """
    now = now or datetime.now(UTC)
    with Session(engine) as session:
        if session.get(Enterprise, enterprise) is None:
            raise NotFoundError(
                f"企业 {enterprise} 未登记，请先运行 carbon enterprise add",
                f"Enterprise {enterprise} is not registered; run carbon enterprise add first",
                value=enterprise,
            )
        reports, frames = _parse_all(session, progress(paths), enterprise, now)
        if not frames:
            return reports
        new = pd.concat(frames, ignore_index=True)
        meters = dict(
            session.exec(select(Meter.meter_code, Meter.carrier).where(Meter.enterprise_uscc == enterprise)).all()
        )
        stored = _existing_activity(session, enterprise, sorted(new["meter_code"].unique()))
        checked = _cross_check(new, stored, meters)
        _attach_outcomes(reports, checked)
        if any(r.errors for r in reports):
            return reports
        _store(session, reports, checked, enterprise, uploaded_by, now)
    return reports


def _parse_all(
    session: Session, paths: Iterable[Path], enterprise: str, now: datetime
) -> tuple[list[FileReport], list[pd.DataFrame]]:
    reports: list[FileReport] = []
    frames: list[pd.DataFrame] = []
    for i, path in enumerate(paths):
        data = path.read_bytes()
        report = FileReport(file=str(path), sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
        reports.append(report)
        seen = session.exec(
            select(Batch.id).where(Batch.enterprise_uscc == enterprise, Batch.sha256 == report.sha256)
        ).first()
        if seen is not None or report.sha256 in {r.sha256 for r in reports[:-1]}:
            report.duplicate_file, report.batch_id = True, seen
            continue
        parsed = parse_template(read_table(path), path.name, now)
        report.rows_read = parsed.rows_read
        report.errors = parsed.issues
        frames.append(parsed.rows.assign(file_idx=i))
    return reports, frames


def _attach_outcomes(reports: list[FileReport], checked: pd.DataFrame) -> None:
    for i, report in enumerate(reports):
        if report.duplicate_file:
            continue
        mine = checked.loc[checked["file_idx"] == i]
        for r in mine.loc[mine["status"].isin(list(_MESSAGES))].itertuples():
            column, zh, en = _MESSAGES[r.status]
            value = {"meter_id": r.meter_code, "quantity": r.quantity_original, "period_start": str(r.period_start)}[
                column
            ]
            report.errors.append(
                RowIssue(
                    int(r.source_row),
                    column,
                    value,
                    zh.format(detail=r.detail),
                    en.format(detail=r.detail),
                    code=r.status,
                )
            )
        report.errors.sort(key=lambda e: e.row)
        report.rows_rejected = len({e.row for e in report.errors})
        report.rows_duplicate = int((mine["status"] == "duplicate").sum())
        report.rows_accepted = report.rows_read - report.rows_rejected - report.rows_duplicate
        report.rows = mine.loc[mine["status"] == "ok"]


def _store(
    session: Session,
    reports: list[FileReport],
    checked: pd.DataFrame,
    enterprise: str,
    uploaded_by: str | None,
    now: datetime,
) -> None:
    """Write batches, new meters and activity rows in one transaction."""
    fresh = checked.loc[checked["status"] == "ok", ["meter_code", "carrier"]].drop_duplicates("meter_code")
    existing = set(session.exec(select(Meter.meter_code).where(Meter.enterprise_uscc == enterprise)).all())
    new_meters = fresh.loc[~fresh["meter_code"].isin(existing)]
    if len(new_meters):
        session.connection().execute(
            insert(Meter),
            [
                {"enterprise_uscc": enterprise, "meter_code": m, "carrier": c}
                for m, c in new_meters.itertuples(index=False)
            ],
        )
    meter_ids = dict(session.exec(select(Meter.meter_code, Meter.id).where(Meter.enterprise_uscc == enterprise)).all())
    for report in reports:
        if report.duplicate_file:
            continue
        batch = Batch(
            enterprise_uscc=enterprise,
            file_name=Path(report.file).name,
            sha256=report.sha256,
            size_bytes=report.size_bytes,
            uploaded_by=uploaded_by,
            received_at=now,
            rows_read=report.rows_read,
            rows_accepted=report.rows_accepted,
            rows_duplicate=report.rows_duplicate,
        )
        session.add(batch)
        session.flush()
        report.batch_id = batch.id
        rows = report.rows
        if rows is not None and len(rows):
            session.connection().execute(insert(Activity), _activity_records(rows, batch.id, enterprise, meter_ids))
        report.stored = True
    session.commit()


def _activity_records(
    rows: pd.DataFrame, batch_id: int | None, enterprise: str, meter_ids: dict[str, int]
) -> list[dict[str, Any]]:
    out = pd.DataFrame(
        {
            "batch_id": batch_id,
            "meter_id": rows["meter_code"].map(meter_ids).astype(int),
            "enterprise_uscc": enterprise,
            "carrier": rows["carrier"],
            "period_start": rows["period_start"].dt.to_pydatetime(),
            "period_end": rows["period_end"].dt.to_pydatetime(),
            "quantity_canonical": rows["quantity_canonical"].astype(float),
            "quantity_original": rows["quantity_original"].astype(float),
            "unit_original": rows["unit_original"],
            "source_row": rows["source_row"].astype(int),
        }
    )
    return out.to_dict("records")
