"""Exports open safely in a spreadsheet: formula-like text is escaped, numbers and Chinese text survive."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
from openpyxl import load_workbook

from carbon.export import csv_bytes, csv_zip, escape_formulas, xlsx_bytes

TABLE = pd.DataFrame(
    {
        "企业 / enterprise": ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "青浦某公司", "\tcmd"],
        "排放 tCO2e": [1.5, -2.0, 3.0, 4.0, 5.0, 6.0],
    }
)


def test_formula_cells_are_escaped_and_numbers_are_not():
    safe = escape_formulas(TABLE)
    assert list(safe["企业 / enterprise"]) == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "青浦某公司",
        "'\tcmd",
    ]
    assert list(safe["排放 tCO2e"]) == [1.5, -2.0, 3.0, 4.0, 5.0, 6.0]  # a negative number is data, not a formula
    assert TABLE.iloc[0, 0].startswith("=")  # the input is untouched


def test_csv_has_bom_and_escaped_cells():
    data = csv_bytes(TABLE)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back.iloc[0, 0] == '\'=HYPERLINK("http://x")' and back.iloc[4, 0] == "青浦某公司"
    names = zipfile.ZipFile(io.BytesIO(csv_zip({"企业/列表": TABLE, "b": TABLE}))).namelist()
    assert names == ["企业_列表.csv", "b.csv"]


def test_xlsx_holds_no_formula_and_keeps_numbers():
    wb = load_workbook(io.BytesIO(xlsx_bytes({"企业 enterprises": TABLE, "=evil": TABLE.head(1)})))
    assert wb.sheetnames == ["企业 enterprises", "=evil"]
    ws = wb["企业 enterprises"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert ws["A2"].value == '\'=HYPERLINK("http://x")' and ws["B3"].value == -2.0
