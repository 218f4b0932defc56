"""One truth: after any sequence of changes, every figure served (views, ``carbon results``, grades, progress) on
every basis equals a from-scratch recomputation in a fresh process; a process killed between a file's commit and
its recalculation leaves nothing stale once the next command runs.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from carbon import db, reference, views
from carbon.access import Viewer
from carbon.analytics.grades import grade, grade_year
from carbon.analytics.progress import region_gdp
from carbon.enterprises import add_enterprise, update_enterprise
from carbon.errors import CarbonError
from carbon.factor_choice import BASES
from carbon.factor_release import import_release
from carbon.intake import receive_files, receive_records, settle
from carbon.ledger import account, stored_result
from carbon.sites import add_site, assign_meter, list_sites, update_site
from carbon.stats import current_stats, import_stats
from factors.loader import COLUMNS
from tests.conftest import PG_SKIP, PG_URL, pg_schema
from tests.helpers import uscc, write_template

ROOT = Path(__file__).resolve().parent.parent
CARBON = [sys.executable, "-m", "carbon.cli"]  # this checkout's command (run with cwd=ROOT), in a process of its own
YEARS = (2023, 2024)
ADMIN = {"qingpu": "310118", "wujiang": "320509", "jiashan": "330421"}
PROVINCE = {"qingpu": "CN-SH", "wujiang": "CN-JS", "jiashan": "CN-ZJ"}
ZONE = Viewer("prop-zone", "zone")
REL = 1e-9
LONG = os.environ.get("CARBON_FUZZ") == "long"

# --- operations ---------------------------------------------------------------------------------------------------

regions = st.sampled_from(reference.JURISDICTIONS)
upload = st.tuples(
    st.just("upload"),
    st.integers(0, 9),  # which enterprise (modulo those registered)
    st.sampled_from(YEARS),
    st.integers(1, 12),  # first month
    st.integers(1, 3),  # months (a period may cross into the next month or year)
    st.integers(1, 2_000_000),
    st.sampled_from(["电力", "天然气"]),
    st.sampled_from(["M1", "M2"]),
)
crash = upload.map(lambda t: ("crash", *t[1:]))  # stored, then the process dies before its recalculation
records = st.tuples(
    st.just("records"), st.integers(0, 9), st.sampled_from(YEARS), st.integers(1, 12), st.integers(1, 900)
)
release = st.tuples(st.just("release"), regions, st.integers(300, 800))
stats = st.tuples(st.just("stats"), st.integers(-1, 9), st.sampled_from(YEARS), st.integers(1, 100_000))
add = st.tuples(st.just("add"), regions, st.sampled_from(["2614", "3982", "7010"]))
move = st.tuples(st.just("move"), st.integers(0, 9), regions)
industry = st.tuples(st.just("industry"), st.integers(0, 9), st.sampled_from(["2614", "3982", "5430"]))
site = st.tuples(st.just("site"), st.integers(0, 9), regions)  # a site of an enterprise, maybe in another jurisdiction
assign = st.tuples(  # a meter put on one of its enterprise's sites (-1: on none); its recalculation left owed
    st.just("assign"), st.integers(0, 9), st.sampled_from(["M1", "M2", "IOT-1"]), st.integers(-1, 3)
)
site_move = st.tuples(st.just("site_move"), st.integers(0, 9), regions)  # a site moved to another jurisdiction
OPERATIONS = st.lists(
    st.one_of(upload, crash, records, release, stats, add, move, industry, site, assign, site_move),
    min_size=1,
    max_size=8,
)


def same(served: float | None, fresh: float | None) -> bool:
    """Two figures agree: both "no data" (None), or equal to ``REL``."""
    if served is None or fresh is None:
        return served is None and fresh is None
    return math.isclose(served, fresh, rel_tol=REL, abs_tol=1e-9)


def _codes(engine) -> list[str]:
    return sorted(views.visible_enterprises(engine, ZONE)["uscc"])


def _month(year: int, month: int, add: int = 0) -> pd.Timestamp:
    return pd.Timestamp(year=year, month=1, day=1) + pd.DateOffset(months=month - 1 + add)


def apply(engine, op: tuple, folder: Path, n: int) -> None:
    """Carry out one operation the way the product does it (refusals are part of the sequence)."""
    kind, codes = op[0], _codes(engine)
    try:
        if kind in ("upload", "crash"):
            _, who, year, month, months, value, carrier, meter = op
            unit = "kWh" if carrier == "电力" else "m3"
            start, end = _month(year, month), _month(year, month, months)
            path = write_template(
                folder / f"u{n}.csv", [f"{meter},{carrier},{start:%Y-%m-%d},{end:%Y-%m-%d},{value},{unit}"]
            )
            if kind == "upload":
                receive_files(engine, [path], codes[who % len(codes)], actor="prop")
            else:
                from carbon.ingest import ingest_files  # the inner step alone: committed, never settled

                ingest_files(engine, [path], codes[who % len(codes)])
        elif kind == "records":
            _, who, year, month, value = op
            start = pd.Timestamp(year=year, month=month, day=1, tz="Asia/Shanghai")
            frame = pd.DataFrame(
                {
                    "enterprise": [codes[who % len(codes)]],
                    "meter": ["IOT-1"],
                    "carrier": ["electricity"],
                    "kind": ["interval"],
                    "start": [start.isoformat()],
                    "end": [(start + pd.Timedelta(days=1)).isoformat()],
                    "value": [float(value)],
                    "unit": ["kWh"],
                }
            )
            receive_records(engine, frame, "prop-connector")
        elif kind == "release":
            _, region, grams = op
            row = {c: "" for c in COLUMNS} | {
                "id": f"prop-release-{n}-{PROVINCE[region].lower()}",
                "parameter": "emission_factor",
                "carrier": "electricity",
                "gas": "CO2",
                "region": PROVINCE[region],
                "basis": "location",
                "vintage": "2024",
                "value": str(grams / 1000),
                "unit": "kg_CO2/kWh",
                "status": "unverified",
                "publisher": "test",
                "document_title": "test fixture (not a published factor)",
                "notes": "test fixture",
            }
            pd.DataFrame([row], columns=list(COLUMNS)).to_csv(folder / f"r{n}.csv", index=False)
            import_release(engine, folder / f"r{n}.csv")
            settle(engine)  # what carbon factors import does
        elif kind == "stats":
            _, who, year, value = op
            subject, indicator, unit = (
                (reference.JURISDICTIONS[year % 3], "gdp", "亿元")
                if who < 0
                else (codes[who % len(codes)], "value_added", "万元")
            )
            pd.DataFrame(
                [
                    {
                        "subject": subject,
                        "year": year,
                        "indicator": indicator,
                        "value": value,
                        "unit": unit,
                        "status": "final",
                        "source": "test",
                    }
                ]
            ).to_csv(folder / f"s{n}.csv", index=False)
            import_stats(engine, folder / f"s{n}.csv")
        elif kind == "add":
            _, region, code = op
            add_enterprise(engine, code=uscc(900 + n, ADMIN[region]), name=f"新增{n}", region=region, industry=code)
        elif kind == "move":
            update_enterprise(engine, codes[op[1] % len(codes)], region=op[2])
            settle(engine)  # what carbon enterprise update does
        elif kind == "industry":
            update_enterprise(engine, codes[op[1] % len(codes)], industry=op[2])
        elif kind == "site":
            add_site(engine, enterprise=codes[op[1] % len(codes)], name=f"厂区{n}", region=op[2])
        elif kind == "assign":
            _, who, meter, pick = op
            code = codes[who % len(codes)]
            sites = list(list_sites(engine, enterprise=code)["site_id"])
            chosen = None if pick < 0 or not sites else int(sites[pick % len(sites)])
            assign_meter(engine, enterprise=code, meter=meter, site_id=chosen)  # settled by the next command only
        elif kind == "site_move":
            sites = list(list_sites(engine)["site_id"])
            if sites:
                update_site(engine, int(sites[op[1] % len(sites)]), region=op[2])
    except CarbonError:
        pass  # refused input changes nothing


def start_zone(engine, folder: Path) -> None:
    for i, region in enumerate(reference.JURISDICTIONS):
        add_enterprise(engine, code=uscc(800 + i, ADMIN[region]), name=f"企业{i}", region=region, industry="2614")
    rows = [
        {
            "subject": r,
            "year": y,
            "indicator": "gdp",
            "value": 1000 + 10 * i,
            "unit": "亿元",
            "status": "final",
            "source": "test",
        }
        for i, r in enumerate(reference.JURISDICTIONS)
        for y in YEARS
    ]
    pd.DataFrame(rows).to_csv(folder / "gdp.csv", index=False)
    import_stats(engine, folder / "gdp.csv")


# --- comparison ---------------------------------------------------------------------------------------------------


def check(engine, url: str) -> None:
    """Every served figure against the recomputation in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.recompute", url, *map(str, YEARS)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    fresh = json.loads(out.stdout)
    codes = _codes(engine)
    for basis in BASES:
        for year in YEARS:
            table = views.enterprise_table(engine, ZONE, year, basis).set_index("uscc")
            grades = grade_year(engine, year, basis).set_index("uscc")
            with_data = {}
            for code in codes:
                f = fresh[f"{basis}|{year}|{code}"]
                served = stored_result(engine, year=year, enterprise=code, basis=basis).as_dict()
                where = f"{basis} {year} {code}"
                for key in ("total_tco2e", "energy_tce", "scope1_tco2e", "scope2_tco2e"):
                    assert same(served[key], f[key]), (where, key, served, f)
                assert all(
                    same(a, b)
                    for a, b in zip([m["emissions_tco2e"] for m in served["by_month"]], f["by_month"], strict=True)
                ), where
                assert {c["carrier"]: c["emissions_tco2e"] for c in served["by_carrier"]} == pytest.approx(
                    f["by_carrier"], rel=REL
                )
                assert served["flags"] == f["flags"], where
                no_data = f["flags"] == ["no_activity"]
                row = table.loc[code]
                if no_data:  # no data: no figure, no grade, not a key emitter
                    assert pd.isna(row["emissions_tco2e"]) and not row["has_results"] and code not in grades.index, (
                        where
                    )
                    continue
                with_data[code] = f["total_tco2e"]
                assert math.isclose(row["emissions_tco2e"], f["total_tco2e"], rel_tol=REL, abs_tol=1e-9), where
                assert math.isclose(row["energy_tce"], f["energy_tce"], rel_tol=REL, abs_tol=1e-9), where
                detail = views.enterprise_detail(engine, ZONE, code, year, basis)
                monthly = detail["monthly"].sum(axis=1, min_count=1)
                assert all(same(None if pd.isna(a) else a, b) for a, b in zip(monthly, f["by_month"], strict=True)), (
                    where
                )
                # each site's figure (and that of the meters on no site) as a fresh computation gives it
                shown = detail["sites"].dropna(subset=["emissions_tco2e"])
                per_site = {
                    ("none" if pd.isna(s) else str(int(s))): v
                    for s, v in zip(shown["site_id"], shown["emissions_tco2e"], strict=True)
                }
                assert per_site == pytest.approx(fresh[f"{basis}|{year}|{code}|sites"], rel=REL), where
            # grades from the fresh emissions and the stored value added
            ents = views.visible_enterprises(engine, ZONE)
            totals = pd.Series(with_data, dtype=float, name="emissions_tco2e").rename_axis("uscc").reset_index()
            emissions = totals.merge(ents[["uscc", "division_code"]], on="uscc")
            va = current_stats(engine, "value_added", year).rename(
                columns={"subject_id": "uscc", "value_10k_cny": "value_added_10k_cny"}
            )
            expected = grade(emissions, va[["uscc", "value_added_10k_cny", "status"]]).set_index("uscc")
            assert sorted(expected.index) == sorted(grades.index), (basis, year)
            for code in expected.index:
                assert math.isclose(grades.loc[code, "k"], expected.loc[code, "k"], rel_tol=REL), (basis, year, code)
                assert grades.loc[code, "grade"] == expected.loc[code, "grade"]
            # every line counts in exactly one jurisdiction: theirs add up to the zone's, and to all enterprises'
            parts = [fresh[f"{basis}|{year}|{r}"]["total_tco2e"] for r in reference.JURISDICTIONS]
            zone_total = fresh[f"{basis}|{year}|zone"]["total_tco2e"]
            assert same(sum(p for p in parts if p is not None) if any(p is not None for p in parts) else None,
                        zone_total), (basis, year)  # fmt: skip
            assert same(sum(with_data.values()) if with_data else None, zone_total), (basis, year)
            for region in ("zone", *reference.JURISDICTIONS):
                f = fresh[f"{basis}|{year}|{region}"]
                served = stored_result(engine, year=year, region=region, basis=basis).as_dict()
                assert same(served["total_tco2e"], f["total_tco2e"]), (basis, region)
                assert served["flags"] == f["flags"], (basis, year, region)
                head = views.overview(engine, ZONE, region, year, basis)["headline"]
                intensity = head["monitored_carbon_intensity_tco2e_per_10k_cny"]
                if f["flags"] == ["no_activity"]:
                    assert head["emissions_tco2e"] is None and intensity is None
                    continue
                assert math.isclose(head["emissions_tco2e"], f["total_tco2e"], rel_tol=REL, abs_tol=1e-9), (
                    basis,
                    year,
                    region,
                )
                # the monitored enterprises' emissions over their own value added, never over the region's GDP
                assert head["gdp_10k_cny"] == region_gdp(engine, region, year)
                va_of = va.set_index("uscc")["value_added_10k_cny"]
                inside = set(ents.loc[ents["region_id"].isin(reference.region_ids(region)), "uscc"])
                covered = [c for c in with_data if c in inside and va_of.get(c, 0) > 0]
                if not covered:
                    assert intensity is None, (basis, year, region)
                    continue
                expected = sum(with_data[c] for c in covered) / sum(va_of[c] for c in covered)
                assert math.isclose(intensity, expected, rel_tol=REL, abs_tol=1e-12), (basis, year, region)


