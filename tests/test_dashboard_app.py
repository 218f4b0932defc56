"""Every dashboard page, for every role, run with Streamlit's AppTest against a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from carbon import audit, db, views
from carbon.access import Viewer
from carbon.errors import AccessDenied
from carbon.limits import limit
from dashboard import format as fmt
from dashboard.server import MAX_UPLOAD_MB
from tests.zone_fixture import ENTERPRISES, PASSWORD, A, B, C, build

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
STAFF_PAGES = [
    "overview",
    "regions",
    "enterprises",
    "upload",
    "quality",
    "factors",
    "targets",
    "reporting",
    "review",
    "export",
    "audit",
]
ENTERPRISE_PAGES = ["enterprises", "upload", "factors", "reporting", "export"]
ZONE = Viewer("zone1", "zone")


@pytest.fixture(scope="module")
def zone_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app")
    url = build(f"sqlite:///{folder / 'zone.db'}", folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARBON_DATABASE_URL", url)
        yield db.make_engine(url)


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    return at


def sign_in(username: str, password: str = PASSWORD) -> AppTest:
    at = app()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"sections/{page}.py").run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in (at.markdown, at.title, at.subheader, at.caption, at.error, at.info) for e in kind]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [df.value.to_string() for df in at.dataframe]
    return "\n".join(str(p) for p in parts)


def test_nobody_signed_in_sees_only_the_sign_in_form(zone_db):
    at = app()
    assert not at.exception and at.text_input(key="login_password") is not None
    assert not at.metric and not at.dataframe
    assert "长三角示范区碳排放监测核算平台" in at.title[0].value


def test_wrong_password_is_refused_and_audited(zone_db):
    at = sign_in("qp-staff", "not the password")
    assert "用户名或密码错误" in at.error[0].value and "viewer" not in at.session_state
    log = audit.audit_log(zone_db, ZONE)
    assert (log["action"] == "login_failed").any() and "not the password" not in log.to_string()


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_every_page_renders_for_zone_staff(zone_db, page):
    at = open_page(sign_in("zone1"), page)
    assert at.title, f"{page} has no title"


def test_overview_shows_the_zone_figures_with_basis_and_as_of(zone_db):
    at = open_page(sign_in("zone1"), "overview")
    expected = views.overview(zone_db, ZONE, "zone", 2024)["headline"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["碳排放量"] == fmt.tonnes_co2e(expected["emissions_tco2e"])
    assert metrics["综合能耗"] == fmt.tce(expected["energy_tce"])
    caption = texts(at)
    assert "核算口径：基于位置" in caption and "数据截至：" in caption and "北京时间" in caption
    assert "模拟数据" not in caption  # the fixture holds no demo enterprises


def test_overview_words_targets_as_published_and_never_assesses_them_from_monitored_enterprises(zone_db):
    at = open_page(sign_in("zone1"), "overview")
    page = texts(at)
    for title in (
        "全国：2025年能耗强度较2020年下降13.5%",  # not 14 %
        "长三角生态绿色一体化发展示范区：2025年能耗强度较2020年下降15%左右",
        "长三角生态绿色一体化发展示范区：2025年碳排放强度较2020年下降20%以上",
    ):
        assert title in page, title
    assert "下降14%" not in page and "进度正常" not in page
    assert page.count("无法评估：无地区能源统计数据") == 5  # the five applicable targets
    metrics = {m.label: m.value for m in at.metric}
    # the intensity says what it covers: the monitored enterprises' emissions over their own value added
    expected = views.overview(zone_db, ZONE, "zone", 2024)["headline"]
    name = "监测企业碳排放强度（吨二氧化碳当量/万元）"
    assert metrics[name] == fmt.number(expected["monitored_carbon_intensity_tco2e_per_10k_cny"], 4)
    assert not any(label.startswith("碳排放强度") for label in metrics)
    assert "4家监测企业的核算结果，不是本区域的排放总量" in page
    at.radio(key="lang").set_value("en").run()
    page = texts(at)
    assert "China: energy intensity 13.5 % below 2020 by 2025" in page
    assert "energy intensity about 15 % below 2020 by 2025" in page
    assert "carbon intensity more than 20 % below 2020 by 2025" in page
    assert "on track" not in page and "cannot be assessed: no regional energy statistics" in page


def test_regions_page_compares_one_indicator_and_year_at_a_time(zone_db):
    at = open_page(sign_in("zone1"), "regions")
    headings = [m.value for m in at.markdown if m.value.startswith("##### ")]
    assert headings == ["##### 2025年能耗强度目标", "##### 2025年碳排放强度目标", "##### 2030年碳排放强度目标"]
    tables = [df.value for df in at.dataframe[: len(headings)]]
    for table in tables:
        assert table["region"].tolist() == ["上海市青浦区", "江苏省苏州市吴江区", "浙江省嘉兴市嘉善县"]
        assert set(table["target_status"]) == {"无法评估：无地区能源统计数据"}
    energy, carbon_2025 = tables[0], tables[1]
    assert energy["target_title"].tolist() == [
        "上海市：2025年能耗强度较2020年下降14%",
        "全国：2025年能耗强度较2020年下降13.5%",
        "浙江省：2025年能耗强度较2020年下降14.5%",
    ]
    assert (
        "monitored_energy_intensity_tce_per_10k_cny" in energy
        and "monitored_carbon_intensity_tco2e_per_10k_cny" in carbon_2025
    )
    assert carbon_2025["target_title"].eq("全国：2025年碳排放强度较2020年下降18%").all()
    assert "目标状态：" not in texts(at)  # no single status mixing families


def test_region_staff_see_their_own_enterprises_only(zone_db):
    at = open_page(sign_in("qp-staff"), "enterprises")
    table = at.dataframe[0].value
    assert set(table["uscc"]) == {A, B}
    page = texts(at)
    assert ENTERPRISES[C][0] not in page and C not in page
    at = open_page(at, "quality")
    assert set(at.dataframe[0].value["uscc"]) == {B}  # incomplete only: B misses June 2024


def test_enterprise_user_gets_nothing_of_another_enterprise_by_url(zone_db):
    before = datetime.now(UTC)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["uscc"] = C
    at.run()
    at.text_input(key="login_username").input("ent-a")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert any("无权查看该企业的数据" in e.value for e in at.error)
    page = texts(at)
    assert ENTERPRISES[C][0] not in page and C not in page and not at.metric and not at.dataframe
    # the way back: a link to its own enterprise page, which then shows its figures
    (link,) = at.get("page_link")
    assert (link.proto.label, link.proto.query_string) == ("返回本企业页面", f"uscc={A}")
    assert link.proto.page_script_hash == calc_hash("enterprises")
    at.query_params["uscc"] = A
    at.switch_page("sections/enterprises.py").run()  # following the link
    assert not at.exception and not at.error and ENTERPRISES[A][0] in at.subheader[0].value and at.metric
    # the refused attempt is in the audit log: who, what was asked, when; nothing about the enterprise asked for
    log = audit.audit_log(zone_db, ZONE)
    denied = log.loc[(log["action"] == "access_denied") & (log["at"] >= before)]
    assert len(denied) == 1, denied  # following the way back asks nothing again
    event = denied.iloc[0]
    who = (event["username"], event["role"], event["enterprise"], event["region"])
    assert who == ("ent-a", "enterprise", A, "zone")  # zone staff's to read
    assert event["detail"] == {"asked": "enterprise", "value": C}
    assert ENTERPRISES[C][0] not in log.to_string() and "wujiang" not in denied.to_string()
    qingpu = audit.audit_log(zone_db, Viewer("qp", "region", region="qingpu"))  # ent-a's jurisdiction
    assert C not in qingpu.to_string()  # shows no code of an enterprise it may not see


def test_refused_requests_are_audited_alike_and_bounded(zone_db):
    """An unknown code is refused and recorded as another's enterprise is (the log tells nothing of which it was);
    a request can write no more than ``MAX_ASKED_RECORDED`` characters of what it asked, however long."""
    ent_a = Viewer("ent-a", "enterprise", enterprise=A)
    before = datetime.now(UTC)
    asked = [C, "91" + "9" * 16, "X" * 100_000]
    for code in asked:
        with pytest.raises(AccessDenied) as refused:
            views.enterprise_detail(zone_db, ent_a, code, 2024)
        assert (refused.value.zh, refused.value.context) == ("无权查看该企业的数据", {"user": "ent-a"})
    with pytest.raises(AccessDenied):
        views.batch_report(zone_db, ent_a, 10**9)
    log = audit.audit_log(zone_db, ZONE)
    denied = log.loc[(log["action"] == "access_denied") & (log["at"] >= before)].iloc[::-1]
    assert denied["detail"].tolist() == [
        {"asked": "enterprise", "value": C},
        {"asked": "enterprise", "value": "91" + "9" * 16},
        {"asked": "enterprise", "value": "X" * audit.MAX_ASKED_RECORDED, "value_chars": 100_000},
        {"asked": "batch", "value": str(10**9)},
    ]
    assert set(denied["enterprise"]) == {A} and set(denied["region"]) == {"zone"}


@pytest.mark.parametrize("page", ENTERPRISE_PAGES)
def test_enterprise_user_pages_hold_only_their_enterprise(zone_db, page):
    at = open_page(sign_in("ent-a"), page)
    page_text = texts(at)
    for code, (name, _, _) in ENTERPRISES.items():
        if code != A:
            assert code not in page_text and name not in page_text


def test_enterprise_user_signing_in_on_a_staff_page_is_taken_to_their_enterprise(zone_db):
    at = sign_in("ent-a")  # signed in on the overview, the first page of the signed-out navigation
    assert not at.exception and at.title[0].value == "企业"
    assert {m.label for m in at.metric} == {"碳排放量", "综合能耗", "碳效码", "数据完整度"}
    assert ENTERPRISES[A][0] in at.subheader[0].value
    for page in ("overview", "quality", "audit", "targets", "regions"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"sections/{page}.py")


def test_staff_choose_the_enterprise_they_upload_for(zone_db):
    at = open_page(sign_in("qp-staff"), "upload")
    choose = at.selectbox(key="up_ent")
    assert choose.options == [f"{ENTERPRISES[c][0]} {c}" for c in (A, B)]  # their own jurisdiction's only
    assert choose.value is None and choose.proto.placeholder == "请选择企业"  # none preselected
    assert not at.get("file_uploader") and not at.dataframe
    assert any("请先选择代哪家企业上报" in i.value for i in at.info)
    choose.set_value(B).run()
    assert not at.exception and at.get("file_uploader")
    assert set(at.dataframe[0].value["enterprise_uscc"]) == {B}  # history of the chosen enterprise


def test_uploader_says_its_limits_and_types_in_chinese(zone_db):
    at = open_page(sign_in("ent-a"), "upload")
    (uploader,) = at.get("file_uploader")
    assert list(uploader.proto.type) == [".csv", ".txt", ".xlsx", ".xls"]
    assert uploader.proto.help == f"每个文件不超过{MAX_UPLOAD_MB} MB；接受CSV、TXT、XLSX、XLS文件"
    help_text = texts(at)
    rows, cells = limit("max_rows_per_file"), limit("max_cells_per_upload")
    assert f"“{MAX_UPLOAD_MB}MB per file • CSV, TXT, XLSX, XLS”即每个文件不超过{MAX_UPLOAD_MB} MB" in help_text
    assert "“Drag and drop files here”即把文件拖到框内，“Upload”即点此选择文件" in help_text
    assert f"不超过{rows // 10_000}万行" in help_text and f"合计不超过{cells // 10_000}万个单元格" in help_text


def test_upload_preview_shows_the_files_own_columns_beijing_times_and_values_as_written(zone_db):
    at = open_page(sign_in("ent-a"), "upload")
    csv = (
        "表号,能源品种,开始时间,结束时间,用量,单位\n"
        "E-01,电力,2025-01-01,2025-02-01,-1122236.06,kWh\n"
        "E-02,电力,2025-01-01 00:00,2025-02-01 00:00,1234.50,kWh\n"
        "E-01,电力,2024-01-01,2024-02-01,485000,kWh\n"  # as stored by the fixture: a duplicate
    )
    at.get("file_uploader")[0].set_value(("一月.csv", csv.encode(), "text/csv")).run()
    assert not at.exception
    issues, preview = at.dataframe[0].value, at.dataframe[1].value
    bad = issues.set_index("行号").loc[2]
    assert (bad["列"], bad["值"], bad["类别"]) == ("用量", "-1122236.06", "错误")  # the cell as written
    assert list(preview.columns) == [
        "行号",
        "处理结果",
        "读作时段",
        "表号",
        "能源品种",
        "开始时间",
        "结束时间",
        "用量",
        "单位",
    ]
    assert preview["行号"].tolist() == [2, 3, 4]
    assert preview["结束时间"].tolist() == ["2025-02-01", "2025-02-01 00:00", "2024-02-01"]
    assert preview["用量"].tolist() == ["-1122236.06", "1234.50", "485000"]
    assert preview["处理结果"].tolist() == ["拒绝（见上方错误）", "新增", "重复（已入库，不再存）"]
    assert preview["读作时段"].tolist() == [
        "—",
        "2025-01-01 00:00 ~ 2025-02-01 00:00",
        "2024-01-01 00:00 ~ 2024-02-01 00:00",
    ]
    shown = issues.to_string() + preview.to_string()
    for internal in ("file_idx", "status", "detail", "old_quantity", "supersedes", "period_end", "+00:00", "16:00"):
        assert internal not in shown, internal
    assert "e+06" not in texts(at)


def test_session_expires_after_idle_time_and_is_audited(zone_db):
    at = sign_in("wj-staff")
    at.session_state["last_seen"] = datetime.now(UTC) - timedelta(minutes=31)
    at.run()
    assert "viewer" not in at.session_state
    assert any("登录已过期" in i.value for i in at.info)
    assert audit.audit_log(zone_db, ZONE).iloc[0]["action"] == "session_expired"


def test_english_switch(zone_db):
    at = sign_in("ent-a")
    at.radio(key="lang").set_value("en").run()
    assert at.title[0].value == "Enterprises"
    assert {m.label for m in at.metric} == {"emissions", "energy use", "carbon-efficiency grade", "data completeness"}
    assert next(m.value for m in at.metric if m.label == "emissions").endswith("t CO₂e")
    assert any(s.label == "data year" and s.value == 2024 for s in at.selectbox)  # the year is kept


def test_export_page_offers_the_current_view_and_audit_log_lists_sign_ins(zone_db):
    at = open_page(open_page(sign_in("zone1"), "factors"), "export")
    assert "排放因子" in texts(at)
    assert {b.label for b in at.get("download_button")} == {"下载 Excel（XLSX）", "下载 CSV（ZIP）"}
    at = open_page(at, "audit")
    assert "登录" in set(at.dataframe[0].value["action"])  # the action by its label


def test_an_enterprise_without_data_reads_no_data_not_zero(tmp_path, monkeypatch):
    """Missing is not zero: an enterprise without data for the year shows 无数据 in the table and its figures, and
    says why, on the enterprise page."""
    from carbon.enterprises import add_enterprise
    from tests.helpers import uscc

    url = build(f"sqlite:///{tmp_path / 'zone.db'}", tmp_path)
    monkeypatch.setenv("CARBON_DATABASE_URL", url)
    empty = uscc(41, "320509")
    add_enterprise(db.make_engine(url), code=empty, name="吴江戊无数据有限公司", region="wujiang", industry="2614")
    at = open_page(sign_in("zone1"), "enterprises")
    table = at.dataframe[0]
    assert table.proto.placeholder == "无数据"
    assert (
        table.value.set_index("uscc").loc[empty, "emissions_tco2e"]
        != table.value.set_index("uscc").loc[empty, "emissions_tco2e"]
    )  # NaN: no figure, drawn as the placeholder
    at.selectbox(key="ent_detail").select(empty).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["碳排放量"] == "无数据" and metrics["综合能耗"] == "无数据", metrics
    assert any("无数据不是零排放" in i.value for i in at.info)


def test_enterprise_page_lists_sites_and_wujiang_staff_see_only_the_wujiang_site(tmp_path, monkeypatch):
    """A Qingpu enterprise's gas meter on its Wujiang site: the page lists its sites with their jurisdiction and
    figures; Wujiang staff find the enterprise through that site and see only its figures and meter."""
    from carbon.intake import settle
    from carbon.sites import add_site, assign_meter

    url = build(f"sqlite:///{tmp_path / 'zone.db'}", tmp_path)
    monkeypatch.setenv("CARBON_DATABASE_URL", url)
    engine = db.make_engine(url)
    site = add_site(engine, enterprise=A, name="吴江燃气厂区", region="wujiang")
    assign_meter(engine, enterprise=A, meter="G-01", site_id=site.id)
    settle(engine)
    wj = Viewer("wj-staff", "region", region="wujiang")
    expected = views.enterprise_detail(engine, wj, A, 2024)["sites"]["emissions_tco2e"].iloc[0]

    at = open_page(sign_in("wj-staff"), "enterprises")
    table = at.dataframe[0].value.set_index("uscc")
    assert table.loc[A, "sites_only"] == "是" and table.loc[A, "emissions_tco2e"] == pytest.approx(expected)
    at.selectbox(key="ent_detail").select(A).run()
    assert not at.exception
    assert any("仅显示其位于江苏省苏州市吴江区的厂区" in i.value for i in at.info)
    sites = next(d.value for d in at.dataframe if {"site_name", "emissions_tco2e"} <= set(d.value.columns))
    assert sites[["site_name", "site_region_id"]].values.tolist() == [["吴江燃气厂区", "江苏省苏州市吴江区"]]
    meters = next(d.value for d in at.dataframe if "meter_code" in d.value.columns)
    assert list(meters["meter_code"]) == ["G-01"]  # not the Qingpu electricity meter
    assert "wujiang" not in texts(at) and "qingpu" not in texts(at)  # labels, never codes

    at = open_page(sign_in("qp-staff"), "enterprises")
    at.selectbox(key="ent_detail").select(A).run()
    sites = next(d.value for d in at.dataframe if {"site_name", "emissions_tco2e"} <= set(d.value.columns))
    assert sites["site_region_id"].tolist() == ["江苏省苏州市吴江区", "上海市青浦区"]
    assert sites["site_name"].tolist() == ["吴江燃气厂区", "未归入厂区（计入登记区县）"]
