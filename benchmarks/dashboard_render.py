"""Dashboard render time in a real browser: the 总览 overview page on the full demo zone vs a bare Streamlit app.

Ours: the demo zone (300 simulated enterprises, 2020-2025, ``carbon demo --no-dashboard``) in a temporary SQLite
file, the dashboard started by ``dashboard.server``, headless Chromium signed in as ``zone-demo``.  Baseline, same
run and browser: a bare Streamlit app with the same server settings and two pages, the "总览" one showing one
``st.metric`` and one small ``st.altair_chart``.  A page counts as rendered once its script run has finished and
its metric values and Altair charts are drawn (ours: 8 and 4).

- First render: ours from the click on 登录 (sign-in) until the overview is rendered, the figures computed on a
  freshly started server (cold caches); the baseline from opening the page on a freshly started server.  A first
  render happens once per server, so each is measured ``--firsts`` times (default 3), each time on new servers,
  the two apps taking turns so that both see the same machine.
- Clicks: on the last servers, ``--runs`` clicks on the 总览 sidebar link coming from the 导出 page (same
  session): ours with the figures kept by the dashboard until the data change.

    python benchmarks/dashboard_render.py [--firsts 3] [--runs 5] [--db sqlite:///demo.db]   (--db: a seeded demo)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import streamlit  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from dashboard import server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
USER, PASSWORD = "zone-demo", "demo-password"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
BASELINE_APP = """\
import altair as alt
import pandas as pd
import streamlit as st


def overview():
    st.metric("碳排放总量", "35.73 万吨CO₂e", "-1.3%")
    data = pd.DataFrame({"year": ["2023", "2024", "2025"], "tco2e": [36.2, 35.9, 35.7]})
    st.altair_chart(alt.Chart(data).mark_bar().encode(x="year:O", y="tco2e:Q"), width="stretch")


def export():
    st.title("导出")


st.set_page_config(layout="wide")
st.navigation([st.Page(overview, title="总览"), st.Page(export, title="导出", url_path="export")]).run()
"""
# True once the run has finished and `metrics` metric values and `charts` charts (with their canvas) are shown.
RENDERED = """([metrics, charts]) => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
    const shown = e => e.offsetParent !== null && !e.closest("[data-stale='true']");
    const values = [...document.querySelectorAll("[data-testid='stMetricValue']")].filter(shown);
    const drawn = [...document.querySelectorAll("[data-testid='stVegaLiteChart']")]
        .filter(c => shown(c) && c.querySelector("canvas, svg"));
    return values.length >= metrics && drawn.length >= charts;
}"""


def seed(database_url: str) -> float:
    """``carbon --db URL demo --no-dashboard``; returns the seconds it took."""
    carbon = Path(sys.executable).with_name("carbon")
    cli = [str(carbon)] if carbon.exists() else [sys.executable, "-c", "from carbon.cli import main; main()"]
    t0 = time.perf_counter()
    subprocess.run([*cli, "--db", database_url, "demo", "--no-dashboard"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def rendered(page: Page, metrics: int, charts: int) -> None:
    page.wait_for_function(RENDERED, arg=[metrics, charts], timeout=120_000)


def click_and_time(page: Page, link: str, metrics: int, charts: int) -> float:
    """Seconds from the click on the sidebar link ``link`` until the page is fully rendered."""
    target = page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True)
    t0 = time.perf_counter()
    target.click()
    rendered(page, metrics, charts)
    return time.perf_counter() - t0


def leave(page: Page) -> None:
    """Go to the 导出 page (no metrics, no charts) and wait for its run to finish."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="导出", exact=True).click()
    page.wait_for_url("**/export")
    page.wait_for_timeout(200)
    page.wait_for_selector(IDLE)


