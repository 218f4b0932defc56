"""数据质量 Data quality: completeness by enterprise and month, refused rows, connector health."""

import math

import pandas as pd
import streamlit as st

from carbon import codes, fields, views
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
        basis = views.completeness_basis(engine)
        health = views.connector_health(engine, v)
        history = views.uploads(engine, v)
        grid = views.grid_agreement(engine, v, year)
except CarbonError as exc:
    common.show_error(exc)

months = [c for c in cov.columns if isinstance(c, int)]
gaps = cov["completeness_state"].isin(["gaps", "no_data"])
pending = cov["completeness_state"] == "pending"
c = st.columns(5)
c[0].metric(t("企业数", "enterprises"), len(cov))
c[1].metric(t(f"{year}年有数据缺失的企业", f"with data gaps in {year}"), int(gaps.sum()))
c[2].metric(t("账单未到期的企业", "with a bill not yet due"), int(pending.sum()))
c[3].metric(t("有被拒绝行的上报", "uploads with refused rows"), int((history["rows_rejected"] > 0).sum()))
c[4].metric(
    t("异常的数据接入", "unhealthy connectors"), int((~health["healthy"].astype(bool)).sum()) if len(health) else 0
)

st.markdown(
    "#### "
    + t(
        f"{year}年逐月数据完整度（计量表覆盖应报时间的比例）",
        f"Monthly completeness {year} (share of the time data was due that meters cover)",
    )
)
days = f"{basis['bill_overdue_after_days']:g}"
st.caption(
    t(
        f"按各计量表自身的报送周期判断（如每两月抄表一次的燃气账单）：最近一期账单之后、下一期账单到期前的时段为“未到期”，"
        f"不算缺失；下一期账单到期{days}天后仍未报送才算缺失。判断时点：{fmt.as_of(basis['as_of'], lang)}"
        "（已存最新读数的结束时间）。",
        f"Judged by each meter's own reporting cadence (e.g. gas billed every two months): the time after its latest "
        f"bill is 'not yet due' until the next bill is due, not a gap; a bill still missing {days} days after it was "
        f"due is a gap. Judged as of {fmt.as_of(basis['as_of'], lang)} (end of the newest stored reading).",
    )
)


def month_cell(share: float) -> str:
    """A month's covered share of due time as text; "未到期" where nothing was due yet.  Never rounded up to 100%."""
    if share is None or math.isnan(share):
        return codes.label("completeness_state", "pending", lang)
    return "100%" if share >= 1 else f"{math.floor(share * 1000) / 10:.1f}%"


gaps_only = st.toggle(t("只看有缺失的企业", "enterprises with gaps only"), value=True, key="q_incomplete")
table = cov.assign(completeness_state=codes.column(cov["completeness_state"], "completeness_state", lang))
shown = table.loc[gaps] if gaps_only else table
labels_by_month = {m: fmt.month(pd.Timestamp(year=year, month=m, day=1), lang) for m in months}
common.dataframe(
    shown.assign(**{str(m): shown[m].map(month_cell) for m in months})
    .drop(columns=months)
    .rename(columns={str(m): label for m, label in labels_by_month.items()}),
    hide_index=True,
    width="stretch",
    column_config=common.columns(["uscc", "name", "completeness_state"]),
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
            "newest_reading_at",
            "lag_seconds",
            "readings_stored",
            "quarantined",
        ]
    ].copy()
    never = t("从未", "never")
    for col in ("last_success_at", "last_error_at", "newest_reading_at"):  # Beijing time; never done says so
        when = pd.to_datetime(view[col], utc=True).dt.tz_convert("Asia/Shanghai")
        view[col] = when.map(lambda w: never if pd.isna(w) else f"{w:%Y-%m-%d %H:%M:%S}")
    view["kind"] = view["kind"].map(lambda k: labels.code("connector_kind", k, lang))
    view["last_error"] = view["last_error"].map(lambda e: labels.EMPTY if labels.missing(e) else str(e))
    view["healthy"] = view["healthy"].astype(bool).map({True: t("正常", "healthy"), False: t("异常", "unhealthy")})
    view["lag_seconds"] = view["lag_seconds"].map(lambda s: fmt.duration(s, lang))  # 2天3小时, since the newest reading
    text_columns = ("last_success_at", "last_error_at", "newest_reading_at", "lag_seconds")
    common.dataframe(
        view,
        column_config={
            **common.columns(view),
            **{
                col: st.column_config.TextColumn(fields.label(col, lang), help=fields.description(col, lang))
                for col in text_columns
            },
        },
    )
st.markdown("#### " + t(f"{year}年与电网数据比对", f"Grid data against enterprise data, {year}"))
st.caption(
    t(
        "按户号和账期（抄表日期之间）比对供电单位的结算电量与企业上报、物联网计量电量（均按时间折算到账期）。"
        "一致率 = 在允许偏差内的账期 ÷ 能够比对的账期；无数据或数据不完整的账期无法比对，不计为一致。",
        "Per utility account and billing period (between meter-reading dates), the utility's settled energy against "
        "the enterprise's uploads and IoT meters (each prorated to the period by time). Agreement = periods within "
        "the tolerance / periods that could be compared; a period without data or with partial data cannot be "
        "compared and never counts as agreement.",
    )
)
grid_enterprises = common.grid_table(grid["enterprises"])
if grid_enterprises.empty:
    st.info(t("尚无已登记户号的电网账单。", "No grid statements of registered accounts yet."))
else:
    common.dataframe(grid_enterprises, column_config=common.columns(grid_enterprises))
    st.markdown("##### " + t("不一致的账期", "Billing periods with a discrepancy"))
    common.grid_discrepancies(grid)
common.offer_tables(
    t("数据质量", "data quality"),
    {
        t("完整度", "completeness"): table,
        t("被拒绝的上报", "refused uploads"): common.uploads_table(bad),
        t("数据接入", "connectors"): health,
        t("电网比对", "grid agreement"): grid["enterprises"],
        t("电网不一致", "grid discrepancies"): grid["discrepancies"],
    },
)
