"""Every export shape the importer accepts, built as small real files (CSV in UTF-8 and GBK, XLSX, HTML .xls)."""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pandas as pd
import pytest
from sqlmodel import Session, select

from carbon.enterprises import add_enterprise
from carbon.errors import InputError
from carbon.ingest import ingest_files
from carbon.models import Activity, RegisterReading
from tests.helpers import uscc


@pytest.fixture
def ent(engine) -> str:
    code = uscc(21, "320509")
    add_enterprise(engine, code=code, name="吴江测试电子有限公司", region="wujiang", industry="3982")
    return code


def stored(engine) -> pd.DataFrame:
    with Session(engine) as s:
        rows = s.exec(select(Activity).where(Activity.superseded_at.is_(None))).all()
    df = pd.DataFrame([r.model_dump() for r in rows])
    for col in ("period_start", "period_end"):
        df[col] = pd.to_datetime(df[col], utc=True).dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M")
    return df.sort_values(["period_start", "quantity_canonical"]).reset_index(drop=True)


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_gbk_template_with_title_units_blank_and_totals_lines(engine, ent, tmp_path):
    f = write(
        tmp_path / "明细.csv",
        "苏州某公司2024年用电明细\n\n单位,能源品种,表号,开始时间,结束时间,用量,备注\n"
        'kWh,电力,E1,2024年1月1日,2024年2月1日,"1,200",一月\n\n'
        "kWh,电力,E1,20240201,20240301,１１００ kWh,二月\n合计,,,,,2300,\n",
        "gbk",
    )
    (r,) = ingest_files(engine, [f], ent)
    assert (r.shape, r.stored, r.rows_read, r.rows_accepted, r.rows_skipped) == ("periods", True, 2, 2, 1)
    assert r.ignored_columns == ["备注"] and r.sheet == "gb18030"
    df = stored(engine)
    assert df["quantity_canonical"].tolist() == [1200, 1100]
    assert df["period_start"].tolist() == ["2024-01-01 00:00", "2024-02-01 00:00"]
    assert df["source_row"].tolist() == [4, 6]  # rows as the user sees them in a text editor


@pytest.mark.parametrize(
    ("header", "value", "expected", "carrier"),
    [
        ("用量(kWh)", "5", 5, "electricity"),
        ("用电量（万千瓦时）", "1.5", 15000, "electricity"),
        ("quantity [MWh]", "2", 2000, "electricity"),
        ("用气量(m³)", "300", 300, "natural_gas"),
    ],
)
def test_unit_in_the_header(engine, ent, tmp_path, header, value, expected, carrier):
    carrier_col = "能源品种," if header.startswith("quantity") else ""
    carrier_val = "电力," if header.startswith("quantity") else ""
    f = write(
        tmp_path / "u.csv",
        f"表号,{carrier_col}开始时间,结束时间,{header}\nM1,{carrier_val}2024-03-01,2024-04-01,{value}\n",
    )
    (r,) = ingest_files(engine, [f], ent)
    assert r.stored, r.as_dict()
    df = stored(engine)
    assert df["quantity_canonical"].tolist() == [expected] and df["carrier"].tolist() == [carrier]


def test_oil_header_is_taken_as_diesel_with_a_warning(engine, ent, tmp_path):
    f = write(tmp_path / "oil.csv", "表号,开始时间,结束时间,用油量(t)\nV1,2024-03-01,2024-04-01,2.5\n")
    (r,) = ingest_files(engine, [f], ent)
    assert r.stored and [w.code for w in r.warnings] == ["assumed_carrier"]
    assert stored(engine)["carrier"].tolist() == ["diesel"]


def test_register_readings_with_rollover_and_replacement(engine, ent, tmp_path):
    f = write(
        tmp_path / "reg.csv",
        "表号,能源品种,抄表时间,示数,倍率,单位,备注\n"
        "R1,电力,2024-01-01,99900.00,40,kWh,\n"
        "R1,电力,2024-02-01,99950.50,40,kWh,\n"
        "R1,电力,2024-03-01,30.50,40,kWh,\n"  # rolled over past 99999.99
        "R1,电力,2024-04-01,10.00,40,kWh,换表\n"  # new meter
        "R1,电力,2024-05-01,60.00,40,kWh,\n"
        "R2,电力,2024-01-01,5000,1,kWh,\n"
        "R2,电力,2024-02-01,7.5,1,kWh,\n",
    )  # far drop without a note: replacement
    (r,) = ingest_files(engine, [f], ent)
    assert r.shape == "register" and r.stored, r.as_dict()
    df = stored(engine)
    got = sorted(zip(df["meter_id"], df["period_start"].str[:10], df["quantity_canonical"], strict=True))
    assert [(p, q) for _, p, q in got] == [("2024-01-01", 50.5 * 40), ("2024-02-01", 80 * 40), ("2024-04-01", 50 * 40)]
    codes = sorted(w.code for w in r.warnings)
    assert codes == ["gap", "meter_replaced", "register_drop", "register_rollover"]  # gap: the replaced interval
    assert (df["quantity_canonical"] >= 0).all()
    # the next month's file holds one reading per meter: it continues from the stored readings
    nxt = write(tmp_path / "reg2.csv", "表号,能源品种,抄表时间,示数,倍率,单位\nR1,电力,2024-06-01,70.00,40,kWh\n")
    (r2,) = ingest_files(engine, [nxt], ent)
    assert r2.stored and r2.readings == 1
    assert stored(engine)["quantity_canonical"].iloc[-1] == pytest.approx(10 * 40)
    with Session(engine) as s:
        assert len(s.exec(select(RegisterReading)).all()) == 8


