"""PostgreSQL: activity partitioned by local month (migration 0012): uploads land in their months' partitions and read
back as before, corrections reach across partitions, uploads racing into a new month both succeed, and migrating a
database with readings keeps every row and id, both ways."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from carbon import db
from carbon.enterprises import add_enterprise
from carbon.ingest import ingest_files
from carbon.ledger import account, load_activity
from carbon.partitions import LOCK_KEY, MonthPartition, month_partition, months_of, not_a_partition
from tests.conftest import pg_schema
from tests.helpers import uscc, write_template

postgres = pytest.mark.postgres

WAIT_S = 120  # how long the race test waits for both uploads to queue (a guard against hanging, never a measure)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema("p") as url:
        yield url


@pytest.fixture
def pg(pg_url: str, library) -> Iterator[Engine]:
    eng = db.make_engine(pg_url)
    db.initialise(eng, library)
    yield eng
    eng.dispose()


def _enterprise(engine: Engine, serial: int) -> str:
    code = uscc(serial)
    add_enterprise(engine, code=code, name=f"青浦分区测试企业{serial}", region="qingpu", industry="26")
    return code


def _partitions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'activity'::regclass ORDER BY 1"
                )
            ).scalars()
        )


def _placed(engine: Engine) -> pd.DataFrame:
    """Every activity row with the partition it is stored in, in id order."""
    with engine.connect() as conn:
        return pd.read_sql(
            text("SELECT tableoid::regclass::text AS part, * FROM activity ORDER BY id"), conn
        ).reset_index(drop=True)


def _relkind(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT relkind FROM pg_class WHERE oid = 'activity'::regclass")).scalar_one()


@postgres
def test_activity_is_partitioned_by_range_of_period_start_with_its_keys_and_indexes(pg):
    with pg.connect() as conn:
        strategy, column = conn.execute(
            text(
                "SELECT p.partstrat, a.attname FROM pg_partitioned_table p JOIN pg_attribute a "
                "ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] WHERE p.partrelid = 'activity'::regclass"
            )
        ).one()
        default = conn.execute(
            text("SELECT partdefid FROM pg_partitioned_table WHERE partrelid = 'activity'::regclass")
        ).scalar_one()
    assert (strategy, column, default) == ("r", "period_start", 0)  # RANGE on period_start, no DEFAULT partition
    assert _partitions(pg) == []  # nothing stored yet: no month
    insp = inspect(pg)
    assert insp.get_pk_constraint("activity")["constrained_columns"] == ["id", "period_start"]
    assert {(tuple(fk["constrained_columns"]), fk["referred_table"]) for fk in insp.get_foreign_keys("activity")} == {
        (("batch_id",), "batch"),
        (("meter_id",), "meter"),
        (("enterprise_uscc",), "enterprise"),
        (("superseded_by_batch",), "batch"),
    }
    indexes = {ix["name"]: ix for ix in insp.get_indexes("activity")}
    assert set(indexes) == {"uq_activity_current", "ix_activity_enterprise_period", "ix_activity_batch_id"}
    current = indexes["uq_activity_current"]
    assert current["unique"] and current["column_names"] == ["meter_id", "period_start", "period_end"]
    assert current["dialect_options"]["postgresql_where"] == "(superseded_at IS NULL)"


@postgres
def test_an_upload_over_two_months_lands_in_two_partitions_and_reads_back(pg, library, tmp_path):
    ent = _enterprise(pg, 1)
    # local times: February's row starts at 2024-01-31 16:00 UTC, in February's partition (local months)
    lines = ["E1,电力,2024-01-01,2024-02-01,100000,kWh", "E1,电力,2024-02-01,2024-03-01,90000,kWh"]
    (r,) = ingest_files(pg, [write_template(tmp_path / "a.csv", lines)], ent)
    assert r.stored
    assert _partitions(pg) == ["activity_y2024m01", "activity_y2024m02"]
    placed = _placed(pg)
    assert placed[["part", "quantity_canonical"]].values.tolist() == [
        ["activity_y2024m01", 100000.0],
        ["activity_y2024m02", 90000.0],
    ]
    assert placed["period_start"].iloc[1] == pd.Timestamp("2024-01-31 16:00", tz="UTC")
    read = load_activity(pg, 2024, enterprise=ent).sort_values("period_start")
    assert read["quantity"].tolist() == [100000.0, 90000.0]

    lite = db.make_engine(f"sqlite:///{tmp_path / 'same.db'}")  # the same file on one plain table: the same figure
    db.initialise(lite, library)
    ingest_files(lite, [write_template(tmp_path / "b.csv", lines)], _enterprise(lite, 1))
    assert account(pg, enterprise=ent, year=2024).total_tco2e == account(lite, enterprise=ent, year=2024).total_tco2e
    lite.dispose()


@postgres
def test_a_correction_supersedes_rows_in_two_partitions(pg, tmp_path):
    ent = _enterprise(pg, 2)
    v1 = ["E1,电力,2024-01-01,2024-02-01,100000,kWh", "E1,电力,2024-02-01,2024-03-01,90000,kWh"]
    ingest_files(pg, [write_template(tmp_path / "v1.csv", v1)], ent)
    v2 = ["E1,电力,2024-01-01,2024-02-01,110,MWh", "E1,电力,2024-02-01,2024-03-01,95,MWh"]
    (r,) = ingest_files(pg, [write_template(tmp_path / "v2.csv", v2)], ent)
    assert r.stored and r.rows_corrected == 2
    placed = _placed(pg)
    assert [
        (p, q, None if pd.isna(b) else int(b))
        for p, q, b in placed[["part", "quantity_canonical", "superseded_by_batch"]].itertuples(index=False)
    ] == [
        ("activity_y2024m01", 100000.0, r.batch_id),
        ("activity_y2024m02", 90000.0, r.batch_id),
        ("activity_y2024m01", 110000.0, None),
        ("activity_y2024m02", 95000.0, None),
    ]
    read = load_activity(pg, 2024, enterprise=ent).sort_values("period_start")
    assert read["quantity"].tolist() == [110000.0, 95000.0]


def test_a_partition_holds_one_local_calendar_month():
    dec = month_partition(np.datetime64("2024-12", "M"))
    assert dec == MonthPartition("activity_y2024m12", "2024-12-01T00:00:00+08:00", "2025-01-01T00:00:00+08:00")
    starts = pd.Series(pd.to_datetime(["2024-01-31 15:59", "2024-01-31 16:00", "2023-12-31 16:00"], utc=True))
    assert months_of(starts).tolist() == [np.datetime64("2024-01", "M"), np.datetime64("2024-02", "M")]
    assert [not_a_partition(n, "table") for n in ("activity_y2024m02", "activity", "activity_yx")] == [
        False,
        True,
        True,
    ]


def _lock_key(engine: Engine) -> tuple[int, int]:
    """The advisory lock creators of partitions take, as ``pg_locks`` shows it (classid, objid)."""
    with engine.connect() as conn:
        key = conn.execute(
            text("SELECT hashtextextended(:key || to_regclass('activity')::oid, 0)"), {"key": LOCK_KEY}
        ).scalar_one()
    key &= 0xFFFFFFFFFFFFFFFF
    return key >> 32, key & 0xFFFFFFFF


@postgres
def test_two_uploads_into_a_new_month_at_once_both_succeed(pg, tmp_path):
    ents = [_enterprise(pg, 3), _enterprise(pg, 4)]
    files = [
        write_template(tmp_path / f"{i}.csv", [f"E{i},电力,2024-03-01,2024-04-01,{1000 + i},kWh"]) for i in range(2)
    ]
    classid, objid = _lock_key(pg)
    reports: dict[int, object] = {}
    errors: list[BaseException] = []

    def upload(i: int) -> None:
        try:
            (reports[i],) = ingest_files(pg, [files[i]], ents[i])
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    holder = pg.connect()  # a creator caught half-way: both uploads find March missing and queue behind it
    holder.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k || to_regclass('activity')::oid, 0))"), {"k": LOCK_KEY}
    )
    threads = [threading.Thread(target=upload, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + WAIT_S
    waiting = 0
    while waiting < 2 and time.monotonic() < deadline and not errors:
        time.sleep(0.05)
        with pg.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                    "AND classid = :c AND objid = :o AND objsubid = 1"
                ),
                {"c": classid, "o": objid},
            ).scalar_one()
    holder.rollback()  # the lock goes: one creates March, the other finds it there
    holder.close()
    for t in threads:
        t.join()
    assert not errors, errors
    assert waiting == 2, "both uploads were to queue for the partitions' lock"
    assert all(reports[i].stored for i in range(2))
    assert _partitions(pg) == ["activity_y2024m03"]
    placed = _placed(pg)
    assert sorted(placed["quantity_canonical"]) == [1000.0, 1001.0]
    assert set(placed["part"]) == {"activity_y2024m03"}


@postgres
def test_two_uploads_racing_without_a_head_start_both_succeed(pg, tmp_path):
    ents = [_enterprise(pg, 5 + i) for i in range(4)]
    barrier = threading.Barrier(len(ents))
    errors: list[BaseException] = []

    def upload(i: int) -> None:
        try:
            lines = [f"E{i},电力,2025-0{m}-01,2025-0{m + 1}-01,{10 * m + i},kWh" for m in (5, 6)]
            path = write_template(tmp_path / f"{i}.csv", lines)
            barrier.wait()
            (r,) = ingest_files(pg, [path], ents[i])
            assert r.stored
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(len(ents))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _partitions(pg) == ["activity_y2025m05", "activity_y2025m06"]
    assert len(_placed(pg)) == 2 * len(ents)


def _database_at_0011_with_readings(url: str, library, tmp_path: Path) -> Engine:
    """A database at migration 0011 (before partitioning) holding readings over four months, one corrected."""
    eng = db.make_engine(url)
    command.upgrade(db.alembic_config(eng), "0011")
    db.seed_reference(eng)
    db.load_factor_library(eng, library)
    ent = _enterprise(eng, 9)
    v1 = [
        "E1,电力,2023-12-01,2024-01-01,70000,kWh",
        "E1,电力,2024-01-01,2024-02-01,100000,kWh",
        "E1,电力,2024-02-01,2024-03-01,90000,kWh",
        "G1,天然气,2024-02-01,2024-03-01,1200,m3",
    ]
    ingest_files(eng, [write_template(tmp_path / "v1.csv", v1)], ent)
    ingest_files(eng, [write_template(tmp_path / "v2.csv", ["E1,电力,2024-01-01,2024-02-01,110,MWh"])], ent)
    assert _relkind(eng) == "r"
    return eng


@postgres
def test_migrating_a_database_with_readings_keeps_every_row_and_id(pg_url, library, tmp_path):
    eng = _database_at_0011_with_readings(pg_url, library, tmp_path)
    before = _placed(eng).drop(columns="part")
    assert len(before) == 5 and before["superseded_at"].notna().sum() == 1

    db.migrate(eng)
    assert _relkind(eng) == "p"
    assert _partitions(eng) == ["activity_y2023m12", "activity_y2024m01", "activity_y2024m02"]
    after = _placed(eng)
    pd.testing.assert_frame_equal(after.drop(columns="part"), before)
    local_month = after["period_start"].dt.tz_convert("Asia/Shanghai").dt.strftime("activity_y%Ym%m")
    assert after["part"].tolist() == local_month.tolist()

    ent = uscc(9)
    ingest_files(eng, [write_template(tmp_path / "mar.csv", ["E1,电力,2024-03-01,2024-04-01,80000,kWh"])], ent)
    new = _placed(eng).iloc[len(before) :]
    assert new["id"].tolist() == [before["id"].max() + 1]  # ids go on from the same sequence
    assert new["part"].tolist() == ["activity_y2024m03"]
    eng.dispose()


@postgres
def test_downgrade_and_upgrade_again_keep_every_row(pg_url, library, tmp_path):
    eng = _database_at_0011_with_readings(pg_url, library, tmp_path)
    db.migrate(eng)
    before = _placed(eng).drop(columns="part")
    cfg = db.alembic_config(eng)

    command.downgrade(cfg, "0011")
    assert _relkind(eng) == "r"
    assert inspect(eng).get_pk_constraint("activity")["constrained_columns"] == ["id"]
    with eng.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM pg_class WHERE relname LIKE 'activity\\_y%'")).scalar_one()
    assert left == 0  # no partition stays behind
    pd.testing.assert_frame_equal(_placed(eng).drop(columns="part"), before)
    indexes = {ix["name"] for ix in inspect(eng).get_indexes("activity")}
    assert indexes == {"uq_activity_current", "ix_activity_enterprise_period", "ix_activity_batch_id"}

    command.upgrade(cfg, "head")
    assert _relkind(eng) == "p"
    pd.testing.assert_frame_equal(_placed(eng).drop(columns="part"), before)
    assert _partitions(eng) == ["activity_y2023m12", "activity_y2024m01", "activity_y2024m02"]
    eng.dispose()


@postgres
def test_the_schema_matches_the_models_with_months_stored(pg, tmp_path):
    ingest_files(pg, [write_template(tmp_path / "a.csv", ["E1,电力,2024-01-01,2024-02-01,1,kWh"])], _enterprise(pg, 8))
    assert _partitions(pg) == ["activity_y2024m01"]
    with pg.connect() as conn:  # as migrations compare (env.py): the months' partitions are not tables to drop
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": not_a_partition})
        assert compare_metadata(ctx, SQLModel.metadata) == []
