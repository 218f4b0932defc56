"""Attacks on the input: files too big to read, values no database can hold, and ambiguous files.

Each limit is read from ``carbon/data/input_limits.csv`` (``carbon.limits.limit``) and each file is built just over
it, so a test follows the data and never lowers a limit; the refusal must come before any parser or store sees the
file (exit 2, a bilingual message naming the limit, the value found and where, nothing stored).
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from carbon.errors import InputError
from carbon.ingest.cells import cell_budget, read_sheets
from carbon.intake import receive_files, receive_records
from carbon.limits import limit, max_length
from carbon.models import Activity, Batch, Meter, RegisterReading, RejectedRow
from tests.conftest import pg_schema
from tests.helpers import uscc, write_template
from tests.test_attacks import add, initialised, run

ROW = "电力,2024-01-01,2024-02-01,100,kWh"


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def refused(result, *words: str) -> None:
    """Exit 2, nothing but a bilingual refusal (Chinese first) holding ``words``."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    text = result.stderr
    assert re.search(r"[\u4e00-\u9fff].* / [A-Za-z]", text), text
    for w in words:
        assert w in text, (w, text)


@pytest.fixture
def company(db_url):
    return add(initialised(db_url), 1)


def xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def with_part(data: bytes, part: str, edit) -> bytes:
    """The workbook with its ``part`` changed by ``edit`` (bytes -> bytes; added when missing, from b"")."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            dst.writestr(item, edit(content) if item.filename == part else content)
        if part not in src.namelist():
            dst.writestr(part, edit(b""))
    return out.getvalue()


def with_sheet_xml(data: bytes, edit) -> bytes:
    """The workbook with its first sheet's XML changed by ``edit`` (text -> text)."""
    return with_part(data, "xl/worksheets/sheet1.xml", lambda b: edit(b.decode()).encode())


# 1. Limits before work


def test_a_100k_character_cell_is_refused_before_any_parser(company, db_url, tmp_path):
    """A meter id of 100,000 characters: refused as the file is read (before the header is looked for, so before
    any unit, number or time parser), naming row, column, length and limit."""
    path = write_template(tmp_path / "long.csv", ["M" * 100_000 + "," + ROW])
    with pytest.raises(InputError) as exc:
        read_sheets(path.read_bytes(), "long.csv")
    assert "max_cell_chars" in exc.value.en and "100,000" in exc.value.en and "row 2, column 1 (A)" in exc.value.en
    r = run(db_url, "ingest", str(path), "--enterprise", company)
    refused(r, "long.csv", "100,000", f"{limit('max_cell_chars'):,}", "第2行第1列", "row 2, column 1 (A)")


@pytest.mark.parametrize("where", ["unit", "title"])
def test_a_long_cell_anywhere_is_refused(company, db_url, tmp_path, where):
    """Neighbours: a long unit (pint's input) or a long title line above the header."""
    long = "k" * (limit("max_cell_chars") + 1)
    if where == "unit":
        path = write_template(tmp_path / "f.csv", [f"M1,电力,2024-01-01,2024-02-01,100,{long}"])
    else:
        path = tmp_path / "f.csv"
        path.write_text(long + "\n表号,能源品种,开始时间,结束时间,用量,单位\nM1," + ROW + "\n", encoding="utf-8")
    refused(run(db_url, "ingest", str(path), "--enterprise", company), "max_cell_chars")


def test_an_xlsx_declaring_more_cells_than_the_limit_is_refused_before_reading(company, db_url, tmp_path):
    """A sheet whose dimension is just over ``max_cells_per_file`` (within the row and column limits): refused from
    the dimension, before a row is read."""
    columns = limit("max_columns")
    rows = limit("max_cells_per_file") // columns + 1
    assert rows <= limit("max_rows_per_file")
    last = "".join(chr(65 + d) for d in _letters(columns))
    data = with_sheet_xml(
        xlsx([["表号", "能源品种", "开始时间", "结束时间", "用量", "单位"], ["M1", *ROW.split(",")]]),
        lambda x: re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="A1:{last}{rows}"', x),
    )
    path = tmp_path / "big.xlsx"
    path.write_bytes(data)
    r = run(db_url, "ingest", str(path), "--enterprise", company)
    refused(r, "big.xlsx", "max_cells_per_file", f"{limit('max_cells_per_file'):,}", f"{rows * columns:,}")


def _letters(n: int) -> list[int]:
    """Column ``n`` (1-based) as letter offsets: 1000 -> ALL."""
    out = []
    while n:
        n, rest = divmod(n - 1, 26)
        out.insert(0, rest)
    return out


