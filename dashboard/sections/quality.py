"""数据质量 Data quality: completeness by enterprise and month, refused rows, connector health."""

import pandas as pd
import streamlit as st

from carbon import fields, views
from carbon.errors import CarbonError
from dashboard import common, labels
from dashboard import format as fmt
from dashboard.common import t

v = common.require_login(staff_page=True)
lang = common.lang()
year, _ = common.year_and_basis()
engine = common.engine()
st.title(t("数据质量", "Data quality"))
common.demo_banner()
try:
    with st.spinner(t("正在检查数据完整度……", "Checking completeness…")):
        cov = views.completeness(engine, v, year)
        health = views.connector_health(engine, v)
        history = views.uploads(engine, v)
except CarbonError as exc:
    common.show_error(exc)

months = [c for c in cov.columns if isinstance(c, int)]
complete = (cov[months] >= 0.999).all(axis=1)
c = st.columns(4)
c[0].metric(t("企业数", "enterprises"), len(cov))
c[1].metric(t(f"{year}年数据完整的企业", f"complete for {year}"), int(complete.sum()))
c[2].metric(t("有被拒绝行的上报", "uploads with refused rows"), int((history["rows_rejected"] > 0).sum()))
c[3].metric(
    t("异常的数据接入", "unhealthy connectors"), int((~health["healthy"].astype(bool)).sum()) if len(health) else 0
)

st.markdown(
    "#### "
    + t(
        f"{year}年逐月数据完整度（计量表覆盖时间比例）",
        f"Monthly completeness {year} (share of time covered by meters)",
    )
)
incomplete_only = st.toggle(t("只看不完整的企业", "incomplete only"), value=True, key="q_incomplete")
shown = cov.loc[~complete] if incomplete_only else cov
labels_by_month = {m: fmt.month(pd.Timestamp(year=year, month=m, day=1), lang) for m in months}
common.dataframe(
    shown.rename(columns=labels_by_month),
    hide_index=True,
    width="stretch",
    column_config={
        **common.columns(["uscc", "name"]),
        **{
            label: st.column_config.ProgressColumn(label, min_value=0.0, max_value=1.0, format="percent")
            for label in labels_by_month.values()
        },
    },
)

st.markdown("#### " + t("被拒绝的行", "Refused rows"))
bad = history.loc[history["rows_rejected"] > 0]
common.dataframe(common.uploads_table(bad), column_config=common.columns(bad))
common.show_batch(v, bad["batch_id"].tolist(), "q")

st.markdown("#### " + t("数据接入状态", "Connector health"))
if health.empty:
    st.info(t("尚未配置数据接入。", "No connectors have run yet."))
else:
    view = health[
        [
            "name",
            "kind",
            "healthy",
            "last_success_at",
            "last_error_at",
            "last_error",
            "consecutive_failures",
            "lag_seconds",
            "readings_stored",
            "quarantined",
        ]
    ].copy()
    never = t("从未", "never")
    for col in ("last_success_at", "last_error_at"):  # Beijing time; a connector that never did it says so
        when = pd.to_datetime(view[col], utc=True).dt.tz_convert("Asia/Shanghai")
        view[col] = when.map(lambda w: never if pd.isna(w) else f"{w:%Y-%m-%d %H:%M:%S}")
    view["kind"] = view["kind"].map(lambda k: labels.code("connector_kind", k, lang))
    view["last_error"] = view["last_error"].map(lambda e: labels.EMPTY if labels.missing(e) else str(e))
    view["healthy"] = view["healthy"].astype(bool).map({True: t("正常", "healthy"), False: t("异常", "unhealthy")})
    common.dataframe(
        view,
        column_config={
            **common.columns(view),
            **{
                col: st.column_config.TextColumn(fields.label(col, lang), help=fields.description(col, lang))
                for col in ("last_success_at", "last_error_at")
            },
        },
    )
common.offer_tables(
    t("数据质量", "data quality"),
    {
        t("完整度", "completeness"): cov,
        t("被拒绝的上报", "refused uploads"): common.uploads_table(bad),
        t("数据接入", "connectors"): health,
    },
)