def test_register_decrease_that_is_neither_rollover_nor_replacement_is_refused(engine, ent, tmp_path):
    f = write(
        tmp_path / "r.csv",
        "表号,能源品种,抄表时间,示数,单位\nR1,电力,2024-01-01,5000,kWh\nR1,电力,2024-02-01,4990,kWh\n",
    )
    (r,) = ingest_files(engine, [f], ent)
    assert [(e.row, e.code) for e in r.errors] == [(3, "register_decrease")] and not r.stored


def test_state_grid_bill_in_gbk_with_a_mismatching_row(engine, ent, tmp_path):
    f = write(
        tmp_path / "bill.csv",
        "户号,电费年月,上次抄表日期,本次抄表日期,上次示数,本次示数,倍率,抄见电量\n"
        "3201234567,202401,2024-01-01,2024-02-01,1000.00,1250.00,80,20000\n"
        "3201234567,202402,2024-02-01,2024-03-01,1250.00,1400.00,80,12500\n",
        "gbk",
    )
    (r,) = ingest_files(engine, [f], ent)
    assert r.shape == "bill" and not r.stored
    (e,) = r.errors
    assert (e.row, e.code, e.column) == (3, "bill_mismatch", "抄见电量")  # the file's own header
    assert "12000" in e.en and "12500" in e.en and "12000" in e.zh
    (ok,) = ingest_files(engine, [f], ent, accept_valid=True)
    assert ok.stored and stored(engine)["quantity_canonical"].tolist() == [20000]


def test_interval_long_15_minutes_inferred(engine, ent, tmp_path):
    lines = ["时间,表号,用量,单位,能源品种"]
    for m in ("A", "B"):
        lines += [f"2024-05-01 {h:02d}:{q:02d},{m},1.5,kWh,电力" for h in range(2) for q in (0, 15, 30, 45)]
    f = write(tmp_path / "long.csv", "\n".join(lines) + "\n")
    (r,) = ingest_files(engine, [f], ent)
    assert r.shape == "interval_long" and r.stored and r.readings == 16
    df = stored(engine)
    assert df["period_start"].iloc[0] == "2024-05-01 00:00" and df["period_end"].iloc[0] == "2024-05-01 00:15"


def test_interval_with_an_irregular_step_is_refused(engine, ent, tmp_path):
    rows = ["2024-05-01 00:00", "2024-05-01 00:15", "2024-05-01 00:30", "2024-05-01 00:40", "2024-05-01 01:00"]
    f = write(tmp_path / "bad.csv", "时间,表号,用量(kWh)\n" + "".join(f"{t},A,1\n" for t in rows))
    (r,) = ingest_files(engine, [f], ent)
    assert [(e.row, e.code) for e in r.errors] == [(5, "irregular_interval")]


def test_interval_wide_xlsx_with_a_units_line_and_excel_dates(engine, ent, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某园区能源管理系统 小时数据"])
    ws.append(["时间", "1#变压器", "2#变压器", "燃气表"])
    ws.append(["", "kWh", "MWh", "m3"])
    for h in range(4):
        ws.append([datetime(2024, 6, 1, h), 10 + h, 0.5, ""])
    ws.append([45444.125, 20, 0.25, 3])  # an Excel serial date: 45444.125 = 2024-06-01 03:00, a repeated hour
    wb.save(tmp_path / "wide.xlsx")
    (r,) = ingest_files(engine, [tmp_path / "wide.xlsx"], ent)
    assert r.shape == "interval_wide", r.as_dict()
    assert not r.stored and {(e.row, e.code) for e in r.errors} == {(8, "irregular_interval")}
    ws.delete_rows(8)
    wb.save(tmp_path / "wide.xlsx")
    (r,) = ingest_files(engine, [tmp_path / "wide.xlsx"], ent)
    assert r.stored and r.readings == 8
    df = stored(engine)
    assert sorted(df["quantity_canonical"].tolist()) == [10, 11, 12, 13, 500, 500, 500, 500]
    assert set(df["carrier"]) == {"electricity"}


def test_html_table_saved_as_xls(engine, ent, tmp_path):
    html = (
        "<html><body><table><tr><td>表号</td><td>能源品种</td><td>开始时间</td><td>结束时间</td><td>用量</td>"
        "<td>单位</td></tr><tr><td>H1</td><td>电力</td><td>2024-07-01</td><td>2024-08-01</td><td>321</td>"
        "<td>kWh</td></tr></table></body></html>"
    )
    f = write(tmp_path / "export.xls", html, "gbk")
    (r,) = ingest_files(engine, [f], ent)
    assert r.stored and stored(engine)["quantity_canonical"].tolist() == [321]


def test_sheet_with_the_header_is_found_and_sheet_can_be_named(engine, ent, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表由系统导出"])
    data = wb.create_sheet("数据")
    data.append(["表号", "能源品种", "开始时间", "结束时间", "用量", "单位"])
    data.append(["S1", "天然气", "2024-01-01", "2024-02-01", 100, "m3"])
    wb.save(tmp_path / "two.xlsx")
    with pytest.raises(InputError, match="No header"):
        ingest_files(engine, [tmp_path / "two.xlsx"], ent, sheet="说明")
    (r,) = ingest_files(engine, [tmp_path / "two.xlsx"], ent)
    assert r.stored and r.sheet == "数据"


def test_unrecognisable_and_binary_xls_files_get_clear_errors(engine, ent, tmp_path):
    f = write(tmp_path / "x.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(InputError) as exc:
        ingest_files(engine, [f], ent)
    assert "x.csv" in exc.value.message and "表头" in exc.value.zh
    ole = tmp_path / "old.xls"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(InputError, match="XLSX"):
        ingest_files(engine, [ole], ent)