def test_an_xlsx_whose_dimension_lies_is_counted_while_read(company, db_url, tmp_path):
    """The dimension says A1:F2 but a row holds one cell more than ``max_columns``: refused while reading."""
    wide = limit("max_columns") + 1
    data = xlsx([["表号", "能源品种", "开始时间", "结束时间", "用量", "单位"], [1] * wide])
    data = with_sheet_xml(data, lambda x: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:F2"', x))
    path = tmp_path / "lies.xlsx"
    path.write_bytes(data)
    refused(run(db_url, "ingest", str(path), "--enterprise", company), "max_columns", f"{wide:,}")


def test_a_csv_with_too_many_columns_is_refused(company, db_url, tmp_path):
    wide = limit("max_columns") + 1
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(wide)) + "\n" + ",".join("1" * wide) + "\n", encoding="utf-8")
    refused(run(db_url, "ingest", str(path), "--enterprise", company), "wide.csv", "max_columns", f"{wide:,}")


def test_a_csv_row_wider_than_its_head_is_counted(tmp_path):
    """Neighbour: the head is narrow, a later row is too wide (the row-by-row path)."""
    wide = limit("max_columns") + 1
    lines = ["表号,能源品种,开始时间,结束时间,用量,单位", *[f"M1,{ROW}"] * 300, ",".join("1" * wide)]
    with pytest.raises(InputError) as exc:
        read_sheets(("\n".join(lines) + "\n").encode(), "late.csv")
    assert "max_columns" in exc.value.en and f"{wide:,}" in exc.value.en


def test_a_csv_with_too_many_rows_is_refused_before_parsing(tmp_path):
    rows = limit("max_rows_per_file") + 1
    data = ("a,b\n" + "1,2\n" * rows).encode()
    with pytest.raises(InputError) as exc:
        read_sheets(data, "rows.csv")
    assert "max_rows_per_file" in exc.value.en and f"{rows + 1:,}" in exc.value.en


def test_a_file_over_what_the_upload_has_left_is_refused():
    """After earlier files of one upload used a full file's cells, the next file may hold only what
    ``max_cells_per_upload`` has left: one more cell is refused naming the upload's limit."""
    per_file, per_upload = limit("max_cells_per_file"), limit("max_cells_per_upload")
    columns = 1000
    budget = cell_budget(per_file)
    assert budget.name == "max_cells_per_upload" and budget.cells == per_upload - per_file < per_file
    rows = budget.cells // columns + 1
    second = ("\n".join([",".join(["1"] * columns)] * rows) + "\n").encode()
    with pytest.raises(InputError) as exc:
        read_sheets(second, "second.csv", budget=budget)
    assert "max_cells_per_upload" in exc.value.en and f"{per_file + rows * columns:,}" in exc.value.en


def test_refused_rows_kept_are_capped_with_a_count_of_the_rest(company, engine, tmp_path):
    most = limit("max_refused_rows_stored")
    lines = [f"M{i},电力,2024-01-01,2024-02-01,-1,kWh" for i in range(most + 5)]
    path = write_template(tmp_path / "neg.csv", lines)
    reports = receive_files(engine, [path], company, actor="test")
    assert reports[0].rows_rejected == most + 5
    assert count(engine, RejectedRow) == most
    with engine.connect() as conn:
        report = conn.execute(select(Batch.report_json)).scalar_one()
    assert '"rejected_rows_not_kept": 5' in report


# 2. Values a database cannot hold


@pytest.mark.parametrize("start,end", [("0001-01-01", "0001-02-01"), ("2024-01-01", "9999-12-31")])
def test_a_period_outside_the_supported_years_is_bad_input(company, db_url, tmp_path, start, end):
    path = write_template(tmp_path / "y.csv", [f"M1,电力,{start},{end},100,kWh"])
    r = run(db_url, "ingest", str(path), "--enterprise", company)
    refused(r, "row 2", "1990-01-01", "2100-01-01")
    assert "ValueError" not in r.stderr


def test_a_meter_id_over_the_column_length_is_refused_on_every_database(company, db_url, tmp_path):
    most = max_length(Meter.meter_code)
    path = write_template(tmp_path / "m.csv", ["M" * (most + 1) + "," + ROW])
    refused(run(db_url, "ingest", str(path), "--enterprise", company), "row 2", f"{most}")


