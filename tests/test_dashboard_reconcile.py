"""The 对账 (reconciliation) page: coverage of the regional inventory, alerts, grid figures beside the enterprises'
and sites across jurisdictions, as zone and jurisdiction staff see them (Streamlit AppTest on a small zone)."""

from __future__ import annotations

import pandas as pd
import pytest

from carbon import db, views
from carbon.access import Viewer
from carbon.grid_accounts import add_account
from carbon.intake import receive_grid_statements, settle
from carbon.sites import add_site, assign_meter
from carbon.stats import import_stats
from tests.test_dashboard_app import open_page, sign_in, texts
from tests.test_inventory import SIM, write
from tests.zone_fixture import A, B, C, build

ZONE = Viewer("zone1", "zone")


def plant_grid_discrepancy(engine) -> None:
    """C's electricity account with two monthly statements: January equal to its upload (388 000 kWh), February
    8 % above it."""
    add_account(engine, ZONE, enterprise=C, utility="sgcc_jiangsu", account="3205000001", meters=["E-01"])
    statements = pd.DataFrame(
        [
            {"utility": "sgcc_jiangsu", "account": "3205000001", "account_name": "吴江丙化工", "period_start": start,
             "period_end": end, "energy": kwh, "unit": "kWh", "issued_at": "2024-04-20T10:00:00+08:00"}
            for start, end, kwh in (("2024-01-01", "2024-02-01", 388_000), ("2024-02-01", "2024-03-01", 419_040))
        ]
    )  # fmt: skip
    assert receive_grid_statements(engine, statements, "grid-test").stored == 2


@pytest.fixture
def reconciled(tmp_path, monkeypatch):
    """The dashboard zone with Qingpu's statistics for 2023 and 2024 (A's gas in C26 above the 2024 statistics),
    B's electricity meter on a site in Wujiang, and C's electricity account with one month 8 % above its upload."""
    url = build(f"sqlite:///{tmp_path / 'zone.db'}", tmp_path)
    monkeypatch.setenv("CARBON_DATABASE_URL", url)
    engine = db.make_engine(url)
    energy = write(
        tmp_path / "energy.csv",
        *(
            f"qingpu,{y},{sector},{carrier},final_use,{value},{unit},最终,{SIM}"
            for y, gas in ((2023, 30), (2024, 20))  # 万立方米 of C26: A uses 24 and 22.8
            for sector, carrier, value, unit in (
                ("工业", "天然气", 100, "万立方米"),
                ("C26", "天然气", gas, "万立方米"),
                ("工业", "电力", 0.5, "亿千瓦时"),
                ("居民生活", "天然气", 400, "万立方米"),
            )
        ),
        f"qingpu,2023,all,电力,net_import,2,亿千瓦时,最终,{SIM}",
        f"qingpu,2024,all,电力,net_import,2,亿千瓦时,最终,{SIM}",
    )
    assert import_stats(engine, energy).stored == 10
    site = add_site(engine, enterprise=B, name="吴江分厂", region="wujiang")
    assign_meter(engine, enterprise=B, meter="E-01", site_id=site.id)
    settle(engine)
    plant_grid_discrepancy(engine)
    return engine


def test_the_page_shows_coverage_alerts_grid_and_sites_to_zone_staff(reconciled):
    got = views.reconciliation(reconciled, ZONE, 2024, "location")
    (alert,) = got["alerts"]
    assert (alert["kind"], alert["sector"], alert["carrier"]) == ("exceeds", "industry:C26", "natural_gas")
    assert alert["movers"][0]["enterprise_uscc"] == A and alert["movers"][0]["name"] == "青浦甲化工有限公司"
    at = open_page(sign_in("zone1"), "reconcile")
    assert not at.exception
    page = texts(at)
    assert "排放覆盖率" in page and "监测企业之和超过清单" in page and "青浦甲化工有限公司" in page
    assert "居民生活" in page  # a line no enterprise reports in: covered by none
    assert "不一致" in page and "419,040" in page.replace("419040", "419,040")  # the utility's figure beside the upload
    assert "吴江分厂" in page and "mee-2023-elec-location-cn-js" in page  # the site at Jiangsu's factor
    assert "None" not in page and "nan" not in page


