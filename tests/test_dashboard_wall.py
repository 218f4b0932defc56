"""The wall-screen mode (大屏): a display account sees the wall and nothing else, changes and exports nothing, and its
session does not end after the interactive idle time.  Streamlit's AppTest against a real database, and the wall's
URL parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from carbon import audit, db, views
from carbon.access import Viewer
from carbon.models import UserAccount
from carbon.users import DISPLAY_SESSION_MAX, SESSION_IDLE, add_user
from dashboard import format as fmt
from dashboard import wallscreen
from tests.zone_fixture import ENTERPRISES, PASSWORD, build

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
ZONE = Viewer("zone1", "zone")
WALL_QP = Viewer("wall-qp", "display", region="qingpu")
WALL_ZONE = Viewer("wall-zone", "display", region="zone")
YEAR = 2024


@pytest.fixture(scope="module")
def zone_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wall")
    url = build(f"sqlite:///{folder / 'zone.db'}", folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARBON_DATABASE_URL", url)
        yield db.make_engine(url)


def sign_in(username: str, page: str | None = None, **params: str) -> AppTest:
    """A new session on ``page`` (the default page if None) with URL ``params``, signed in as ``username``."""
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(f"sections/{page}.py").run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in (at.markdown, at.title, at.subheader, at.caption, at.error, at.info) for e in kind]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def test_a_display_account_sees_the_wall_with_the_overview_figures_of_its_scope(zone_db):
    at = sign_in("wall-qp")
    assert at.title[0].value == "双碳进展总览 · 上海市青浦区 · 2024年"
    expected = views.overview(zone_db, WALL_QP, "qingpu", YEAR)["headline"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["碳排放量"] == fmt.tonnes_co2e(expected["emissions_tco2e"])
    assert metrics["综合能耗"] == fmt.tce(expected["energy_tce"])
    assert expected["emissions_tco2e"] > 0
    page = texts(at)
    assert "核算口径：基于位置" in page and "北京时间" in page and "每 300 秒刷新" in page  # the project default
    assert not at.dataframe and not at.get("download_button")  # aggregates only, nothing to download
    for code, (name, _, _) in ENTERPRISES.items():
        assert code not in page and name not in page
    log = audit.audit_log(zone_db, ZONE)
    sign_ins = log.loc[(log["username"] == "wall-qp") & (log["action"] == "login")]
    assert sign_ins.iloc[0][["role", "region"]].tolist() == ["display", "qingpu"]


def test_a_display_account_signing_in_on_another_page_lands_on_the_wall_with_its_parameters(zone_db):
    at = sign_in("wall-zone", "upload", refresh="60", rotate="regions,overview")
    assert at.title[0].value == "三地对比 · 长三角生态绿色一体化发展示范区 · 2024年"
    assert "每 60 秒刷新" in texts(at) and "第 1/2 页" in texts(at)
    assert at.query_params["rotate"] == "regions,overview"


@pytest.mark.parametrize("page", ["overview", "upload", "export", "enterprises", "quality", "audit", "factors"])
def test_a_display_account_cannot_open_any_other_page(zone_db, page):
    at = sign_in("wall-zone")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(f"sections/{page}.py")


def test_the_wall_turns_its_chosen_pages_at_each_refresh(zone_db):
    at = sign_in("wall-zone", rotate="overview,targets,regions,quality")
    titles = [at.title[0].value]
    for _ in range(4):
        at.run()  # what the wall's timer does (AppTest reruns the whole page, the timer only the wall's part)
        titles.append(at.title[0].value)
    assert [t.split(" · ")[0] for t in titles] == ["双碳进展总览", "目标进度", "三地对比", "数据完整度", "双碳进展总览"]
    assert "viewer" in at.session_state
    at.run()
    assert "绿电占用电比重" in {m.label for m in at.metric} and "达峰判断：" in texts(at)  # the targets page
    at.run()
    regions = [m.value for m in at.metric if m.label == "碳排放量"]
    expected = views.compare_regions(zone_db, WALL_ZONE, YEAR)["figures"]
    assert regions == [fmt.tonnes_co2e(x) for x in expected["emissions_tco2e"]]
    at.run()
    summary = views.completeness_summary(zone_db, WALL_ZONE, YEAR)
    registered = [m.value for m in at.metric if m.label == "登记企业数"]
    assert registered == [str(n) for n in summary["registered_enterprises"]]


def test_bad_wall_parameters_fall_back_to_the_defaults_and_say_why(zone_db):
    at = sign_in("wall-zone", refresh="1", rotate="overview,<b>nope</b>")
    page = texts(at)
    assert "每 300 秒刷新" in page and "刷新间隔须为 5 至 3600 之间的整数秒" in page
    assert "未知的页面 \\<b\\>nope" in page  # escaped: shown as typed, never as markup


def test_a_display_session_does_not_expire_after_the_interactive_idle_time(zone_db):
    at = sign_in("wall-zone")
    at.session_state["last_seen"] = datetime.now(UTC) - SESSION_IDLE - timedelta(days=2)
    at.session_state["login_at"] = datetime.now(UTC) - timedelta(days=3)
    at.run()
    assert "viewer" in at.session_state and at.metric
    assert not any("登录已过期" in i.value for i in at.info)


def test_a_display_session_ends_at_its_absolute_limit_and_when_the_account_is_disabled(zone_db):
    at = sign_in("wall-qp")
    at.session_state["login_at"] = datetime.now(UTC) - DISPLAY_SESSION_MAX
    at.run()
    assert "viewer" not in at.session_state and any("登录已过期" in i.value for i in at.info)
    log = audit.audit_log(zone_db, ZONE)
    assert log.iloc[0][["username", "action"]].tolist() == ["wall-qp", "session_expired"]
    assert log.iloc[0]["detail"] == {"state": "expired"}

    add_user(zone_db, "wall-off", PASSWORD, "display", region="zone")
    at = sign_in("wall-off")
    with zone_db.begin() as conn:
        conn.execute(update(UserAccount).where(UserAccount.username == "wall-off").values(disabled=True))
    at.run()
    assert "viewer" not in at.session_state and not at.metric
    assert audit.audit_log(zone_db, ZONE).iloc[0]["detail"] == {"state": "disabled"}


def test_wall_parameters():
    assert wallscreen.refresh_seconds(None).value == int(wallscreen.settings()["refresh_seconds"]) == 300
    assert wallscreen.refresh_seconds(" 60 ") == wallscreen.Choice(60)
    for bad in ("4", "3601", "1e3", "-60", "60.5", "abc"):
        choice = wallscreen.refresh_seconds(bad)
        assert choice.value == 300 and "5 至 3600" in choice.note[0] and "5 to 3600" in choice.note[1]
    assert wallscreen.rotation(None) == wallscreen.Choice(["overview"])
    assert wallscreen.rotation("Regions, overview,regions") == wallscreen.Choice(["regions", "overview"])
    bad = wallscreen.rotation("nope,,")
    assert bad.value == ["overview"] and "nope" in bad.note[0]
    assert [wallscreen.page_at(["a", "b", "c"], n) for n in range(5)] == ["a", "b", "c", "a", "b"]
