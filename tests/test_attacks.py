"""Attacks a user, an uploaded file or a device can make, each kept as a test.

Formula injection: every file the system writes that a spreadsheet may open (``carbon rejects`` with and without
``--out``, the dashboard's downloads, the demo's files) escapes text a spreadsheet would run.  Non-finite numbers
(``inf``, ``1e309``, ``NaN`` ...) never enter as readings, statistics or factors, and JSON printed by the CLI is
always valid JSON.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import subprocess
import sys
import zipfile

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from carbon import db, views
from carbon.access import Viewer
from carbon.enterprises import add_enterprise
from carbon.errors import FactorDataError
from carbon.export import FORMULA_START
from carbon.intake import receive_files, receive_records
from carbon.models import Activity, RegisterReading, Statistic
from tests.helpers import uscc, write_template

HYPERLINK = '=HYPERLINK("http://127.0.0.1:9/x","y")'
PAYLOADS = (HYPERLINK, "@SUM(A1)", "+cmd|' /C calc'!A0", " =1+1", "\t=1+1")
FILE_NAME = '=HYPERLINK("x","y").csv'  # a file name keeps no "/": the formula without its address
ZONE = Viewer(username="attack-test", role="zone")


def run(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``carbon`` command as a user runs it, on this working copy."""
    return subprocess.run(
        [sys.executable, "-m", "carbon.cli", "--db", db_url, *args], capture_output=True, text=True, timeout=300
    )


def runnable(cells: list[str]) -> list[str]:
    """The cells a spreadsheet would run as formulas (also after leading whitespace); ``-5`` is a number."""
    risky = [c for c in cells if c.startswith(FORMULA_START) or c.lstrip().startswith(FORMULA_START)]
    return [c for c in risky if not re.fullmatch(r"[-+]?\d+(?:\.\d+)?", c)]


def csv_cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def assert_escaped(cells: list[str], expected: tuple[str, ...] = PAYLOADS) -> None:
    assert not runnable(cells), runnable(cells)
    for payload in expected:
        assert "'" + payload in cells, payload


def add(db_url: str, serial: int, name: str = "n") -> str:
    """Register an enterprise (what ``carbon enterprise add`` does, in this process: the attacks are on what
    follows); its USCC."""
    engine = db.make_engine(db_url)
    try:
        return add_enterprise(engine, code=uscc(serial), name=name, region="qingpu", industry="C2614").uscc
    finally:
        engine.dispose()


def initialised(db_url: str) -> str:
    """``db_url`` as ``carbon init`` leaves it (done in this process; ``tests/test_cli.py`` runs the command)."""
    engine = db.make_engine(db_url)
    db.initialise(engine)
    engine.dispose()
    return db_url


@pytest.fixture
def ready(db_url):
    return initialised(db_url)


