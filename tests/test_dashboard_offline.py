"""Offline: the dashboard fetches nothing from outside its own server and still renders fully, in headless Chromium.

Every request of the browser context goes through a route: one to a host other than the dashboard's own server
(127.0.0.1 or localhost) is recorded and aborted, as a machine with no network would fail it.  Zone staff sign in and
walk every page and an enterprise's detail page; then no outside request may have been attempted, none of the
server's own files may have failed, and the icons must be drawn by the Material Symbols font the server itself
served (a missing font shows each icon as its ligature name, e.g. "monitoring", several times wider than a glyph).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.chromium import MARKS
from tests.test_dashboard_browser import (  # noqa: F401  (fixtures)
    PAGES,
    new_page,
    no_exception,
    open_page,
    serving,
    sign_in,
    zone,
)
from tests.zone_fixture import A

pytestmark = MARKS

LOCAL = {"127.0.0.1", "localhost"}
FILES = ("document", "script", "stylesheet", "font", "image", "media")  # what a page is drawn from
ICON_FONT = "Material Symbols Rounded"  # Streamlit's icon font, bundled in its static files
# The sidebar's icons: their font family, how wide each is against its font size, and the state of every
# face of the icon font the page declares (``loaded`` once the browser has it).
ICONS = """(family) => {
    const icons = [...document.querySelectorAll("[data-testid='stSidebarNav'] [data-testid='stIconMaterial']")];
    return {
        icons: icons.map(i => ({
            text: i.textContent,
            family: getComputedStyle(i).fontFamily,
            ems: i.getBoundingClientRect().width / parseFloat(getComputedStyle(i).fontSize),
        })),
        faces: [...document.fonts].filter(f => f.family.replaceAll('"', '') === family).map(f => f.status),
    };
}"""


class Traffic:
    """What the page asked for: requests to outside hosts (aborted), the server's own files that failed, and the
    fonts it served."""

    def __init__(self) -> None:
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.fonts: list[str] = []

    def route(self, route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOCAL:
            self.outside.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    def response(self, response) -> None:
        # (not the API: opening /enterprises?... Streamlit probes /enterprises/_stcore/health for a base path, 404)
        if response.status >= 400 and response.request.resource_type in FILES:
            self.failed.append(f"{response.status} {response.url}")
        elif urlsplit(response.url).path.endswith((".woff2", ".woff", ".ttf")):
            self.fonts.append(response.url)

    def websocket(self, ws) -> None:
        if urlsplit(ws.url).hostname not in LOCAL:
            self.outside.append(ws.url)


@pytest.fixture(scope="module")
def base_url(zone: str):  # noqa: F811
    with serving(zone) as url:
        yield url


def test_every_page_renders_with_no_network(browser, base_url):
    traffic = Traffic()
    with new_page(browser) as page:
        page.context.route("**/*", traffic.route)
        page.on("response", traffic.response)
        page.on("websocket", traffic.websocket)
        sign_in(page, base_url, "zone1")
        shown = []
        for title in PAGES:
            open_page(page, title)
            no_exception(page)
            shown.append(title)
        sign_in(page, base_url, "zone1", f"/enterprises?uscc={A}")  # a new session, on an enterprise's own page
        no_exception(page)
        page.wait_for_function("(family) => document.fonts.check(`24px '${family}'`)", arg=ICON_FONT)
        drawn = page.evaluate(ICONS, ICON_FONT)
    assert shown == list(PAGES)
    assert not traffic.outside, traffic.outside
    assert not traffic.failed, traffic.failed
    # the icon font came from the dashboard's own server, was loaded, and draws every sidebar icon as one glyph
    assert any("MaterialSymbols" in urlsplit(f).path for f in traffic.fonts), traffic.fonts
    assert drawn["faces"] and set(drawn["faces"]) == {"loaded"}, drawn["faces"]
    assert len(drawn["icons"]) == len(PAGES), drawn["icons"]
    for icon in drawn["icons"]:
        assert icon["family"].replace('"', "").startswith(ICON_FONT), icon
        assert icon["ems"] < 1.5, icon  # a glyph is one em wide; the ligature name as text would be several
