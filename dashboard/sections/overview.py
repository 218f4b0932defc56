"""总览 Overview: headline figures against the targets, trend with target path and peak band, splits."""

import pandas as pd
import streamlit as st

from carbon import fields
from carbon.errors import CarbonError
from dashboard import charts, common, labels, sources
from dashboard import format as fmt
from dashboard.common import t

v = common.require_login(staff_page=True)
lang = common.lang()
year, basis = common.year_and_basis()
st.title(t("双碳进展总览", "Dual-carbon overview"))
common.demo_banner()
region = common.region_selector(v)
try:
    with st.spinner(t("正在汇总……", "Computing…")):
        o = common.remembered("overview", v, region, year, basis, cache=common.cube_cache())
except CarbonError as exc:
    common.show_error(exc)
h = o["headline"]
# one scale for the page's emissions: the headline figure, the years of the trend and the jurisdictions
scale = charts.emissions_scale(
    [h["emissions_tco2e"], *o["annual"]["emissions_tco2e"], *o["by_region"]["emissions_tco2e"]], lang
)
st.subheader(f"{labels.region(region, lang)} · {fmt.year(year, lang)}")
common.basis_caption(basis, o["as_of"])
c = st.columns(4)
c[0].metric(
    fields.label("emissions_tco2e", lang),
    scale.text(h["emissions_tco2e"]),
    fmt.percent(h["emissions_change_yoy"]),
    delta_color="inverse",
    help=fields.description("emissions_tco2e", lang),
)
c[1].metric(
    fields.label("energy_tce", lang), fmt.tce(h["energy_tce"], lang), help=fields.description("energy_tce", lang)
)
for col, name in zip(c[2:], ("carbon_intensity_tco2e_per_10k_cny", "energy_intensity_tce_per_10k_cny"), strict=True):
    col.metric(fields.title(name, lang), fmt.number(h[name], fields.digits(name)), help=fields.description(name, lang))
if h["emissions_tco2e"] is None:
    st.info(
        t(
            "无数据：本区域本年度没有任何企业的活动数据，因此不显示排放量、强度和进度（无数据不是零排放）。",
            "No data: no enterprise in this region has activity data for the year, so no emissions, intensity or "
            "progress is shown (no data is not zero emissions).",
        )
    )
c = st.columns(4)
for col, name in zip(c[:2], ("electricity_share_of_energy", "green_share_of_electricity"), strict=True):
    col.metric(fields.label(name, lang), fmt.percent(h[name]), help=fields.description(name, lang))
c[2].metric(fields.label("key_emitter_count", lang), f"{h['key_emitter_count']}")
peak = o["peak"]
c[3].metric(
    t("达峰判断", "peak"),
    labels.pick(labels.STATUS[peak.status], lang) + (f" {peak.peak_year}" if peak.peak_year else ""),
)

st.markdown("#### " + t("目标进度", "Progress against targets"))
for tg in h["targets"]:
    status = labels.pick(labels.STATUS[tg["status"]], lang)
    name = fields.label(tg["indicator"], lang)
    where, by, base, cut = labels.target_region(tg["region"], lang), tg["target_year"], tg["base_year"], tg["reduction"]
    text = t(f"{where}：{by}年{name}较{base}年下降{cut:.0%}", f"{where}: {name} −{cut:.0%} by {by} vs {base}")
    cols = st.columns([3, 4, 2])
    cols[0].markdown(f"**{text}**")
    cols[0].caption(sources.caption(tg, lang))
    if tg["achieved"] is None:
        cols[1].progress(0.0, text=t("基年无数据", "no base-year data"))
    else:
        share = max(0.0, min(tg["achieved"] / tg["reduction"], 1.0)) if tg["reduction"] else 1.0
        cols[1].progress(
            share,
            text=t(
                f"已下降 {fmt.percent(tg['achieved'])}，按进度应下降 {fmt.percent(tg['expected'])}",
                f"achieved {fmt.percent(tg['achieved'])}, expected by now {fmt.percent(tg['expected'])}",
            ),
        )
    cols[2].markdown(f"**{status}**")

left, right = st.columns(2)
with left:
    st.markdown("#### " + t("排放趋势与达峰预测（10–90%区间）", "Emissions trend and peak projection (10–90 % band)"))
    full_years = o["annual"].loc[o["annual"]["months_with_results"] == 12]
    st.altair_chart(charts.trend(full_years, peak.projection, lang, scale), width="stretch")
with right:
    st.markdown("#### " + t("碳排放强度与目标路径", "Carbon intensity and target path"))
    path_names = {
        tg["id"]: t(
            f"{labels.target_region(tg['region'], 'zh')}目标路径", f"{labels.target_region(tg['region'], 'en')} path"
        )
        for tg in h["targets"]
    }
    paths = o["target_paths"].assign(target=o["target_paths"]["target"].map(path_names))
    intensity = "carbon_intensity_tco2e_per_10k_cny"
    st.altair_chart(charts.intensity_path(o["annual"], paths, intensity, lang), width="stretch")

left, right = st.columns(2)
by_region = o["by_region"].assign(name=lambda d: d["region"].map(lambda r: labels.region(r, lang)))
by_sector = o["by_sector"].assign(name=lambda d: d["sector"].map(lambda s: labels.sector(s, lang)))
with left:
    st.markdown("#### " + t("分区县排放", "Emissions by jurisdiction"))
    st.altair_chart(charts.share_bars(by_region, "name", "emissions_tco2e", lang, scale, "region"), width="stretch")
with right:
    st.markdown("#### " + t("分行业排放", "Emissions by sector"))
    st.altair_chart(
        charts.share_bars(
            by_sector.dropna(subset=["emissions_tco2e"]), "name", "emissions_tco2e", lang, scale, "sector_zh"
        ),
        width="stretch",
    )
    if by_sector["suppressed"].any():
        st.caption(
            t(
                "少于3家企业的行业数据已隐去，以免泄露单个企业。",
                "Sectors with fewer than 3 enterprises are hidden to protect single enterprises.",
            )
        )
common.offer_tables(
    t("总览", "overview"),
    {
        t("年度排放", "annual"): o["annual"],
        t("分区县", "by jurisdiction"): o["by_region"],
        t("分行业", "by sector"): o["by_sector"],
        t("目标进度", "targets"): pd.DataFrame(h["targets"]),
    },
)
