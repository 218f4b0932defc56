"""Read an uploaded file's bytes into a table of text cells, numbered as the user sees the rows.

CSV/TXT in UTF-8 (with or without BOM) or GBK/GB18030, detected; XLSX read safely (defusedxml through
openpyxl, zip-bomb check); ``.xls`` files that are really HTML tables.  Row numbers are those of the file
as opened in Excel or a text editor (first line = 1).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time

import numpy as np
import pandas as pd
from defusedxml import DefusedXmlException
from openpyxl import load_workbook
from openpyxl.cell.cell import TYPE_ERROR

from carbon.encoding import decode
from carbon.errors import InputError
from carbon.limits import limit

MAX_XLSX_EXPANSION = 100  # refuse an xlsx whose parts expand more than this (zip bomb)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
INVISIBLE = "[\ufeff\u200b\u200c\u200d\u2060\u00ad]"  # BOMs and zero-width characters inside cells
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class CellBudget:
    """The cells one file may hold: ``max_cells_per_file``, or fewer when the upload's other files used the rest of
    ``max_cells_per_upload``; ``name`` and ``value`` are the limit that sets it, ``used`` what other files used."""

    cells: int
    name: str
    value: int
    used: int = 0


def cell_budget(used_by_upload: int = 0) -> CellBudget:
    """The cell budget of the next file of an upload whose earlier files held ``used_by_upload`` cells."""
    per_file, per_upload = limit("max_cells_per_file"), limit("max_cells_per_upload")
    if per_file <= per_upload - used_by_upload:
        return CellBudget(per_file, "max_cells_per_file", per_file)
    return CellBudget(per_upload - used_by_upload, "max_cells_per_upload", per_upload, used_by_upload)


_MEASURES = {  # limit -> what it counts (zh, en)
    "max_columns": ("列数", "columns"),
    "max_rows_per_file": ("行数", "rows"),
    "max_cells_per_file": ("单元格数", "cells"),
    "max_cells_per_upload": ("本次上传所有文件的单元格总数", "cells of all the files of this upload together"),
    "max_cell_chars": ("单元格字符数", "characters in one cell"),
}


def over_limit(file: str, name: str, value: int, found: int, **where: object) -> InputError:
    """The refusal of a file that passes the limit ``name`` (``value``) with at least ``found``."""
    zh, en = _MEASURES[name]
    return InputError(
        f"{zh}超过上限 {value:,}（{name}，本文件至少 {found:,}），未读取、未入库；请拆分成较小的文件分别上传，"
        "或删去多余的行列和过长的内容",
        f"{en.capitalize()} exceed the limit of {value:,} ({name}; this file has at least {found:,}); nothing was "
        "read or stored: split it into smaller files and upload them separately, or remove surplus rows, columns "
        "and over-long text",
        file=file,
        limit=name,
        **where,
    )


def check_size(file: str, rows: int, columns: int, budget: CellBudget) -> None:
    """Refuse a table of ``rows`` x ``columns`` (read so far, or declared) beyond the columns, rows or cells limits."""
    if columns > (most := limit("max_columns")):
        raise over_limit(file, "max_columns", most, columns)
    if rows > (most := limit("max_rows_per_file")):
        raise over_limit(file, "max_rows_per_file", most, rows)
    if rows * columns > budget.cells:
        raise over_limit(file, budget.name, budget.value, budget.used + rows * columns)


@dataclass
class Sheet:
    """Cells as text ('' for empty), index = user-visible row number; ``name`` of the sheet or encoding;
    ``delimiter`` of a text file."""

    cells: pd.DataFrame
    source: str
    delimiter: str = ""


def _malformed(file: str, exc: csv.Error) -> InputError:
    return InputError(
        "CSV格式错误，无法读取，请重新导出",
        "The CSV is malformed and cannot be read; export it again",
        file=file,
        detail=str(exc),
    )


def _csv_rows(text: str, delimiter: str, file: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise _malformed(file, exc) from exc


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


def _counted_rows(text: str, delimiter: str, file: str, budget: CellBudget) -> list[list[str]]:
    """Rows of CSV text read one by one, refused at the first limit they pass."""
    rows: list[list[str]] = []
    width = 1
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            rows.append(row)
            width = max(width, len(row))
            check_size(file, len(rows), width, budget)
    except csv.Error as exc:
        raise _malformed(file, exc) from exc
    return [r + [""] * (width - len(r)) for r in rows]


def _csv_cells(text: str, file: str, budget: CellBudget) -> tuple[pd.DataFrame, str]:
    """Split CSV text into cells; ragged rows (title lines, totals) are padded with ''.  The lines and the head's
    width are checked against the limits before the C parser reads the rest."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    head = text[:100_000]
    delimiter = delimiter_of(text, file)
    width = max((len(r) for r in _csv_rows(head, delimiter, file)[:200]), default=1)
    check_size(file, text.count("\n") + (not text.endswith("\n")), width, budget)
    try:  # the C parser for speed; ragged rows are padded up to the widest head row
        df = pd.read_csv(  # from UTF-8 bytes: a StringIO would hold four bytes a character
            io.BytesIO(text.encode("utf-8", errors="surrogatepass")),
            encoding="utf-8",
            encoding_errors="surrogatepass",
            header=None,
            names=range(width),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            sep=delimiter,
            engine="c",
        )
        return df.fillna(""), delimiter
    except pd.errors.ParserError:  # a later row is wider than any head row: read row by row, counting
        return pd.DataFrame(_counted_rows(text, delimiter, file, budget), dtype=str), delimiter


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


