"""Random and corrupted files never end in an unhandled exception: only a clear InputError or a report."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from carbon import db
from carbon.enterprises import add_enterprise
from carbon.errors import InputError
from carbon.ingest import ingest_files
from tests.helpers import HEADER_ZH, uscc

VALID = [
    HEADER_ZH,
    "E1,电力,2024-01-01,2024-02-01,100,kWh",
    "G1,天然气,2024-01-01,2024-02-01,5,万m3",
    "H1,热力,2024-01-01,2024-03-01,30,GJ",
    "D1,柴油,2023-12-15,2024-01-15,2,t",
]
REGISTERS = [
    "表号,能源品种,抄表时间,示数,倍率,单位,备注",
    "R1,电力,2024-01-01,99990,10,kWh,",
    "R1,电力,2024-02-01,20,10,kWh,",
    "R1,电力,2024-03-01,5,10,kWh,换表",
]
# max_examples comes from the profile in conftest.py (60, deterministic; CARBON_FUZZ=long for a long random run)
SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    engine = db.make_engine(f"sqlite:///{folder / 'fuzz.db'}")
    db.initialise(engine)
    code = uscc(51)
    add_enterprise(engine, code=code, name="模糊测试企业", region="qingpu", industry="26")
    return engine, code, folder


def _ingest(target, data: bytes, name: str) -> None:
    engine, code, folder = target
    path = folder / name
    path.write_bytes(data)
    try:
        reports = ingest_files(engine, [path], code)
    except InputError as exc:
        assert exc.zh and exc.en
        return
    for r in reports:
        assert r.status in ("stored", "rejected", "duplicate_file", "not_stored")
        for issue in r.issues:
            assert issue.row >= 1 and issue.zh and issue.en


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from(["x.csv", "x.xlsx", "x.xls", "x.txt"]))
def test_random_bytes(target, data, name):
    _ingest(target, data, name)


mutation = st.tuples(st.integers(0, 4), st.integers(0, 7), st.text(max_size=12))


@SETTINGS
@given(st.sampled_from([VALID, REGISTERS]), st.lists(mutation, max_size=6), st.sampled_from(["utf-8", "gb18030"]))
@example(VALID, [(1, 0, "E-1/0")], "utf-8")  # a meter id pint read as a unit expression: ZeroDivisionError
@example(VALID, [(2, 5, "kWh/0")], "utf-8")
@example(REGISTERS, [(1, 5, "1/0"), (2, 3, "1,05")], "gb18030")
def test_corrupted_cells(target, lines, mutations, encoding):
    rows = [line.split(",") for line in lines]
    for r, c, text in mutations:
        row = rows[r % len(rows)]
        if c < len(row):
            row[c] = text.replace("\n", " ")
        else:
            row.append(text)
    body = "\n".join(",".join(f'"{x}"' if ("," in x or '"' in x) else x for x in row) for row in rows)
    _ingest(target, body.encode(encoding, errors="replace"), "m.csv")


@SETTINGS
@given(st.binary(max_size=500), st.text(st.characters(min_codepoint=48, max_codepoint=122), max_size=30))
def test_broken_workbooks(target, junk, member):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(member or "xl/workbook.xml", junk)
    _ingest(target, buf.getvalue(), "w.xlsx")


@SETTINGS
@given(st.lists(st.sampled_from([*VALID[1:], "", "合计,,,,1,", "标题", ",,,,,"]), max_size=8), st.integers(0, 3))
def test_shuffled_lines_title_and_totals(target, body, title_lines):
    text = "\n".join(["某公司用能明细"] * title_lines + [HEADER_ZH, *body])
    _ingest(target, text.encode("utf-8"), "s.csv")


# Cell text shaped like unit expressions, numbers in other conventions, months and clock times, in every column of
# the template and in the header and units line of a wide file and a day curve.
unit_like = st.from_regex(r"[A-Za-z万]{0,3}[-_/^*.,]{0,2}[0-9]{0,3}[/^*.,:]{0,2}[0-9]{0,2}", fullmatch=True)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 5), unit_like), min_size=1, max_size=6))
@example([(0, "E-1/0")])
@example([(5, "kWh**0")])
@example([(4, "1.234,5"), (5, "MWh")])
def test_unit_like_cells_in_a_template(target, cells):
    row = VALID[1].split(",")
    for c, text in cells:
        row[c] = text
    _ingest(target, "\n".join([HEADER_ZH, ",".join(f'"{x}"' for x in row)]).encode("utf-8"), "u.csv")


@SETTINGS
@given(unit_like, unit_like, st.sampled_from(["时间", "日期", "户号"]))
@example("E-1/0", "kWh/0", "时间")
@example("00:15", "kW", "日期")
def test_unit_like_headers_of_a_wide_file(target, column, unit, first):
    text = f"{first},{column}\n,{unit}\n2024-03-01 00:00,1\n2024-03-01 00:15,2\n"
    _ingest(target, text.encode("utf-8"), "w.csv")
