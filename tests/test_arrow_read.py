"""The Arrow-native read path (ADBC): the same frames as ``pandas.read_sql`` on SQLite and PostgreSQL, and the
result ledger's current lines read newest-only in SQL."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from sqlalchemy import make_url, select

from carbon import arrow_read, reference
from carbon.analytics.cube import enterprise_results
from carbon.enterprises import add_enterprise
from carbon.intake import receive_files, settle
from carbon.ledger import (
    FIGURE_COLUMNS,
    current_lines,
    current_runs,
    enterprise_runs,
    load_activity,
    result_lines,
)
from carbon.models import AccountingRun, Enterprise
from carbon.sites import add_site, assign_meter
from tests.helpers import uscc, write_template

E = uscc(1, "310118")  # registered in Qingpu, one meter on a Wujiang site
W = uscc(2, "320509")


@pytest.fixture
def zone(engine, tmp_path):
    """E (a meter without a site and one on its Wujiang site) and W, with results settled: lines with and without a
    site."""
    add_enterprise(engine, code=E, name="青浦跨区企业", region="qingpu", industry="2614")
    add_enterprise(engine, code=W, name="吴江本地企业", region="wujiang", industry="2614")
    rows = ["QP-E1,电力,2023-03-01,2023-04-01,100000,kWh", "WJ-E1,电力,2023-03-01,2023-05-01,200000,kWh"]
    receive_files(engine, [write_template(tmp_path / "e.csv", rows)], E, actor="test")
    rows = ["W-E1,电力,2023-03-01,2023-04-01,50000,kWh", "W-E1,天然气,2023-02-01,2023-03-01,1200.5,m3"]
    receive_files(engine, [write_template(tmp_path / "w.csv", rows)], W, actor="test")
    site = add_site(engine, enterprise=E, name="吴江厂区", region="wujiang")
    assign_meter(engine, enterprise=E, meter="WJ-E1", site_id=site.id)
    settle(engine)
    return engine, site.id


def _reads(engine) -> dict[str, pd.DataFrame]:
    """Every read the ledger and the cube route through ``read_frame``, of some rows and of none."""
    first = int(enterprise_runs(engine)["id"].min())
    return {
        "result_lines": result_lines(engine),
        "result_lines_of_runs": result_lines(engine, [first]),
        "result_lines_none": result_lines(engine, [-1]),
        "current_lines": current_lines(engine),
        "current_lines_year": current_lines(engine, "market", years=[2023], enterprises=[E], regions=["wujiang"]),
        "current_lines_none": current_lines(engine, years=[1999]),
        "current_runs": current_runs(engine),
        "current_runs_none": current_runs(engine, years=[1999]),
        "enterprise_runs": enterprise_runs(engine, "local"),
        "load_activity": load_activity(engine, 2023, regions=list(reference.JURISDICTIONS)),
        "load_activity_one": load_activity(engine, 2023, enterprise=E),
        "load_activity_none": load_activity(engine, 1999, enterprises=[E]),
        "enterprise_results": enterprise_results(engine, "location"),
    }


def test_arrow_reads_equal_read_sql(zone, monkeypatch):
    """Values, dtypes and order of every routed read are those ``pandas.read_sql`` gives (its fallback path)."""
    engine, _ = zone
    fetched = []

    def fetch(target, sqls, fetch=arrow_read._fetch):
        table = fetch(target, sqls)
        fetched.append((target[0], table is not None))
        return table

    monkeypatch.setattr(arrow_read, "_fetch", fetch)
    arrow = _reads(engine)
    assert set(fetched) == {(engine.dialect.name, True)}  # every read through ADBC, none through the fallback
    assert len(arrow["result_lines"]) and arrow["result_lines"]["site_id"].isna().any()
    assert arrow["result_lines"]["site_id"].notna().any()  # lines with a site and without one
    monkeypatch.setattr(arrow_read, "_fetch", lambda target, sqls: None)  # every read through pandas.read_sql
    plain = _reads(engine)
    for name, frame in arrow.items():
        pd.testing.assert_frame_equal(frame, plain[name], check_dtype=True, obj=name)
    assert isinstance(arrow["current_runs"]["computed_at"].dtype, pd.DatetimeTZDtype)
    assert str(arrow["current_runs"]["computed_at"].dt.tz) == "UTC"
    assert arrow["result_lines"]["site_id"].dtype == "float64"


def test_current_lines_are_only_the_newest_runs_after_a_recalculation(zone):
    """Moving a meter off its site stores another run for E: the current lines are that run's only, the history
    (``result_lines``) keeps every run."""
    engine, _ = zone
    mine = "subject_id == @E and year == 2023"
    older = int(enterprise_runs(engine).query(mine)["id"].max())
    before = current_lines(engine, years=[2023], enterprises=[E])
    assert set(before["run_id"]) == {older} and before["site_id"].notna().any()
    assign_meter(engine, enterprise=E, meter="WJ-E1", site_id=None)
    settle(engine)
    runs = enterprise_runs(engine).query(mine)
    newest = int(runs["id"].max())
    assert newest > older and len(runs) >= 2
    now = current_lines(engine, years=[2023], enterprises=[E])
    assert set(now["run_id"]) == {newest}
    assert now["site_id"].isna().all() and set(now["region_id"]) == {"qingpu"}  # no line left on the Wujiang site
    history = result_lines(engine, [older, newest])
    assert set(history["run_id"]) == {older, newest}
    kept = history.loc[history["run_id"] == newest, ["run_id", *FIGURE_COLUMNS]].reset_index(drop=True)
    pd.testing.assert_frame_equal(now[["run_id", *FIGURE_COLUMNS]].reset_index(drop=True), kept)
    assert history.loc[history["run_id"] == older, "site_id"].notna().any()
    served = enterprise_results(engine, "location", years=[2023])
    assert served.loc[served["enterprise_uscc"] == E, "emissions_tco2e"].sum() == pytest.approx(
        now["emissions_tco2e"].sum(), rel=1e-12
    )
    assert (served.loc[served["enterprise_uscc"] == E, "region"] == "qingpu").all()


def test_writes_after_an_arrow_read_stay_seen(engine):
    """A read through the Arrow path leaves the engine's own connections alone: what the engine writes afterwards
    is seen by the engine and by the next Arrow read (SQLite: the driver's copy of the library runs in its own
    process, so closing its connection cannot drop this process's locks or delete the WAL under them)."""
    ents = select(Enterprise.uscc)
    assert arrow_read.read_frame(engine, ents).empty
    add_enterprise(engine, code=E, name="青浦跨区企业", region="qingpu", industry="2614")
    assert list(arrow_read.read_frame(engine, ents)["uscc"]) == [E]
    add_enterprise(engine, code=W, name="吴江本地企业", region="wujiang", industry="2614")
    with engine.connect() as conn:
        assert sorted(conn.execute(ents).scalars()) == sorted([E, W])
    assert sorted(arrow_read.read_frame(engine, ents)["uscc"]) == sorted([E, W])


def test_adbc_targets():
    """SQLite files and PostgreSQL URLs (the schema option kept) map to ADBC URIs; the rest falls back."""
    assert arrow_read.adbc_target(make_url("sqlite:///carbon.db")) == ("sqlite", os.path.abspath("carbon.db"))
    assert arrow_read.adbc_target(make_url("sqlite:////tmp/x/carbon.db")) == ("sqlite", "/tmp/x/carbon.db")
    assert arrow_read.adbc_target(make_url("sqlite://")) is None
    assert arrow_read.adbc_target(make_url("sqlite:///:memory:")) is None
    assert arrow_read.adbc_target(make_url("sqlite:///file:x.db?mode=ro&uri=true")) is None
    pg = make_url("postgresql+psycopg://u:p%40ss@127.0.0.1:5432/test?options=-csearch_path%3Dt_1")
    kind, uri = arrow_read.adbc_target(pg)
    assert kind == "postgresql" and make_url(uri) == pg.set(drivername="postgresql")
    assert "p%40ss" in uri  # the password is passed, still quoted
    assert arrow_read.adbc_target(make_url("mysql+pymysql://u@h/db")) is None


def test_fallback_reads_dialects_without_a_driver(tmp_path):
    """An in-memory SQLite database has no ADBC target: ``read_frame`` reads it through ``pandas.read_sql``."""
    from carbon import db

    engine = db.make_engine("sqlite://")
    AccountingRun.__table__.create(engine)
    frame = arrow_read.read_frame(engine, select(AccountingRun.id, AccountingRun.flags_json))
    assert list(frame.columns) == ["id", "flags_json"] and frame.empty
    engine.dispose()
