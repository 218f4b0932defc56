"""审计日志 Audit log: sign-ins, uploads, confirmations and exports (staff; jurisdiction staff see their own)."""

import pandas as pd
import streamlit as st

from carbon import views
from carbon.errors import CarbonError
from dashboard import common
from dashboard.common import t

v = common.require_login(staff_page=True)
st.title(t("审计日志", "Audit log"))
try:
    log = views.audit_log(common.engine(), v)
except CarbonError as exc:
    common.show_error(exc)
actions = sorted(log["action"].unique())
chosen = st.multiselect(t("操作类型", "actions"), actions, key="au_actions", placeholder=t("全部", "all"))
shown = log.loc[log["action"].isin(chosen)] if chosen else log
shown = shown.assign(at=pd.to_datetime(shown["at"], utc=True).dt.tz_convert("Asia/Shanghai"))
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    column_config={
        "at": st.column_config.DatetimeColumn(t("时间（北京时间）", "time (Beijing)"), format="YYYY-MM-DD HH:mm:ss"),
        "username": t("用户", "user"),
        "role": t("角色", "role"),
        "region": t("区县", "jurisdiction"),
        "enterprise": t("企业", "enterprise"),
        "action": t("操作", "action"),
        "detail": t("详情", "detail"),
    },
)
common.offer_tables(t("审计日志", "audit log"), {t("审计日志", "audit log"): shown})
