"""The dashboard end to end in a real headless Chromium: sign-in, the overview figures, an enterprise upload from a GBK
file to the enterprise page, refused enterprise details and a screenshot of every page.

One server and one browser serve the whole module; each test opens its own browser context (a new Streamlit session,
so it signs in first).  Screenshots go to ``test-artifacts/screenshots/`` at the repository root.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from carbon import db, views
from carbon.access import Viewer
from dashboard import format as fmt
from dashboard import server, wallscreen
from tests.chromium import MARKS
from tests.helpers import HEADER_ZH
from tests.zone_fixture import ENTERPRISES, PASSWORD, A, C, build

pytestmark = MARKS

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
PAGES = {  # sidebar title -> url path
    "总览": "overview",
    "区域对比": "regions",
    "企业": "enterprises",
    "数据上报": "upload",
    "数据质量": "quality",
    "对账": "reconcile",
    "排放因子": "factors",
    "目标与预警": "targets",
    "年度报送": "reporting",
    "报送审核": "review",
    "导出": "export",
    "审计日志": "audit",
}
ENTERPRISE_PAGES = ["企业", "数据上报", "排放因子", "年度报送", "导出"]
LANGUAGE = {"zh": "中文", "en": "English"}
SIGN_IN = {"zh": ("用户名", "密码", "登录"), "en": ("username", "password", "sign in")}
UPLOAD_NAME = "电表导出-2025.csv"


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("browser-zone")
    return build(f"sqlite:///{folder / 'zone.db'}", folder)


@pytest.fixture(scope="module")
def engine(zone: str):
    eng = db.make_engine(zone)
    yield eng
    eng.dispose()


@contextmanager
def serving(database_url: str) -> Iterator[str]:
    """A dashboard server on a free port; a test fails if it does not start."""
    try:
        with server.running(database_url) as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def base_url(zone: str) -> Iterator[str]:
    with serving(zone) as url:
        yield url


@contextmanager
def new_page(browser):
    """A page in a fresh browser context (its own cookies, so its own Streamlit session)."""
    context = browser.new_context(viewport={"width": 1600, "height": 2400}, locale="zh-CN")
    context.set_default_timeout(60_000)  # the first run of a cold server imports the whole engine
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser):
    with new_page(browser) as pg:
        yield pg


def settle(page) -> None:
    """Wait for the script run just triggered to finish, then for the charts to be drawn."""
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE)
    page.wait_for_function(
        """() => [...document.querySelectorAll("[data-testid='stVegaLiteChart']")]
                 .every(c => c.querySelector('canvas, svg'))"""
    )


def sign_in(page, base_url: str, user: str, path: str = "/", language: str = "zh") -> None:
    """Open ``path`` (a new session, so the sign-in form), choose ``language`` there and sign in; the page reruns
    with its URL kept."""
    page.goto(base_url + path)
    if language == "en":
        page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
        settle(page)
    username, password, button = SIGN_IN[language]
    page.get_by_role("textbox", name=username, exact=True).fill(user)
    page.get_by_role("textbox", name=password, exact=True).fill(PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    page.get_by_role("textbox", name=username, exact=True).wait_for(state="detached")
    settle(page)


def open_page(page, title: str, path: str | None = None) -> None:
    """Follow a sidebar link (same session); ``path`` for an English title."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    path = path or PAGES[title]
    page.wait_for_url(lambda url: urlsplit(url).path in (f"/{path}", "/"))  # "/" for the default page
    settle(page)


def metric(page, label: str) -> str:
    m = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return m.get_by_test_id("stMetricValue").inner_text().strip()


def table(frame) -> list[dict[str, str]]:
    """The rendered rows of an ``st.dataframe``, keyed by column header, from the grid's accessibility table (the
    grid draws on a canvas; the table holds the cells in view, matched to headers by ``aria-colindex``)."""
    return frame.evaluate(
        """f => {
            const heads = {};
            const col = e => e.getAttribute("aria-colindex");
            f.querySelectorAll("[role=columnheader]").forEach(h => heads[col(h)] = h.textContent.trim());
            return [...f.querySelectorAll("tbody [role=row]")].map(r => Object.fromEntries(
                [...r.querySelectorAll("[role=gridcell]")].map(c => [heads[col(c)], c.textContent.trim()])));
        }"""
    )


