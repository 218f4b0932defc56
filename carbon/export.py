"""Tables exported as CSV or XLSX, safe to open in a spreadsheet.

A text cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) would be run as a formula
by Excel or WPS; such cells get a leading apostrophe (OWASP "CSV injection").  Numbers stay numbers.
"""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd
from openpyxl import Workbook

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy where every text cell that a spreadsheet would read as a formula starts with ``'``.  Pure."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            text = out[col].astype("string")
            risky = text.str.startswith(FORMULA_START).fillna(False).astype(bool)
            out[col] = out[col].astype(object).where(~risky, "'" + text.astype(object))
    out.columns = [("'" + c) if isinstance(c, str) and c.startswith(FORMULA_START) else c for c in out.columns]
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """One table as UTF-8 CSV with a BOM (so Excel on Chinese Windows reads it right)."""
    return escape_formulas(df).to_csv(index=False).encode("utf-8-sig")


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