def test_a_long_meter_id_in_register_readings_is_never_stored(company, engine, tmp_path):
    """Neighbour: register readings kept for the next upload went around the meter-id check."""
    meter = "R" * (max_length(Meter.meter_code) + 1)
    path = tmp_path / "reg.csv"
    path.write_text(
        f"表号,能源品种,抄表时间,示数,倍率,单位\n{meter},电力,2024-01-01,100,1,kWh\n{meter},电力,2024-02-01,200,1,kWh\n",
        encoding="utf-8",
    )
    reports = receive_files(engine, [path], company, actor="test", accept_valid=True)
    assert {e.code for e in reports[0].errors} == {"meter_id_too_long"}
    assert count(engine, Meter) == 0 and count(engine, RegisterReading) == 0


def test_a_register_reading_in_year_one_is_refused(company, engine, tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text(
        "表号,能源品种,抄表时间,示数,倍率,单位\nR1,电力,0001-01-01,100,1,kWh\nR1,电力,2024-02-01,200,1,kWh\n"
    )
    reports = receive_files(engine, [path], company, actor="test", accept_valid=True)
    assert [(e.row, e.code) for e in reports[0].errors] == [(2, "time_out_of_range")]
    assert count(engine, RegisterReading) == 1


def test_connector_records_over_the_schema_are_quarantined(company, engine):
    import pandas as pd

    meter = "C" * (max_length(Meter.meter_code) + 1)
    records = pd.DataFrame(
        [
            [company, meter, "electricity", "interval", "2024-01-01T00:00+08:00", "2024-01-02T00:00+08:00", 5, "kWh"],
            [company, "C1", "electricity", "interval", "0001-01-01T00:00", "0001-01-02T00:00", 5, "kWh"],
            [company, "C2", "electricity", "register", None, "0001-01-02T00:00", 5, "kWh"],
        ],
        columns=["enterprise", "meter", "carrier", "kind", "start", "end", "value", "unit"],
    )
    _, out = receive_records(engine, records, "test")
    assert len(out) == 3, out
    assert count(engine, Meter) == 0 and count(engine, Activity) == 0


@pytest.mark.parametrize("field", ["--name"])
def test_enterprise_text_over_its_limit_is_bad_input(db_url, field):
    initialised(db_url)
    long = "企" * (limit("max_cell_chars") + 1)
    r = run(db_url, "enterprise", "add", "--code", uscc(2), field, long, "--region", "qingpu", "--industry", "C2614")
    refused(r, f"{limit('max_cell_chars')}")


# 3. Ambiguous files


@pytest.mark.parametrize(
    "header",
    [
        "表号,能源品种,开始时间,结束时间,用量,单位,用量",
        "表号,能源品种,开始时间,结束时间,quantity,单位,用量",
        "meter_id,carrier,period_start,period_end,quantity,unit,quantity",
        "表号,表号,能源品种,开始时间,结束时间,用量,单位",
    ],
)
def test_two_columns_for_one_field_are_refused_naming_both(company, db_url, tmp_path, header):
    names = header.split(",")
    twice = next(n for n in names if names.count(n) > 1 or n == "quantity")
    path = tmp_path / "dup.csv"
    path.write_text(header + "\n" + ",".join(["M1", *ROW.split(","), "5"][: len(names)]) + "\n", encoding="utf-8")
    r = run(db_url, "ingest", str(path), "--enterprise", company)
    refused(r, "dup.csv", twice)
    assert count_batches(db_url) == 0


def count_batches(db_url: str) -> int:
    from carbon import db

    eng = db.make_engine(db_url)
    try:
        return count(eng, Batch)
    finally:
        eng.dispose()


def test_two_meter_columns_of_the_same_name_in_a_wide_file_are_refused(company, db_url, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("时间,车间A(kWh),车间A(kWh)\n2024-01-01 00:00,1,2\n2024-01-01 00:15,1,2\n", encoding="utf-8")
    refused(run(db_url, "ingest", str(path), "--enterprise", company), "车间A(kWh)")


@pytest.mark.parametrize(
    "header", ["时间,1号楼用电量(kWh),2号楼用电量(kWh)", "时间,用电量(kWh),用气量(m3)", "时间,用电量(MWh),用气量(万m3)"]
)
def test_distinct_meters_and_carriers_stay_readable(company, engine, tmp_path, header):
    """Not ambiguous: two meters of one unit, or 用电量 and 用气量 (two carriers, each with its unit)."""
    path = tmp_path / "ok.csv"
    path.write_text(header + "\n2024-01-01 00:00,1,2\n2024-01-01 00:15,1,2\n", encoding="utf-8")
    reports = receive_files(engine, [path], company, actor="test")
    assert not reports[0].errors and reports[0].readings == 4 and reports[0].ignored_columns == []


TEMPLATE = ["表号", "能源品种", "开始时间", "结束时间", "用量", "单位"]


@pytest.mark.parametrize("extra", ["用量(MWh)", "用电量（万千瓦时）", "quantity [MWh]"])
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_second_quantity_column_with_a_unit_is_refused_naming_both(company, db_url, tmp_path, extra, kind):
    """The template's 用量 (100 kWh) and a 用量(MWh) column holding 5: 100 kWh was stored and the 5 MWh column
    dropped without being listed.  Refused naming both columns and saying to keep one; nothing stored."""
    path = tmp_path / f"two.{kind}"
    if kind == "csv":
        path.write_text(",".join([*TEMPLATE, extra]) + "\nM1," + ROW + ",5\n", encoding="utf-8")
    else:
        path.write_bytes(xlsx([[*TEMPLATE, extra], ["M1", *ROW.split(","), 5]]))
    r = run(db_url, "ingest", str(path), "--enterprise", company)
    refused(r, path.name, "“用量”", f"“{extra}”", "只保留其中一列", "(用量)", f"({extra})", "keep one of them")
    assert count_batches(db_url) == 0


@pytest.mark.parametrize(
    "first, second",
    [("用量(kWh)", "用量(kWh)"), ("用量(kWh)", "用量(MWh)"), ("用量(kWh)", "quantity [MWh]")],
)
def test_two_quantity_columns_with_units_are_refused(company, db_url, tmp_path, first, second):
    """Neighbours: the same unit twice, or two units of one quantity, in the template."""
    header = [*TEMPLATE[:4], first, TEMPLATE[5], second]
    path = tmp_path / "units.csv"
    path.write_text(",".join(header) + "\nM1," + ROW + ",0.1\n", encoding="utf-8")
    refused(run(db_url, "ingest", str(path), "--enterprise", company), first, second, "keep one of them")
    assert count_batches(db_url) == 0


def test_a_column_the_template_does_not_read_is_listed_as_ignored(company, engine, tmp_path):
    """An account (户号) beside the meter id (表号) names no meter of the template: listed, never silently
    dropped (it was counted as read)."""
    path = tmp_path / "acct.csv"
    path.write_text(",".join([TEMPLATE[0], "户号", *TEMPLATE[1:]]) + "\nM1,3301," + ROW + "\n", encoding="utf-8")
    reports = receive_files(engine, [path], company, actor="test")
    assert reports[0].readings == 1 and reports[0].ignored_columns == ["户号"]


@pytest.mark.parametrize("value", ["1\x0000", "\x00100", "100\x00"])
def test_a_nul_byte_in_a_value_is_refused_naming_row_and_column(company, db_url, tmp_path, value):
    path = write_template(tmp_path / "nul.csv", [f"M1,电力,2024-01-01,2024-02-01,{value},kWh"])
    refused(run(db_url, "ingest", str(path), "--enterprise", company), "nul.csv", "row 2, column 5 (E)", "NUL")
    assert count_batches(db_url) == 0


def test_a_nul_byte_in_a_meter_id_is_refused(tmp_path):
    data = ("表号,能源品种,开始时间,结束时间,用量,单位\nM\x001," + ROW + "\n").encode()
    with pytest.raises(InputError) as exc:
        read_sheets(data, "nul.csv")
    assert "row 2, column 1 (A)" in exc.value.en


def _doctype(x: str) -> str:
    return x.replace("<worksheet", '<!DOCTYPE worksheet [<!ENTITY e "1">]><worksheet', 1)


@pytest.mark.parametrize(
    "name,edit,words",
    [
        ("doctype.xlsx", _doctype, ("doctype.xlsx", "DOCTYPE")),
        ("broken.xlsx", lambda x: x[: len(x) // 2], ("broken.xlsx", "corrupt")),
    ],
)
def test_an_unreadable_xlsx_is_refused_naming_the_file(company, db_url, tmp_path, name, edit, words):
    data = with_sheet_xml(xlsx([["表号", "能源品种", "开始时间", "结束时间", "用量", "单位"]]), edit)
    path = tmp_path / name
    path.write_bytes(data)
    r = run(db_url, "ingest", str(path), "--enterprise", company)
    refused(r, *words)
    assert "Sheet None" not in r.stderr


def test_a_missing_sheet_names_the_sheets_there_are(company, db_url, tmp_path):
    path = tmp_path / "s.xlsx"
    path.write_bytes(xlsx([["表号", "能源品种", "开始时间", "结束时间", "用量", "单位"], ["M1", *ROW.split(",")]]))
    r = run(db_url, "ingest", str(path), "--enterprise", company, "--sheet", "nope")
    refused(r, "nope", "Sheet")


# 4. A DOCTYPE or entity declaration in any part of a workbook (Excel and WPS never write one)

PARTS = (
    "[Content_Types].xml",
    "_rels/.rels",
    "docProps/core.xml",
    "docProps/app.xml",
    "xl/workbook.xml",
    "xl/styles.xml",
    "xl/sharedStrings.xml",
    "xl/worksheets/sheet1.xml",
)
INTERNAL = '<!ENTITY e "EXPANDED_ENTITY">'
EXTERNAL = '<!ENTITY e SYSTEM "file:///etc/hostname">'
SST = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def plain_workbook() -> bytes:
    """A template workbook as openpyxl writes it, with a (referenced, empty) shared strings part as Excel's."""
    data = xlsx([["表号", "能源品种", "开始时间", "结束时间", "用量", "单位"], ["M1", *ROW.split(",")]])
    data = with_part(
        data,
        "[Content_Types].xml",
        lambda b: b.replace(
            b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST}"/></Types>'.encode()
        ),
    )
    sst = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>'
    return with_part(data, "xl/sharedStrings.xml", lambda _: sst)


def declaring(xml: bytes, entity: str, encoding: str, used: bool = False) -> bytes:
    """``xml`` with a DOCTYPE declaring ``entity`` (and, ``used``, the entity as the sheet's name), in ``encoding``."""
    text = xml.decode().replace('name="Sheet"', 'name="&e;&e;"') if used else xml.decode()
    return f'<?xml version="1.0" encoding="{encoding.upper()}"?><!DOCTYPE r [{entity}]>{text}'.encode(encoding)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def workbook_company(request, tmp_path_factory):
    """One database of each kind for the hostile workbooks, each refused before the database: (URL, enterprise)."""

    def ready(url: str) -> tuple[str, str]:
        return initialised(url), add(url, 2)

    if request.param == "sqlite":
        yield ready(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'carbon.db'}")
        return
    with pg_schema("w") as url:
        yield ready(url)


def test_the_plain_workbook_is_read(tmp_path):
    """The workbook the hostile ones are made from is read: only the declaration makes them refused."""
    (sheet,) = read_sheets(plain_workbook(), "plain.xlsx")
    assert sheet.source == "Sheet" and sheet.cells.iloc[1, 0] == "M1"


@pytest.mark.parametrize(
    "part,entity,encoding,used",
    [(p, INTERNAL, e, False) for p in PARTS for e in ("utf-8", "utf-16")]
    + [("xl/workbook.xml", INTERNAL, "utf-8", True), ("xl/workbook.xml", INTERNAL, "utf-16", True)]
    + [("xl/workbook.xml", EXTERNAL, "utf-8", True), ("xl/workbook.xml", EXTERNAL, "utf-16", True)],
)
def test_a_declaration_in_any_part_refuses_the_workbook(workbook_company, tmp_path, part, entity, encoding, used):
    """Not only the sheet: the workbook, its styles, shared strings, properties, relationships and content types;
    UTF-8 or UTF-16; an internal entity (expanded, e.g. into the sheet name) or an external one (a local file).
    One message, naming the file and the part, exit 2, nothing stored."""
    db_url, company = workbook_company
    path = tmp_path / "hostile.xlsx"
    path.write_bytes(with_part(plain_workbook(), part, lambda b: declaring(b, entity, encoding, used)))
    r = run(db_url, "ingest", str(path), "--enterprise", company)
    refused(r, "hostile.xlsx", part, "DOCTYPE", "实体声明", "save it again as .xlsx")
    assert "EXPANDED_ENTITY" not in r.stdout + r.stderr and "corrupt" not in r.stderr
    assert count_batches(db_url) == 0


@pytest.mark.parametrize("spelling", ["<!doctype", "<!Entity", "<!DOCTYPE"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be", "utf-32", "cp037"])
def test_a_declaration_is_found_in_any_case_and_encoding(spelling, encoding):
    """Also without a byte order mark, past the first chunk read, and in a one-byte encoding only its declaration
    names (EBCDIC), as an XML parser would decode the part."""
    declared = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding == "cp037" else ""
    filler = "".join(f"{n:07d}" for n in range(150_000))  # past the first megabyte read, and no zip bomb
    body = (declared + "<r>" + filler + spelling + " r>").encode(encoding)
    data = with_part(plain_workbook(), "xl/styles.xml", lambda _: body)
    with pytest.raises(InputError) as exc:
        read_sheets(data, "x.xlsx")
    assert "xl/styles.xml" in exc.value.en and "DOCTYPE" in exc.value.zh
