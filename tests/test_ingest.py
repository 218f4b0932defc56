"""Ingesting the bureau's upload template: accepted shapes, refused rows, all-or-nothing, no double counting."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from carbon.enterprises import add_enterprise
from carbon.errors import InputError, NotFoundError
from carbon.ingest import ingest_files, store
from carbon.models import Activity, Batch, Meter
from tests.helpers import HEADER_EN, uscc, write_template


@pytest.fixture
def ent(engine) -> str:
    code = uscc(7)
    add_enterprise(engine, code=code, name="青浦测试材料有限公司", region="qingpu", industry="26")
    return code


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_chinese_template_with_bom_is_stored_in_canonical_units(engine, ent, tmp_path):
    f = write_template(
        tmp_path / "a.csv",
        [
            'E1,电力,2024-01-01,2024-02-01,"1,234.5",度',
            "E1,电力,2024/2/1,2024/3/1,１２,万千瓦时",
            "G1,天然气,2024-01-01 00:00,2024-02-01 00:00,3,万m³",
        ],
    )
    (r,) = ingest_files(engine, [f], ent)
    assert (r.stored, r.rows_read, r.rows_accepted, r.rows_rejected, r.errors) == (True, 3, 3, 0, [])
    with Session(engine) as s:
        rows = s.exec(select(Activity).order_by(Activity.source_row)).all()
    assert [a.quantity_canonical for a in rows] == [1234.5, 120000, 30000]
    assert [a.unit_original for a in rows] == ["度", "万千瓦时", "万m³"]
    assert [a.source_row for a in rows] == [2, 3, 4]
    # local midnight 2024-01-01 is 16:00 UTC on 2023-12-31
    assert rows[0].period_start.replace(tzinfo=None).isoformat() == "2023-12-31T16:00:00"


def test_english_headers_in_any_order_and_xlsx(engine, ent, tmp_path):
    df = pd.DataFrame(
        {
            "unit": ["kWh"],
            "quantity": [500],
            "meter_id": ["E9"],
            "carrier": ["electricity"],
            "period_end": ["2024-02-01"],
            "period_start": ["2024-01-01"],
            "note": ["extra"],
        }
    )
    path = tmp_path / "upload.xlsx"
    df.to_excel(path, index=False)
    (r,) = ingest_files(engine, [path], ent)
    assert r.stored and r.rows_accepted == 1
    write_template(tmp_path / "b.csv", ["E8,electricity,2024-01-01,2024-02-01,7,MWh"], header=HEADER_EN, bom=False)
    (r,) = ingest_files(engine, [tmp_path / "b.csv"], ent)
    assert r.stored and _count(engine, Activity) == 2


def test_bad_rows_are_reported_by_row_column_value_and_nothing_is_stored(engine, ent, tmp_path):
    good = write_template(tmp_path / "good.csv", ["E1,电力,2024-01-01,2024-02-01,100,kWh"])
    bad = write_template(
        tmp_path / "bad.csv",
        [
            "E1,电力,2024-02-01,2024-03-01,100,kWh",  # row 2 ok
            "E1,电力,2024-03-01,2024-04-01,-5,kWh",  # row 3 negative
            "E1,煤气灯,2024-04-01,2024-05-01,5,kWh",  # row 4 unknown carrier
            "D1,柴油,2024-04-01,2024-05-01,5,m3",  # row 5 wrong dimension for diesel
            "E1,电力,2024-06-01,2024-05-01,5,kWh",  # row 6 end before start
            "E1,电力,2024-13-01,2024-07-01,5,kWh",  # row 7 unreadable date
            ",电力,2024-07-01,2024-08-01,5,kWh",  # row 8 no meter
            "E1,电力,2024-08-01,2024-09-01,abc,kWh",  # row 9 not a number
            "E1,电力,2024-09-01,2024-10-01,5,furlongs",  # row 10 unknown unit
            "",  # row 11 blank: skipped
            "E1,电力,2024-10-01,2024-11-01,5,",  # row 12 no unit
        ],
    )
    reports = ingest_files(engine, [good, bad], ent)
    assert not any(r.stored for r in reports)
    errors = {(e.row, e.column): e for e in reports[1].errors}
    # columns as the file names them (the template's Chinese header)
    assert set(errors) == {
        (3, "用量"),
        (4, "能源品种"),
        (5, "单位"),
        (6, "结束时间"),
        (7, "开始时间"),
        (8, "表号"),
        (9, "用量"),
        (10, "单位"),
        (12, "单位"),
    }
    assert errors[(3, "用量")].value == "-5"
    assert errors[(5, "单位")].value == "m3" and "diesel" in errors[(5, "单位")].en and "柴油" in errors[(5, "单位")].zh
    assert "电力" in errors[(4, "能源品种")].zh and "electricity" in errors[(4, "能源品种")].en
    assert reports[1].rows_read == 10 and reports[1].rows_rejected == 9 and reports[1].rows_accepted == 1
    assert _count(engine, Activity) == 0 and _count(engine, Meter) == 0
    # the refused file is archived as rejected, with its refused rows kept to download; the clean one is not
    assert [(r.status, r.batch_id is not None) for r in reports] == [("not_stored", False), ("rejected", True)]
    with Session(engine) as s:
        (batch,) = s.exec(select(Batch)).all()
    assert batch.status == "rejected" and batch.rows_rejected == 9


def test_same_file_again_is_a_duplicate_and_changes_nothing(engine, ent, tmp_path):
    f = write_template(tmp_path / "a.csv", ["E1,电力,2024-01-01,2024-02-01,100,kWh"])
    (first,) = ingest_files(engine, [f], ent)
    (again,) = ingest_files(engine, [f], ent)
    assert first.stored and again.duplicate_file and again.batch_id == first.batch_id
    assert _count(engine, Activity) == 1 and _count(engine, Batch) == 1


def test_rows_already_stored_are_counted_once(engine, ent, tmp_path):
    ingest_files(engine, [write_template(tmp_path / "jan.csv", ["E1,电力,2024-01-01,2024-02-01,100,kWh"])], ent)
    both = write_template(
        tmp_path / "janfeb.csv", ["E1,电力,2024-01-01,2024-02-01,0.1,MWh", "E1,电力,2024-02-01,2024-03-01,90,kWh"]
    )
    (r,) = ingest_files(engine, [both], ent)
    assert r.stored and r.rows_duplicate == 1 and r.rows_accepted == 1
    assert _count(engine, Activity) == 2


def test_conflicting_and_overlapping_periods_are_refused(engine, ent, tmp_path):
    ingest_files(engine, [write_template(tmp_path / "jan.csv", ["E1,电力,2024-01-01,2024-02-01,100,kWh"])], ent)
    f = write_template(
        tmp_path / "x.csv",
        [
            "E1,电力,2024-01-15,2024-02-15,50,kWh",  # overlaps the stored January
            "E2,电力,2024-03-01,2024-04-01,5,kWh",  # these two overlap each other
            "E2,电力,2024-03-10,2024-03-20,5,kWh",
            "E3,电力,2024-03-01,2024-04-01,5,kWh",  # same meter and period twice with different values
            "E3,电力,2024-03-01,2024-04-01,6,kWh",
        ],
    )
    (r,) = ingest_files(engine, [f], ent)
    codes = {(e.row, e.code) for e in r.errors}
    assert codes == {(2, "overlap"), (3, "overlap"), (4, "overlap"), (5, "conflict_in_file"), (6, "conflict_in_file")}
    assert not r.stored and _count(engine, Activity) == 1


def test_a_new_period_overlapping_a_later_stored_one_is_refused(engine, ent, tmp_path):
    ingest_files(engine, [write_template(tmp_path / "feb.csv", ["E1,电力,2024-02-01,2024-03-01,100,kWh"])], ent)
    (r,) = ingest_files(engine, [write_template(tmp_path / "x.csv", ["E1,电力,2024-01-15,2024-02-15,50,kWh"])], ent)
    assert [(e.row, e.code) for e in r.errors] == [(2, "overlap")]
    (ok,) = ingest_files(engine, [write_template(tmp_path / "jan.csv", ["E1,电力,2024-01-01,2024-02-01,9,kWh"])], ent)
    assert ok.stored and _count(engine, Activity) == 2


def test_one_meter_measures_one_carrier(engine, ent, tmp_path):
    ingest_files(engine, [write_template(tmp_path / "a.csv", ["M1,电力,2024-01-01,2024-02-01,100,kWh"])], ent)
    (r,) = ingest_files(engine, [write_template(tmp_path / "b.csv", ["M1,天然气,2024-02-01,2024-03-01,1,m3"])], ent)
    assert [(e.row, e.code) for e in r.errors] == [(2, "meter_carrier")]


def test_future_periods_are_refused(engine, ent, tmp_path):
    (r,) = ingest_files(engine, [write_template(tmp_path / "f.csv", ["E1,电力,2099-01-01,2099-02-01,1,kWh"])], ent)
    assert [e.code for e in r.errors] == ["future"]


def test_file_level_problems(engine, ent, tmp_path):
    missing = tmp_path / "m.csv"
    missing.write_text("表号,能源品种,用量\nE1,电力,5\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        ingest_files(engine, [missing], ent)
    assert "开始时间" in exc.value.zh and "period_start" in exc.value.en
    with pytest.raises(NotFoundError):
        ingest_files(engine, [missing], uscc(99))
    bomb = tmp_path / "bomb.xlsx"
    import zipfile

    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", "0" * 5_000_000)
    with pytest.raises(InputError, match="zip bomb"):
        ingest_files(engine, [bomb], ent)


def _daily_rows(meters: int, days: int) -> list[str]:
    """Daily electricity readings, meter after meter (so time order differs from file order)."""
    return [
        f"E{m},电力,2024-01-{d:02d},2024-01-{d + 1:02d},{m * 100 + d},kWh"
        for m in range(1, meters + 1)
        for d in range(1, days + 1)
    ]


def test_a_file_written_in_many_chunks_is_stored_whole(engine, ent, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "CHUNK_ROWS", 4)
    f = write_template(tmp_path / "long.csv", _daily_rows(3, 10))
    (r,) = ingest_files(engine, [f], ent)
    assert (r.stored, r.readings, r.errors) == (True, 30, [])
    with Session(engine) as s:
        rows = s.exec(select(Activity).order_by(Activity.source_row)).all()
    assert [a.source_row for a in rows] == list(range(2, 32))
    assert [a.quantity_canonical for a in rows] == [m * 100 + d for m in range(1, 4) for d in range(1, 11)]


def test_a_write_failing_after_some_chunks_leaves_nothing(engine, ent, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "CHUNK_ROWS", 4)
    chunks = store._chunks

    def failing(frame, pg):
        for i, chunk in enumerate(chunks(frame, pg)):
            if i == 3:
                raise OSError("disk full")
            yield chunk

    monkeypatch.setattr(store, "_chunks", failing)
    f = write_template(tmp_path / "long.csv", _daily_rows(3, 10))
    with pytest.raises(OSError, match="disk full"):
        ingest_files(engine, [f], ent)
    assert (_count(engine, Activity), _count(engine, Batch), _count(engine, Meter)) == (0, 0, 0)


def test_a_bad_row_in_the_last_chunk_refuses_the_whole_file_naming_it(engine, ent, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "CHUNK_ROWS", 4)
    lines = _daily_rows(3, 10)
    lines[-1] = lines[-1].replace(",310,", ",三百,")
    f = write_template(tmp_path / "long.csv", lines)
    (r,) = ingest_files(engine, [f], ent)
    assert not r.stored and [(e.row, e.value) for e in r.errors] == [(31, "三百")]
    assert _count(engine, Activity) == 0