def measure(browser: Browser, url: str, runs: int, metrics: int, charts: int, sign_in: bool) -> tuple[float, list]:
    """The first render (after sign-in, or the first page load) and ``runs`` timed clicks on 总览."""
    context = browser.new_context(viewport={"width": 1600, "height": 1200}, locale="zh-CN")
    page = context.new_page()
    try:
        if sign_in:
            page.goto(url)  # 总览 is the default page
            page.get_by_label("用户名").fill(USER)
            page.get_by_label("密码").fill(PASSWORD)
            t0 = time.perf_counter()
            page.get_by_role("button", name="登录").click()
        else:
            t0 = time.perf_counter()
            page.goto(url)
        rendered(page, metrics, charts)
        first = time.perf_counter() - t0
        times = []
        for _ in range(runs):
            leave(page)
            times.append(click_and_time(page, "总览", metrics, charts))
        return first, times
    finally:
        context.close()


def first_renders(browser: Browser, url: str, app: Path, firsts: int, runs: int) -> dict[str, tuple[list, list]]:
    """``firsts`` first renders of each app on new servers, taking turns, and ``runs`` clicks on the last ones:
    {"bare" | "ours": (first render seconds, click seconds)}."""
    out: dict[str, tuple[list, list]] = {"bare": ([], []), "ours": ([], [])}
    for i in range(firsts):
        clicks = runs if i == firsts - 1 else 0
        with server.running(url, app) as base:
            first, times = measure(browser, base, clicks, 1, 1, sign_in=False)
        out["bare"][0].append(first)
        out["bare"][1].extend(times)
        with server.running(url) as ours:
            first, times = measure(browser, ours, clicks, 8, 4, sign_in=True)
        out["ours"][0].append(first)
        out["ours"][1].extend(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firsts", type=int, default=3, help="first renders of each app, each on a new server")
    parser.add_argument("--runs", type=int, default=5, help="timed clicks on 总览 of each app")
    parser.add_argument("--db", help="a database already seeded with `carbon demo` (skips seeding)")
    args = parser.parse_args()
    if args.firsts < 1 or args.runs < 1:
        raise SystemExit("--firsts and --runs must be at least 1")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        url, seeded = args.db, None
        if url is None:
            url = f"sqlite:///{Path(tmp) / 'demo.db'}"
            seeded = seed(url)
        app = Path(tmp) / "bare_app.py"
        app.write_text(BASELINE_APP, encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
            )
            try:
                timed = first_renders(browser, url, app, args.firsts, args.runs)
                version = browser.version
            finally:
                browser.close()
    print(
        f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Streamlit {streamlit.__version__}, Chromium {version} (headless), "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(
        "demo zone: 300 simulated enterprises, 2020-2025, SQLite"
        + (f", seeded in {seeded:.0f} s" if seeded is not None else f" ({args.db})")
    )
    (b_first, b_times), (o_first, o_times) = timed["bare"], timed["ours"]
    b_med, o_med = statistics.median(b_first), statistics.median(o_first)
    print(f"first render, {args.firsts} each on new servers, taking turns (median / min; every one):")
    print(f"  bare app page load (baseline):        {b_med:6.2f} s / {min(b_first):6.2f} s  {fmt(b_first)}")
    print(
        f"  overview after sign-in (cold caches): {o_med:6.2f} s / {min(o_first):6.2f} s  {fmt(o_first)}   "
        f"ratio {o_med / b_med:.2f}x"
    )
    b_med, o_med = statistics.median(b_times), statistics.median(o_times)
    print(f"click 总览 -> page rendered, {args.runs} runs, figures kept until the data change (median / min):")
    print(f"  bare Streamlit app, 1 metric + 1 chart (baseline): {b_med:6.2f} s / {min(b_times):6.2f} s")
    print(
        f"  dashboard overview, 8 metrics + 4 charts:          {o_med:6.2f} s / {min(o_times):6.2f} s   "
        f"ratio {o_med / b_med:.1f}x"
    )


def fmt(times: list[float]) -> str:
    return "[" + ", ".join(f"{t:.2f}" for t in times) + "]"


if __name__ == "__main__":
    main()