@pytest.fixture
def refused_batch(ready, tmp_path):
    """An enterprise named like a formula and a batch whose refused rows carry every payload as their meter id,
    each with a negative quantity: ``(db_url, batch id)``."""
    code = add(ready, 71, HYPERLINK)
    rows = []
    for n, payload in enumerate(PAYLOADS):
        meter = '"' + payload.replace('"', '""') + '"'
        rows.append(f"{meter},电力,2023-0{n + 1}-01,2023-0{n + 2}-01,-5,kWh")
    f = write_template(tmp_path / "attack.csv", rows)
    r = run(ready, "ingest", str(f), "--enterprise", code, "--accept-valid", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["rows_rejected"] == len(PAYLOADS)
    return ready, report["batch_id"]


# --- 1. formula injection, one test per writer -------------------------------------------------------------------


def test_rejects_out_file_escapes_formulas_and_keeps_negative_numbers(refused_batch, tmp_path):
    db_url, batch = refused_batch
    out = tmp_path / "fix.csv"
    r = run(db_url, "rejects", str(batch), "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    cells = csv_cells(data.decode("utf-8-sig"))
    assert_escaped(cells)
    assert cells.count("-5") == len(PAYLOADS)  # a negative number is a number, not a formula


def test_rejects_out_to_a_missing_folder_is_bad_input(refused_batch, tmp_path):
    db_url, batch = refused_batch
    r = run(db_url, "rejects", str(batch), "--out", str(tmp_path / "no-such-folder" / "fix.csv"))
    assert r.returncode == 2 and "无法写入文件" in r.stderr and "Cannot write the file" in r.stderr
    assert "no-such-folder" in r.stderr


def test_rejects_on_stdout_escapes_formulas(refused_batch):
    db_url, batch = refused_batch
    r = run(db_url, "rejects", str(batch))
    assert r.returncode == 0, r.stderr
    assert_escaped(csv_cells(r.stdout))


def test_dashboard_downloads_escape_refused_rows_and_file_names(engine, tmp_path):
    code = uscc(72)
    add_enterprise(engine, code=code, name=HYPERLINK, region="qingpu", industry="C2614")
    rows = [f'"{p.replace(chr(34), chr(34) * 2)}",电力,2023-01-01,2023-02-01,-5,kWh' for p in PAYLOADS]
    content = write_template(tmp_path / "a.csv", rows).read_bytes()
    (report,) = receive_files(engine, [(FILE_NAME, content)], code, actor=ZONE, accept_valid=True)
    refused = views.rejected(engine, ZONE, report.batch_id)
    uploads = views.uploads(engine, ZONE, code)
    enterprises = views.enterprise_table(engine, ZONE, 2023)
    assert FILE_NAME in set(uploads["file_name"]) and HYPERLINK in set(enterprises["name"])

    single = views.export_file(ZONE, {"rejected": refused}, "csv_single")
    assert_escaped(csv_cells(single.decode("utf-8-sig")))

    tables = {"rejected": refused, "uploads": uploads, "enterprises": enterprises}
    with zipfile.ZipFile(io.BytesIO(views.export_file(ZONE, tables, "csv"))) as z:
        texts = {n: z.read(n).decode("utf-8-sig") for n in z.namelist()}
    assert_escaped(csv_cells(texts["rejected.csv"]))
    assert_escaped(csv_cells(texts["uploads.csv"]), (FILE_NAME,))
    assert_escaped(csv_cells(texts["enterprises.csv"]), (HYPERLINK,))

    book = load_workbook(io.BytesIO(views.export_file(ZONE, tables, "xlsx")))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    values = [c.value for c in cells if isinstance(c.value, str)]
    assert_escaped(values, (*PAYLOADS, FILE_NAME))
    assert "-5" in values  # the refused quantity stays as sent: a number, not escaped


def test_demo_files_escape_a_formula_in_an_enterprise_name(tmp_path, monkeypatch):
    import carbon_demo.seed as seed

    original = seed.demo_enterprises
    monkeypatch.setattr(
        seed, "demo_enterprises", lambda n: [dataclasses.replace(e, name=HYPERLINK) for e in original(n)]
    )
    _ents, uploads = seed.demo_files(tmp_path)
    curves = [u.path for u in uploads if u.path.name.endswith("15min.csv")]
    assert curves
    for path in curves:
        first = next(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        assert first[0].startswith("'" + HYPERLINK), first
        assert not runnable(csv_cells(path.read_text(encoding="utf-8-sig")))


# --- 2. non-finite numbers ---------------------------------------------------------------------------------------

NON_FINITE = ("inf", "1e309", "Infinity", "-inf", "NaN")


@pytest.mark.parametrize("spelling", NON_FINITE)
def test_non_finite_quantity_in_a_csv_is_refused_naming_row_column_value(ready, tmp_path, spelling):
    code = add(ready, 73)
    f = write_template(
        tmp_path / "nf.csv", ["E1,电力,2023-01-01,2023-02-01,100,kWh", f"E1,电力,2023-02-01,2023-03-01,{spelling},kWh"]
    )
    r = run(ready, "ingest", str(f), "--enterprise", code)
    assert r.returncode == 2, r.stderr
    line = next(x for x in r.stderr.splitlines() if "第3行/row 3" in x)
    assert str(f) in line and f"用量 = '{spelling}'" in line and " / " in line
    out = json.loads(run(ready, "account", "--enterprise", code, "--year", "2023", "--json").stdout)
    assert out["has_data"] is False  # all or nothing: not even the good row is stored


def test_non_finite_quantity_in_an_xlsx_is_refused(engine, tmp_path):
    code = uscc(74)
    add_enterprise(engine, code=code, name="n", region="qingpu", industry="C2614")
    wb = Workbook()
    ws = wb.active
    ws.append(["表号", "能源品种", "开始时间", "结束时间", "用量", "单位"])
    for n, spelling in enumerate(NON_FINITE):
        ws.append([f"E{n}", "电力", "2023-01-01", "2023-02-01", spelling, "kWh"])
    ws.append(["E9", "电力", "2023-01-01", "2023-02-01", float("inf"), "kWh"])
    wb.save(tmp_path / "nf.xlsx")
    (report,) = receive_files(engine, [tmp_path / "nf.xlsx"], code, actor="test")
    assert report.rows_rejected == len(NON_FINITE) + 1 and not report.stored
    assert {(e.row, e.column) for e in report.errors} == {(n, "用量") for n in range(2, len(NON_FINITE) + 3)}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Activity)).scalar() == 0


CONNECTOR_VALUES = (float("inf"), float("-inf"), float("nan"), "Infinity", "1e400", "NaN", 10**400)


def test_non_finite_connector_records_are_quarantined_not_stored(engine):
    code = uscc(75)
    add_enterprise(engine, code=code, name="n", region="qingpu", industry="C2614")
    records = pd.DataFrame(
        [
            {
                "enterprise": code,
                "meter": f"M{n}-{kind}",
                "carrier": "electricity",
                "kind": kind,
                "start": "2024-01-01T00:00:00+08:00",
                "end": "2024-01-02T00:00:00+08:00",
                "value": value,
                "unit": "kWh",
            }
            for n, value in enumerate(CONNECTOR_VALUES)
            for kind in ("interval", "register")
        ]
    )
    _reports, refused = receive_records(engine, records, "attack-test")
    assert len(refused) == 2 * len(CONNECTOR_VALUES)
    assert all("Not a number" in reason for reason in refused["reason"])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Activity)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(RegisterReading)).scalar() == 0