@contextmanager
def fresh_database(kind: str):
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'truth.db'}", Path(tmp)
        return
    with pg_schema("truth") as url, tempfile.TemporaryDirectory() as tmp:
        yield url, Path(tmp)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_every_served_figure_equals_a_fresh_recomputation(kind, library):
    if kind == "postgres" and not PG_URL:
        pytest.skip(PG_SKIP)

    @settings(
        max_examples=300 if LONG else 10,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],  # each example is a database: report, do not shrink
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(OPERATIONS)
    def run(ops: list[tuple]) -> None:
        with fresh_database(kind) as (url, folder):
            engine = db.make_engine(url)
            db.initialise(engine, library)
            start_zone(engine, folder)
            for n, op in enumerate(ops):
                apply(engine, op, folder, n)
            settle(engine)  # what the next command or the dashboard's start does
            check(engine, url)
            engine.dispose()

    run()


# --- the defect this guards against, and a crash between commit and recalculation -----------------------------------


def test_local_and_market_figures_follow_an_upload(engine, tmp_path):
    """Qingpu's official figures are on the local basis: right after an upload they equal carbon account."""
    code = uscc(701, "310118")
    add_enterprise(engine, code=code, name="青浦口径测试", region="qingpu", industry="2614")
    path = write_template(
        tmp_path / "e.csv", ["E1,电力,2024-01-01,2024-07-01,1000000,kWh", "G1,绿电,2024-01-01,2024-07-01,200000,kWh"]
    )
    receive_files(engine, [path], code, actor=Viewer("ent", "enterprise", enterprise=code))
    for basis in BASES:
        expected = account(engine, year=2024, enterprise=code, basis=basis).total_tco2e
        table = views.enterprise_table(engine, ZONE, 2024, basis).set_index("uscc")
        assert expected > 0 and table.loc[code, "emissions_tco2e"] == pytest.approx(expected, rel=REL), basis
    local = account(engine, year=2024, enterprise=code, basis="local")
    assert local.total_tco2e == pytest.approx(1_000_000 * 4.2 / 10_000, rel=REL)  # Shanghai: 4.2 tCO2 / 10^4 kWh