# How an XML parser (libxml2 through lxml, or expat) tells a part's encoding before any declaration: a byte order
# mark, else the first character "<" in 4, 2 or 1 bytes (EBCDIC "<?xm"); UTF-32 marks before UTF-16's (FF FE 00 00).
_XML_STARTS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
    (b"\x4c\x6f\xa7\x94", "cp037"),
)
_ENCODING_DECLARATION = re.compile(r"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']")
# What no workbook Excel or WPS writes holds: a DOCTYPE, or an entity declared in one (expanded, or fetched).
_DECLARATIONS = ("<!doctype", "<!entity")
_RAW_DECLARATIONS = tuple(d.encode(e) for d in _DECLARATIONS for e in ("utf-8", "utf-16-le", "utf-16-be"))
_CHUNK = 1 << 20


def xml_encoding(head: bytes) -> str:
    """The codec of an XML part from its first bytes: its byte order mark or width, else (in a one-byte encoding)
    its encoding declaration when Python knows that codec, else UTF-8."""
    codec = next((c for start, c in _XML_STARTS if head.startswith(start)), "utf-8")
    if codec not in ("utf-8", "cp037"):
        return codec
    declared = _ENCODING_DECLARATION.match(head[:200].decode(codec, errors="replace"))
    try:
        return codecs.lookup(declared.group(1)).name if declared else codec
    except LookupError:
        return codec


def declares_doctype(part: io.BufferedIOBase) -> bool:
    """Whether a part (read in chunks) holds ``<!DOCTYPE`` or ``<!ENTITY``, any case: in the text decoded as an XML
    parser would decode it, or in its raw bytes as UTF-8 or UTF-16 (should the part lie about its encoding)."""
    head = part.read(_CHUNK)
    decoder = codecs.getincrementaldecoder(xml_encoding(head))(errors="replace")
    raw_tail, text_tail, chunk = b"", "", head
    while chunk:
        raw, text = raw_tail + chunk.lower(), text_tail + decoder.decode(chunk).lower()
        if any(d in raw for d in _RAW_DECLARATIONS) or any(d in text for d in _DECLARATIONS):
            return True
        raw_tail, text_tail, chunk = raw[-32:], text[-16:], part.read(_CHUNK)
    return False


def declaration_refused(file: str, part: str) -> InputError:
    """The refusal of a workbook with a DOCTYPE or an entity declaration (internal or external) in ``part``."""
    return InputError(
        f"XLSX文件的 {part} 中含有DOCTYPE或实体声明（Excel和WPS从不写入），为安全起见拒绝读取，未入库；"
        "请在Excel或WPS中打开后另存为 .xlsx，或导出为CSV",
        f"The workbook declares a DOCTYPE or entity in {part} (Excel and WPS never write one) and is refused for "
        "safety; nothing was stored: open it in Excel or WPS and save it again as .xlsx, or export it as CSV",
        file=file,
        part=part,
    )