def test_non_finite_statistic_is_refused(ready, tmp_path):
    f = tmp_path / "stats.csv"
    f.write_text(
        "subject,year,indicator,value,unit,status,source\nqingpu,2023,gdp,inf,万元,final,统计公报\n", encoding="utf-8"
    )
    r = run(ready, "stats", "import", str(f))
    assert r.returncode == 2
    assert "value = 'inf'" in r.stderr and "数值须为有限的正数" in r.stderr and "finite positive" in r.stderr


def test_non_finite_factor_is_refused(engine, tmp_path):
    from carbon.factor_release import import_release
    from factors.loader import COLUMNS

    row = {c: "" for c in COLUMNS} | {
        "id": "attack-inf",
        "parameter": "emission_factor",
        "carrier": "electricity",
        "gas": "CO2",
        "region": "SH",
        "basis": "location",
        "vintage": "2024",
        "value": "inf",
        "unit": "kg_CO2/kWh",
        "status": "unverified",
        "publisher": "test",
        "document_title": "test fixture (not a published factor)",
        "notes": "test fixture",
    }
    pd.DataFrame([row], columns=list(COLUMNS)).to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(FactorDataError, match="value is not a number"):
        import_release(engine, tmp_path / "r.csv")


def _refuse_constant(token: str) -> None:
    raise AssertionError(f"not JSON: {token}")


def test_account_and_results_json_is_always_valid_json(ready, tmp_path):
    """Two readings each near the largest float sum beyond it: the printed JSON stays JSON (null, said on stderr)."""
    code = add(ready, 76)
    f = write_template(
        tmp_path / "big.csv", ["E1,电力,2023-01-01,2023-02-01,1e308,kWh", "E1,电力,2023-02-01,2023-03-01,1e308,kWh"]
    )
    assert run(ready, "ingest", str(f), "--enterprise", code).returncode == 0
    for command in ("account", "results"):
        r = run(ready, command, "--enterprise", code, "--year", "2023", "--json")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout, parse_constant=_refuse_constant)
        assert out["has_data"] is True
        assert "by_carrier[0].quantity_canonical" in r.stderr and "null" in r.stderr


