"""The readings dataset: a Parquet mirror of the current activity rows, rebuilt by ``carbon export-parquet`` and kept
up to date by the intake partition by partition."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import String, select, type_coerce

from carbon import outbox
from carbon import readings_dataset as rd
from carbon.cli import cli
from carbon.enterprises import add_enterprise
from carbon.errors import DerivedDataWarning, InputError
from carbon.intake import receive_files, settle
from carbon.ledger import enterprise_runs, line_jurisdiction
from carbon.models import Activity, Enterprise, Meter, Region, Site
from carbon.partitioned import SCHEDULER_ENV
from carbon.sites import add_site, assign_meter
from tests.helpers import carbon, uscc, write_template

QP, JS = uscc(41, "310118"), uscc(42, "330421")


def _db_rows(engine) -> pd.DataFrame:
    """The database's current rows in the dataset's columns (what the dataset must hold), in a fixed order."""
    counts_in = line_jurisdiction()
    stmt = (
        select(
            Activity.enterprise_uscc,
            Meter.site_id,
            counts_in.label("region_id"),
            Activity.carrier,
            type_coerce(Activity.period_start, String).label("period_start"),
            type_coerce(Activity.period_end, String).label("period_end"),
            Activity.quantity_canonical.label("quantity"),
            Region.province,
            Region.grid,
            Activity.meter_id,
        )
        .join(Meter, Meter.id == Activity.meter_id)
        .join(Enterprise, Enterprise.uscc == Activity.enterprise_uscc)
        .outerjoin(Site, Site.id == Meter.site_id)
        .join(Region, Region.id == counts_in)
        .where(Activity.superseded_at.is_(None))
    )
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    for col in ("period_start", "period_end"):
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    df["site_id"] = df["site_id"].astype("float64")
    return _ordered(df)


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    cols = ["enterprise_uscc", "site_id", "region_id", "carrier", "period_start", "period_end", "quantity",
            "province", "grid", "meter_id"]  # fmt: skip
    out = df[cols].sort_values(["meter_id", "period_start"], kind="stable").reset_index(drop=True)
    for col in ("enterprise_uscc", "region_id", "carrier", "province", "grid"):  # read back as categoricals
        out[col] = out[col].astype(str)
    out["period_start"] = out["period_start"].astype("datetime64[us, UTC]")
    out["period_end"] = out["period_end"].astype("datetime64[us, UTC]")
    return out


def _dataset_rows(root: str) -> pd.DataFrame:
    manifest = rd.require_manifest(root)
    return _ordered(rd.read_rows(root, manifest, sorted(manifest.partitions)))


@pytest.fixture
def zone(engine, tmp_path) -> Path:
    """Two enterprises (qingpu, jiashan), the qingpu one with a meter on a site in wujiang; readings of 2023-12 to
    2024-02 including a row that crosses a month, and 15-minute readings."""
    add_enterprise(engine, code=QP, name="青浦数据测试有限公司", region="qingpu", industry="2614")
    add_enterprise(engine, code=JS, name="嘉善数据测试有限公司", region="jiashan", industry="1711")
    rows = [
        "E-1,电力,2023-12-01,2024-01-01,1000,kWh",
        "E-1,电力,2024-01-01,2024-02-01,1100.5,kWh",
        "G-1,天然气,2024-01-15,2024-02-15,300,m3",  # crosses a month: counts in its start month's partition
        "W-1,电力,2024-01-01,2024-02-01,777,kWh",
    ]
    receive_files(engine, [write_template(tmp_path / "qp.csv", rows)], QP, actor="test")
    site = add_site(engine, enterprise=QP, name="吴江厂区", region="wujiang")
    assign_meter(engine, enterprise=QP, meter="W-1", site_id=site.id)
    quarter = pd.date_range("2024-01-31 23:00", periods=8, freq="15min")
    js = [
        f"J-1,电力,{a:%Y-%m-%d %H:%M},{b:%Y-%m-%d %H:%M},{10 + i * 0.25},kWh"
        for i, (a, b) in enumerate(itertools.pairwise(quarter))
    ]
    receive_files(engine, [write_template(tmp_path / "js.csv", js)], JS, actor="test")
    return tmp_path


def test_export_then_read_back_equals_the_database_current_rows(engine, zone, tmp_path):
    root = str(tmp_path / "dataset")
    manifest = rd.export(engine, root)
    assert sorted(manifest.partitions) == [
        "year=2023/month=12/region=qingpu",
        "year=2024/month=01/region=jiashan",
        "year=2024/month=01/region=qingpu",
        "year=2024/month=01/region=wujiang",
        "year=2024/month=02/region=jiashan",  # the 15-minute readings from 00:00 local on 1 February
    ]
    pd.testing.assert_frame_equal(_dataset_rows(root), _db_rows(engine), check_exact=True)
    on_disk = json.loads((tmp_path / "dataset" / rd.MANIFEST).read_text())
    assert on_disk["version"] == manifest.version and on_disk["rows"] == len(_db_rows(engine)) == 11
    for key, part in manifest.partitions.items():
        files = list((tmp_path / "dataset" / key).iterdir())
        assert [f.name for f in files] == [part["file"]]  # one file per partition, no temporary left
        assert hashlib.sha256(files[0].read_bytes()).hexdigest() == part["sha256"]
    assert rd.stale_reason(engine, manifest) is None
    # a year reads the partitions reaching into it: 2023-12 ends on 2024-01-01 local, so not in 2024
    assert rd.year_partitions(manifest, 2024) == sorted(k for k in manifest.partitions if "2024" in k)


def test_an_upload_updates_only_the_touched_partitions_and_the_version(engine, zone, tmp_path, monkeypatch):
    root = str(tmp_path / "dataset")
    first = rd.export(engine, root)
    files = {key: (tmp_path / "dataset" / key / part["file"]).stat().st_ino for key, part in first.partitions.items()}
    monkeypatch.setenv(rd.ROOT_ENV, root)
    receive_files(  # J-2 is a new meter: its rows arrive in this batch, nothing else moves
        engine, [write_template(tmp_path / "more.csv", ["J-2,电力,2024-03-01,2024-04-01,5,kWh"])], JS, actor="test"
    )
    after = rd.require_manifest(root)
    assert after.batch_id > first.batch_id and after.version != first.version
    assert set(after.partitions) == {*first.partitions, "year=2024/month=03/region=jiashan"}
    for key, part in first.partitions.items():
        assert after.partitions[key]["sha256"] == part["sha256"]
        assert (tmp_path / "dataset" / key / part["file"]).stat().st_ino == files[key]  # not rewritten
    pd.testing.assert_frame_equal(_dataset_rows(root), _db_rows(engine), check_exact=True)
    assert rd.stale_reason(engine, after) is None


def test_a_correction_is_reflected_and_only_its_partitions_rewritten(engine, zone, tmp_path, monkeypatch):
    root = str(tmp_path / "dataset")
    first = rd.export(engine, root)
    monkeypatch.setenv(rd.ROOT_ENV, root)
    fixed = write_template(tmp_path / "fix.csv", ["E-1,电力,2024-01-01,2024-02-01,1200,kWh"])
    (report,) = receive_files(engine, [fixed], QP, actor="test")
    assert report.rows_corrected == 1
    after = rd.require_manifest(root)
    changed = {k for k in after.partitions if after.partitions[k]["sha256"] != first.partitions[k]["sha256"]}
    assert changed == {"year=2024/month=01/region=qingpu"}
    back = _dataset_rows(root)
    pd.testing.assert_frame_equal(back, _db_rows(engine), check_exact=True)
    e1 = back.loc[back["meter_id"] == back.loc[back["quantity"] == 1200, "meter_id"].iloc[0], "quantity"]
    assert sorted(e1) == [1000, 1200]  # the superseded 1100.5 is gone, the December row stays


def test_a_meter_moved_to_another_jurisdiction_moves_its_rows(engine, zone, tmp_path, monkeypatch):
    root = str(tmp_path / "dataset")
    rd.export(engine, root)
    assign_meter(engine, enterprise=QP, meter="W-1", site_id=None)  # back to the enterprise's registered qingpu
    assert rd.stale_reason(engine, rd.require_manifest(root)) == "meters_moved"
    manifest, rewritten = rd.update(engine, root)
    assert "year=2024/month=01/region=wujiang" not in manifest.partitions
    assert not (tmp_path / "dataset" / "year=2024/month=01/region=wujiang").exists()
    assert rewritten and rd.stale_reason(engine, manifest) is None
    pd.testing.assert_frame_equal(_dataset_rows(root), _db_rows(engine), check_exact=True)


def test_missing_root_is_a_clear_error_in_both_languages(engine, tmp_path, monkeypatch):
    monkeypatch.delenv(rd.ROOT_ENV, raising=False)
    with pytest.raises(InputError) as exc:
        rd.require_root(None)
    assert "CARBON_PARQUET_ROOT" in exc.value.zh and "--root" in exc.value.en and "数据集" in exc.value.zh
    with pytest.raises(InputError) as exc:
        rd.require_manifest(str(tmp_path / "nowhere"))
    assert "carbon export-parquet" in exc.value.zh and "no Parquet dataset" in exc.value.en
    url = str(engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(cli, ["--db", url, "export-parquet"])
    assert isinstance(result.exception, InputError)


def test_cli_export_parquet_rebuilds_from_scratch(engine, zone, tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    root = tmp_path / "cli-dataset"
    result = CliRunner().invoke(cli, ["--db", url, "export-parquet", "--root", str(root), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{") :])
    assert out["rows"] == 11 and out["version"] == rd.require_manifest(str(root)).version
    pd.testing.assert_frame_equal(_dataset_rows(str(root)), _db_rows(engine), check_exact=True)


def test_a_broken_dataset_location_or_scheduler_leaves_the_import_whole(engine, zone, tmp_path, monkeypatch):
    """Derived data is never a reason to lose data: the upload is stored, the results follow from the database on
    this machine, a warning says what was not used, and the dataset catches up once its location works."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(rd.ROOT_ENV, str(blocker / "dataset"))
    monkeypatch.setenv(SCHEDULER_ENV, "not an address")
    before = len(enterprise_runs(engine))
    with pytest.warns(DerivedDataWarning) as caught:
        (report,) = receive_files(
            engine, [write_template(tmp_path / "more.csv", ["J-1,电力,2024-03-01,2024-04-01,5,kWh"])], JS, actor="test"
        )
    assert report.rows_accepted == 1 and outbox.owed(engine).empty
    assert len(enterprise_runs(engine)) > before  # the results followed the new data
    said = " ".join(str(w.message) for w in caught)
    assert "Parquet数据集未更新" in said and str(blocker / "dataset") in said and "Dask调度器地址无效" in said
    monkeypatch.setenv(rd.ROOT_ENV, str(tmp_path / "dataset"))
    monkeypatch.delenv(SCHEDULER_ENV)
    settle(engine)  # nothing owed, but the dataset is brought up to date
    pd.testing.assert_frame_equal(_dataset_rows(str(tmp_path / "dataset")), _db_rows(engine), check_exact=True)


@pytest.mark.parametrize("where", ["nosuch://bucket/carbon", "{tmp}/a-file/dataset"])
def test_export_to_a_location_that_cannot_be_used_says_what_to_do(engine, tmp_path, where):
    (tmp_path / "a-file").write_text("not a folder")
    root = where.format(tmp=tmp_path)
    code, _, err = carbon(engine.url.render_as_string(hide_password=False), "export-parquet", "--root", root)
    assert code == 2 and "无法使用该Parquet数据集位置" in err and "cannot be used" in err and root in err