def _check_zip(data: bytes, file: str) -> None:
    """Refuse an XLSX that is no ZIP, expands more than ``MAX_XLSX_EXPANSION`` times (checked first, from the
    declared sizes, which reading never exceeds) or has a DOCTYPE or entity declaration in any part."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
            if unpacked > MAX_XLSX_EXPANSION * len(data):
                raise InputError(
                    f"XLSX文件解压后膨胀超过{MAX_XLSX_EXPANSION}倍，疑似压缩炸弹，已拒绝；请另存为普通XLSX或CSV",
                    f"The XLSX expands more than {MAX_XLSX_EXPANSION}x when unpacked (zip bomb?); save it again as "
                    "a plain XLSX or CSV",
                    file=file,
                )
            for info in zf.infolist():
                with zf.open(info) as part:
                    if declares_doctype(part):
                        raise declaration_refused(file, info.filename)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            "文件不是有效的XLSX文件，请重新导出", "The file is not a valid XLSX workbook; export it again", file=file
        ) from exc


def _cell_text(cell: object) -> str:
    return "" if getattr(cell, "data_type", None) == TYPE_ERROR else _excel_text(getattr(cell, "value", None))


def _sheet_rows(ws: object, file: str, budget: CellBudget) -> list[list[str]]:
    """A read-only sheet's cells as text, trailing blanks trimmed: refused from its declared dimension, then
    counted row by row (a dimension can lie) before the next row is read."""
    check_size(file, ws.max_row or 0, ws.max_column or 0, budget)  # type: ignore[attr-defined]
    ws.reset_dimensions()  # type: ignore[attr-defined]
    rows: list[list[str]] = []
    width = last = 0
    for row in ws.rows:  # type: ignore[attr-defined]
        texts = [_cell_text(c) for c in row]
        while texts and texts[-1] == "":
            texts.pop()
        rows.append(texts)
        if texts:
            last, width = len(rows), max(width, len(texts))
        check_size(file, len(rows), width, budget)
    return [r + [""] * (width - len(r)) for r in rows[:last]]


def _unreadable(file: str, exc: Exception) -> InputError:
    """The refusal of a workbook openpyxl cannot read safely: a DOCTYPE or entities that ``_check_zip`` did not see
    (openpyxl may wrap defusedxml's refusal in its own error), or any other corruption."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(e, DefusedXmlException) for e in chain):
        return declaration_refused(file, "XML")
    return InputError(
        "XLSX文件已损坏或格式不对，无法读取，未入库；请重新导出",
        "The XLSX file is corrupt or malformed and cannot be read; nothing was stored: export it again",
        file=file,
        detail=f"{type(exc).__name__}: {exc}",
    )


def _xlsx_sheets(data: bytes, file: str, sheet: str | None, budget: CellBudget) -> list[Sheet]:
    """The workbook's sheets (or ``sheet``) read in openpyxl's read-only mode, each within the cell budget left."""
    _check_zip(data, file)
    sheets: list[Sheet] = []
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        try:
            if sheet and sheet not in book.sheetnames:
                names = "、".join(book.sheetnames)
                raise InputError(
                    f"工作表 {sheet} 不存在（本文件的工作表：{names}）；请用 --sheet 指定其中之一",
                    f"Sheet {sheet} does not exist (the workbook's sheets: {', '.join(book.sheetnames)}); "
                    "name one of them with --sheet",
                    file=file,
                    value=sheet,
                )
            for name in [sheet] if sheet else book.sheetnames:
                rows = _sheet_rows(book[name], file, budget)
                used = len(rows) * (len(rows[0]) if rows else 0)
                budget = CellBudget(budget.cells - used, budget.name, budget.value, budget.used + used)
                sheets.append(Sheet(pd.DataFrame(rows, dtype=str), str(name)))
        finally:
            book.close()
    except InputError:
        raise
    except Exception as exc:  # openpyxl and defusedxml raise many kinds on a corrupt or hostile workbook
        raise _unreadable(file, exc) from exc
    return sheets


def _html_sheets(text: str, file: str, budget: CellBudget) -> list[Sheet]:
    low = text.lower()  # rows and cells counted from their tags before any table is built
    rows, cells = low.count("<tr"), low.count("<td") + low.count("<th")
    if rows > (most := limit("max_rows_per_file")):
        raise over_limit(file, "max_rows_per_file", most, rows)
    if cells > budget.cells:
        raise over_limit(file, budget.name, budget.value, budget.used + cells)
    try:
        tables = pd.read_html(io.StringIO(text), header=None, keep_default_na=False, flavor="lxml")
    except ValueError as exc:
        raise InputError("文件中没有表格", "The file holds no table", file=file) from exc
    return [Sheet(t.astype(str).replace({"nan": ""}), f"table {i + 1}") for i, t in enumerate(tables)]


def column_label(position: int) -> str:
    """A column as a spreadsheet shows it: 0 -> A, 26 -> AA."""
    label = ""
    n = position + 1
    while n:
        n, rest = divmod(n - 1, 26)
        label = chr(65 + rest) + label
    return label


def check_cells(cells: pd.DataFrame, file: str) -> None:
    """Refuse a cell longer than ``max_cell_chars`` (before any parser sees it) or holding a NUL byte (which would
    otherwise vanish: ``1\\x0000`` is not 100), naming its row, column and start."""
    most = limit("max_cell_chars")
    for c in cells.columns:
        text = cells[c]
        long, nul = text.str.len() > most, text.str.contains("\x00", regex=False)
        if not (long.any() or nul.any()):
            continue
        row = int(long.idxmax() if long.any() else nul.idxmax())
        label = column_label(c)
        where_zh, where_en = f"第{row}行第{c + 1}列（{label}）", f"row {row}, column {c + 1} ({label})"
        value = text[row]
        if long.any():
            raise InputError(
                f"{where_zh}的单元格有 {len(value):,} 个字符，超过上限 {most:,}（max_cell_chars），未读取、未入库；"
                "请删去过长的内容（表号、单位、数值都不会这么长）",
                f"The cell at {where_en} has {len(value):,} characters, more than the limit of {most:,} "
                "(max_cell_chars); nothing was read or stored: remove the over-long text (no meter id, unit or "
                "number is that long)",
                file=file,
                row=row,
                column=label,
                value=value[:40] + "…",
                limit="max_cell_chars",
            )
        raise InputError(
            f"{where_zh}的值“{value[:40]!r}”含有NUL空字符（\\x00），无法确定原值，未入库；请在源系统重新导出该文件"
            "（不要另存为UTF-16），或删去该字符后核对数值",
            f"The value {value[:40]!r} at {where_en} holds a NUL character (\\x00), so its real value cannot be "
            "told; nothing was stored: export the file again from its source (not as UTF-16), or remove the "
            "character and check the value",
            file=file,
            row=row,
            column=label,
            value=value[:40],
        )


def read_sheets(data: bytes, file: str, sheet: str | None = None, budget: CellBudget | None = None) -> list[Sheet]:
    """All candidate tables of a file (one for CSV), cells as text, index = user-visible row number; refused
    beyond the size limits (``budget``: the cells this file may still hold, by default ``max_cells_per_file``)."""
    budget = budget or cell_budget()
    if not data.strip():
        raise InputError("文件为空", "The file is empty", file=file)
    if data.startswith(_ZIP_MAGIC):
        sheets = _xlsx_sheets(data, file, sheet, budget)
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
            sheets = _html_sheets(text, file, budget)
        else:
            cells, delimiter = _csv_cells(text, file, budget)
            sheets = [Sheet(cells, encoding, delimiter)]
    for s in sheets:
        for c in s.cells.columns:
            if s.cells[c].str.contains(INVISIBLE, regex=True).any():
                s.cells[c] = s.cells[c].str.replace(INVISIBLE, "", regex=True)
        s.cells.columns = range(s.cells.shape[1])
        s.cells.index = pd.RangeIndex(1, len(s.cells) + 1)
        check_cells(s.cells, file)
    return sheets