def test_statistics_never_stored_as_infinity(engine, tmp_path):
    from carbon.stats import import_stats

    f = tmp_path / "s.csv"
    f.write_text("subject,year,indicator,value,unit,status,source\nqingpu,2023,gdp,1e400,万元,final,公报\n")
    report = import_stats(engine, f)
    assert [(e.row, e.column, e.value) for e in report.errors] == [(2, "value", "1e400")]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Statistic)).scalar() == 0


def test_json_text_maps_nan_to_null_and_never_prints_non_finite_tokens():
    from carbon.cli import json_ready

    ready, infinite = json_ready({"a": float("nan"), "b": [1.0, float("inf")], "c": pd.NA, "d": -2.5})
    assert ready == {"a": None, "b": [1.0, None], "c": None, "d": -2.5} and infinite == ["b[1]"]


# --- 3. finite as written, infinite once converted ---------------------------------------------------------------


def test_a_statistic_infinite_once_converted_is_refused_and_never_stored(engine, db_url, tmp_path):
    """1e308 亿元 is a finite number, but 1e312 万元 is not: refused naming row, column and value (exit 2), and
    progress never divides by an infinite GDP."""
    f = tmp_path / "s.csv"
    f.write_text("subject,year,indicator,value,unit,status,source\nqingpu,2024,gdp,1e308,亿元,final,test2\n")
    r = run(db_url, "stats", "import", str(f))
    assert r.returncode == 2, r.stderr
    line = next(x for x in r.stderr.splitlines() if "value = '1e308'" in x)
    assert "换算为万元后超出可表示范围" in line and "too large once converted to 万元" in line
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Statistic)).scalar() == 0


def test_a_quantity_infinite_once_converted_is_refused_as_too_large(ready, tmp_path):
    """1e308 万kWh overflows in kWh: not "not a number" but too large once converted, naming row, column, value."""
    code = add(ready, 77)
    f = write_template(
        tmp_path / "big.csv", ["E1,电力,2023-01-01,2023-02-01,100,kWh", "E1,电力,2023-02-01,2023-03-01,1e308,万kWh"]
    )
    r = run(ready, "ingest", str(f), "--enterprise", code)
    assert r.returncode == 2, r.stderr
    line = next(x for x in r.stderr.splitlines() if "第3行/row 3" in x)
    assert str(f) in line and "用量 = '1e308'" in line, line  # the cell as written
    assert "换算为 kWh 后超出可表示范围" in line and "Too large once converted to kWh" in line
    assert "不是数字" not in r.stderr and "Not a number" not in r.stderr
    out = json.loads(run(ready, "account", "--enterprise", code, "--year", "2023", "--json").stdout)
    assert out["has_data"] is False


def test_connector_records_infinite_once_converted_are_quarantined_as_too_large(engine):
    code = uscc(78)
    add_enterprise(engine, code=code, name="n", region="qingpu", industry="C2614")
    record = {"enterprise": code, "carrier": "electricity", "unit": "万kWh", "value": 1e308}
    records = pd.DataFrame(
        [
            record
            | {"meter": "M1", "kind": "interval", "start": "2024-01-01T00:00+08:00", "end": "2024-01-02T00:00+08:00"},
            record | {"meter": "M2", "kind": "register", "end": "2024-01-01T00:00+08:00", "value": 0.0},
            record | {"meter": "M2", "kind": "register", "end": "2024-01-02T00:00+08:00"},
        ]
    )
    _reports, refused = receive_records(engine, records, "attack-test")
    assert list(refused["meter"]) == ["M1", "M2"], refused
    assert all("Too large once converted to kWh" in reason for reason in refused["reason"]), refused["reason"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Activity)).scalar() == 0
