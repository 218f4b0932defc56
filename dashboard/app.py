"""Entry point of the dashboard (``carbon dashboard`` runs ``streamlit run`` on this file).

Every page asks for sign-in first (so a link to any page works); then the pages the user's role may open.
The access rules themselves are enforced in ``carbon.views``; the page list only spares users links that
would be refused.
"""

from __future__ import annotations

import streamlit as st
from PIL import Image, ImageDraw

from dashboard import common
from dashboard.common import t


def favicon() -> Image.Image:
    """The tab icon, drawn here: a Material-icon favicon would be fetched from a font CDN by every browser."""
    icon = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(icon).ellipse((4, 4, 60, 60), fill=(46, 125, 50, 255))
    return icon


st.set_page_config(page_title="示范区双碳监测 / YRD zone carbon", page_icon=favicon(), layout="wide")


def page(file: str, zh: str, en: str, icon: str) -> st.Page:
    return st.Page(common.PAGES / f"{file}.py", title=t(zh, en), icon=icon, url_path=file)


viewer = common.viewer()
staff = [
    page("overview", "总览", "Overview", ":material/monitoring:"),
    page("regions", "区域对比", "Regions", ":material/compare_arrows:"),
    page("enterprises", "企业", "Enterprises", ":material/factory:"),
    page("upload", "数据上报", "Upload", ":material/upload_file:"),
    page("quality", "数据质量", "Data quality", ":material/fact_check:"),
    page("reconcile", "对账", "Reconciliation", ":material/balance:"),
    page("factors", "排放因子", "Factors", ":material/menu_book:"),
    page("targets", "目标与预警", "Targets and alerts", ":material/flag:"),
    page("reporting", "年度报送", "Annual reporting", ":material/assignment:"),
    page("review", "报送审核", "Review", ":material/rule:"),
    page("export", "导出", "Export", ":material/download:"),
    page("audit", "审计日志", "Audit log", ":material/history:"),
]
enterprise_pages = [p for p in staff if p.url_path in ("enterprises", "upload", "reporting", "factors", "export")]
wall = page("wall", "大屏", "Wall screen", ":material/tv:")
if viewer is None:  # every page signs in first, so a link to any page works
    nav = st.navigation([*staff, wall], position="hidden")
elif viewer.read_only:  # a display account has the wall and nothing else: no upload, export or enterprise page
    nav = st.navigation([wall], position="hidden")
else:
    nav = st.navigation(staff if viewer.is_staff else enterprise_pages)
nav.run()
