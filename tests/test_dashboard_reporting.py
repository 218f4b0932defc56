"""The reporting pages in Streamlit's AppTest on a real database: an enterprise submits with the declaration, the
jurisdiction's staff return it with a comment on a line, the enterprise reads the comment, staff approve and
verify; every step lands in the database through ``carbon.reporting``."""

from __future__ import annotations

from datetime import date

import pytest

from carbon import db
from carbon.access import Viewer
from carbon.reporting import cycles, submissions
from tests.test_dashboard_app import open_page, sign_in
from tests.zone_fixture import A, build


@pytest.fixture
def zone_db(tmp_path, monkeypatch):
    url = build(f"sqlite:///{tmp_path / 'zone.db'}", tmp_path)
    monkeypatch.setenv("CARBON_DATABASE_URL", url)
    engine = db.make_engine(url)
    cycles.open_cycle(engine, Viewer("zone1", "zone"), 2024, date(2025, 3, 31))
    yield engine
    engine.dispose()


def newest(engine):
    versions = submissions.submissions(engine, Viewer("t", "zone"), 2024, A)
    return versions.iloc[0] if len(versions) else None


def test_submit_return_read_the_comment_approve_and_verify_through_the_pages(zone_db):
    at = open_page(sign_in("ent-a"), "reporting")
    assert at.metric[0].value == "未提交"
    submit = next(b for b in at.button if b.label == "确认报送")
    assert submit.disabled  # not before the declaration
    at.checkbox(key="rp_declare").check().run()
    next(b for b in at.button if b.label == "确认报送").click().run()
    assert not at.exception and newest(zone_db)["state"] == "submitted"

    staff = open_page(sign_in("qp-staff"), "review")
    assert not staff.exception
    sid = int(newest(zone_db)["id"])
    staff.selectbox(key="rv_sub").select(sid).run()
    next(b for b in staff.button if b.label == "开始审核").click().run()
    assert newest(zone_db)["state"] == "in_review"
    staff.text_area[0].input("3月用电量请核对发票")  # in the form: sent with its submit button
    next(b for b in staff.button if b.label == "退回").click().run()
    assert not staff.exception and newest(zone_db)["state"] == "returned"

    at = open_page(sign_in("ent-a"), "reporting")
    assert at.metric[0].value == "退回"
    assert "3月用电量请核对发票" in at.dataframe[-1].value.to_string()
    at.checkbox(key="rp_declare").check().run()
    next(b for b in at.button if b.label == "确认报送").click().run()
    second = newest(zone_db)
    assert (int(second["version"]), second["state"]) == (2, "submitted")

    staff = open_page(sign_in("qp-staff"), "review")
    staff.selectbox(key="rv_sub").select(int(second["id"])).run()
    next(b for b in staff.button if b.label == "审核通过").click().run()
    assert newest(zone_db)["state"] == "approved"
    next(b for b in staff.button if b.label == "确认核查结果").click().run()
    assert newest(zone_db)["state"] == "approved"  # not without ticking the box (a form also submits on Enter)
    next(c for c in staff.checkbox if c.label.startswith("核查结果录入后")).check()
    next(b for b in staff.button if b.label == "确认核查结果").click().run()
    assert not staff.exception and newest(zone_db)["state"] == "verified"
    assert any("核查后排放总量" in i.value for i in staff.info)


def test_another_jurisdiction_does_not_see_the_enterprise(zone_db):
    submissions.submit(zone_db, Viewer("zone1", "zone"), 2024, A, declared=True)
    wj = open_page(sign_in("wj-staff"), "review")
    assert not wj.exception
    assert A not in " ".join(str(df.value.to_string()) for df in wj.dataframe)


def test_staff_make_their_jurisdictions_summary_on_the_review_page(zone_db):
    staff = open_page(sign_in("qp-staff"), "review")
    next(b for b in staff.button if b.label.startswith("生成上海市青浦区年度汇总报告")).click().run()
    assert not staff.exception
    assert {b.label for b in staff.get("download_button")} >= {"下载PDF", "下载XLSX"}


def test_the_enterprise_page_says_which_figure_is_official(zone_db):
    at = open_page(sign_in("ent-a"), "enterprises")
    assert "正式数据为初步核算值" in " ".join(c.value for c in at.caption)
    sid = submissions.submit(zone_db, Viewer("zone1", "zone"), 2024, A, declared=True)
    at = open_page(sign_in("ent-a"), "enterprises")
    assert "正式数据为企业报告值" in " ".join(c.value for c in at.caption)
    from carbon.reporting import review, verification

    review.approve(zone_db, Viewer("zone1", "zone"), sid)
    verification.verify(zone_db, Viewer("zone1", "zone"), sid, [])
    at = open_page(sign_in("ent-a"), "enterprises")
    assert "正式数据为已核查" in " ".join(c.value for c in at.caption)
