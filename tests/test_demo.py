"""The demo zone: seeded through the real importer, labelled as simulated, consistent, repeatable, with problems."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, String, func, select, type_coerce

from carbon import db
from carbon.access import Viewer
from carbon.analytics.coverage import reconciliation
from carbon.analytics.grid_reconciliation import grid_reconciliation
from carbon.enterprises import add_enterprise
from carbon.errors import InputError
from carbon.grid_accounts import accounts
from carbon.grid_statements import current_statements
from carbon.ingest.rejects import REASON_COLUMN, rejected_rows
from carbon.ledger import stored_result
from carbon.models import Activity, Batch, Meter, RejectedRow, StatsRelease
from carbon.regional_energy import current_figures, figure_history
from carbon.reporting import cycles
from carbon.sites import list_sites
from carbon.uscc import validate_uscc
from carbon_demo import grid as demo_grid
from carbon_demo import regional
from carbon_demo.seed import (
    CORRECTION_FACTOR,
    DEMO_CONNECTOR_ERROR,
    DEMO_TAG,
    INTERVAL_METER,
    LAST_YEAR,
    SITE_AT,
    SITE_METER,
    SITE_NAME,
    demo_enterprises,
    demo_files,
    format_summary,
    run_demo,
)
from connectors.state import health
from tests.helpers import uscc

PER_REGION = 4  # 12 enterprises: every simulated problem is among them


def _utc(local: str) -> pd.Timestamp:
    return pd.Timestamp(local, tz="Asia/Shanghai").tz_convert("UTC")


def _rows(engine: Engine, enterprise: str, meter: str | None = None, current: bool = True) -> pd.DataFrame:
    """Activity rows of one enterprise (optionally one meter) with UTC periods."""
    stmt = (
        select(
            Meter.meter_code,
            type_coerce(Activity.period_start, String).label("period_start"),
            type_coerce(Activity.period_end, String).label("period_end"),
            Activity.quantity_canonical,
            Activity.batch_id,
            Activity.superseded_by_batch,
        )
        .join(Meter, Meter.id == Activity.meter_id)
        .where(Activity.enterprise_uscc == enterprise)
    )
    if meter:
        stmt = stmt.where(Meter.meter_code == meter)
    if current:
        stmt = stmt.where(Activity.superseded_at.is_(None))
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    for col in ("period_start", "period_end"):
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    return df


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            "batches": conn.execute(select(func.count(Batch.id))).scalar_one(),
            "activity": conn.execute(select(func.count(Activity.id))).scalar_one(),
            "superseded": conn.execute(
                select(func.count(Activity.id)).where(Activity.superseded_at.is_not(None))
            ).scalar_one(),
            "rejected": conn.execute(select(func.count(RejectedRow.id))).scalar_one(),
            "stats_releases": conn.execute(select(func.count(StatsRelease.id))).scalar_one(),
            "regional_figures": len(current_figures(engine)),
            "grid_accounts": len(accounts(engine)),
            "grid_statements": len(current_statements(engine)),
            "sites": len(list_sites(engine)),
        }


def _check_interval_month(engine: Engine, tmp_path: Path, gap_enterprises: list[str]) -> None:
    """Each 15-minute file is stored: one 15-minute reading per line of 2025-11 (local) and the same sum."""
    _ents, uploads = demo_files(tmp_path / "files", PER_REGION)
    interval = [u for u in uploads if u.path.name.endswith("15min.csv")]
    assert len(interval) == 6
    for u in interval:
        sent = pd.read_csv(u.path, skiprows=1, encoding="utf-8-sig")  # a title line labels the file as simulated
        rows = _rows(engine, u.enterprise, INTERVAL_METER)
        month = rows.loc[(rows["period_start"] >= _utc("2025-11-01")) & (rows["period_end"] <= _utc("2025-12-01"))]
        assert len(month) == len(sent) == (2860 if u.enterprise in gap_enterprises else 2880)
        assert ((month["period_end"] - month["period_start"]) == pd.Timedelta(minutes=15)).all()
        assert month["quantity_canonical"].sum() == pytest.approx(sent["用量(kWh)"].sum(), rel=1e-9)
        # the other months of E-02 are monthly rows that touch the 15-minute month without overlapping it
        assert (rows["period_end"] == _utc("2025-11-01")).sum() == 1
        assert (rows["period_start"] == _utc("2025-12-01")).sum() == 1


def _check_problems(engine: Engine, summary: dict, tmp_path: Path) -> None:
    problems = summary["problem_enterprises"]
    names = {e.code: e.name for e in demo_enterprises(PER_REGION)}
    for kind, count in {
        "interval": 6,
        "interval_gap": 1,
        "spike": 1,
        "correction": 1,
        "rejects": 2,
        "missing_months": 4,
        "no_2025": 2,
    }.items():
        assert len(problems[kind]) == count, kind
    text = "\n".join(summary["problems"])
    assert len(summary["problems"]) == 7 and all(" / " in p for p in summary["problems"])
    for kind in ("missing_months", "no_2025", "rejects", "correction", "spike", "interval_gap"):
        assert all(names[c] in text for c in problems[kind]), kind
    assert "demo-energy-platform" in text

    _check_interval_month(engine, tmp_path, problems["interval_gap"])

    # refused rows kept with their reasons; the good rows of the same upload stored (accept_valid)
    for code in problems["rejects"]:
        with engine.connect() as conn:
            batch = conn.execute(
                select(Batch.id, Batch.status, Batch.rows_rejected).where(
                    Batch.enterprise_uscc == code, Batch.file_name.like("%Q4.csv")
                )
            ).one()
        assert batch.status == "stored" and batch.rows_rejected == 3
        refused = rejected_rows(engine, batch.id)
        assert len(refused) == 3 and (refused[REASON_COLUMN].str.len() > 0).all()
        reasons = " ".join(refused[REASON_COLUMN])
        assert (
            "Negative consumption" in reasons
            and "is power (e.g. kW), not energy" in reasons
            and "period_end" in reasons
        )
        assert (_rows(engine, code)["batch_id"] == batch.id).any()

    # one correction superseded one stored row, which stays as history
    (fixed,) = problems["correction"]
    history = _rows(engine, fixed, "E-01", current=False)
    old = history.loc[history["superseded_by_batch"].notna()]
    assert len(old) == 1 and _counts(engine)["superseded"] == 1
    new = history.loc[history["superseded_by_batch"].isna() & (history["period_start"] == old["period_start"].iloc[0])]
    assert new["batch_id"].iloc[0] == old["superseded_by_batch"].iloc[0]
    assert new["quantity_canonical"].iloc[0] == pytest.approx(
        old["quantity_canonical"].iloc[0] * CORRECTION_FACTOR, rel=1e-3
    )

    # a spike far above the meter's median
    (spiky,) = problems["spike"]
    e01 = _rows(engine, spiky, "E-01")
    rate = e01["quantity_canonical"] / (e01["period_end"] - e01["period_start"]).dt.total_seconds()
    assert (rate / rate.median()).max() > 10

    # completeness gaps: nothing for 2025-07..09, or nothing at all for 2025
    def touching(code: str, lo: str, hi: str) -> int:
        rows = _rows(engine, code)
        return int(((rows["period_end"] > _utc(lo)) & (rows["period_start"] < _utc(hi))).sum())

    complete = [c for c in names if not any(c in problems[k] for k in ("missing_months", "no_2025"))]
    assert all(touching(c, "2025-07-01", "2025-10-01") > 0 for c in complete)
    assert all(touching(c, "2025-07-01", "2025-10-01") == 0 for c in problems["missing_months"])
    assert all(touching(c, "2025-05-01", "2025-06-01") > 0 for c in problems["missing_months"])
    assert all(touching(c, "2024-06-01", "2025-01-01") > 0 for c in problems["no_2025"])
    assert all(touching(c, "2025-01-01", "2026-01-01") == 0 for c in problems["no_2025"])

    # connector health: one healthy, one unhealthy after three failures
    states = health(engine).set_index("name")
    assert bool(states.loc["demo-mqtt-meters", "healthy"])
    bad = states.loc["demo-energy-platform"]
    assert not bool(bad["healthy"]) and bad["consecutive_failures"] == 3 and bad["last_error"] == DEMO_CONNECTOR_ERROR
    assert "503" in bad["last_error"]


def _check_statistics(engine: Engine, summary: dict) -> None:
    """Simulated regional statistics: labelled, final to 2024 and provisional for 2025, one revision of Wujiang's
    2024; exactly the two planted alerts; targets assessed on the inventory with a band."""
    figures = current_figures(engine)
    assert set(figures["region_id"]) == {"qingpu", "wujiang", "jiashan"}
    assert set(figures["year"]) == set(range(2020, 2026))
    assert figures["source"].str.contains("模拟").all() and figures["source"].str.contains("simulated").all()
    assert set(figures.loc[figures["year"] == 2025, "status"]) == {"provisional"}
    assert set(figures.loc[figures["year"] < 2024, "status"]) == {"final"}
    wujiang_2024 = figures.loc[(figures["region_id"] == "wujiang") & (figures["year"] == 2024)]
    assert set(wujiang_2024["status"]) == {"revised"}
    assert set(figures.loc[(figures["region_id"] != "wujiang") & (figures["year"] == 2024), "status"]) == {"final"}
    history = figure_history(engine, "wujiang", 2024)
    old = history.loc[(history["sector"] == "industry") & (history["carrier"] == "electricity")]
    assert len(old) == 2  # the final figure, superseded by the revision (+2.8 %)
    assert old["quantity_canonical"].max() / old["quantity_canonical"].min() == pytest.approx(
        1.028, abs=0.005
    )  # printed to 0.01 亿kWh
    assert {"industry:C26", "industry:C17", "residential", "tertiary", "all"} <= set(figures["sector"])
    assert set(figures.loc[figures["sector"] == "all", "flow"]) == {"net_import"}

    alerts = reconciliation(engine, 2025, "location")["alerts"]
    planted = {(a["kind"], a["region"], a["sector"], a["carrier"]) for a in alerts}
    assert planted == {("exceeds", *regional.EXCEEDS_LINE), ("coverage_drop", *regional.DROP_LINE)}
    exceeds = next(a for a in alerts if a["kind"] == "exceeds")
    assert exceeds["coverage_emissions"] == pytest.approx(regional.EXCEEDS_COVERAGE, abs=0.01)
    drop = next(a for a in alerts if a["kind"] == "coverage_drop")
    assert drop["historical_coverage"] - drop["coverage_emissions"] == pytest.approx(regional.DROP_POINTS, abs=0.01)
    # the jurisdiction that sent nothing for 2025 is among the enterprises that moved most in the dropped line
    assert set(summary["problem_enterprises"]["no_2025"]) & {m["enterprise_uscc"] for m in drop["movers"]}
    table = reconciliation(engine, 2024, "location")["coverage"]
    industry = table.loc[(table["sector"] == "industry") & table["monitored_tco2e"].gt(0)]
    assert industry["coverage_emissions"].astype(float).between(0.5, 0.9).all()  # a plausible, partial coverage
    residential = table.loc[table["sector"] == "residential"]
    assert len(residential) and (residential["monitored_tco2e"] == 0).all()

    assessed = [t for t in summary["progress"] if t["status"] != "not_assessable"]
    assert {t["region"] for t in assessed} == {"zone", "qingpu", "jiashan"}  # Wujiang has national targets only
    assert {t["status"] for t in assessed} <= {"on_track", "at_risk", "off_track", "cannot_tell"}
    for t in assessed:
        assert t["assessed_on"] == "inventory" and t["inventory_status"] == "provisional"
        assert t["intensity_lower"] < t["intensity"] < t["intensity_upper"]
    zone = {t["id"]: t for t in summary["progress"] if t["region"] == "zone"}
    assert zone["zone-2025-carbon-intensity"]["status"] != "not_assessable"
    assert zone["cn-2030-carbon-intensity"]["status"] == "not_assessable"  # no 2005 inventory


def _check_grid(engine: Engine, summary: dict) -> None:
    """The planted grid discrepancies are found, the other compared periods agree; a missing statement is not
    compared; agreement below 1 for exactly the two enterprises."""
    ents = {(e.j, e.k): e.code for e in demo_enterprises(PER_REGION)}
    comparison, _per_meter, per_enterprise = grid_reconciliation(engine, 2025)
    assert comparison["account_no"].nunique() == 12
    found = comparison.loc[comparison["discrepancy"].astype(bool)]
    expected = {(ents[at], month) for at, months in demo_grid.ABOVE.items() for month in months}
    assert {(r.enterprise_uscc, r.period_end.month) for r in found.itertuples()} == expected
    share = found["utility_kwh"] / found["upload_kwh"]
    assert share.between(demo_grid.ABOVE_FACTOR - 0.01, demo_grid.ABOVE_FACTOR + 0.01).all()
    compared = comparison.loc[comparison["upload_status"].isin(["agree", "discrepancy"])]
    assert (compared["upload_status"] == "agree").sum() == len(compared) - len(expected) > 60
    # billing periods from the 15th or 16th, not calendar months
    assert {d.day for d in comparison["period_end"]} == {15, 16}
    who, month = demo_grid.MISSING_STATEMENT
    missing = comparison["enterprise_uscc"] == ents[who]
    assert missing.sum() == 11 and month not in {d.month for d in comparison.loc[missing, "period_end"]}
    scores = per_enterprise.set_index("enterprise_uscc")["agreement_share"]
    below = set(scores.loc[scores < 1].index)
    assert below == {ents[at] for at in demo_grid.ABOVE}
    assert scores.loc[ents[demo_grid.MISSING_STATEMENT[0]]] == 1
    assert {d["enterprise"] for d in summary["grid"]["discrepancies"]} == below


def _check_site(engine: Engine, summary: dict) -> None:
    """A Qingpu enterprise's site in Wujiang: its meter's lines count in Wujiang, at Jiangsu's factor."""
    code = next(e.code for e in demo_enterprises(PER_REGION) if (e.j, e.k) == SITE_AT)
    sites = list_sites(engine, enterprise=code)
    assert len(sites) == 1 and sites["region_id"].iloc[0] == "wujiang" and sites["name"].iloc[0] == SITE_NAME
    assert sites["registered_region_id"].iloc[0] == "qingpu" and sites["meters"].iloc[0] == 1
    wujiang = stored_result(engine, region="wujiang", year=LAST_YEAR).lines
    mine = wujiang.loc[wujiang["enterprise_uscc"] == code]
    assert len(mine) and set(mine["carrier"]) == {"electricity"} and mine["emissions_tco2e"].sum() > 0
    qingpu = stored_result(engine, region="qingpu", year=LAST_YEAR).lines
    assert not set(mine["site_id"]) & set(qingpu.loc[qingpu["enterprise_uscc"] == code, "site_id"])
    # Jiangsu's grid factor, not Shanghai's: the site's tCO2e per kWh is the Wujiang enterprises' own
    per_kwh = mine["emissions_tco2e"].sum() / mine["quantity_canonical"].sum()
    others = wujiang.loc[(wujiang["carrier"] == "electricity") & (wujiang["enterprise_uscc"] != code)]
    assert per_kwh == pytest.approx(others["emissions_tco2e"].sum() / others["quantity_canonical"].sum(), rel=1e-6)
    shanghai = qingpu.loc[qingpu["carrier"] == "electricity"]
    assert per_kwh != pytest.approx(shanghai["emissions_tco2e"].sum() / shanghai["quantity_canonical"].sum(), rel=1e-3)
    assert _rows(engine, code, SITE_METER)["quantity_canonical"].sum() > 0
    assert summary["site"]["region"] == "wujiang" and summary["site"]["emissions_tco2e"] == pytest.approx(
        mine["emissions_tco2e"].sum()
    )


