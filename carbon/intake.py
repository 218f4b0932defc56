"""The one door for readings: every file and connector reading enters here.

``receive_files`` and ``receive_records`` store through ``carbon.ingest`` (each file in one transaction that also
records the recalculation it makes owed, ``carbon.outbox``), then ``settle`` brings the result ledger up to date on
every basis, then the audit event is written.  ``settle`` also pays whatever an earlier process left owed (it is
killed after a commit, or a factor release or an enterprise change is recorded): the CLI, the connector runtime and
the dashboard call it when they start, so no figure served is ever behind the stored data.

The CLI (``carbon ingest``), the dashboard (upload), the connector runtime and the demo use only this module to
bring readings in; ``connectors`` reach the engine through nothing else (import contract in ``pyproject.toml``),
and take the shape of a connector reading, ``READING_COLUMNS``, from here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, inspect

from carbon import audit, grid_statement_checks, grid_statements, ledger, outbox, partitioned, readings_dataset
from carbon.access import Viewer
from carbon.errors import DerivedDataWarning, InputError
from carbon.grid_statement_checks import read_statement_file
from carbon.grid_statements import STATEMENT_COLUMNS, StatementReport
from carbon.ingest import FileReport, Upload, ingest_files
from carbon.ingest.records import READING_COLUMNS, ingest_records
from carbon.ledger import activity_years, recalc

__all__ = [
    "READING_COLUMNS",
    "STATEMENT_COLUMNS",
    "StatementReport",
    "read_statement_file",
    "receive_files",
    "receive_grid_file",
    "receive_grid_statements",
    "receive_records",
    "settle",
    "upload_detail",
]


def receive_files(
    engine: Engine,
    files: list[Upload],
    enterprise: str,
    *,
    actor: Viewer | str,
    action: str = "ingest",
    accept_valid: bool = False,
    sheet: str | None = None,
    progress: Callable[[list[Upload]], Iterable[Upload]] = iter,
    now: datetime | None = None,
    settle_now: bool = True,
) -> list[FileReport]:
    """Ingest files for one enterprise (rules: ``carbon.ingest.ingest_files``), bring its results up to date on
    every basis and audit the upload as ``action`` by ``actor`` (a dashboard viewer, a CLI or connector name).

    ``settle_now=False`` leaves the recalculation owed for the caller's own ``settle`` (a connector run settles
    once at its end).  Raises ``InputError`` for a file that cannot be read at all (nothing stored).
    """
    reports = ingest_files(
        engine,
        files,
        enterprise,
        uploaded_by=actor.username if isinstance(actor, Viewer) else actor,
        now=now,
        progress=progress,
        accept_valid=accept_valid,
        sheet=sheet,
    )
    if settle_now:
        settle(engine)
    audit.record(engine, actor, action, upload_detail(reports), enterprise=enterprise)
    return reports


def receive_records(
    engine: Engine, records: pd.DataFrame, source: str, now: datetime | None = None, settle_now: bool = True
) -> tuple[list[FileReport], pd.DataFrame]:
    """Store connector readings (``carbon.ingest.records``), bring the results up to date and audit the batch.

    Returns the reports (one per enterprise) and the refused records with their ``reason``.
    """
    reports, refused = ingest_records(engine, records, source, now=now)
    if settle_now:
        settle(engine)
    stored = [r for r in reports if r.stored]
    if stored or len(refused):
        audit.record(
            engine,
            source,
            "readings_received",
            {
                "readings": int(sum(r.readings for r in stored)),
                "duplicates": int(sum(r.rows_duplicate for r in reports)),
                "refused": len(refused),
                "enterprises": sorted({r.enterprise for r in stored}),
            },
        )
    return reports, refused


def receive_grid_statements(
    engine: Engine,
    statements: pd.DataFrame,
    source: str,
    now: datetime | None = None,
    *,
    all_or_nothing: bool = False,
) -> StatementReport:
    """Store the utility's statements per account and billing period (``STATEMENT_COLUMNS``, e.g. decoded by a
    connector): checked (``carbon.grid_statement_checks.check_statements``), then written in one transaction
    (``store_statements``: duplicates once, restatements supersede, unknown accounts kept and reported), then
    audited as ``grid_statements_received`` by ``source``.  Refused rows come back in ``report.refused`` with their
    reasons.  ``all_or_nothing`` (a file): one refused row and nothing is stored, every refusal listed; without it
    (HTTP pages) the good statements are stored and the refused ones reported.  Statements change no emission
    result (they are compared with the activity data, never counted), so nothing is owed to the ledger."""
    at = audit.as_utc(now)
    ok, refused = grid_statement_checks.check_statements(statements, at)
    report = grid_statements.store_statements(
        engine, ok, source, at, all_or_nothing=all_or_nothing, refused_before=len(refused)
    )
    report.received = len(statements)
    report.refused = pd.concat([refused, report.refused], ignore_index=True) if len(report.refused) else refused
    audit.record(
        engine,
        source,
        "grid_statements_received",
        {k: v for k, v in report.as_dict().items() if k != "refused"} | {"refused": len(report.refused)},
        region="zone",
        now=at,
    )
    return report


def receive_grid_file(
    engine: Engine, file: Upload, source: str, utility: str | None = None, now: datetime | None = None
) -> StatementReport:
    """A statement file (CSV or XLSX: ``carbon.grid_statement_checks.read_statement_file``; ``utility`` a code for a
    file without a 供电单位 column) through ``receive_grid_statements``, its source named ``source:file name``, whole
    or not at all: one refused row and nothing of the file is stored (``report.refused`` lists every problem).
    Raises ``InputError`` naming the file when it cannot be read at all (nothing stored)."""
    if isinstance(file, tuple):
        name, data = file
    else:
        name, data = file.name, file.read_bytes()
    frame = grid_statement_checks.read_statement_file(name, data, utility)
    return receive_grid_statements(engine, frame, grid_statements.file_source(name, source), now, all_or_nothing=True)


def upload_detail(reports: list[FileReport]) -> dict[str, Any]:
    """What the audit log keeps of an upload: per file its name, hash, status, batch and row counts."""
    keys = ("file", "sha256", "status", "batch_id", "rows_read", "rows_accepted", "rows_rejected")
    return {"files": [{k: r.as_dict()[k] for k in keys} for r in reports]}


def settle(
    engine: Engine, progress: Callable[[list], Iterable] = iter, *, dataset_root: str | None = None
) -> dict[str, int]:
    """Pay every recalculation owed: recompute the enterprises and years concerned on every basis and store what
    changed (``carbon.ledger.recalc``), then clear the debts paid.  Cheap when nothing is owed (one query).

    First owes a full recalculation if a factor record's ``valid_from``/``valid_to`` was reached since the ledger
    last read the rules in force (``outbox.owe_for_dates``).

    Safe to run twice at once or to be killed midway: what is not yet cleared is paid again by the next call, and
    a result that did not change is not stored again.  ``progress`` wraps the list of years (e.g. ``tqdm``).

    With a readings dataset configured (``dataset_root``, else ``CARBON_PARQUET_ROOT``), first brings it up to
    date (``carbon.readings_dataset.update``: only the partitions the batches committed since its version touched);
    with a dataset or a Dask scheduler configured (``DASK_SCHEDULER_ADDRESS``) the recalculation runs partition by
    partition (``carbon.partitioned``), else as one frame in process.
    """
    if not inspect(engine).has_table("ledger_clock"):  # not initialised, or not yet migrated
        return {"runs_stored": 0, "unchanged": 0}
    if root := readings_dataset.configured_root(dataset_root):
        try:
            readings_dataset.update(engine, root)  # the recalculation below reads it when it is current
        except InputError as exc:  # the data is stored: compute from the database, the next call retries
            warnings.warn(
                DerivedDataWarning(f"Parquet数据集未更新 / the Parquet dataset was not updated: {exc}"), stacklevel=2
            )
            root = None
    outbox.owe_for_dates(engine, ledger.local_today())
    due = outbox.owed(engine)
    if due.empty:
        return {"runs_stored": 0, "unchanged": 0}
    plan: dict[int, set[str] | None] = {}  # year -> enterprises to recompute (None: all)
    for d in due.itertuples(index=False):
        whom = None if pd.isna(d.enterprise_uscc) else [str(d.enterprise_uscc)]
        years = activity_years(engine, whom) if pd.isna(d.year_from) else range(int(d.year_from), int(d.year_to) + 1)
        for y in years:
            if whom is None:
                plan[y] = None
            elif plan.get(y, set()) is not None:
                plan.setdefault(y, set()).update(whom)
    reasons = "; ".join(dict.fromkeys(due["reason"]))[:500]
    counts = {"runs_stored": 0, "unchanged": 0}
    with ExitStack() as stack:
        try:
            client = stack.enter_context(partitioned.dask_client())
        except InputError as exc:  # a scheduler named but not there: compute on this machine
            warnings.warn(DerivedDataWarning(f"改在本机计算 / computing on this machine: {exc}"), stacklevel=2)
            client = None
        lines = partitioned.Partitioned(client, root=root) if (root or client) else ledger.lines_of_year
        for year in progress(sorted(plan)):
            whom = plan[year]
            done = recalc(
                engine,
                years=[year],
                enterprises=None if whom is None else sorted(whom),
                trigger=reasons,
                compute_lines=lines,
            )
            counts = {k: counts[k] + done[k] for k in counts}
    outbox.paid(engine, [int(i) for i in due["id"]])
    return counts
