"""What a person reads on the dashboard: the language chosen is kept for the session, and no page shows a raw code,
a Python value (None, nan, NaT, {}, [...]) or a UTC time, for any role, in either language (AppTest, real database).
"""

from __future__ import annotations

import pytest

from carbon import db
from tests.test_dashboard_app import open_page, sign_in
from tests.zone_fixture import build


@pytest.fixture(scope="module")
def zone_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    url = build(f"sqlite:///{folder / 'zone.db'}", folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARBON_DATABASE_URL", url)
        engine = db.make_engine(url)
        yield engine
        engine.dispose()


def test_the_language_chosen_is_kept_across_pages(zone_db):
    """English chosen on the overview stays English on every page opened next, with the data year chosen kept;
    Chinese chosen again stays Chinese."""
    at = sign_in("zone1")
    assert at.title[0].value == "双碳进展总览"
    at.selectbox(key="year_zh").select(2023).run()
    at.radio(key="lang").set_value("en").run()
    assert at.title[0].value == "Dual-carbon overview"
    for page, title in (("quality", "Data quality"), ("factors", "Emission factor library"), ("audit", "Audit log")):
        at = open_page(at, page)
        assert at.title[0].value == title
        assert at.radio(key="lang").value == "en"
        if page != "audit":  # the audit log has no year
            assert at.selectbox(key="year_en").value == 2023
            assert at.selectbox(key="year_en").options == ["2024", "2023", "2020"]
    at.radio(key="lang").set_value("zh").run()
    assert at.title[0].value == "审计日志"
    at = open_page(at, "overview")
    assert at.title[0].value == "双碳进展总览" and at.radio(key="lang").value == "zh"
