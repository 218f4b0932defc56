"""Reading a statistics CSV (``carbon stats import``) as the statistics and spreadsheet programs write it, exactly or
refused: commas only (another separator is named, never guessed), a row with more cells than the header refused by
row, blank rows and the empty unnamed columns Excel leaves at the right skipped, Chinese column names read as their
English ones (``HEADER_ALIASES``), full-width digits and letters read as ASCII (NFKC) except in ``source``.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import pandas as pd

from carbon.encoding import decode
from carbon.errors import InputError

# Chinese column names of statistics files -> the header's names (both kinds of statistics file)
HEADER_ALIASES = {
    "地区": "region", "区县": "region", "年份": "year", "年度": "year", "行业": "sector", "能源品种": "carrier",
    "品种": "carrier", "流向": "flow", "数值": "value", "数量": "value", "单位": "unit", "计量单位": "unit",
    "状态": "status", "数据状态": "status", "来源": "source", "数据来源": "source", "出处": "source",
    "主体": "subject", "指标": "indicator",
}  # fmt: skip
SEPARATORS = {"\t": ("制表符（Tab）", "tabs"), ";": ("分号（;）", "semicolons"), "；": ("全角分号（；）", "semicolons")}
ZIP, OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
KEEP_AS_WRITTEN = ("source",)


def _column(name: str) -> str:
    key = unicodedata.normalize("NFKC", name).strip().lower()
    return HEADER_ALIASES.get(key, key)


def read_table(path: Path) -> pd.DataFrame:
    """The file's rows as text (columns named as the header, aliases resolved), indexed by file row (header = row
    1), blank rows left out.  ``InputError`` (naming the file, and the row where there is one) for a spreadsheet
    (XLSX/XLS), a file whose header has no comma but another separator, a row with more cells than the header
    (unless the extra cells are empty), or an empty file."""
    data = path.read_bytes()
    if data.startswith((ZIP, OLE)):
        raise InputError(
            "统计数据须为 CSV 文件（逗号分隔），本文件是 Excel 工作簿：请在 Excel 中“另存为 → CSV UTF-8（逗号分隔）”，"
            "表头不变",
            "Statistics must be a CSV file (comma-separated); this file is an Excel workbook: save it from Excel as "
            "“CSV UTF-8 (Comma delimited)”, same header",
            file=path.name,
        )
    text, _ = decode(data, path.name)
    records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not records:
        raise InputError("文件为空", "The file is empty", file=path.name)
    header = records[0]
    if len(header) == 1:
        seen = [sep for sep in SEPARATORS if sep in header[0]]
        if seen:
            zh, en = SEPARATORS[seen[0]]
            raise InputError(
                f"表头以{zh}分隔；统计数据须以英文逗号（,）分隔，请另存为 CSV（逗号分隔）",
                f"The header is separated by {en}; statistics must be separated by commas (,): save the file as "
                "CSV (comma-separated)",
                file=path.name,
                row=1,
            )
    names = [_column(c) for c in header]
    rows: dict[int, list[str]] = {}
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # a blank row, as spreadsheets leave them
        extra = record[len(names) :]
        if any(cell.strip() for cell in extra):
            raise InputError(
                f"第 {number} 行有 {len(record)} 个单元格，表头只有 {len(names)} 列：多出的内容"
                f"“{'，'.join(c for c in extra if c.strip())[:40]}”没有列名（是否某个数值或来源里有未加引号的逗号？）",
                f"Row {number} has {len(record)} cells but the header has {len(names)} columns: the extra "
                f"“{', '.join(c for c in extra if c.strip())[:40]}” has no column (an unquoted comma in a value or "
                "source?)",
                file=path.name,
                row=number,
            )
        rows[number] = (record + [""] * len(names))[: len(names)]
    df = pd.DataFrame(list(rows.values()), columns=names, index=pd.Index(list(rows), dtype="int64"), dtype=str)
    # Excel's empty columns at the right: no name and no cell
    while len(df.columns) and df.columns[-1] == "" and not df.iloc[:, -1].str.strip().any():
        df = df.iloc[:, :-1]
    for c in df.columns:
        if c not in KEEP_AS_WRITTEN:
            df[c] = df[c].map(lambda v: unicodedata.normalize("NFKC", v))
    return df
