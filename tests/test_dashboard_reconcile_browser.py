"""The 对账 page and the overview's uncertainty bands in a real headless Chromium, as Qingpu and zone staff, in both
languages; screenshots ``reconcile-*.png`` and ``overview-bands-*.png`` in ``test-artifacts/screenshots/``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carbon import db
from carbon.intake import settle as settle_owed
from carbon.sites import add_site, assign_meter
from carbon.stats import import_stats
from tests.chromium import MARKS
from tests.test_dashboard_browser import (
    SHOTS,
    frame_with,
    no_exception,
    open_page,
    serving,
    sign_in,
    table,
)
from tests.test_dashboard_reconcile import plant_grid_discrepancy
from tests.test_inventory import SIM, write
from tests.zone_fixture import B, build

pytestmark = MARKS


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard zone with Qingpu's statistics for 2020, 2023 and 2024 (its targets assessed on the inventory,
    with bands) and B's electricity meter on a site in Wujiang."""
    folder = tmp_path_factory.mktemp("reconcile-zone")
    url = build(f"sqlite:///{folder / 'zone.db'}", folder)
    engine = db.make_engine(url)
    rows = [
        f"qingpu,{y},{sector},{carrier},final_use,{value * scale},{unit},最终,{SIM}"
        for y, scale in ((2020, 1.0), (2023, 0.9), (2024, 0.85))
        for sector, carrier, value, unit in (
            ("工业", "天然气", 100, "万立方米"),
            ("工业", "电力", 0.5, "亿千瓦时"),
            ("居民生活", "天然气", 400, "万立方米"),
        )
    ] + [f"qingpu,{y},all,电力,net_import,{v},亿千瓦时,最终,{SIM}" for y, v in ((2020, 2), (2023, 1.8), (2024, 1.7))]
    # A's gas (22.8 万m3 in 2024) above C26's line: an exceeds alert
    rows += [
        f"qingpu,{y},C26,天然气,final_use,{v},万立方米,最终,{SIM}" for y, v in ((2020, 30), (2023, 27), (2024, 20))
    ]
    assert not import_stats(engine, write(folder / "energy.csv", *rows)).errors
    site = add_site(engine, enterprise=B, name="吴江分厂", region="wujiang")
    assign_meter(engine, enterprise=B, meter="E-01", site_id=site.id)
    settle_owed(engine)
    plant_grid_discrepancy(engine)  # C's February 8 % above its upload
    engine.dispose()
    with serving(url) as served:
        yield served


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 2400}, locale="zh-CN")
    context.set_default_timeout(60_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_reconciliation_page_in_the_browser(page, base_url, language):
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, base_url, "zone1", "/reconcile", language=language)
    no_exception(page)
    coverage = "排放覆盖率" if language == "zh" else "coverage of emissions"
    rows = table(frame_with(page, coverage))
    qingpu = "上海市青浦区" if language == "zh" else "Qingpu District, Shanghai"
    assert [r for r in rows if qingpu in r.values()], rows  # Qingpu's coverage, the one with statistics
    page.screenshot(path=SHOTS / f"reconcile-{language}-coverage.png", full_page=True)
    for i, name in enumerate(("alerts", "grid", "sites"), start=1):
        page.get_by_role("tab").nth(i).click()
        page.wait_for_timeout(300)
        no_exception(page)
        page.screenshot(path=SHOTS / f"reconcile-{language}-{name}.png", full_page=True)
    assert page.get_by_text("吴江分厂").count() >= 1  # the sites tab names the site
    alert = "监测企业之和超过清单" if language == "zh" else "monitored enterprises exceed the inventory"
    assert page.get_by_text(alert).count() >= 1


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_overview_draws_the_inventory_band(page, base_url, language):
    SHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, base_url, "qp-staff", language=language)
    page.wait_for_timeout(2000)
    page.screenshot(path=SHOTS / f"overview-bands-{language}.png", full_page=True)
    no_exception(page)
    band = "95%区间" if language == "zh" else "95 % band"
    assert page.get_by_text(band).count() >= 1
    if language == "zh":
        open_page(page, "对账")
        no_exception(page)
