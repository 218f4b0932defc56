"""目标与预警 Targets and alerts: targets with sources and progress, enterprises behind their path, missing data."""

import streamlit as st

from carbon.errors import CarbonError
from dashboard import common, labels
from dashboard import format as fmt
from dashboard.common import t

v = common.require_login(staff_page=True)
lang = common.lang()
year, basis = common.year_and_basis()
engine = common.engine()
st.title(t("目标与预警", "Targets and alerts"))
common.demo_banner()
region = common.region_selector(v, key="tg_region")
try:
    with st.spinner(t("正在检查目标进度……", "Checking progress…")):
        a = common.remembered("alerts", v, region, year, basis)
except CarbonError as exc:
    common.show_error(exc)
common.basis_caption(basis, a["as_of"])

st.markdown("#### " + t("适用的目标（含出处）", "Applicable targets, with sources"))
targets = a["targets"].assign(
    status_text=a["targets"]["status"].map(lambda s: labels.pick(labels.STATUS[s], lang)),
    where=a["targets"]["region"].map(lambda r: labels.target_region(r, lang)),
    indicator=a["targets"]["indicator"].map(lambda i: labels.pick(labels.INDICATOR[i], lang)),
)
st.dataframe(
    targets[
        [
            "where",
            "indicator",
            "base_year",
            "target_year",
            "reduction",
            "achieved",
            "expected",
            "needed_per_year",
            "status_text",
            "source",
            "source_url",
        ]
    ],
    hide_index=True,
    width="stretch",
    column_config={
        "where": t("范围", "scope"),
        "indicator": t("指标", "indicator"),
        "base_year": st.column_config.NumberColumn(t("基年", "base year"), format="%d"),
        "target_year": st.column_config.NumberColumn(t("目标年", "target year"), format="%d"),
        "reduction": st.column_config.NumberColumn(t("目标降幅", "target cut"), format="percent"),
        "achieved": st.column_config.NumberColumn(t("已实现降幅", "achieved"), format="percent"),
        "expected": st.column_config.NumberColumn(t("按进度应降", "expected by now"), format="percent"),
        "needed_per_year": st.column_config.NumberColumn(t("此后每年需降", "needed per year"), format="percent"),
        "status_text": t("状态", "status"),
        "source": t("出处", "source"),
        "source_url": st.column_config.LinkColumn(t("链接", "link")),
    },
)

st.markdown("#### " + t("强度下降落后于目标路径的企业", "Enterprises behind the target path"))
used = a["targets"].set_index("id").loc[a["target_used"]] if a["target_used"] else None
if used is not None:
    where = labels.target_region(used["region"], lang)
    st.caption(
        t(
            f"按{where}“{used['target_year']}年碳排放强度较{used['base_year']}年下降{used['reduction']:.0%}”的直线路径，"
            "比较企业自身碳排放强度（吨CO₂e/万元增加值）较基年的降幅。",
            f"Each enterprise's own carbon intensity (t CO₂e per 10⁴ CNY value added) against the straight path of "
            f"{where}'s target: −{used['reduction']:.0%} by {used['target_year']} vs {used['base_year']}.",
        )
    )
behind = a["behind"].assign(
    status_text=a["behind"]["status"].map(lambda s: labels.pick(labels.STATUS[s], lang)),
    region=a["behind"]["region_id"].map(lambda r: labels.region(r, lang)),
)
st.dataframe(
    behind[["uscc", "name", "region", "achieved", "expected", "status_text"]],
    hide_index=True,
    width="stretch",
    column_config={
        **common.enterprise_columns(),
        "status_text": t("状态", "status"),
        "achieved": st.column_config.NumberColumn(t("已实现降幅", "achieved"), format="percent"),
        "expected": st.column_config.NumberColumn(t("应实现降幅", "expected"), format="percent"),
    },
)
st.markdown("#### " + t(f"{fmt.year(year, 'zh')}缺报月份", f"Missing submissions in {year}"))
st.dataframe(
    a["missing"],
    hide_index=True,
    width="stretch",
    column_config={
        **common.enterprise_columns(),
        "missing_months": t("无数据的月份", "months without data"),
    },
)
common.offer_tables(
    t("目标与预警", "targets and alerts"),
    {t("目标", "targets"): a["targets"], t("落后企业", "behind"): a["behind"], t("缺报", "missing"): a["missing"]},
)
