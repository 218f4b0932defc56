"""Tables exported as CSV or XLSX, safe to open in a spreadsheet: every file the system writes for people goes
through here (the CLI's ``--out`` files and printed CSV, the dashboard's downloads, the demo's files).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, also after leading whitespace,
would be run as a formula by Excel or WPS; such cells get a leading apostrophe (OWASP "CSV injection").  Numbers
stay numbers, negative ones too.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from carbon.errors import InputError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# A number as text (``-12.5``, ``+3``, ``-1e3``), which a spreadsheet reads as that number and can never run.
PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def is_formula(text: str) -> bool:
    """True if a spreadsheet could run this text as a formula: it starts with a formula character, also after
    leading spaces or other whitespace (``" =1+1"``), and is not just a number (``-12.5`` stays a number)."""
    risky = text.startswith(FORMULA_START) or text.lstrip().startswith(FORMULA_START)
    return risky and PLAIN_NUMBER.fullmatch(text) is None


def escape_cell(value: object) -> object:
    """A text that could be a formula with a leading ``'``; anything else (numbers, dates, empty) unchanged."""
    return "'" + value if isinstance(value, str) and is_formula(value) else value


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy where every text cell and header that a spreadsheet would read as a formula starts with ``'``;
    numeric columns, and numbers in mixed columns, are left as numbers.  Pure."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype(object).map(escape_cell)
    out.columns = [escape_cell(c) for c in out.columns]
    return out


def csv_text(df: pd.DataFrame) -> str:
    """One table as CSV text, formula-like cells escaped (what ``carbon rejects`` prints)."""
    return escape_formulas(df).to_csv(index=False)


def csv_bytes(df: pd.DataFrame) -> bytes:
    """One table as UTF-8 CSV with a BOM (so Excel on Chinese Windows reads it right)."""
    return csv_text(df).encode("utf-8-sig")


def write_csv(df: pd.DataFrame, path: Path, title: str | None = None) -> None:
    """Write one table as a CSV file (``csv_bytes``), after an optional title line (one cell, escaped too);
    ``InputError`` naming the file if it cannot be written."""
    head = "" if title is None else csv_text(pd.DataFrame(columns=[title]))
    try:
        path.write_bytes((head + csv_text(df)).encode("utf-8-sig"))
    except OSError as exc:  # a folder that does not exist, no permission, a full disk
        raise InputError(
            "无法写入文件，请检查路径", "Cannot write the file; check the path", file=str(path), reason=exc.strerror
        ) from None


def csv_zip(tables: dict[str, pd.DataFrame]) -> bytes:
    """Several tables as one ZIP of CSV files named after them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, df in tables.items():
            z.writestr(f"{_safe_name(name, 80)}.csv", csv_bytes(df))
    return buf.getvalue()


def xlsx_bytes(tables: dict[str, pd.DataFrame]) -> bytes:
    """Several tables as one XLSX workbook, one sheet per table."""
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, df in tables.items():
        title = _safe_name(name, 31)
        while title in used:
            title = f"{title[:28]}_{len(used)}"
        used.add(title)
        ws = wb.create_sheet(title)
        safe = escape_formulas(df)
        ws.append([str(c) for c in safe.columns])
        for row in safe.itertuples(index=False):
            ws.append([_cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(value: object) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_localize(None).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    if isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _safe_name(name: str, limit: int) -> str:
    return re.sub(r"[\[\]:*?/\\\x00-\x1f]", "_", name).strip("'")[:limit] or "table"
