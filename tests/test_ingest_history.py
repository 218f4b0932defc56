"""Nothing lost, nothing twice: archive, duplicates, corrections with history, rejected rows, one transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from carbon.enterprises import add_enterprise
from carbon.ingest import ingest_files
from carbon.ingest.rejects import REASON_COLUMN, ROW_COLUMN, rejected_rows
from carbon.ledger import account
from carbon.models import Activity, Batch, FileArchive
from tests.helpers import uscc, write_template


@pytest.fixture
def ent(engine) -> str:
    code = uscc(31, "330421")
    add_enterprise(engine, code=code, name="嘉善测试纺织有限公司", region="jiashan", industry="17")
    return code


def test_every_file_is_archived_as_received(engine, ent, tmp_path):
    f = write_template(tmp_path / "a.csv", ["E1,电力,2024-01-01,2024-02-01,100,kWh"])
    (r,) = ingest_files(engine, [f], ent, uploaded_by="能源管理员")
    with Session(engine) as s:
        batch = s.get(Batch, r.batch_id)
        archived = s.get(FileArchive, batch.file_id)
    assert archived.content == f.read_bytes() and archived.sha256 == r.sha256 == batch.sha256
    assert (archived.size_bytes, archived.uploaded_by, archived.enterprise_uscc) == (
        f.stat().st_size,
        "能源管理员",
        ent,
    )
    assert archived.received_at is not None


def test_correction_supersedes_with_history_and_results_use_the_newest(engine, ent, tmp_path):
    ingest_files(
        engine,
        [
            write_template(
                tmp_path / "v1.csv",
                ["E1,电力,2024-01-01,2024-02-01,100000,kWh", "E1,电力,2024-02-01,2024-03-01,90000,kWh"],
            )
        ],
        ent,
    )
    before = account(engine, enterprise=ent, year=2024).total_tco2e
    (r,) = ingest_files(engine, [write_template(tmp_path / "v2.csv", ["E1,电力,2024-01-01,2024-02-01,110,MWh"])], ent)
    assert r.stored and r.rows_corrected == 1
    assert r.corrections == [
        {
            "row": 2,
            "meter_id": "E1",
            "period_start": "2023-12-31 16:00:00+00:00",
            "period_end": "2024-01-31 16:00:00+00:00",
            "old": 100000.0,
            "new": 110000.0,
        }
    ]
    (w,) = [w for w in r.warnings if w.code == "correction"]
    assert "100000" in w.en and "110000" in w.en and "原值" in w.zh
    with Session(engine) as s:
        rows = s.exec(select(Activity).order_by(Activity.id)).all()
    assert [(a.quantity_canonical, a.superseded_by_batch) for a in rows] == [
        (100000, r.batch_id),
        (90000, None),
        (110000, None),
    ]
    after = account(engine, enterprise=ent, year=2024).total_tco2e
    assert after == pytest.approx(before + 10000 * 0.4974 / 1000)


def test_rejected_rows_are_kept_to_download_and_fix(engine, ent, tmp_path):
    f = write_template(
        tmp_path / "mix.csv",
        [
            "E1,电力,2024-01-01,2024-02-01,100,kWh",
            "E1,电力,2024-02-01,2024-03-01,-4,kWh",
            "E1,电能表,2024-03-01,2024-04-01,5,kWh",
        ],
    )
    (strict,) = ingest_files(engine, [f], ent)
    assert strict.status == "rejected" and not strict.stored
    df = rejected_rows(engine, strict.batch_id)
    assert df[ROW_COLUMN].tolist() == [3, 4]
    assert df["用量"].tolist() == ["-4", "5"] and df["能源品种"].tolist() == ["电力", "电能表"]
    reasons = df[REASON_COLUMN].tolist()
    assert "Negative" in reasons[0] and "负数" in reasons[0] and "Unknown carrier" in reasons[1]
    (partial,) = ingest_files(engine, [f], ent, accept_valid=True)
    assert partial.stored and partial.rows_accepted == 1 and partial.rows_rejected == 2
    assert len(rejected_rows(engine, partial.batch_id)) == 2
    with Session(engine) as s:
        assert len(s.exec(select(Activity)).all()) == 1


def test_same_rows_in_another_file_are_duplicates_stored_once(engine, ent, tmp_path):
    ingest_files(engine, [write_template(tmp_path / "a.csv", ["E1,电力,2024-01-01,2024-02-01,100,kWh"])], ent)
    (r,) = ingest_files(
        engine,
        [
            write_template(
                tmp_path / "b.csv", ["E1,电力,2024-01-01,2024-02-01,0.1,MWh", "E1,电力,2024-01-01,2024-02-01,100,度"]
            )
        ],
        ent,
    )
    assert r.rows_duplicate == 2 and r.readings == 0 and r.as_dict()["duplicates"] == 2
    with Session(engine) as s:
        assert len(s.exec(select(Activity)).all()) == 1


def test_a_failure_mid_file_leaves_no_partial_batch_and_a_retry_succeeds(engine, ent, tmp_path, db_url):
    rows = [f"E1,电力,2024-01-{d:02d},2024-01-{d + 1:02d},{d},kWh" for d in range(1, 29)]
    f = write_template(tmp_path / "jan.csv", rows)
    with engine.begin() as conn:  # a real database error on the 20th row of the insert
        if db_url.startswith("sqlite"):
            conn.execute(
                text(
                    "CREATE TRIGGER boom BEFORE INSERT ON activity WHEN NEW.source_row = 21 "
                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.source_row = 21 THEN "
                    "RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(text("CREATE TRIGGER boom BEFORE INSERT ON activity FOR EACH ROW EXECUTE FUNCTION boom()"))
    with pytest.raises(Exception, match="disk full"):
        ingest_files(engine, [f], ent)
    with Session(engine) as s:
        assert s.exec(select(Activity)).all() == [] and s.exec(select(Batch)).all() == []
        assert s.exec(select(FileArchive)).all() == []
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER boom" + ("" if db_url.startswith("sqlite") else " ON activity")))
    (r,) = ingest_files(engine, [f], ent)
    assert r.stored and r.readings == 28
