"""The upload preview: a file's data rows as the user wrote them, each with what will become of it.

Nothing here reads a file again or checks anything: the report of ``read_files`` holds the cells (``cells``,
``header``), the data rows read (``read_rows``) and the rows checked against storage with their status
(``checked``).  Only the rows shown are looked at, so a preview of a million-row file costs what its first rows do.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd

from carbon.ingest.cells import column_label
from carbon.ingest.checks import local_text
from carbon.ingest.header import Header
from carbon.ingest.pipeline import FileReport

PREVIEW_ROWS = 200
# cross_check's status of a row that passed -> what the preview calls it (codes.csv, kind row_status); rows of
# the other statuses (conflict_in_file, overlap, meter_carrier) are refused, with the file's other refused rows
ROW_STATUS = {"ok": "new", "correction": "correction", "duplicate": "duplicate"}
PREVIEW_COLUMNS = ["source_row", "row_status", "read_period", "row_readings"]


def file_headers(header: Header, columns: list[int], taken: Collection[str] = ()) -> dict[int, str]:
    """Column position -> the name the user knows it by: the file's own header text (two header rows combined),
    else its spreadsheet letter (``C``); a name met twice, or one of ``taken``, gets its letter added
    (``状态 (F)``), so every name is unique."""
    names: dict[int, str] = {}
    used = set(taken)
    for c in columns:
        name = " ".join(str(header.names.get(c, "")).split()) or column_label(c)
        if name in used:
            name = f"{name} ({column_label(c)})"
        used.add(name)
        names[c] = name
    return names


def row_outcomes(report: FileReport, rows: pd.Index) -> pd.DataFrame:
    """For data rows (row numbers), what becomes of each: ``row_status`` (``new``, ``correction``,
    ``duplicate``, ``mixed`` when its readings differ, ``refused``, or ``no_reading`` when it yields no
    quantity), ``read_period`` (the time its readings cover as read, Beijing time text, '' for none) and
    ``row_readings`` (how many readings it yields).  Indexed by ``rows``."""
    checked = report.checked if report.checked is not None else report.rows
    out = pd.DataFrame({"row_status": "no_reading", "read_period": "", "row_readings": 0}, index=rows)
    if checked is not None and len(checked):
        mine = checked.loc[checked["source_row"].isin(rows)]
        if "status" not in mine:  # rows not checked against storage (a report that stopped early)
            mine = mine.assign(status="ok")
        mine = mine.assign(outcome=mine["status"].map(ROW_STATUS)).dropna(subset=["outcome"])
        by_row = mine.groupby("source_row")
        status = by_row["outcome"].first().where(by_row["outcome"].nunique() == 1, "mixed")
        period = local_text(by_row["period_start"].min()) + " ~ " + local_text(by_row["period_end"].max())
        out.loc[status.index, "row_status"] = status
        out.loc[period.index, "read_period"] = period
        out.loc[status.index, "row_readings"] = by_row.size()
    refused = rows.isin(list(report.refused))
    out.loc[refused, "row_status"] = "refused"
    out.loc[refused, ["read_period", "row_readings"]] = ["", 0]
    return out


def preview_rows(report: FileReport, limit: int = PREVIEW_ROWS, taken: Collection[str] = ()) -> pd.DataFrame:
    """The first ``limit`` data rows of a file as the user wrote them, row by row: ``source_row`` (the row number
    in the file, as a spreadsheet or editor shows it), ``row_status`` (a code of kind ``row_status``),
    ``read_period`` (what its readings cover, Beijing time, '' when nothing is read), ``row_readings`` (only when
    some row yields more than one reading: a day curve's 96 points), then every column under the file's own
    header (``file_headers``; ``taken`` the names the caller gives the columns above), each cell exactly as
    written.  Empty when the file was not read (a duplicate file)."""
    if report.cells is None or report.header is None or report.read_rows is None:
        return pd.DataFrame(columns=PREVIEW_COLUMNS)
    rows = report.read_rows[:limit]
    cells = report.cells.loc[rows]
    blank = [c for c in cells.columns if not str(report.header.names.get(c, "")).strip() and (cells[c] == "").all()]
    cells = cells.drop(columns=blank)  # padding of ragged lines: no header, nothing written
    names = file_headers(report.header, list(cells.columns), {*PREVIEW_COLUMNS, *taken})
    outcomes = row_outcomes(report, rows)
    ours = outcomes if (outcomes["row_readings"] > 1).any() else outcomes.drop(columns="row_readings")
    written = cells.rename(columns=names).reset_index(drop=True)
    return pd.concat([ours.rename_axis("source_row").reset_index(), written], axis=1)