def frame_with(page, column: str):
    """The ``st.dataframe`` that has a column headed ``column``."""
    frame = page.get_by_test_id("stDataFrame").filter(has=page.locator("[role=columnheader]", has_text=column))
    frame.first.wait_for()
    return frame.first


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar or page selectbox labelled ``label``."""
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, page.locator(
        "[data-testid='stException']"
    ).first.inner_text()


def sidebar_links(page) -> list[str]:
    """The titles of the sidebar navigation links (without their icon names)."""
    return [t.split()[-1] for t in page.get_by_test_id("stSidebarNav").get_by_role("link").all_inner_texts()]


def test_zone_staff_sees_the_overview_figures(page, base_url, engine):
    sign_in(page, base_url, "zone1")
    assert "/overview" in page.url or page.url.rstrip("/") == base_url
    year = max(views.result_years(engine))  # 2024: this test runs before the upload of 2025 data
    assert year == 2024
    expected = views.overview(engine, Viewer("zone1", "zone"), "zone", year)["headline"]["emissions_tco2e"]
    assert metric(page, "碳排放量") == fmt.tonnes_co2e(expected)
    assert fmt.tonnes_co2e(expected).endswith(("万吨CO₂e", "吨CO₂e"))
    assert page.get_by_role("combobox", name="数据年份").input_value() == fmt.year(year)
    assert page.get_by_test_id("stVegaLiteChart").count() == 4
    no_exception(page)


def test_the_language_chosen_stays_when_a_sidebar_link_is_followed(page, base_url):
    sign_in(page, base_url, "zone1")
    page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
    settle(page)
    page.get_by_role("heading", name="Dual-carbon overview").wait_for()
    open_page(page, "Data quality", "quality")
    page.get_by_role("heading", name="Data quality").wait_for()
    assert page.get_by_role("radio", name="English").is_checked()
    assert page.get_by_role("combobox", name="data year").is_visible()  # the sidebar selectors follow
    open_page(page, "Factors", "factors")
    page.get_by_role("heading", name="Emission factor library").wait_for()
    page.get_by_test_id("stSidebar").get_by_text("中文", exact=True).click()
    settle(page)
    page.get_by_role("heading", name="排放因子库").wait_for()
    open_page(page, "总览")
    page.get_by_role("heading", name="双碳进展总览").wait_for()
    no_exception(page)


def monthly_gbk_export() -> bytes:
    rows = [
        "E-09,电力,2025-01-01,2025-02-01,12000,kWh",
        "E-09,电力,2025-02-01,2025-03-01,-300,kWh",
        "E-09,电力,2025-03-01,2025-04-01,11800,kWh",
    ]
    return ("\r\n".join([HEADER_ZH, *rows]) + "\r\n").encode("gbk")


def test_enterprise_uploads_a_gbk_export_and_finds_it_on_its_page(page, base_url, engine):
    sign_in(page, base_url, "ent-a")
    open_page(page, "数据上报")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        {"name": UPLOAD_NAME, "mimeType": "text/csv", "buffer": monthly_gbk_export()}
    )
    page.get_by_test_id("stMetricLabel").get_by_text("有效行数", exact=True).wait_for()  # the upload's rerun has begun
    settle(page)
    no_exception(page)
    issues = table(frame_with(page, "行号"))
    errors = [r for r in issues if r["类别"] == "错误"]
    assert len(errors) == 1, issues
    assert errors[0]["行号"] == "3" and errors[0]["值"] == "-300" and "负" in errors[0]["说明"]
    assert metric(page, "有效行数") == "2" and metric(page, "拒绝行数") == "1"

    page.get_by_role("button", name="确认上报").click()
    page.get_by_test_id("stAlertContentSuccess").get_by_text("上报完成。").wait_for()
    settle(page)
    no_exception(page)

    stored = views.uploads(engine, Viewer("ent-a", "enterprise", enterprise=A), A)
    mine = stored.loc[stored["file_name"] == UPLOAD_NAME]
    assert len(mine) == 1
    assert (int(mine.iloc[0]["rows_accepted"]), int(mine.iloc[0]["rows_rejected"])) == (2, 1)
    assert 2025 in views.result_years(engine)

    open_page(page, "企业")
    choose(page, "数据年份", "2025年")
    no_exception(page)
    assert page.get_by_role("heading", name="2025年逐月排放（按能源品种）").is_visible()
    meters = page.get_by_test_id("stTabs").get_by_test_id("stDataFrame").first
    meters.locator("[role=gridcell]", has_text="E-09").first.wait_for(state="attached")  # the grid's hidden a11y table
    page.get_by_role("tab", name="上报记录").click()
    frame = page.get_by_test_id("stDataFrame").filter(has=page.locator("[role=gridcell]", has_text=UPLOAD_NAME))
    rows = [r for r in table(frame.first) if UPLOAD_NAME in r.values()]
    assert len(rows) == 1, rows
    assert column(rows[0], "accepted", "有效") == "2" and column(rows[0], "rejected", "拒绝") == "1", rows[0]


def column(row: dict[str, str], *words: str) -> str:
    """The value of the first column whose header contains one of ``words`` (English or Chinese headers)."""
    return next(v for k, v in row.items() if any(w in k for w in words))


@pytest.mark.parametrize("path", ["/", "/enterprises"])
def test_enterprise_user_cannot_open_another_enterprise(page, base_url, path):
    name = ENTERPRISES[C][0]
    sign_in(page, base_url, "ent-a", f"{path}?uscc={C}")
    assert "/enterprises" in page.url or page.url.startswith(f"{base_url}/?")
    page.get_by_test_id("stAlert").get_by_text("无权查看该企业的数据").wait_for()
    icon = page.get_by_test_id("stAlert").first.inner_text().split()[0]
    assert icon in ("🔒", "lock"), icon  # Streamlit shows a leading emoji as the alert's icon
    html = page.content()
    assert name not in html
    where = html.find(C)
    assert where < 0, f"the refused enterprise's code is on the page: …{html[max(0, where - 300) : where + 40]}…"
    assert sidebar_links(page) == ENTERPRISE_PAGES
    no_exception(page)


ROLE_PAGES = {  # user -> the sidebar's pages for that role
    "zone1": list(PAGES),
    "qp-staff": list(PAGES),
    "ent-a": ENTERPRISE_PAGES,
}


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("user", list(ROLE_PAGES))
def test_screenshots_of_every_page_as_every_role(page, base_url, user, language):
    """Every page the role's sidebar offers, in the language chosen at sign-in, saved as
    ``test-artifacts/screenshots/<user>-<language>-<page>.png``; none may show an exception."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, base_url, user, language=language)
    nav = page.get_by_test_id("stSidebarNav").get_by_role("link")
    assert nav.count() == len(ROLE_PAGES[user])
    if language == "zh":
        assert sidebar_links(page) == ROLE_PAGES[user]
    broken = {}
    for i in range(nav.count()):
        path = urlsplit(nav.nth(i).get_attribute("href")).path.strip("/")
        nav.nth(i).click()
        page.wait_for_url(lambda url, path=path: urlsplit(url).path in (f"/{path}", "/"))
        path = path or PAGES[ROLE_PAGES[user][0]]  # the role's first page is at "/"
        settle(page)
        assert page.get_by_test_id("stSidebar").get_by_role("radio", name=LANGUAGE[language]).is_checked()
        page.screenshot(path=SHOTS / f"{user}-{language}-{path}.png", full_page=True)
        broken[path] = page.get_by_test_id("stException").all_inner_texts()
    assert not {k: v for k, v in broken.items() if v}, broken


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("wall_page", list(wallscreen.PAGES))
def test_screenshots_of_the_wall(browser, base_url, wall_page, language):
    """Each of the wall's pages at 1920x1080 as the zone's display account, saved as
    ``test-artifacts/screenshots/wall-<language>-<page>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        sign_in(page, base_url, "wall-zone", f"/wall?rotate={wall_page}", language)
        heading = wallscreen.PAGES[wall_page][0 if language == "zh" else 1]
        page.get_by_role("heading", name=heading).first.wait_for()
        settle(page)
        page.screenshot(path=SHOTS / f"wall-{language}-{wall_page}.png")
        assert page.get_by_test_id("stException").count() == 0
    finally:
        context.close()


def test_a_deep_link_to_a_fresh_server_keeps_the_role_navigation(browser, zone):
    """The first session of a newly started server opens a page's URL directly (a bookmark after a restart): the
    page must still run inside ``app.py`` (sign-in, the role's page list, the wide layout)."""
    with serving(zone) as url, new_page(browser) as pg:
        sign_in(pg, url, "ent-a", "/upload")
        assert sidebar_links(pg) == ENTERPRISE_PAGES
        no_exception(pg)
