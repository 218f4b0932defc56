"""Attack suite, untrusted text in the dashboard: enterprise names, upload file names and cell values carrying
Markdown, HTML, ``javascript:`` links and remote images are shown as plain text on every page, for every role, and
the browser requests nothing outside the dashboard's own server."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from carbon import db
from carbon.enterprises import add_enterprise
from carbon.intake import receive_files
from carbon.users import add_user
from tests.chromium import MARKS
from tests.helpers import uscc, write_template
from tests.test_dashboard_browser import (
    ENTERPRISE_PAGES,
    PAGES,
    new_page,
    no_exception,
    open_page,
    serving,
    sign_in,
)
from tests.zone_fixture import PASSWORD, build

pytestmark = MARKS

REMOTE = "198.51.100.7"  # TEST-NET-2: never a real host; any request to it is the attack working
HOSTILE_NAME = (
    f"![logo](http://{REMOTE}/name.png) <img src='http://{REMOTE}/html.png'> "
    f"[点此](javascript:alert(1)) :red[**青浦**] $x^2$ 有限公司"
)
# no "/" (a path separator, dropped when stored); browsers read "\\" in an http URL as "/"
HOSTILE_FILE = f"![f](http:\\\\{REMOTE}\\file.png)<img src=http:\\\\{REMOTE}\\f.png>.csv"
HOSTILE_CELL = f"![c](http://{REMOTE}/cell.png)"
CODE = uscc(77, "310118")


@pytest.fixture(scope="module")
def hostile_zone(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("hostile")
    url = build(f"sqlite:///{folder / 'zone.db'}", folder)
    engine = db.make_engine(url)
    add_enterprise(engine, code=CODE, name=HOSTILE_NAME, region="qingpu", industry="2614")
    add_user(engine, "ent-x", PASSWORD, "enterprise", enterprise=CODE)
    path = write_template(
        folder / "hostile.csv",
        [
            "E-01,电力,2024-01-01,2024-02-01,1000,kWh",
            f"{HOSTILE_CELL},电力,2024-02-01,2024-03-01,1000,kWh",
            f"E-01,电力,2024-03-01,2024-04-01,{HOSTILE_CELL},kWh",
        ],
    )
    # as the dashboard receives it: the browser sends the file name, which may hold anything
    receive_files(engine, [(HOSTILE_FILE, path.read_bytes())], CODE, actor="ent-x", accept_valid=True)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def hostile_url(hostile_zone: str):
    with serving(hostile_zone) as url:
        yield url


@pytest.mark.parametrize(
    ("user", "pages"),
    [("zone1", list(PAGES)), ("qp-staff", list(PAGES)), ("wj-staff", list(PAGES)), ("ent-x", ENTERPRISE_PAGES)],
)
def test_hostile_text_is_shown_as_written_and_fetches_nothing(browser, hostile_url, user, pages):
    server = urlsplit(hostile_url).netloc
    with new_page(browser) as page:
        outside: list[str] = []
        page.on(
            "request",
            lambda r: (
                outside.append(r.url)
                if urlsplit(r.url).scheme not in ("data", "blob") and urlsplit(r.url).netloc != server
                else None
            ),
        )
        sees_it = user in ("zone1", "qp-staff", "ent-x")
        sign_in(page, hostile_url, user, f"/enterprises?uscc={CODE}" if sees_it else "/")
        no_exception(page)
        if sees_it:  # its own page: the name as written, in the heading
            heading = page.locator("h3").filter(has_text="有限公司").first
            assert heading.inner_text().strip().startswith("![logo](http://"), heading.inner_text()
        for title in pages:
            open_page(page, title)
            no_exception(page)
            assert page.locator(f"img[src*='{REMOTE}']").count() == 0, title
            assert page.locator("a[href^='javascript:']").count() == 0, title
        assert not outside, outside


def test_plain_keeps_text_and_disarms_markdown():
    from dashboard.format import plain

    assert plain("青浦甲化工有限公司") == "青浦甲化工有限公司"
    escaped = plain(HOSTILE_NAME)
    assert not re.search(r"(?<!\\)[!-/:-@\[\]^_`{-~]", escaped)  # every mark but the backslash is escaped
    assert escaped.replace("\\", "") == " ".join(HOSTILE_NAME.split())
    assert plain("a\nb\r\n# c") == "a b \\# c"  # one line: no heading or list can start


def test_the_hostile_fixture_is_what_the_attack_needs(hostile_zone):
    """The names and files really are stored as written (a test that cannot fail is a defect)."""
    from carbon import views
    from carbon.access import Viewer

    engine = db.make_engine(hostile_zone)
    ents = views.visible_enterprises(engine, Viewer("z", "zone")).set_index("uscc")
    assert ents.loc[CODE, "name"] == HOSTILE_NAME.strip()
    uploads = views.uploads(engine, Viewer("z", "zone"), CODE)
    assert HOSTILE_FILE in set(uploads.astype(str).stack())
