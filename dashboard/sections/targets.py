"""目标与预警 Targets and alerts: regional targets as published with their sources and state, enterprises behind the
reference path, missing data."""

import pandas as pd
import streamlit as st

from carbon import views
from carbon.errors import CarbonError
from dashboard import common, labels, sources
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

st.markdown("#### " + t("适用的地区目标（按原文，含出处）", "Regional targets that apply, as published, with sources"))
st.caption(
    t(
        "地区目标考核全地区单位GDP的能耗或碳排放，按地区温室气体清单（能源活动）除以地区生产总值评估；没有地区能源统计数据"
        "时无法评估，不用监测企业的合计代替。参考降幅是同一批监测企业单位增加值强度较基年的变化，不是目标完成情况。",
        "Regional targets measure the whole region's energy or emissions per unit of GDP and are assessed on the "
        "regional inventory (energy activities) over GDP; without regional energy statistics they cannot be "
        "assessed, and the monitored enterprises' sums never stand in for it. The reference is how the same "
        "monitored enterprises' intensity per value added fell since the base year, not progress against the "
        "target.",
    )
)
raw = sources.table(a["targets"], lang)
targets = pd.DataFrame(
    {
        "target_title": raw["id"].map(lambda i: views.target_title(i, lang)),
        "target_status": [views.target_state(s, r, lang) for s, r in zip(raw["status"], raw["reason"], strict=True)],
        "expected": raw["expected"],
        "monitored_achieved": raw["monitored_achieved"],
        "monitored_achieved_enterprises": raw["monitored_achieved_enterprises"],
        "source": raw["source"],
        "source_url": raw["source_url"],
    }
)
common.dataframe(targets, column_config={**common.columns(targets), "source_url": sources.link_column(lang)})

st.markdown(
    "#### "
    + t("自身强度下降慢于参考路径的企业", "Enterprises whose own intensity falls slower than the reference path")
)
if a["target_used"]:
    used = raw.set_index("id").loc[a["target_used"]]
    st.caption(
        t(
            f"参考路径：{views.target_title(a['target_used'], 'zh')}。比较各企业自身碳排放强度（吨CO₂e/万元增加值）"
            f"较{used['base_year']}年的降幅与该目标直线路径按进度应降的幅度；状态只表示企业相对这一参考路径的快慢，"
            "不是地区目标的评估。",
            f"Reference path: {views.target_title(a['target_used'], 'en')}. Each enterprise's own carbon intensity "
            f"(t CO₂e per 10⁴ CNY value added) against the reduction the straight path expects since "
            f"{used['base_year']}; the status says only how the enterprise compares with this reference, it does "
            "not assess the regional target.",
        )
    )
behind = a["behind"].assign(
    status=a["behind"]["status"].map(lambda s: labels.pick(labels.STATUS[s], lang)),
    region_id=a["behind"]["region_id"].map(lambda r: labels.region(r, lang)),
)[["uscc", "name", "region_id", "achieved", "expected", "status"]]
common.dataframe(behind, hide_index=True, width="stretch", column_config=common.columns(behind))
st.markdown("#### " + t(f"{fmt.year(year, 'zh')}缺报月份", f"Missing submissions in {year}"))
missing = a["missing"].assign(missing_months=a["missing"]["missing_months"].map(lambda m: labels.months(m, lang)))
common.dataframe(missing, hide_index=True, width="stretch", column_config=common.columns(missing))
common.offer_tables(
    t("目标与预警", "targets and alerts"),
    {
        t("目标", "targets"): sources.export(a["targets"], lang),
        t("落后企业", "behind"): behind,
        t("缺报", "missing"): missing,
    },
)
