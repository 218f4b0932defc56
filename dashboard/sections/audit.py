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
common.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    column_config=common.columns(shown),
)
common.offer_tables(t("审计日志", "audit log"), {t("审计日志", "audit log"): shown})