KILLED_AFTER_COMMIT = """
import os, signal, sys
from carbon import db
from carbon.ingest import ingest_files
from pathlib import Path
engine = db.make_engine(sys.argv[1])
ingest_files(engine, [Path(sys.argv[2])], sys.argv[3])  # the file's transaction commits here ...
os.kill(os.getpid(), signal.SIGKILL)  # ... and the process dies before its recalculation
"""


def test_killed_after_commit_nothing_stays_stale(engine, db_url, tmp_path):
    code = uscc(702, "330421")
    add_enterprise(engine, code=code, name="嘉善中断测试", region="jiashan", industry="2614")
    path = write_template(
        tmp_path / "k.csv", [f"E1,电力,2024-{m:02d}-01,2024-{m + 1:02d}-01,{m * 1000},kWh" for m in range(1, 12)]
    )
    died = subprocess.run([sys.executable, "-c", KILLED_AFTER_COMMIT, db_url, str(path), code], cwd=ROOT, timeout=300)
    assert died.returncode == -signal.SIGKILL
    assert stored_result(engine, year=2024, enterprise=code).total_tco2e is None  # the readings are in, results owed
    again = subprocess.run(
        [*CARBON, "--db", db_url, "ingest", "--enterprise", code, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert again.returncode == 0 and "duplicate file" in again.stdout  # nothing stored twice ...
    for basis in BASES:  # ... and the next command paid what was owed
        out = subprocess.run(
            [*CARBON, "--db", db_url, "results", "--enterprise", code, "--year", "2024", "--basis", basis, "--json"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )
        assert out.returncode == 0, out.stderr
        served = json.loads(out.stdout)
        expected = account(engine, year=2024, enterprise=code, basis=basis).as_dict()
        assert served["total_tco2e"] == pytest.approx(expected["total_tco2e"], rel=REL) and served["total_tco2e"] > 0
        assert (
            served["run_id"]
            and served["as_of"]
            and [m["emissions_tco2e"] for m in served["by_month"]]
            == pytest.approx([m["emissions_tco2e"] for m in expected["by_month"]])
        )


def test_a_rule_taking_effect_is_followed_on_its_day(engine, tmp_path, monkeypatch):
    """Shanghai's notice 沪环气〔2022〕34号 replaced 7.88 by 4.2 tCO2/10^4 kWh from 2022-02-11 (the shipped
    library's valid_to/valid_from).  Figures stored on 2022-02-10 use 7.88; the first command on 2022-02-11 owes and
    pays a recalculation, and the stored figures equal a fresh computation again."""
    from carbon import ledger, outbox

    code = uscc(703, "310118")
    add_enterprise(engine, code=code, name="青浦生效日测试", region="qingpu", industry="2614")
    path = write_template(tmp_path / "d.csv", ["E1,电力,2021-01-01,2021-07-01,100000,kWh"])
    monkeypatch.setattr(ledger, "local_today", lambda: pd.Timestamp("2022-02-10").date())
    receive_files(engine, [path], code, actor="test")
    assert stored_result(engine, year=2021, enterprise=code, basis="local").total_tco2e == pytest.approx(
        100_000 * 7.88 / 10_000, rel=REL
    )
    settle(engine)  # the same day again: nothing owed
    assert outbox.owed(engine).empty
    monkeypatch.setattr(ledger, "local_today", lambda: pd.Timestamp("2022-02-11").date())
    fresh = account(engine, year=2021, enterprise=code, basis="local").total_tco2e
    assert fresh == pytest.approx(100_000 * 4.2 / 10_000, rel=REL)
    settle(engine)  # what the first command or dashboard page of the day does
    served = stored_result(engine, year=2021, enterprise=code, basis="local")
    assert served.total_tco2e == pytest.approx(fresh, rel=REL) and outbox.owed(engine).empty
    assert views.enterprise_table(engine, ZONE, 2021, "local").set_index("uscc").loc[
        code, "emissions_tco2e"
    ] == pytest.approx(fresh, rel=REL)


def test_rule_dates_passed():
    from datetime import date

    from carbon.outbox import rule_dates_passed

    starts, ends = [date(2022, 2, 11)], [date(2022, 2, 10)]
    assert rule_dates_passed(date(2022, 2, 10), date(2022, 2, 11), starts, ends) == [date(2022, 2, 11)]
    assert rule_dates_passed(date(2022, 2, 11), date(2022, 3, 1), starts, ends) == []
    assert rule_dates_passed(date(2022, 2, 9), date(2022, 2, 10), starts, ends) == []  # 2022-02-10 still in force
    assert rule_dates_passed(None, date(2022, 2, 11), starts, ends) == [date(2022, 2, 11)]
    assert rule_dates_passed(None, date(2020, 1, 1), starts, ends) == []


def test_no_data_reads_as_no_data_not_zero(engine, tmp_path):
    """An enterprise without data for a year: no figure (None / 无数据), in stored results, fresh accounting, the
    CLI text and JSON; months without data are None, not 0."""
    code = uscc(704, "320509")
    add_enterprise(engine, code=code, name="吴江无数据测试", region="wujiang", industry="2614")
    for result in (
        stored_result(engine, year=2024, enterprise=code),
        account(engine, year=2024, enterprise=code),
    ):
        d = result.as_dict()
        assert not d["has_data"] and d["flags"] == ["no_activity"]
        assert all(d[k] is None for k in ("total_tco2e", "scope1_tco2e", "scope2_tco2e", "energy_tce"))
        assert all(m["emissions_tco2e"] is None for m in d["by_month"])
    path = write_template(tmp_path / "m.csv", ["E1,电力,2024-03-01,2024-04-01,1000,kWh"])
    receive_files(engine, [path], code, actor="test")
    d = stored_result(engine, year=2024, enterprise=code).as_dict()
    assert [m["month"] for m in d["by_month"] if m["emissions_tco2e"] is not None] == [3]
    assert d["scope1_tco2e"] == 0 and d["total_tco2e"] == d["scope2_tco2e"] > 0  # data, of scope 2 only
    jiashan = views.overview(engine, ZONE, "jiashan", 2024)  # a jurisdiction without data in a year others have
    assert jiashan["headline"]["emissions_tco2e"] is None
    assert jiashan["annual"]["emissions_tco2e"].isna().all()
    by_region = views.overview(engine, ZONE, "zone", 2024)["by_region"].set_index("region")["emissions_tco2e"]
    assert pd.isna(by_region.get("jiashan")) and by_region["wujiang"] == pytest.approx(d["total_tco2e"], rel=REL)
    for args in (["results"], ["account"]):
        text = subprocess.run(
            [*CARBON, "--db", str(engine.url), *args, "--enterprise", code, "--year", "2023"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )
        assert text.returncode == 0, text.stderr
        assert "无数据 / no data" in text.stdout and "该年度无活动数据" in text.stdout and "0.00" not in text.stdout
