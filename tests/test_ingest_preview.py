"""What the upload preview and the validation report show a user: the file's own columns and cells exactly as
written, times in Beijing time, each row's outcome as a code of the label registry; nothing internal."""

from __future__ import annotations

import pytest

from carbon import codes
from carbon.enterprises import add_enterprise
from carbon.ingest import ingest_files, read_files
from carbon.ingest.header import Header
from carbon.ingest.preview import file_headers, preview_rows
from tests.helpers import uscc

HEADER = "表号,能源品种,开始时间,结束时间,用量,单位"
INTERNAL = {"file_idx", "status", "detail", "old_quantity", "supersedes", "period_start", "period_end", "meter_code"}


@pytest.fixture
def ent(engine) -> str:
    code = uscc(31, "330421")
    add_enterprise(engine, code=code, name="嘉善测试纺织有限公司", region="jiashan", industry="1713")
    return code


def upload(name: str, *lines: str) -> tuple[str, bytes]:
    return name, ("\n".join(lines) + "\n").encode()


def issue(report, code: str):
    (found,) = [i for i in report.issues if i.code == code]
    return found


def test_issue_values_are_the_cells_as_written_and_numbers_keep_every_digit(engine, ent):
    ingest_files(engine, [upload("一月.csv", HEADER, "E-01,电力,2024-01-01,2024-02-01,1122236.06,kWh")], ent)
    (r,) = read_files(
        engine,
        [
            upload(
                "更正.csv",
                HEADER,
                "E-01,电力,2024-01-01,2024-02-01,1122236.07,kWh",  # corrects the stored value
                "E-02,电力,2024-01-01,2024-02-01,-1122236.06,kWh",
                "E-03,电力,2099年1月1日,2099年2月1日,5,kWh",  # in the future: the time as the file wrote it
            )
        ],
        ent,
    )
    negative = issue(r, "negative")
    assert (negative.row, negative.column, negative.value) == (3, "用量", "-1122236.06")
    correction = issue(r, "correction")
    assert correction.value == "1122236.07" and "原值 1122236.06，新值 1122236.07" in correction.zh
    assert "2024-01-01 00:00 ~ 2024-02-01 00:00" in correction.zh  # Beijing time, never UTC
    future = issue(r, "future")
    assert (future.row, future.column, future.value) == (4, "结束时间", "2099年2月1日")


def test_a_field_the_file_has_no_column_for_is_named_as_in_the_template(engine, ent):
    # an interval file has a time label, no end column: an issue of the end names the template's 结束时间
    lines = ["时间,表号,能源品种,用量,单位"] + [f"2099-01-01 0{h}:00,M1,电力,1.5,kWh" for h in range(3)]
    (r,) = read_files(engine, [upload("分时.csv", *lines)], ent)
    future = [i for i in r.issues if i.code == "future"]
    assert future and {i.column for i in future} == {"结束时间"}
    assert [i.value for i in future] == [f"2099-01-01 0{h}:00" for h in range(3)]  # the labels as written


def test_preview_shows_the_files_own_columns_as_written_with_each_rows_outcome(engine, ent):
    stored = ["E-01,电力,2024-01-01,2024-02-01,100,kWh", "E-03,电力,2024-01-01,2024-02-01,50,kWh"]
    ingest_files(engine, [upload("一月.csv", HEADER, *stored)], ent)
    (r,) = read_files(
        engine,
        [
            upload(
                "二月.csv",
                "嘉善测试纺织有限公司用能明细",  # a title line above the header
                HEADER,
                "E-01,电力,2024-01-01,2024-02-01,100,kWh",  # repeats the stored reading
                "E-01,电力,2024-02-01,2024-03-01,-1122236.06,kWh",
                'E-01,电力,2024年3月1日,2024年4月1日,"1,234.50",kWh',
                "E-02,电力,2024-01-01,2024-02-01,100.5,kWh",
                "E-03,电力,2024-01-01,2024-02-01,60,kWh",  # corrects the stored 50
            )
        ],
        ent,
    )
    table = preview_rows(r)
    assert list(table.columns) == ["source_row", "row_status", "read_period", *HEADER.split(",")]
    assert not INTERNAL & set(table.columns)
    assert table["source_row"].tolist() == [3, 4, 5, 6, 7]  # rows as a spreadsheet shows them
    assert table["用量"].tolist() == ["100", "-1122236.06", "1,234.50", "100.5", "60"]
    assert table["开始时间"].tolist()[2] == "2024年3月1日"
    assert table["row_status"].tolist() == ["duplicate", "refused", "new", "new", "correction"]
    assert codes.column(table["row_status"], "row_status", "zh").tolist()[:3] == [
        "重复（已入库，不再存）",
        "拒绝（见上方错误）",
        "新增",
    ]
    assert table["read_period"].tolist() == [
        "2024-01-01 00:00 ~ 2024-02-01 00:00",
        "",  # refused: nothing read
        "2024-03-01 00:00 ~ 2024-04-01 00:00",
        "2024-01-01 00:00 ~ 2024-02-01 00:00",
        "2024-01-01 00:00 ~ 2024-02-01 00:00",
    ]
    assert "+00:00" not in table.to_string() and "16:00" not in table.to_string()


def test_preview_of_a_day_curve_counts_each_rows_readings(engine, ent):
    points = ",".join(f"{h}:00" for h in range(24))
    day = ",".join(str(h + 1) for h in range(24))
    (r,) = read_files(
        engine,
        [upload("曲线.csv", "日用电量（单位：kWh）", f"计量点编号,日期,{points}", f"330001,2024-04-01,{day}")],
        ent,
    )
    table = preview_rows(r)
    assert table.loc[0, ["source_row", "row_status", "row_readings"]].tolist() == [3, "new", 24]
    assert table.loc[0, "read_period"] == "2024-04-01 00:00 ~ 2024-04-02 00:00"
    assert table.loc[0, "23:00"] == "24" and table.loc[0, "日期"] == "2024-04-01"


def test_a_duplicate_file_has_no_preview(engine, ent):
    f = upload("一月.csv", HEADER, "E-01,电力,2024-01-01,2024-02-01,100,kWh")
    ingest_files(engine, [f], ent)
    (r,) = read_files(engine, [f], ent)
    assert r.duplicate_file and preview_rows(r).empty


def test_file_headers_are_unique_and_never_blank():
    header = Header(row=1, names={0: "状态", 1: "", 2: "用量", 3: "用量", 4: "行号"}, fields={})
    assert file_headers(header, [0, 1, 2, 3, 4], taken={"行号"}) == {
        0: "状态",
        1: "B",
        2: "用量",
        3: "用量 (D)",
        4: "行号 (E)",
    }


def test_register_issues_show_the_register_as_written(engine, ent):
    head = "表号,抄表时间,正向有功总示数(kWh),倍率"
    ingest_files(engine, [upload("一月.csv", head, "M1,2024-01-01 00:00,001234.50,1")], ent)
    (r,) = read_files(engine, [upload("再抄.csv", head, "M1,2024-01-01 00:00,001234.70,1")], ent)
    conflict = issue(r, "register_conflict")
    assert (conflict.column, conflict.value) == ("正向有功总示数(kWh)", "001234.70") and "已存 1234.5）" in conflict.zh
    assert preview_rows(r)["row_status"].tolist() == ["refused"]
