"""区域对比 Regions: the three jurisdictions side by side and the LMDI change decomposition as a waterfall."""

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
common.basis_caption(basis, views.as_of(engine, basis))
cols = st.columns(3)
for col, row in zip(cols, table.itertuples(), strict=True):
    with col:
        st.markdown(f"### {labels.region(row.region, lang)}")
        st.metric(
            fields.label("emissions_tco2e", lang),
            fmt.tonnes_co2e(row.emissions_tco2e, lang),
            fmt.percent(row.emissions_change_yoy),
            delta_color="inverse",
        )
        st.metric(fields.label("energy_tce", lang), fmt.tce(row.energy_tce, lang))
        for name in ("carbon_intensity_tco2e_per_10k_cny", "energy_intensity_tce_per_10k_cny"):
            st.metric(fields.title(name, lang), fmt.number(getattr(row, name), fields.digits(name)))
        st.metric(fields.label("green_share_of_electricity", lang), fmt.percent(row.green_share_of_electricity))
        if row.target:
            what = fields.label(row.target_indicator, lang)
            st.markdown(
                t("目标状态：", "Target status: ")
                + f"**{labels.pick(labels.STATUS[row.target_status], lang)}**"
                + f"（{labels.target_region(row.target_region, lang)} {what}）"
            )

st.markdown("#### " + t("排放变化因素分解（LMDI）", "What changed emissions (LMDI decomposition)"))
c1, c2 = st.columns([1, 3])
region = common.choice(
    c1.selectbox, t("区域", "region"), ["zone", *table["region"]], lambda r: labels.region(r, lang), "decomp_region"
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
# one scale for the page: the jurisdictions' emissions above and the effects below
scale = charts.emissions_scale([*table["emissions_tco2e"], *effects.values()], lang)
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
        t("三地对比", "jurisdictions"): table,
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