def test_demo_summary_adds_up_and_is_repeatable(db_url, tmp_path):
    first = run_demo(db_url, year=2024, per_region=PER_REGION)
    assert first["enterprises"] == 3 * PER_REGION and "模拟数据" in first["label"]
    regions = first["regions"]
    for basis in ("location", "local", "market"):
        parts = sum(regions[r][basis]["total_tco2e"] for r in ("qingpu", "wujiang", "jiashan"))
        assert regions["zone"][basis]["total_tco2e"] == pytest.approx(parts)
    # Shanghai's local electricity factor (0.42) is below its MEE average (0.5737): Qingpu local < location
    assert regions["qingpu"]["local"]["total_tco2e"] < regions["qingpu"]["location"]["total_tco2e"]
    assert regions["wujiang"]["local"]["total_tco2e"] == pytest.approx(regions["wujiang"]["location"]["total_tco2e"])
    assert sum(s["emissions_tco2e"] for s in first["sectors"]) == pytest.approx(
        regions["zone"]["location"]["total_tco2e"]
    )
    assert any(f.startswith("period_split:") for f in regions["zone"]["location"]["flags"])
    statuses = {t["id"]: t["status"] for t in first["progress"] if t["region"] == "zone"}
    assert "zone-2025-carbon-intensity" in statuses  # 2024 against 2020 on the inventory, with its band
    assert statuses["zone-2025-carbon-intensity"] != "not_assessable"
    assert sum(first["grades"].values()) == 3 * PER_REGION and set(first["grades"]) <= {1, 2, 3, 4, 5}

    engine = db.make_engine(db_url)
    try:
        _check_problems(engine, first, tmp_path)
        summary_2025 = run_demo(db_url, per_region=PER_REGION)
        _check_statistics(engine, summary_2025)
        _check_grid(engine, summary_2025)
        _check_site(engine, summary_2025)
        # a reporting cycle part of the way: reports waiting, returned, approved and one verified; the rest overdue
        board = cycles.status_board(engine, Viewer("t", "zone"), LAST_YEAR)
        assert {"submitted", "returned", "approved", "verified", "not_submitted"} <= set(board["state"])
        assert board.loc[board["state"] == "not_submitted", "overdue"].all()  # its deadline, 2026-03-31, has passed
        assert (board["state"] == "verified").sum() == 1
        mine = board.set_index("uscc").loc[demo_enterprises(PER_REGION)[0].code, "state"]
        assert mine == "returned"  # enterprise-demo finds a comment on its report
        before = _counts(engine)
        again = run_demo(db_url, year=2024, per_region=PER_REGION)
        assert _counts(engine) == before  # the same files, statistics, accounts and site again: nothing new
        states = health(engine).set_index("name")
        assert states.loc["demo-energy-platform", "consecutive_failures"] == 3
        assert not bool(states.loc["demo-energy-platform", "healthy"])
    finally:
        engine.dispose()
    assert again["regions"]["zone"]["location"]["total_tco2e"] == pytest.approx(
        regions["zone"]["location"]["total_tco2e"]
    )
    text = format_summary(again)
    assert "模拟数据" in text and "上海市青浦区" in text and "demo-energy-platform" in text
    assert "全国：2025年能耗强度较2020年下降13.5%" in text and "下降15%左右" in text and "下降20%以上" in text
    assert "zone-2025-energy-intensity" not in text and "无法评估" in text  # the 2005-based targets
    assert "按地区清单评估" in text and "95%" in text and "[" in text  # assessed on the inventory, with the band
    text = format_summary(summary_2025)
    assert "覆盖率较历史明显下降" in text and "监测企业之和超过清单" in text and "模拟统计" in text
    assert "吴江厂区（模拟）" in text and "+8" in text and "进度正常" in text


def test_demo_enterprises_are_labelled_valid_and_varied():
    ents = demo_enterprises()
    assert len(ents) == 300 and len({e.code for e in ents}) == 300 and len({e.name for e in ents}) == 300
    assert all(e.name.endswith(DEMO_TAG) and validate_uscc(e.code) == e.code for e in ents)
    assert {e.region for e in ents} == {"qingpu", "wujiang", "jiashan"}
    assert demo_enterprises(PER_REGION) == [e for e in ents if e.k < PER_REGION]


def test_demo_refuses_a_database_with_real_enterprises(engine, db_url):
    add_enterprise(engine, code=uscc(3), name="真实企业", region="qingpu", industry="26")
    with pytest.raises(InputError, match="real enterprises"):
        run_demo(db_url, per_region=1)
    assert DEMO_TAG not in "真实企业"