def test_jurisdiction_staff_reconcile_their_own_jurisdiction(reconciled):
    qp = Viewer("qp-staff", "region", region="qingpu")
    got = views.reconciliation(reconciled, qp, 2024, "location")
    assert set(got["coverage"]["region"]) == {"qingpu"}
    assert views.grid_agreement(reconciled, qp, 2024)["discrepancies"].empty  # C's account is Wujiang's
    wj = Viewer("wj-staff", "region", region="wujiang")
    sites = views.cross_sites(reconciled, wj, 2024, "location")
    assert sites["site_name"].tolist() == ["吴江分厂"] and sites["emissions_tco2e"].iloc[0] > 0
    at = open_page(sign_in("qp-staff"), "reconcile")
    assert not at.exception and "吴江丙化工" not in texts(at)


def test_an_account_counts_where_its_meters_site_is(reconciled):
    """B's electricity meter is on its Wujiang site: its account counts in Wujiang, whose staff see it.  Each step
    changes what the pages' cached figures are keyed on, so none is served stale."""
    before = views.data_version(reconciled)
    add_account(reconciled, ZONE, enterprise=B, utility="sgcc_jiangsu", account="3205000002", meters=["E-01"])
    row = {
        "utility": "sgcc_jiangsu",
        "account": "3205000002",
        "account_name": "青浦乙吴江分厂",
        "period_start": "2024-01-01",
        "period_end": "2024-02-01",
        "energy": 250_000,
        "unit": "kWh",
        "issued_at": "2024-04-20T10:00:00+08:00",
    }
    registered = views.data_version(reconciled)
    assert registered != before
    assert receive_grid_statements(reconciled, pd.DataFrame([row]), "grid-test").stored == 1
    restated = {**row, "energy": 251_000, "issued_at": "2024-05-20T10:00:00+08:00"}
    assert views.data_version(reconciled) != registered
    stated = views.data_version(reconciled)
    assert receive_grid_statements(reconciled, pd.DataFrame([restated]), "grid-test").restated == 1
    assert views.data_version(reconciled) != stated
    wj = views.grid_agreement(reconciled, Viewer("wj-staff", "region", region="wujiang"), 2024)["discrepancies"]
    assert set(wj["account_no"]) == {"3205000001", "3205000002"}
    assert set(wj.loc[wj["account_no"] == "3205000002", "region_id"]) == {"wujiang"}
    # Qingpu's staff see it too: B is registered in Qingpu (as they see its Wujiang site), but not C's account
    qp = views.grid_agreement(reconciled, Viewer("qp-staff", "region", region="qingpu"), 2024)["discrepancies"]
    assert set(qp["account_no"]) == {"3205000002"}


def test_a_statistics_release_changes_the_cache_key(reconciled, tmp_path):
    before = views.data_version(reconciled)
    revised = write(tmp_path / "revised.csv", f"qingpu,2024,居民生活,天然气,final_use,410,万立方米,修订,{SIM}")
    assert import_stats(reconciled, revised).stored == 1
    assert views.data_version(reconciled) != before


def test_an_enterprise_registers_its_account_and_another_cannot_claim_it(reconciled):
    """On the upload page an enterprise registers its own account with a meter; the same account claimed for
    another enterprise (by its staff) is refused as double counting, and nothing changes."""
    at = open_page(sign_in("ent-a"), "upload")
    assert not at.exception
    form_inputs = [i for i in at.text_input if i.label == "户号"]
    (number,) = form_inputs
    number.set_value("3101180001")
    (meters,) = [m for m in at.multiselect if m.label == "该户号下的电表"]
    assert meters.options == ["E-01"]  # A's electricity meter; its gas meter is not offered
    meters.set_value(["E-01"])
    next(b for b in at.button if b.label == "登记户号").click().run()
    assert not at.exception
    assert any("已登记户号 3101180001" in s.value for s in at.success)
    mine = views.grid_accounts(reconciled, Viewer("ent-a", "enterprise", enterprise=A), A)["accounts"]
    assert mine["account_no"].tolist() == ["3101180001"] and mine["registered_by"].tolist() == ["ent-a"]
    staff = open_page(sign_in("qp-staff"), "upload")
    staff.selectbox(key="up_ent").set_value(B).run()
    (number,) = [i for i in staff.text_input if i.label == "户号"]
    number.set_value("3101180001")
    (meters,) = [m for m in staff.multiselect if m.label == "该户号下的电表"]
    meters.set_value(["E-01"])
    next(b for b in staff.button if b.label == "登记户号").click().run()
    assert any("已登记" in e.value or "重复" in e.value for e in staff.error), [e.value for e in staff.error]
    assert views.grid_accounts(reconciled, Viewer("qp-staff", "region", region="qingpu"), B)["accounts"].empty
