"""Entry point of the dashboard (``carbon dashboard`` runs ``streamlit run`` on this file).

Sign-in first; then the pages the user's role may open.  The access rules themselves are enforced in
``carbon.views``; the page list only spares users links that would be refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from carbon import audit
from carbon.users import authenticate
from dashboard import common, labels
from dashboard.common import t

HERE = Path(__file__).parent
st.set_page_config(page_title="示范区双碳监测 / YRD zone carbon", page_icon="🌿", layout="wide")


def login_page() -> None:
    st.title(t("长三角示范区碳排放监测核算平台", "YRD Demonstration Zone carbon monitoring"))
    st.caption(t("青浦 · 吴江 · 嘉善", "Qingpu · Wujiang · Jiashan"))
    if st.session_state.pop("expired", False):
        st.info(t("登录已过期，请重新登录。", "Your session expired; please sign in again."))
    with st.form("login"):
        username = st.text_input(t("用户名", "username"), key="login_username")
        password = st.text_input(t("密码", "password"), type="password", key="login_password")
        submitted = st.form_submit_button(t("登录", "sign in"))
    if submitted:
        v = authenticate(common.engine(), username.strip(), password)
        if v is None:
            st.error(t("用户名或密码错误。", "Wrong username or password."))
            return
        now = datetime.now(UTC)
        st.session_state.update(viewer=v, login_at=now, last_seen=now)
        st.rerun()


def logout() -> None:
    v = common.viewer()
    if v is not None:
        audit.record(common.engine(), v, "logout")
    for key in ("viewer", "login_at", "last_seen", common.EXPORT_KEY, "demo"):
        st.session_state.pop(key, None)


def page(file: str, zh: str, en: str, icon: str) -> st.Page:
    return st.Page(HERE / "pages" / f"{file}.py", title=t(zh, en), icon=icon, url_path=file)


st.sidebar.radio(
    "语言 / Language",
    ["zh", "en"],
    format_func=lambda x: {"zh": "中文", "en": "English"}[x],
    horizontal=True,
    key="lang",
)
viewer = common.viewer()
if viewer is None:
    nav = st.navigation([st.Page(login_page, title=t("登录", "sign in"), icon="🔑", url_path="login")])
else:
    common.require_login()
    staff = [
        page("overview", "总览", "Overview", "📊"),
        page("regions", "区域对比", "Regions", "🗺️"),
    ]
    shared = [
        page("enterprises", "企业", "Enterprises", "🏭"),
        page("upload", "数据上报", "Upload", "📤"),
    ]
    staff_more = [
        page("quality", "数据质量", "Data quality", "🩺"),
        page("factors", "排放因子", "Factors", "📚"),
        page("targets", "目标与预警", "Targets and alerts", "🎯"),
        page("export", "导出", "Export", "💾"),
        page("audit", "审计日志", "Audit log", "📜"),
    ]
    enterprise_more = [page("factors", "排放因子", "Factors", "📚"), page("export", "导出", "Export", "💾")]
    pages = [*staff, *shared, *staff_more] if viewer.is_staff else [*shared, *enterprise_more]
    st.sidebar.markdown(
        f"**{viewer.username}** · {labels.pick(labels.ROLE[viewer.role], common.lang())}"
        + (f" · {labels.region(viewer.region, common.lang())}" if viewer.region else "")
    )
    st.sidebar.button(t("退出登录", "sign out"), on_click=logout)
    nav = st.navigation(pages)
nav.run()
