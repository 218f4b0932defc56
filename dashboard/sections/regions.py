"""区域对比 Regions: the three jurisdictions side by side (monitored enterprises), their targets family by family, and
the LMDI change decomposition as a waterfall."""

import pandas as pd
import streamlit as st

from carbon import fields, views
from carbon.errors import CarbonError
from dashboard import charts, common, labels
from dashboard import format as fmt
from dashboard.common import t

v = common.require_login(staff_page=True)
lang = common.lang()
year, basis = common.year_and_basis()
st.title(t("区域对比", "Jurisdictions compared"))
common.demo_banner()
engine = common.engine()
try:
    with st.spinner(t("正在汇总三地数据……", "Computing the three jurisdictions…")):
        table = common.remembered("compare_regions", v, year, basis)
except CarbonError as exc:
    common.show_error(exc)
figures, targets = table["figures"], table["targets"]
common.basis_caption(basis, views.as_of(engine, basis))
st.caption(
    t(
        "统计口径：各区县监测企业的核算结果，不是区县排放总量；"
        "强度 = 监测企业的碳排放（或综合能耗）÷ 同一批企业的增加值。",
        "Coverage: each jurisdiction's monitored enterprises, not its total emissions; intensity = the monitored "
        "enterprises' emissions (or energy use) ÷ the same enterprises' value added.",
    )
)
MONITORED = views.MONITORED_INTENSITY
# one scale for the page, from the jurisdictions' emissions: their metrics and the waterfall below
scale = charts.emissions_scale(figures["emissions_tco2e"], lang)
cols = st.columns(3)
for col, row in zip(cols, figures.itertuples(), strict=True):
    with col:
        st.markdown(f"### {labels.region(row.region, lang)}")
        st.caption(
            t(
                f"{row.enterprises}家监测企业，其中{row.enterprises_with_value_added}家有增加值数据，"
                f"同比比较两年都有结果的{row.emissions_change_yoy_enterprises}家",
                f"{row.enterprises} monitored enterprises, {row.enterprises_with_value_added} with value added; the "
                f"change on the year compares the {row.emissions_change_yoy_enterprises} with results in both years",
            )
        )
        st.metric(
            fields.label("emissions_tco2e", lang),
            scale.text(row.emissions_tco2e),
            fmt.percent(row.emissions_change_yoy),
            delta_color="inverse",
        )
        st.metric(fields.label("energy_tce", lang), fmt.tce(row.energy_tce, lang))
        for name in MONITORED.values():
            st.metric(fields.title(name, lang), fmt.number(getattr(row, name), fields.digits(name)))
        st.metric(fields.label("green_share_of_electricity", lang), fmt.percent(row.green_share_of_electricity))

st.markdown("#### " + t("各区县适用的目标：同一指标、同一目标年并列", "Targets side by side: one indicator and year"))
st.info(
    t(
        "每个区县取自身、所在省市或全国的目标（按原文表述）。这些都是地区目标，考核全地区单位GDP的能耗或碳排放，"
        "按地区温室气体清单除以地区生产总值评估；没有地区能源统计数据的区县“无法评估”，不用监测企业的合计代替。"
        "参考列是监测企业自身单位增加值强度较基年的降幅，不是目标完成情况。",
        "Each jurisdiction's own target, else its province's, else the national one, as published. They are "
        "regional targets on the whole region's energy or emissions per unit of GDP, assessed on the regional "
        "inventory over GDP; a jurisdiction without regional energy statistics cannot be assessed, and the monitored "
        "enterprises' sums never stand in. The reference columns are the monitored enterprises' own intensity per "
        "value added and its fall since the base year, not progress against the target.",
    )
)
shown = {}
for (indicator, by), family in targets.groupby(["indicator", "target_year"], sort=False):
    title = views.family_title(indicator, int(by), lang)
    st.markdown("##### " + title)
    monitored = MONITORED[indicator]
    own = figures.set_index("region")[monitored]
    rows = pd.DataFrame(
        {
            "region": family["region"].map(lambda r: labels.region(r, lang)),
            "target_title": family["target"].map(lambda i: views.target_title(i, lang)),
            "target_status": [
                views.target_state(s, r, lang) for s, r in zip(family["target_status"], family["reason"], strict=True)
            ],
            "expected": family["expected"],
            monitored: family["region"].map(own),
            "monitored_achieved": family["monitored_achieved"],
            "monitored_achieved_enterprises": family["monitored_achieved_enterprises"],
        }
    )
    common.dataframe(rows, column_config=common.columns(rows))
    if family["monitored_achieved"].isna().any():
        base = ", ".join(str(y) for y in sorted(family["base_year"].unique()))
        st.caption(
            t(
                f"参考降幅“无数据”：基年（{base}年）没有监测企业的核算结果和增加值。",
                f'Reference reduction "no data": the base year ({base}) has no results and value added of '
                "monitored enterprises.",
            )
        )
    shown[title] = rows

st.markdown("#### " + t("排放变化因素分解（LMDI）", "What changed emissions (LMDI decomposition)"))
c1, c2 = st.columns([1, 3])
region = common.choice(
    c1.selectbox, t("区域", "region"), ["zone", *figures["region"]], lambda r: labels.region(r, lang), "decomp_region"
)
years = sorted(views.result_years(engine))
earlier = [y for y in years if y < year]
if not earlier:
    st.info(t("需要至少两个年份的数据。", "Needs data for at least two years."))
    st.stop()
base = common.choice(c1.selectbox, t("对比年份", "compared with"), earlier[::-1], lambda y: fmt.year(y, lang), "base")
try:
    with st.spinner(t("正在分解……", "Decomposing…")):
        effects = common.remembered("decomposition", v, region, int(base), year, basis)
except CarbonError as exc:
    common.show_error(exc)
with c2:
    st.altair_chart(charts.waterfall(effects, lang, scale), width="stretch")
st.caption(
    t(
        f"{base}年→{year}年，各因素之和等于总变化 {scale.text(effects['total'], signed=True)}。",
        f"{base} → {year}; the effects add up to the total change of {scale.text(effects['total'], signed=True)}.",
    )
)
common.offer_tables(
    t("区域对比", "regions"),
    {
        t("三地对比", "jurisdictions"): figures.assign(region=figures["region"].map(lambda r: labels.region(r, lang))),
        **shown,
        t("因素分解", "decomposition"): pd.DataFrame(
            {
                "effect": [
                    *(labels.pick(pair, lang) for pair in labels.EFFECTS.values()),
                    t("合计变化", "total change"),
                ],
                "effect_tco2e": [*(effects[k] for k in labels.EFFECTS), effects["total"]],
            }
        ),
    },
)
