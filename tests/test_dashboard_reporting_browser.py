"""The annual reporting cycle through the pages in headless Chromium, as the three roles: the enterprise submits
with the declaration, Qingpu's staff return it with a comment, the enterprise reads the comment and submits v2,
staff approve, zone staff see the board and record the verified figures.  Screenshots of each step go to
``test-artifacts/screenshots/cycle-<step>.png``."""

from __future__ import annotations

from datetime import date

import pytest

from carbon import db
from carbon.access import Viewer
from carbon.reporting import cycles, submissions
from tests.chromium import MARKS
from tests.test_dashboard_browser import SHOTS, new_page, no_exception, serving, settle, sign_in
from tests.zone_fixture import A, build

pytestmark = MARKS


@pytest.fixture(scope="module")
def zone(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("cycle-zone")
    url = build(f"sqlite:///{folder / 'zone.db'}", folder)
    engine = db.make_engine(url)
    cycles.open_cycle(engine, Viewer("zone1", "zone"), 2024, date(2025, 3, 31))
    engine.dispose()
    return url


def state_of(url: str) -> tuple[int, str]:
    engine = db.make_engine(url)
    try:
        newest = submissions.submissions(engine, Viewer("t", "zone"), 2024, A).iloc[0]
        return int(newest["version"]), str(newest["state"])
    finally:
        engine.dispose()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"cycle-{name}.png", full_page=True)
    no_exception(page)


def click(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    settle(page)


def pick_submission(page) -> None:
    """Choose the (only) submission in the review page's select box."""
    page.get_by_role("combobox", name="报送", exact=True).click()
    page.get_by_role("option").first.click()
    settle(page)


def submit_as_enterprise(page, base: str) -> None:
    sign_in(page, base, "ent-a", "/reporting")
    page.get_by_text(submissions.DECLARATION[0]).click()  # the declaration's checkbox
    settle(page)
    click(page, "确认报送")


def test_the_cycle_through_the_pages_as_three_roles(browser, zone):
    with serving(zone) as base:
        with new_page(browser) as page:
            submit_as_enterprise(page, base)
            page.get_by_test_id("stMetricValue").get_by_text("已提交").wait_for()
            shot(page, "1-enterprise-submitted")
        assert state_of(zone) == (1, "submitted")

        with new_page(browser) as page:
            sign_in(page, base, "qp-staff", "/review")
            pick_submission(page)
            click(page, "开始审核")
            page.get_by_label("意见").fill("3月用电量请核对发票")
            click(page, "退回")
            shot(page, "2-staff-returned")
        assert state_of(zone) == (1, "returned")

        with new_page(browser) as page:
            sign_in(page, base, "ent-a", "/reporting")
            page.get_by_text("3月用电量请核对发票").first.wait_for(state="attached")  # the comment, in its table
            shot(page, "3-enterprise-reads-the-comment")
            page.get_by_text(submissions.DECLARATION[0]).click()
            settle(page)
            click(page, "确认报送")
        assert state_of(zone) == (2, "submitted")

        with new_page(browser) as page:
            sign_in(page, base, "qp-staff", "/review")
            pick_submission(page)
            click(page, "审核通过")
        assert state_of(zone) == (2, "approved")

        with new_page(browser) as page:
            sign_in(page, base, "zone1", "/review")
            shot(page, "4-zone-board")
            pick_submission(page)
            page.get_by_text("核查结果录入后即为本年度正式数据").click()
            click(page, "确认核查结果")
            shot(page, "5-zone-verified")
        assert state_of(zone) == (2, "verified")
