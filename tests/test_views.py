"""The dashboard's data layer enforces who sees what, whatever page, parameter or download asks."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest
from openpyxl import load_workbook

from carbon import audit, db, views
from carbon.access import Viewer
from carbon.errors import AccessDenied, InputError
from carbon.users import authenticate
from tests.helpers import write_template
from tests.zone_fixture import PASSWORD, A, B, C, D, build

ZONE = Viewer("zone1", "zone")
QP = Viewer("qp-staff", "region", region="qingpu")
ENT_A = Viewer("ent-a", "enterprise", enterprise=A)
WALL_QP = Viewer("wall-qp", "display", region="qingpu")
WALL_ZONE = Viewer("wall-zone", "display", region="zone")
YEAR = 2024


@pytest.fixture(scope="module")
def zone(zone_url):
    engine = db.make_engine(zone_url)
    yield engine
    engine.dispose()


def test_accounts_sign_in_with_their_scope(zone):
    assert authenticate(zone, "ent-a", PASSWORD) == ENT_A
    assert authenticate(zone, "qp-staff", PASSWORD) == QP
    assert authenticate(zone, "qp-staff", "wrong password") is None


def test_enterprise_table_holds_only_what_each_role_may_see(zone):
    assert set(views.enterprise_table(zone, ZONE, YEAR)["uscc"]) == {A, B, C, D}
    assert set(views.enterprise_table(zone, QP, YEAR)["uscc"]) == {A, B}
    mine = views.enterprise_table(zone, ENT_A, YEAR)
    assert list(mine["uscc"]) == [A]
    row = mine.iloc[0]
    assert row["emissions_tco2e"] > 0 and row["energy_tce"] > 0 and row["completeness"] == pytest.approx(1.0)
    assert row["carbon_intensity_tco2e_per_10k_cny"] == pytest.approx(row["emissions_tco2e"] / 21_000)


def test_completeness_shows_the_missing_month(zone):
    table = views.enterprise_table(zone, QP, YEAR).set_index("uscc")
    assert table.loc[B, "completeness"] == pytest.approx((365 - 30) / 365, rel=0.02)
    cov = views.completeness(zone, QP, YEAR).set_index("uscc")
    assert cov.loc[B, 6] == 0.0 and cov.loc[B, 5] == pytest.approx(1.0) and cov.loc[A, 6] == pytest.approx(1.0)
    missing = views.alerts(zone, QP, "qingpu", YEAR)["missing"]
    assert list(missing["uscc"]) == [B] and missing.iloc[0]["missing_months"] == "6"


@pytest.mark.parametrize(
    ("viewer", "uscc"),
    [(ENT_A, C), (ENT_A, B), (QP, C), (QP, D), (ENT_A, "91310118000000999X"), (QP, "not-a-code")],
)
def test_enterprise_detail_refuses_other_enterprises_and_unknown_codes_alike(zone, viewer, uscc):
    with pytest.raises(AccessDenied, match="Not allowed"):
        views.enterprise_detail(zone, viewer, uscc, YEAR)
    with pytest.raises(AccessDenied):
        views.uploads(zone, viewer, uscc) if uscc in (A, B, C, D) else views.factors_used(zone, viewer, uscc, YEAR)


def test_enterprise_detail_for_its_own_users_and_staff(zone):
    for viewer in (ENT_A, QP, ZONE):
        d = views.enterprise_detail(zone, viewer, A, YEAR)
        assert d["uscc"] == A and set(d["meters"]["meter_code"]) == {"E-01", "G-01"}
        assert d["monthly"].shape == (12, 2) and (d["monthly"] > 0).all().all()
        assert len(d["uploads"]) == 1 and d["uploads"].iloc[0]["rows_accepted"] == 72
    used = views.factors_used(zone, ENT_A, A, YEAR)
    library = set(views.factor_library(zone)["id"])
    ids = {i for cell in used["factor_ids"] for i in cell.split(",") if i}
    assert {"electricity", "natural_gas"} == set(used["carrier"]) and ids and ids <= library


def test_batches_of_other_enterprises_are_refused(zone):
    batch_c = int(views.uploads(zone, ZONE, C).iloc[0]["batch_id"])
    with pytest.raises(AccessDenied):
        views.rejected(zone, ENT_A, batch_c)
    with pytest.raises(AccessDenied):
        views.rejected(zone, QP, batch_c)
    with pytest.raises(AccessDenied):
        views.rejected(zone, ENT_A, 999_999)
    assert views.rejected(zone, ZONE, batch_c).empty
    assert set(views.uploads(zone, QP)["enterprise_uscc"]) == {A, B}


def test_enterprise_users_see_no_aggregates_logs_or_connectors(zone):
    for call in (
        lambda: views.overview(zone, ENT_A, "qingpu", YEAR),
        lambda: views.overview(zone, ENT_A, "zone", YEAR),
        lambda: views.compare_regions(zone, ENT_A, YEAR),
        lambda: views.decomposition(zone, ENT_A, "qingpu", 2023, YEAR),
        lambda: views.alerts(zone, ENT_A, "qingpu", YEAR),
        lambda: views.connector_health(zone, ENT_A),
        lambda: views.audit_log(zone, ENT_A),
    ):
        with pytest.raises(AccessDenied):
            call()
    assert views.regions_for(ENT_A) == []


def test_jurisdiction_staff_see_other_jurisdictions_only_as_suppressed_aggregates(zone):
    # Wujiang has one enterprise: its sector split would show that enterprise, so Qingpu staff get it suppressed
    theirs = views.sector_split(zone, QP, "wujiang", YEAR)
    assert theirs["suppressed"].all() and theirs["emissions_tco2e"].isna().all()
    assert not views.sector_split(zone, ZONE, "wujiang", YEAR)["suppressed"].any()
    own = views.sector_split(zone, QP, "qingpu", YEAR)
    assert not own["suppressed"].any() and own["emissions_tco2e"].notna().all()
    o = views.overview(zone, QP, "wujiang", YEAR)  # totals of another jurisdiction are allowed
    detail = views.enterprise_table(zone, ZONE, YEAR).set_index("uscc")
    assert o["headline"]["emissions_tco2e"] == pytest.approx(detail.loc[C, "emissions_tco2e"])
    assert views.compare_regions(zone, QP, YEAR)["figures"]["region"].tolist() == ["qingpu", "wujiang", "jiashan"]


def test_overview_adds_up_and_says_basis_and_as_of(zone):
    o = views.overview(zone, ZONE, "zone", YEAR)
    detail = views.enterprise_table(zone, ZONE, YEAR)
    assert o["headline"]["emissions_tco2e"] == pytest.approx(detail["emissions_tco2e"].sum())
    assert o["by_region"]["emissions_tco2e"].sum() == pytest.approx(detail["emissions_tco2e"].sum())
    assert o["basis"] == "location" and o["as_of"] is not None and o["as_of"].tzinfo is not None
    annual = o["annual"].set_index("year")
    assert annual.loc[YEAR, "emissions_tco2e"] == pytest.approx(o["headline"]["emissions_tco2e"])
    # the monitored enterprises' intensity over their own value added (all four have it: 70,000 then 73,500)
    intensity = annual["monitored_carbon_intensity_tco2e_per_10k_cny"]
    assert intensity[YEAR] == pytest.approx(detail["emissions_tco2e"].sum() / 73_500)
    assert "carbon_intensity_tco2e_per_10k_cny" not in annual  # never monitored emissions over regional GDP
    # a regional target's rate from the monitored base-year intensity: a reference path
    path = o["target_paths"].set_index(["target", "year"])
    assert path.loc[("zone-2025-carbon-intensity", 2020), "value"] == pytest.approx(intensity[2020])
    assert path.loc[("zone-2025-carbon-intensity", 2025), "value"] == pytest.approx(intensity[2020] * 0.8)
    assert set(path["indicator"]) == {
        "monitored_carbon_intensity_tco2e_per_10k_cny",
        "monitored_energy_intensity_tce_per_10k_cny",
    }
    assert ("cn-2030-carbon-intensity", 2030) not in path.index  # its base year 2005 has no data


def test_monitored_enterprises_never_put_a_regional_target_on_track(zone):
    """Every applicable target is regional: the four monitored enterprises' figures cannot assess it, however far
    their own intensity fell; the reference reduction is theirs, over the same enterprises in both years."""
    for region in ("zone", "qingpu", "wujiang", "jiashan"):
        head = views.overview(zone, ZONE, region, YEAR)["headline"]
        assert head["emissions_tco2e"] > 0
        assert {t["status"] for t in head["targets"]} == {"not_assessable"}, region
    zone_targets = {t["id"]: t for t in views.overview(zone, ZONE, "zone", YEAR)["headline"]["targets"]}
    carbon = zone_targets["zone-2025-carbon-intensity"]
    annual = views.overview(zone, ZONE, "zone", YEAR)["annual"].set_index("year")
    intensity = annual["monitored_carbon_intensity_tco2e_per_10k_cny"]
    assert carbon["monitored_achieved"] == pytest.approx(1 - intensity[YEAR] / intensity[2020])
    assert carbon["monitored_achieved_enterprises"] == 4 and carbon["expected"] == pytest.approx(0.16)
    assert views.alerts(zone, ZONE, "zone", YEAR)["targets"]["status"].eq("not_assessable").all()


def test_regions_compare_one_family_of_targets_at_a_time(zone):
    """区域对比: per indicator and target year, one row per jurisdiction with the target that applies to it."""
    out = views.compare_regions(zone, ZONE, YEAR)
    figures, targets = out["figures"].set_index("region"), out["targets"]
    assert list(figures.index) == ["qingpu", "wujiang", "jiashan"]
    assert figures.loc["wujiang", "monitored_carbon_intensity_tco2e_per_10k_cny"] == pytest.approx(
        figures.loc["wujiang", "emissions_tco2e"] / 15_750
    )
    families = list(dict.fromkeys(zip(targets["indicator"], targets["target_year"], strict=True)))
    assert families == [
        ("energy_intensity_tce_per_10k_cny", 2025),
        ("carbon_intensity_tco2e_per_10k_cny", 2025),
        ("carbon_intensity_tco2e_per_10k_cny", 2030),
    ]
    for (indicator, year), family in targets.groupby(["indicator", "target_year"]):
        assert family["region"].tolist() == ["qingpu", "wujiang", "jiashan"], (indicator, year)
    energy = targets.loc[targets["indicator"] == "energy_intensity_tce_per_10k_cny"].set_index("region")
    # each jurisdiction's own: Shanghai 14 %, Jiangsu none in the file so the nation's 13.5 %, Zhejiang 14.5 %
    assert energy["target"].to_dict() == {
        "qingpu": "sh-2025-energy-intensity",
        "wujiang": "cn-2025-energy-intensity",
        "jiashan": "zj-2025-energy-intensity",
    }
    assert energy["reduction"].tolist() == pytest.approx([0.14, 0.135, 0.145])
    assert set(targets["target_status"]) == {"not_assessable"}


def test_decomposition_effects_add_up(zone):
    effects = views.decomposition(zone, QP, "qingpu", 2023, YEAR)
    parts = sum(effects[k] for k in ("activity", "structure", "intensity", "fuel_mix", "emission_factor"))
    assert parts == pytest.approx(effects["total"]) and not math.isnan(effects["total"])


def test_export_escapes_formulas_and_is_audited(zone):
    table = pd.DataFrame({"name": ["=cmd|' /C calc'!A0", "青浦甲"], "tco2e": [1.0, -2.0]})
    wb = load_workbook(io.BytesIO(views.export_file(QP, {"t": table}, "xlsx")))
    assert wb["t"]["A2"].value == "'=cmd|' /C calc'!A0" and wb["t"]["B3"].value == -2.0
    views.record_export(zone, QP, "总览", "xlsx", {"t": table})
    log = views.audit_log(zone, QP)
    assert log.iloc[0]["action"] == "export" and log.iloc[0]["detail"]["rows"] == {"t": 2}


def test_a_display_account_sees_aggregates_only(zone):
    assert authenticate(zone, "wall-qp", PASSWORD) == WALL_QP
    for wall in (WALL_QP, WALL_ZONE):
        assert views.regions_for(wall) == ["zone", "qingpu", "wujiang", "jiashan"]
        o = views.overview(zone, wall, "qingpu", YEAR)
        assert o["headline"] == {**views.overview(zone, QP, "qingpu", YEAR)["headline"], "key_emitters": []}
        seen_by_wall, seen_by_staff = views.compare_regions(zone, wall, YEAR), views.compare_regions(zone, QP, YEAR)
        assert seen_by_wall.keys() == seen_by_staff.keys()
        for part in seen_by_wall:
            pd.testing.assert_frame_equal(seen_by_wall[part], seen_by_staff[part])
        assert views.visible_enterprises(zone, wall).empty and views.enterprise_table(zone, wall, YEAR).empty
        assert views.completeness(zone, wall, YEAR).empty and views.uploads(zone, wall).empty
        for call, args in (
            (views.enterprise_detail, (A, YEAR)),
            (views.factors_used, (A, YEAR)),
            (views.connector_health, ()),
            (views.audit_log, ()),
        ):
            with pytest.raises(AccessDenied):
                call(zone, wall, *args)
    # the wall is read by whoever is in the room: every sector cell of fewer than 3 enterprises is suppressed,
    # even those qingpu staff see in full
    assert views.sector_split(zone, WALL_QP, "qingpu", YEAR)["suppressed"].all()
    assert not views.sector_split(zone, QP, "qingpu", YEAR)["suppressed"].any()


def test_a_display_account_changes_and_exports_nothing(zone, tmp_path):
    files = [("up.csv", write_template(tmp_path / "up.csv", ["E-01,电力,2025-01-01,2025-02-01,5,kWh"]).read_bytes())]
    version, events = views.data_version(zone), len(views.audit_log(zone, ZONE))
    for wall in (WALL_QP, WALL_ZONE):
        for call in (views.preview_upload, views.confirm_upload):
            with pytest.raises(AccessDenied, match="只能查看"):
                call(zone, wall, A, files)
        table = views.compare_regions(zone, wall, YEAR)
        for fmt in ("xlsx", "csv", "csv_single"):
            with pytest.raises(AccessDenied, match="不能导出"):
                views.export_file(wall, {"t": table}, fmt)
        with pytest.raises(AccessDenied, match="不能导出"):
            views.record_export(zone, wall, "总览", "xlsx", {"t": table})
    assert views.data_version(zone) == version and len(views.audit_log(zone, ZONE)) == events


def test_completeness_summary_is_per_jurisdiction_of_the_scope(zone):
    qingpu = views.completeness_summary(zone, WALL_QP, YEAR)
    assert qingpu.equals(views.completeness_summary(zone, QP, YEAR))
    row = qingpu.set_index("region").loc["qingpu"]
    assert len(qingpu) == 1 and (row["registered_enterprises"], row["complete_enterprises"]) == (2, 1)
    assert row[6] == pytest.approx(0.5) and row[5] == pytest.approx(1.0)  # B has no data for June
    zone_wide = views.completeness_summary(zone, WALL_ZONE, YEAR)
    assert zone_wide["region"].tolist() == ["qingpu", "wujiang", "jiashan"]
    assert zone_wide["registered_enterprises"].tolist() == [2, 1, 1] and zone_wide.equals(
        views.completeness_summary(zone, ZONE, YEAR)
    )
    with pytest.raises(InputError):
        views.completeness_summary(zone, WALL_ZONE, 1800)
    assert views.completeness_summary(zone, ENT_A, YEAR).empty


def test_upload_preview_stores_nothing_and_confirm_stores_recalculates_and_audits(db_url, tmp_path):
    engine = db.make_engine(build(db_url, tmp_path))
    before = views.enterprise_table(engine, ENT_A, 2025)
    assert not before["has_results"].any() and before["emissions_tco2e"].isna().all()  # no data, not 0
    rows = [
        "E-01,电力,2025-01-01,2025-02-01,500000,kWh",
        "E-01,电力,2025-02-01,2025-03-01,-5,kWh",  # refused: negative
        "E-01,电力,2025-03-01,2025-04-01,480000,kWh",
    ]
    data = write_template(tmp_path / "up.csv", rows).read_bytes().decode("utf-8-sig").encode("gbk")
    files = [("电表导出.csv", data)]
    with pytest.raises(AccessDenied):
        views.preview_upload(engine, ENT_A, C, files)
    version = views.data_version(engine)
    preview = views.preview_upload(engine, ENT_A, A, files)
    assert [(e.row, e.column) for e in preview[0].errors] == [(3, "用量")]
    assert len(views.uploads(engine, ENT_A, A)) == 1  # nothing stored by the preview
    assert views.data_version(engine) == version  # so figures kept by the dashboard stay valid
    done = views.confirm_upload(engine, ENT_A, A, files)
    assert done[0].stored and done[0].rows_accepted == 2 and done[0].rows_rejected == 1
    history = views.uploads(engine, ENT_A, A)
    assert len(history) == 2 and history.iloc[0]["uploaded_by"] == "ent-a"
    batch = int(history.iloc[0]["batch_id"])
    refused = views.rejected(engine, ENT_A, batch)
    assert len(refused) == 1 and "-5" in refused.to_string()
    report = views.batch_report(engine, ENT_A, batch)  # the report the uploader saw, kept with the batch
    assert [(e["row"], e["column"]) for e in report["errors"]] == [(3, "用量")] and report["errors_total"] == 1
    assert report["rows_accepted"] == 2 and report["file"] == "电表导出.csv"
    with pytest.raises(AccessDenied):
        views.batch_report(engine, Viewer("ent-c", "enterprise", enterprise=C), batch)
    new_version = views.data_version(engine)
    assert new_version[0] > version[0] and new_version[-1] > version[-1]  # new results and a new upload
    after = views.enterprise_table(engine, ENT_A, 2025)
    assert after["emissions_tco2e"].sum() > 0  # recalculated after the upload
    actions = list(audit.audit_log(engine, ZONE)["action"])
    assert actions[:3] == ["access_denied", "upload_confirm", "upload_preview"]  # ent-c refused ent-a's batch
    engine.dispose()


def test_a_database_without_results_gives_empty_views_not_errors(engine):
    """No data is "no data": no figure at all, never 0."""
    o = views.overview(engine, ZONE, "zone", YEAR)
    assert (
        o["headline"]["emissions_tco2e"] is None
        and o["annual"].empty
        and o["target_paths"].empty
        and o["as_of"] is None
    )
    assert o["peak"].status == "insufficient_data"
    assert views.enterprise_table(engine, ZONE, YEAR).empty and views.default_year(engine) is None
    assert views.alerts(engine, ZONE, "zone", YEAR)["behind"].empty and views.uploads(engine, ZONE).empty


@pytest.mark.parametrize(
    ("call", "bad"),
    [
        (lambda e: views.overview(e, ZONE, "zone", YEAR, basis="Location"), "Location"),
        (lambda e: views.enterprise_table(e, ZONE, 1899), "1899"),
        (lambda e: views.alerts(e, ZONE, "zone", YEAR, basis="residual"), "residual"),
        (lambda e: views.decomposition(e, ZONE, "zone", YEAR - 1, 3000), "3000"),
        (lambda e: views.sector_split(e, ZONE, "zone", "2024"), "2024"),
    ],
)
def test_an_unknown_basis_or_year_is_refused_where_it_enters(engine, call, bad):
    with pytest.raises(InputError) as err:
        call(engine)
    assert bad in err.value.message and bad in str(err.value)


def test_no_data_is_never_graded_ranked_counted_or_on_track(zone):
    """The zone has data for 2020, 2023 and 2024 only: 2025 and 2022 have no figures, grades or target status."""
    from carbon.analytics.grades import grade_year
    from carbon.analytics.progress import progress

    assert grade_year(zone, 2025).empty and grade_year(zone, 2022).empty  # nobody graded 1 for emitting nothing
    table = views.enterprise_table(zone, ZONE, 2025)
    assert len(table) == 4 and not table["has_results"].any() and table["emissions_tco2e"].isna().all()
    assert table["key_emitter"].isna().all() and table["grade"].isna().all()
    head = progress(zone, "zone", 2025)
    assert head["emissions_tco2e"] is None and head["monitored_carbon_intensity_tco2e_per_10k_cny"] is None
    assert head["enterprises"] == 0 and head["key_emitters"] == []
    assert {t["status"] for t in head["targets"]} == {"not_assessable"}  # never on track with no data
    assert {t["reason"] for t in head["targets"]} == {"no_regional_statistics"}
    regions = views.compare_regions(zone, ZONE, 2025)
    assert set(regions["targets"]["target_status"]) == {"not_assessable"}
    assert regions["figures"]["emissions_tco2e"].isna().all()
    # 2024: B has no June, but has data; every enterprise is graded on what it has
    assert set(grade_year(zone, 2024)["uscc"]) <= {A, B, C, D}


def test_the_first_year_of_data_is_not_declared_the_peak(zone):
    o = views.overview(zone, ZONE, "zone", 2024)
    assert o["peak"].peak_year != 2020 and o["peak"].status != "peaked"
