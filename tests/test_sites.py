"""Sites across jurisdictions (跨区域厂区): an enterprise of Qingpu with a site in Wujiang.

Figures are checked by hand from the factor records in ``factors/data`` (2023 data year):

- ``mee-2023-elec-location-cn-sh`` 0.5737 kg CO2/kWh (Shanghai), ``mee-2023-elec-location-cn-js`` 0.5827
  (Jiangsu), ``mee-2023-elec-location-cn-zj`` 0.4974 (Zhejiang): the MEE/NBS provincial averages, location basis;
- ``sh-2022-elec-local-cn-sh`` 4.2 t CO2 per 10^4 kWh: Shanghai's own rule, the local basis in Shanghai only.

The Qingpu enterprise E uses 100,000 kWh at its Qingpu plant (meter QP-E1) and 200,000 kWh at its Wujiang site
(meter WJ-E1) in March 2023; the Wujiang enterprise W uses 50,000 kWh (meter W-E1).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from carbon import outbox, views
from carbon.access import Viewer
from carbon.analytics.cube import build_cube
from carbon.enterprises import add_enterprise
from carbon.errors import AccessDenied, InputError, NotFoundError
from carbon.intake import receive_files, settle
from carbon.ledger import account, current_lines, stored_result
from carbon.reporting import cycles, evidence, submissions
from carbon.sites import add_site, assign_meter, list_sites, update_site
from tests.helpers import uscc, write_template

ROOT = Path(__file__).resolve().parent.parent
E = uscc(1, "310118")  # registered in Qingpu
W = uscc(2, "320509")  # registered in Wujiang
ZONE = Viewer("zone1", "zone")
QP = Viewer("qp-staff", "region", region="qingpu")
WJ = Viewer("wj-staff", "region", region="wujiang")
JS = Viewer("js-staff", "region", region="jiashan")
ENT_E = Viewer("ent-e", "enterprise", enterprise=E)
ENT_W = Viewer("ent-w", "enterprise", enterprise=W)

# hand-checked: kWh x kg CO2/kWh / 1000 = t CO2 (the factors above)
QP_LOCATION = 100_000 * 0.5737 / 1000  # 57.37
WJ_LOCATION = 200_000 * 0.5827 / 1000  # 116.54
W_LOCATION = 50_000 * 0.5827 / 1000  # 29.135
QP_LOCAL = 10 * 4.2  # 10 x 10^4 kWh at 4.2 t/10^4 kWh = 42.0
JIASHAN_LOCATION = 200_000 * 0.4974 / 1000  # 99.48
REL = 1e-9


@pytest.fixture
def zone(engine, tmp_path):
    """E with its Wujiang site (WJ-E1 on it) and W, results settled."""
    add_enterprise(engine, code=E, name="青浦跨区企业", region="qingpu", industry="2614")
    add_enterprise(engine, code=W, name="吴江本地企业", region="wujiang", industry="2614")
    path = write_template(
        tmp_path / "e.csv",
        ["QP-E1,电力,2023-03-01,2023-04-01,100000,kWh", "WJ-E1,电力,2023-03-01,2023-04-01,200000,kWh"],
    )
    receive_files(engine, [path], E, actor="test")
    receive_files(engine, [write_template(tmp_path / "w.csv", ["W-E1,电力,2023-03-01,2023-04-01,50000,kWh"])], W,
                  actor="test")  # fmt: skip
    site = add_site(engine, enterprise=E, name="吴江厂区", region="wujiang")
    assign_meter(engine, enterprise=E, meter="WJ-E1", site_id=site.id)
    settle(engine)
    return engine, site.id


def total(engine, basis="location", **subject) -> float | None:
    return stored_result(engine, year=2023, basis=basis, **subject).total_tco2e


def test_wujiang_site_priced_at_jiangsu_and_counted_in_wujiang(zone):
    engine, site = zone
    assert total(engine, enterprise=E) == pytest.approx(QP_LOCATION + WJ_LOCATION, rel=REL)  # both sites: 173.91
    assert total(engine, region="qingpu") == pytest.approx(QP_LOCATION, rel=REL)  # 57.37, not the Wujiang site
    assert total(engine, region="wujiang") == pytest.approx(WJ_LOCATION + W_LOCATION, rel=REL)  # 145.675
    assert total(engine, region="jiashan") is None  # no data, not 0
    assert total(engine, region="zone") == pytest.approx(QP_LOCATION + WJ_LOCATION + W_LOCATION, rel=REL)

    lines = current_lines(engine, "location", years=[2023], enterprises=[E]).set_index("region_id")
    assert "mee-2023-elec-location-cn-js" in lines.loc["wujiang", "factor_ids"].split(",")
    assert "mee-2023-elec-location-cn-sh" in lines.loc["qingpu", "factor_ids"].split(",")
    assert lines.loc["wujiang", "site_id"] == site and pd.isna(lines.loc["qingpu", "site_id"])
    assert lines.loc["wujiang", "emissions_tco2e"] == pytest.approx(WJ_LOCATION, rel=REL)

    # Shanghai's own rule (local basis) applies to the Qingpu plant only; Jiangsu has none: the MEE average
    local = current_lines(engine, "local", years=[2023], enterprises=[E]).set_index("region_id")
    assert "sh-2022-elec-local-cn-sh" in local.loc["qingpu", "factor_ids"].split(",")
    assert local.loc["qingpu", "emissions_tco2e"] == pytest.approx(QP_LOCAL, rel=REL)
    assert "mee-2023-elec-location-cn-js" in local.loc["wujiang", "factor_ids"].split(",")
    assert total(engine, "local", enterprise=E) == pytest.approx(QP_LOCAL + WJ_LOCATION, rel=REL)  # 158.54
    assert total(engine, "local", region="wujiang") == pytest.approx(WJ_LOCATION + W_LOCATION, rel=REL)

    # the cube and the overview count the site where it is
    cube = build_cube(engine)
    by_region = cube["emissions_tco2e"].sum(["time", "division", "carrier"]).to_series()
    assert by_region["qingpu"] == pytest.approx(QP_LOCATION, rel=REL)
    assert by_region["wujiang"] == pytest.approx(WJ_LOCATION + W_LOCATION, rel=REL)
    head = views.overview(engine, ZONE, "wujiang", 2023)["headline"]
    assert head["emissions_tco2e"] == pytest.approx(WJ_LOCATION + W_LOCATION, rel=REL)
    assert head["enterprises"] == 2  # W, and E through its site


@pytest.mark.parametrize("basis", ["location", "local", "market"])
@pytest.mark.parametrize("subject", [("enterprise", E), ("enterprise", W), *(("region", r) for r in
                                     ("zone", "qingpu", "wujiang", "jiashan"))])  # fmt: skip
def test_served_equals_a_fresh_computation(zone, basis, subject):
    engine, _ = zone
    served = stored_result(engine, year=2023, basis=basis, **{subject[0]: subject[1]}).as_dict()
    fresh = account(engine, year=2023, basis=basis, **{subject[0]: subject[1]}).as_dict()
    for key in ("total_tco2e", "scope1_tco2e", "scope2_tco2e", "energy_tce"):
        if fresh[key] is None:  # no data on both sides (Jiashan), never 0
            assert served[key] is None, key
        else:
            assert served[key] == pytest.approx(fresh[key], rel=REL), key
    assert served["flags"] == fresh["flags"]


def test_moving_a_meter_recalculates_in_the_same_transaction(zone):
    engine, site = zone
    moved = assign_meter(engine, enterprise=E, meter="WJ-E1", site_id=None)
    assert moved == {"meter": "WJ-E1", "enterprise_uscc": E, "from_site": site, "to_site": None, "years": [2023, 2023]}
    owed = outbox.owed(engine)
    assert list(owed["enterprise_uscc"]) == [E] and (owed["year_from"].iloc[0], owed["year_to"].iloc[0]) == (2023, 2023)
    settle(engine)
    assert outbox.owed(engine).empty
    assert total(engine, region="qingpu") == pytest.approx(300_000 * 0.5737 / 1000, rel=REL)  # 172.11
    assert total(engine, region="wujiang") == pytest.approx(W_LOCATION, rel=REL)
    assert total(engine, enterprise=E) == pytest.approx(300_000 * 0.5737 / 1000, rel=REL)

    assign_meter(engine, enterprise=E, meter="WJ-E1", site_id=site)  # back on the site
    settle(engine)
    assert total(engine, region="wujiang") == pytest.approx(WJ_LOCATION + W_LOCATION, rel=REL)
    again = assign_meter(engine, enterprise=E, meter="WJ-E1", site_id=site)  # already there: nothing owed
    assert again["years"] is None and outbox.owed(engine).empty


def test_moving_a_site_recalculates(zone):
    engine, site = zone
    update_site(engine, site, region="jiashan")
    assert len(outbox.owed(engine)) == 1
    settle(engine)
    assert total(engine, region="wujiang") == pytest.approx(W_LOCATION, rel=REL)
    assert total(engine, region="jiashan") == pytest.approx(JIASHAN_LOCATION, rel=REL)  # at Zhejiang's factor
    assert total(engine, enterprise=E) == pytest.approx(QP_LOCATION + JIASHAN_LOCATION, rel=REL)
    update_site(engine, site, name="嘉善厂区")  # a new name changes no figure and owes nothing
    assert outbox.owed(engine).empty


def test_refusals_change_nothing(zone):
    engine, site = zone
    other = add_site(engine, enterprise=W, name="吴江二厂", region="wujiang")
    with pytest.raises(InputError, match="不属于企业"):
        assign_meter(engine, enterprise=E, meter="QP-E1", site_id=other.id)  # another enterprise's site
    with pytest.raises(NotFoundError):
        assign_meter(engine, enterprise=E, meter="W-E1", site_id=site)  # another enterprise's meter
    with pytest.raises(NotFoundError):
        assign_meter(engine, enterprise=E, meter="QP-E1", site_id=9999)
    with pytest.raises(InputError):
        add_site(engine, enterprise=E, name="吴江厂区", region="jiashan")  # the name is taken
    with pytest.raises(InputError):
        add_site(engine, enterprise=E, name="苏州厂区", region="suzhou")
    with pytest.raises(InputError):
        add_site(engine, enterprise=E, name="  ", region="qingpu")
    assert outbox.owed(engine).empty
    assert total(engine, region="qingpu") == pytest.approx(QP_LOCATION, rel=REL)
    sites = list_sites(engine, enterprise=E)
    assert sites[["name", "region_id", "registered_region_id", "meters"]].values.tolist() == [
        ["吴江厂区", "wujiang", "qingpu", 1]
    ]


def test_wujiang_staff_see_the_wujiang_site_and_nothing_else_of_it(zone):
    engine, site = zone
    table = views.enterprise_table(engine, WJ, 2023).set_index("uscc")
    assert set(table.index) == {E, W}
    row = table.loc[E]
    assert bool(row["sites_only"]) and row["emissions_tco2e"] == pytest.approx(WJ_LOCATION, rel=REL)
    assert pd.isna(row["grade"]) and pd.isna(row["carbon_intensity_tco2e_per_10k_cny"])  # whole-enterprise figures
    detail = views.enterprise_detail(engine, WJ, E, 2023)
    assert detail["sites_only"] == ["wujiang"]
    assert detail["monthly"].sum().sum() == pytest.approx(WJ_LOCATION, rel=REL)
    assert list(detail["sites"]["site_id"]) == [site]
    assert list(detail["meters"]["meter_code"]) == ["WJ-E1"]  # not the Qingpu meter
    assert detail["uploads"].empty  # files of the whole enterprise
    used = views.factors_used(engine, WJ, E, 2023)["factor_ids"]
    assert len(used) == 1 and "mee-2023-elec-location-cn-js" in used.iloc[0].split(",")
    with pytest.raises(AccessDenied):  # files of the whole enterprise stay with Qingpu
        views.uploads(engine, WJ, E)
    assert E not in set(views.completeness(engine, WJ, 2023)["uscc"])
    assert E not in set(views.visible_enterprises(engine, WJ)["uscc"])  # not one of its own enterprises


def test_qingpu_staff_see_every_site_of_their_enterprise(zone):
    engine, _ = zone
    row = views.enterprise_table(engine, QP, 2023).set_index("uscc").loc[E]
    assert not row["sites_only"] and row["emissions_tco2e"] == pytest.approx(QP_LOCATION + WJ_LOCATION, rel=REL)
    assert W not in set(views.enterprise_table(engine, QP, 2023)["uscc"])
    detail = views.enterprise_detail(engine, QP, E, 2023)
    assert detail["sites_only"] is None
    sites = detail["sites"].set_index("region_id")
    assert sites.loc["wujiang", "emissions_tco2e"] == pytest.approx(WJ_LOCATION, rel=REL)
    assert sites.loc["qingpu", "emissions_tco2e"] == pytest.approx(QP_LOCATION, rel=REL)  # meters on no site
    assert pd.isna(sites.loc["qingpu", "site_id"])
    assert sorted(detail["meters"]["meter_code"]) == ["QP-E1", "WJ-E1"]
    assert len(detail["uploads"]) == 1


def test_others_see_it_as_the_rules_say(zone):
    engine, _ = zone
    with pytest.raises(AccessDenied):
        views.enterprise_detail(engine, JS, E, 2023)  # no site in Jiashan
    with pytest.raises(AccessDenied):
        views.enterprise_detail(engine, ENT_W, E, 2023)
    assert E not in set(views.enterprise_table(engine, JS, 2023)["uscc"])
    own = views.enterprise_detail(engine, ENT_E, E, 2023)
    assert own["sites_only"] is None and own["monthly"].sum().sum() == pytest.approx(QP_LOCATION + WJ_LOCATION)
    zone_row = views.enterprise_table(engine, ZONE, 2023).set_index("uscc").loc[E]
    assert not zone_row["sites_only"] and zone_row["emissions_tco2e"] == pytest.approx(QP_LOCATION + WJ_LOCATION)
    assert list(views.visible_sites(engine, JS)["site_id"]) == []
    assert len(views.visible_sites(engine, ENT_E)) == 1 and views.visible_sites(engine, ENT_W).empty


def test_the_report_freezes_each_site_on_its_own_province(zone):
    engine, site = zone
    cycles.open_cycle(engine, ZONE, 2023, date(2024, 3, 31), now=datetime(2024, 1, 15, tzinfo=UTC))
    sub = submissions.submit(engine, ENT_E, 2023, E, declared=True, now=datetime(2024, 2, 1, tzinfo=UTC))
    frozen = submissions.get_submission(engine, sub)
    assert frozen.basis == "local"  # Qingpu's basis of record: Shanghai's rule, for its Qingpu plant only
    assert frozen.total_tco2e == pytest.approx(QP_LOCAL + WJ_LOCATION, rel=REL)
    lines = submissions.submission_lines(engine, ENT_E, sub).set_index("region_id")
    assert "mee-2023-elec-location-cn-js" in lines.loc["wujiang", "factor_ids"].split(",")  # no Jiangsu rule
    assert lines.loc["wujiang", "site_id"] == site and pd.isna(lines.loc["qingpu", "site_id"])
    assert "sh-2022-elec-local-cn-sh" in lines.loc["qingpu", "factor_ids"].split(",")
    assert evidence.check(engine, ENT_E, sub)["ok"]  # the recomputation prices each row at its site's province


def carbon(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``carbon`` command of this checkout, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "carbon.cli", "--db", db_url, *args], capture_output=True, text=True, timeout=300,
        cwd=ROOT,
    )  # fmt: skip


def test_cli_site_commands(zone, db_url):
    engine, _ = zone
    out = carbon(db_url, "site", "add", "--enterprise", E, "--name", "嘉善厂区", "--region", "jiashan", "--json")
    assert out.returncode == 0, out.stderr
    new = json.loads(out.stdout)["site_id"]
    listed = json.loads(carbon(db_url, "site", "list", "--enterprise", E, "--json").stdout)
    assert [(s["name"], s["region_id"]) for s in listed] == [("吴江厂区", "wujiang"), ("嘉善厂区", "jiashan")]
    out = carbon(db_url, "site", "assign", "--enterprise", E, "--meter", "WJ-E1", "--site", str(new))
    assert out.returncode == 0, out.stderr
    assert total(engine, region="jiashan") == pytest.approx(JIASHAN_LOCATION, rel=REL)  # settled by the command
    refused = carbon(db_url, "site", "assign", "--enterprise", W, "--meter", "W-E1", "--site", str(new))
    assert refused.returncode == 2 and "不属于企业" in refused.stderr
    assert carbon(db_url, "site", "assign", "--enterprise", E, "--meter", "WJ-E1").returncode == 2  # no --site
    moved = carbon(db_url, "site", "update", "--site", str(new), "--region", "wujiang")
    assert moved.returncode == 0, moved.stderr
    assert total(engine, region="jiashan") is None  # no data left there, not 0
    table = carbon(db_url, "site", "list", "--region", "wujiang").stdout
    assert "嘉善厂区" in table and "吴江区" in table and "青浦区" in table  # labels, not codes


def test_migration_keeps_stored_lines_where_they_counted(db_url):
    """Lines stored before sites counted where their enterprise was registered: the migration says so; and it can
    be undone."""
    from alembic import command
    from sqlalchemy import text

    from carbon import db

    engine = db.make_engine(db_url)
    cfg = db.alembic_config(engine)
    command.upgrade(cfg, "0008")
    db.seed_reference(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO enterprise (uscc, name, region_id, industry_code, division_code, created_at) "
                "VALUES (:u, '吴江迁移测试', 'wujiang', '2614', '26', :t)"
            ),
            {"u": W, "t": datetime(2024, 1, 1, tzinfo=UTC)},
        )
        run = conn.execute(
            text(
                "INSERT INTO accounting_run (subject_kind, subject_id, year, basis, gwp_set, computed_at, total_tco2e, "
                "scope1_tco2e, scope2_tco2e, energy_tce, flags_json) VALUES ('enterprise', :u, 2023, 'location', "
                "'AR5', :t, 1.5, 0, 1.5, 0.2, '[]') RETURNING id"
            ),
            {"u": W, "t": datetime(2024, 1, 1, tzinfo=UTC)},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO emission_result (run_id, enterprise_uscc, carrier, month, quantity_canonical, "
                "emissions_tco2e, energy_tce, factor_ids, factor_reason, rows_split) "
                "VALUES (:r, :u, 'electricity', 3, 2574.2, 1.5, 0.2, 'x', 'y', 0)"
            ),
            {"r": run, "u": W},
        )
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT region_id, site_id FROM emission_result")).one()
    assert tuple(row) == ("wujiang", None)
    assert stored_result(engine, year=2023, region="wujiang").total_tco2e == pytest.approx(1.5)
    command.downgrade(cfg, "0008")
    command.upgrade(cfg, "head")
    engine.dispose()


def test_sites_of_an_enterprise_that_is_not_registered_are_refused_not_an_empty_list(zone, db_url):
    engine, _ = zone
    ghost = uscc(106, "310118")
    with pytest.raises(NotFoundError, match=f"企业 {ghost} 未登记"):
        list_sites(engine, enterprise=ghost)
    out = carbon(db_url, "site", "list", "--enterprise", ghost)
    assert out.returncode == 2 and f"企业 {ghost} 未登记" in out.stderr and "is not registered" in out.stderr
    assert out.stdout == ""
    assert carbon(db_url, "site", "list", "--enterprise", "not-a-uscc").returncode == 2
    assert len(list_sites(engine, enterprise=E.lower())) == 1  # a registered one still lists its site
