"""Read an uploaded file's bytes into a table of text cells, numbered as the user sees the rows.

CSV/TXT in UTF-8 (with or without BOM) or GBK/GB18030, detected; XLSX read safely (defusedxml through
openpyxl, zip-bomb check); ``.xls`` files that are really HTML tables.  Row numbers are those of the file
as opened in Excel or a text editor (first line = 1).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

import numpy as np
import pandas as pd

from carbon.encoding import decode
from carbon.errors import InputError

MAX_XLSX_EXPANSION = 100  # refuse an xlsx whose parts expand more than this (zip bomb)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
INVISIBLE = "[\ufeff\u200b\u200c\u200d\u2060\u00ad]"  # BOMs and zero-width characters inside cells
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Sheet:
    """Cells as text ('' for empty), index = user-visible row number; ``name`` of the sheet or encoding;
    ``delimiter`` of a text file."""

    cells: pd.DataFrame
    source: str
    delimiter: str = ""


def _csv_rows(text: str, delimiter: str, file: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(
            "CSV格式错误，无法读取，请重新导出",
            "The CSV is malformed and cannot be read; export it again",
            file=file,
            detail=str(exc),
        ) from exc


DELIMITERS = {",": "逗号 comma", "\t": "制表符 tab", ";": "分号 semicolon"}
CONSISTENT = 0.9  # share of non-empty lines that must split into the same number of cells


def _consistency(head: str, delimiter: str, file: str) -> tuple[float, int]:
    """Share of the head's non-empty lines that split into the modal number (> 1) of cells, and that number."""
    widths = pd.Series([len(r) for r in _csv_rows(head, delimiter, file)[:200] if any(c.strip() for c in r)])
    if widths.empty or widths.max() < 2:
        return 0.0, 1
    mode = int(widths.loc[widths > 1].mode().iloc[0])
    return float((widths == mode).mean()), mode


def delimiter_of(text: str, file: str) -> str:
    """The one delimiter (comma, tab or semicolon) that splits the head's lines consistently.

    Never guessed: when two split the lines equally well (``1,5;2,5``) the file is refused, naming both.
    """
    head = "\n".join(text[:100_000].split("\n")[:200])
    scores = {d: _consistency(head, d, file) for d in DELIMITERS}
    ranked = sorted(scores, key=lambda d: (scores[d][0], scores[d][1]), reverse=True)
    best, second = ranked[0], ranked[1]
    if scores[best][1] < 2:
        return ","  # one column: any delimiter reads it the same
    if scores[second][1] > 1 and scores[second][0] >= CONSISTENT and scores[best][0] >= CONSISTENT:
        first_line = next((line for line in head.split("\n") if line.strip()), "")[:80]
        raise InputError(
            f"无法确定分隔符：每行都可按{DELIMITERS[best]}或{DELIMITERS[second]}拆分（首行：{first_line}）；"
            "请另存为以逗号分隔、小数点为“.”的CSV，或XLSX",
            f"Cannot tell the delimiter: every line splits by {DELIMITERS[best].split()[1]} and by "
            f"{DELIMITERS[second].split()[1]} (first line: {first_line}); save it as a comma-separated CSV with "
            "'.' decimals, or as XLSX",
            file=file,
        )
    return best


def _csv_cells(text: str, file: str) -> tuple[pd.DataFrame, str]:
    """Split CSV text into cells; ragged rows (title lines, totals) are padded with ''."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    head = text[:100_000]
    delimiter = delimiter_of(text, file)
    width = max((len(r) for r in _csv_rows(head, delimiter, file)[:200]), default=1)
    try:  # the C parser for speed; ragged rows are padded up to the widest head row
        df = pd.read_csv(
            io.StringIO(text),
            header=None,
            names=range(width),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            sep=delimiter,
            engine="c",
        )
        return df.fillna(""), delimiter
    except pd.errors.ParserError:  # a later row is wider than any head row
        rows = _csv_rows(text, delimiter, file)
        width = max(len(r) for r in rows)
        return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str), delimiter


def _excel_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_zip(data: bytes, file: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except Exception as exc:
        raise InputError(
            "文件不是有效的XLSX文件，请重新导出", "The file is not a valid XLSX workbook; export it again", file=file
        ) from exc
    if unpacked > MAX_XLSX_EXPANSION * len(data):
        raise InputError(
            f"XLSX文件解压后膨胀超过{MAX_XLSX_EXPANSION}倍，疑似压缩炸弹，已拒绝；请另存为普通XLSX或CSV",
            f"The XLSX expands more than {MAX_XLSX_EXPANSION}x when unpacked (zip bomb?); save it again as a "
            "plain XLSX or CSV",
            file=file,
        )


def _xlsx_sheets(data: bytes, file: str, sheet: str | None) -> list[Sheet]:
    _check_zip(data, file)
    try:
        frames = pd.read_excel(
            io.BytesIO(data), sheet_name=sheet if sheet else None, header=None, dtype=object, engine="openpyxl"
        )
    except ValueError as exc:
        raise InputError(f"工作表 {sheet} 不存在", f"Sheet {sheet} does not exist", file=file) from exc
    except Exception as exc:  # openpyxl raises many kinds on a corrupt workbook
        raise InputError(
            "XLSX文件已损坏或格式不对，请重新导出",
            "The XLSX file is corrupt or malformed; export it again",
            file=file,
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc
    if isinstance(frames, pd.DataFrame):
        frames = {sheet: frames}
    return [Sheet(df.map(_excel_text).astype(str), str(name)) for name, df in frames.items()]


def _html_sheets(text: str, file: str) -> list[Sheet]:
    try:
        tables = pd.read_html(io.StringIO(text), header=None, keep_default_na=False, flavor="lxml")
    except ValueError as exc:
        raise InputError("文件中没有表格", "The file holds no table", file=file) from exc
    return [Sheet(t.astype(str).replace({"nan": ""}), f"table {i + 1}") for i, t in enumerate(tables)]


def read_sheets(data: bytes, file: str, sheet: str | None = None) -> list[Sheet]:
    """All candidate tables of a file (one for CSV), cells as text, index = user-visible row number."""
    if not data.strip():
        raise InputError("文件为空", "The file is empty", file=file)
    if data.startswith(_ZIP_MAGIC):
        sheets = _xlsx_sheets(data, file, sheet)
    elif data.startswith(_OLE_MAGIC):
        raise InputError(
            "不支持旧版二进制XLS文件，请在Excel中另存为XLSX或CSV",
            "Old binary .xls workbooks are not supported; save as XLSX or CSV in Excel",
            file=file,
        )
    else:
        text, encoding = decode(data, file)
        head = text.lstrip()[:2048].lower()
        if head.startswith("<") and "<table" in text[:200_000].lower():
            sheets = _html_sheets(text, file)
        else:
            cells, delimiter = _csv_cells(text, file)
            sheets = [Sheet(cells, encoding, delimiter)]
    for s in sheets:
        for c in s.cells.columns:
            if s.cells[c].str.contains(INVISIBLE, regex=True).any():
                s.cells[c] = s.cells[c].str.replace(INVISIBLE, "", regex=True)
        s.cells.columns = range(s.cells.shape[1])
        s.cells.index = pd.RangeIndex(1, len(s.cells) + 1)
    return sheets
