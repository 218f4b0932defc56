"""审计日志 Audit log: sign-ins, uploads, confirmations and exports (staff; jurisdiction staff see their own)."""

import pandas as pd
import streamlit as st

from carbon import fields, views
from carbon.errors import CarbonError
from dashboard import common, labels
from dashboard.common import t

v = common.require_login(staff_page=True)
lang = common.lang()
st.title(t("审计日志", "Audit log"))
try:
    log = views.audit_log(common.engine(), v)
except CarbonError as exc:
    common.show_error(exc)
actions = sorted(log["action"].unique())
chosen = st.multiselect(
    t("操作类型", "actions"),
    actions,
    format_func=lambda a: labels.code("audit_action", a, lang),
    key="au_actions",
    placeholder=t("全部", "all"),
)
events = log.loc[log["action"].isin(chosen)] if chosen else log
# every cell as a person reads it: labels for codes, the detail as a sentence, "—" where an event concerns no
# jurisdiction, enterprise or role (a sign-in attempt under an unknown name, the system)
shown = pd.DataFrame(
    {
        "at": pd.to_datetime(events["at"], utc=True).dt.tz_convert("Asia/Shanghai"),
        "username": events["username"].map(lambda u: labels.actor(str(u), lang)),
        "role": events["role"].map(lambda r: labels.code("role", r, lang)),
        "region": events["region"].map(lambda r: labels.EMPTY if labels.missing(r) else labels.region(r, lang)),
        "enterprise": events["enterprise"].map(lambda e: labels.EMPTY if labels.missing(e) else str(e)),
        "action": events["action"].map(lambda a: labels.code("audit_action", a, lang)),
        "detail": [labels.audit_detail(a, d, lang) for a, d in zip(events["action"], events["detail"], strict=True)],
    }
)
empty = t("“—”：该事件不涉及", "“—”: the event concerns no ")
common.dataframe(
    shown,
    column_config={
        **common.columns(shown),
        "region": st.column_config.TextColumn(
            fields.label("region_id", lang),
            help=f"{fields.description('region_id', lang)} {empty}{t('区县', 'jurisdiction')}",
        ),
        "enterprise": st.column_config.TextColumn(
            fields.label("enterprise", lang),
            help=f"{fields.description('enterprise', lang)} {empty}{t('企业', 'enterprise')}",
        ),
    },
)
common.offer_tables(t("审计日志", "audit log"), {t("审计日志", "audit log"): shown})
