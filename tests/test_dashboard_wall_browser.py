"""The wall-screen mode in a real headless Chromium at 1920x1080: a display account signs in once on the wall's URL,
and the wall reads its figures again and turns its pages while staying signed in.

Saves ``test-artifacts/screenshots/wall.png`` (the screenshot in the README is ``docs/wall.png``, taken from it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from carbon import db, views
from carbon.access import Viewer
from dashboard import format as fmt
from dashboard import server
from tests.chromium import MARKS, launched
from tests.zone_fixture import ENTERPRISES, PASSWORD, build

pytestmark = MARKS
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
REFRESH = 5  # seconds: the shortest interval the wall accepts (carbon/data/wall_settings.csv)
TITLE = "[data-testid='stHeading'] h1"


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("wall-zone")
    return build(f"sqlite:///{folder / 'zone.db'}", folder)


@pytest.fixture(scope="module")
def wall(zone: str):
    """(base URL of a dashboard server on the zone, a Chromium page at 1920x1080)."""
    with server.running(zone) as base_url, launched() as browser:
        context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        context.set_default_timeout(60_000)  # a cold server imports the whole engine on its first run
        yield base_url, context.new_page()


def title(page) -> str:
    return page.locator(TITLE).first.inner_text()


def wait_for_title(page, text: str) -> None:
    """Wait until the wall's title holds ``text`` (the next turn of the wall, which comes by itself)."""
    page.wait_for_function(
        "([sel, text]) => [...document.querySelectorAll(sel)].some(h => h.innerText.includes(text))",
        arg=[TITLE, text],
        timeout=REFRESH * 1000 * 6 + 60_000,
    )


def metric(page, label: str) -> str:
    m = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return m.first.get_by_test_id("stMetricValue").inner_text().strip()


def sign_in(page, url: str) -> None:
    """Open the wall's URL (a new session, so the sign-in form) and sign in as the zone's display account."""
    page.goto(url)
    page.get_by_label("用户名").fill("wall-zone")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_label("用户名").wait_for(state="detached")


def updated(page) -> str:
    """The wall's "更新于 HH:MM:SS" line, which each refresh writes again."""
    return page.get_by_text("更新于").first.inner_text()


def signed_in(page) -> bool:
    return page.get_by_label("密码").count() == 0 and page.get_by_text("登录已过期").count() == 0


def test_the_wall_stays_signed_in_across_its_refreshes(wall, zone):
    base_url, page = wall
    sign_in(page, f"{base_url}/wall?refresh={REFRESH}")
    wait_for_title(page, "双碳进展总览")
    assert f"refresh={REFRESH}" in page.url  # its parameters kept (the wall, its only page, is at "/")
    first = updated(page)
    assert f"每 {REFRESH} 秒刷新" in first
    # the refresh comes from the wall's own timer, in the same browser session: still signed in afterwards
    page.wait_for_function(
        "old => [...document.querySelectorAll('p')].some(p => p.innerText.startsWith('更新于') && p.innerText != old)",
        arg=first,
        timeout=REFRESH * 1000 * 6 + 60_000,
    )
    assert signed_in(page)
    page.wait_for_function(
        """() => { const charts = [...document.querySelectorAll("[data-testid='stVegaLiteChart']")];
                   return charts.length >= 2 && charts.every(c => c.querySelector('canvas, svg')); }"""
    )
    engine = db.make_engine(zone)
    year = max(views.result_years(engine))
    expected = views.overview(engine, Viewer("wall-zone", "display", region="zone"), "zone", year)["headline"]
    engine.dispose()
    assert metric(page, "碳排放量") == fmt.tonnes_co2e(expected["emissions_tco2e"])
    assert metric(page, "综合能耗") == fmt.tce(expected["energy_tce"])

    # readable across a room: large figures, no sidebar in the way, and nothing of single enterprises
    size = (
        page.get_by_test_id("stMetricValue")
        .first.locator("p")
        .evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    )
    assert size >= 48, size
    assert not page.get_by_test_id("stSidebarContent").is_visible()
    html = page.content()
    for code, (name, _, _) in ENTERPRISES.items():
        assert code not in html and name not in html
    assert page.locator("[data-testid='stException']").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "wall.png")


def test_the_wall_turns_its_chosen_pages_in_one_session(wall):
    base_url, page = wall
    sign_in(page, f"{base_url}/wall?refresh={REFRESH}&rotate=overview,regions")
    wait_for_title(page, "双碳进展总览")
    wait_for_title(page, "三地对比")  # the next turn, by the wall's own timer
    assert signed_in(page)
    wait_for_title(page, "双碳进展总览")  # and round again
    assert signed_in(page)
    assert page.locator("[data-testid='stException']").count() == 0
