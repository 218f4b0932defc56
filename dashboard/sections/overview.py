"""总览 Overview: the monitored enterprises' headline figures, the regional targets as published and their state, trend
with peak band and reference paths, splits."""

import pandas as pd
import streamlit as st

from carbon import fields, views
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
st.caption(
    t(
        f"统计口径：{h['enterprises']}家监测企业的核算结果，不是本区域的排放总量。强度 = 监测企业的碳排放（或综合能耗）"
        f"÷ 同一批企业的增加值（{h['enterprises_with_value_added']}家有增加值数据），不是地区单位GDP强度。"
        f"同比为两年都有结果的{h['emissions_change_yoy_enterprises']}家企业的同口径变化。",
        f"Coverage: the results of {h['enterprises']} monitored enterprises, not the region's total emissions. "
        f"Intensity = the monitored enterprises' emissions (or energy use) ÷ the same enterprises' value added "
        f"({h['enterprises_with_value_added']} with value added), not the region's intensity per unit of GDP. "
        f"The change on the year compares the {h['emissions_change_yoy_enterprises']} enterprises with results in "
        "both years.",
    )
)
c = st.columns(4)
c[0].metric(
    fields.label("emissions_tco2e", lang),
    scale.text(h["emissions_tco2e"]),
    fmt.percent(h["emissions_change_yoy"]),
    delta_color="inverse",
    help=fields.description("emissions_tco2e", lang) + "\n\n" + fields.description("emissions_change_yoy", lang),
)
c[1].metric(
    fields.label("energy_tce", lang), fmt.tce(h["energy_tce"], lang), help=fields.description("energy_tce", lang)
)
MONITORED = tuple(views.MONITORED_INTENSITY.values())  # carbon, then energy intensity
for col, name in zip(c[2:], MONITORED, strict=True):
    col.metric(fields.title(name, lang), fmt.number(h[name], fields.digits(name)), help=fields.description(name, lang))
if h["emissions_tco2e"] is None:
    st.info(
        t(
            "无数据：本区域本年度没有任何企业的活动数据，因此不显示排放量和强度（无数据不是零排放）。",
            "No data: no enterprise in this region has activity data for the year, so no emissions or intensity is "
            "shown (no data is not zero emissions).",
        )
    )
elif h["enterprises_with_value_added"] == 0:
    st.info(
        t(
            "无增加值数据：本年没有监测企业的增加值，因此不显示监测企业强度。",
            "No value added: no monitored enterprise has value added for the year, so no intensity is shown.",
        )
    )
c = st.columns(4)
for col, name in zip(c[:2], ("electricity_share_of_energy", "green_share_of_electricity"), strict=True):
    col.metric(fields.label(name, lang), fmt.percent(h[name]), help=fields.description(name, lang))
c[2].metric(fields.label("key_emitter_count", lang), fmt.number(h["key_emitter_count"], 0))
peak = o["peak"]
c[3].metric(
    t("达峰判断", "peak"),
    labels.pick(labels.STATUS[peak.status], lang) + (f" {peak.peak_year}" if peak.peak_year else ""),
)

st.markdown("#### " + t("适用的地区目标", "Regional targets that apply"))
st.info(
    t(
        "地区目标考核的是全地区单位GDP的能耗和碳排放：有地区能源统计数据时，按地区温室气体清单（能源活动）除以地区生产总值"
        "评估；没有时无法评估，不用监测企业的合计代替。“参考”一栏是监测企业自身单位增加值强度的变化，不能代替地区目标的"
        "完成情况。",
        "Regional targets measure the whole region's energy and emissions per unit of GDP: where regional energy "
        "statistics exist they are assessed on the regional inventory (energy activities) over GDP; where they do "
        "not, the target cannot be assessed, and the monitored enterprises' sums never stand in for it. The "
        "reference is the change of the monitored enterprises' own intensity per value added; it does not stand in "
        "for the region's progress.",
    )
)
if h["inventory_emissions_tco2e"] is not None:
    figures = ("inventory_emissions_tco2e", "inventory_energy_tce", "inventory_carbon_intensity_tco2e_per_10k_cny",
               "inventory_energy_intensity_tce_per_10k_cny")  # fmt: skip
    bands = zip(views.BAND_FIGURES[::2], views.BAND_FIGURES[1::2], strict=True)  # the ends of each one's 95 % band
    for col, name, (low, high) in zip(st.columns(4), figures, bands, strict=True):
        digits = 4 if "intensity" in name else 0
        col.metric(fields.title(name, lang), fmt.number(h[name], digits), help=fields.description(name, lang))
        if h[low] is not None and h[high] is not None:  # no band without a figure
            band = f"{fmt.number(h[low], digits)}–{fmt.number(h[high], digits)}"
            col.caption(t(f"95%区间 {band}", f"95 % band {band}"))
    st.caption(
        t(
            f"地区清单：统计数据{views.statistics_status_label(h['inventory_status'], 'zh')}，批次 "
            f"{', '.join(str(r) for r in h['inventory_releases'])}；电力按当量值折标准煤。",
            f"Regional inventory: statistics {views.statistics_status_label(h['inventory_status'], 'en')}, releases "
            f"{', '.join(str(r) for r in h['inventory_releases'])}; electricity at its equivalent value.",
        )
    )
for tg in h["targets"]:
    status = views.target_state(tg["status"], tg.get("reason"), lang)
    what, base = fields.label(tg["indicator"], lang), tg["base_year"]
    cols = st.columns([4, 4, 3])
    cols[0].markdown(f"**{views.target_title(tg['id'], lang)}**")
    cols[0].caption(sources.caption(tg, lang))
    cols[1].markdown(
        t(
            f"按目标的直线路径，{year}年应较{base}年下降 {fmt.percent(tg['expected'])}",
            f"The straight path expects {fmt.percent(tg['expected'])} below {base} by {year}",
        )
    )
    if tg["monitored_achieved"] is None:
        cols[1].caption(
            t(
                f"参考：无法计算，{base}年和{year}年没有同时有核算结果和增加值的监测企业。",
                f"Reference: none, no monitored enterprise has results and value added in both {base} and {year}.",
            )
        )
    else:
        n = tg["monitored_achieved_enterprises"]
        cols[1].caption(
            t(
                f"参考：同一批{n}家监测企业的单位增加值{what}较{base}年下降 {fmt.percent(tg['monitored_achieved'])}",
                f"Reference: the {what} per value added of the same {n} monitored enterprises is "
                f"{fmt.percent(tg['monitored_achieved'])} below {base}",
            )
        )
    cols[2].markdown(f"**{status}**")
    if tg["intensity"] is not None:
        digits = fields.digits(tg["indicator"])
        cols[2].caption(
            t(
                f"{year}年清单强度 {fmt.number(tg['intensity'], digits)}（较基年变化的95%区间 "
                f"{fmt.number(tg['intensity_lower'], digits)}–{fmt.number(tg['intensity_upper'], digits)}），"
                f"目标路径 {fmt.number(tg['path_intensity'], digits)}；整个区间在路径以下才算达标。",
                f"{year} inventory intensity {fmt.number(tg['intensity'], digits)} (95 % band of the change since "
                f"the base year "
                f"{fmt.number(tg['intensity_lower'], digits)}–{fmt.number(tg['intensity_upper'], digits)}), path "
                f"{fmt.number(tg['path_intensity'], digits)}; on track only when the whole band is at or below it.",
            )
        )

if len(o["inventory_paths"]):
    st.markdown(
        "#### " + t("地区碳排放强度（清单）与目标路径", "Regional carbon intensity (inventory) and target paths")
    )
    inventory_names = {
        tg["id"]: t(
            f"{tg['target_year']}年目标路径 · {views.target_region(tg['region'], 'zh')}",
            f"{tg['target_year']} target path · {views.target_region(tg['region'], 'en')}",
        )
        for tg in h["targets"]
    }
    inventory_paths = o["inventory_paths"].assign(target=o["inventory_paths"]["target"].map(inventory_names))
    st.altair_chart(
        charts.intensity_path(
            o["inventory_annual"],
            inventory_paths,
            "inventory_carbon_intensity_tco2e_per_10k_cny",
            lang,
            band=views.INTENSITY_BAND["inventory_carbon_intensity_tco2e_per_10k_cny"],
        ),
        width="stretch",
    )
    st.caption(
        t(
            "地区清单排放量除以地区生产总值；阴影为95%不确定性区间（统计数据与排放因子的不确定性按"
            "IPCC 2006第1卷第3章方法1合成）；目标路径从基年的清单强度出发按目标降幅直线下降。",
            "The inventory's emissions over GDP; the shade is the 95 % uncertainty band (statistics and emission "
            "factors combined by IPCC 2006 Vol. 1 Ch. 3, Approach 1); each target's path falls in a straight line "
            "from the base year's inventory intensity.",
        )
    )

left, right = st.columns(2)
with left:
    st.markdown("#### " + t("排放趋势与达峰预测（10–90%区间）", "Emissions trend and peak projection (10–90 % band)"))
    full_years = o["annual"].loc[o["annual"]["months_with_results"] == 12]
    st.altair_chart(charts.trend(full_years, peak.projection, lang, scale), width="stretch")
with right:
    st.markdown(
        "#### "
        + t(
            "监测企业碳排放强度与目标降幅（参考路径）",
            "Monitored enterprises' carbon intensity and the targets' rates (reference paths)",
        )
    )
    path_names = {
        tg["id"]: t(
            f"{tg['target_year']}年目标降幅（参考）· {views.target_region(tg['region'], 'zh')}",
            f"{tg['target_year']} target's rate (reference) · {views.target_region(tg['region'], 'en')}",
        )
        for tg in h["targets"]
    }
    paths = o["target_paths"].assign(target=o["target_paths"]["target"].map(path_names))
    st.altair_chart(charts.intensity_path(o["annual"], paths, MONITORED[0], lang), width="stretch")
    st.caption(
        t(
            "参考路径：从监测企业基年强度出发、按地区目标的降幅直线下降；不是地区强度的目标路径。",
            "Reference path: from the monitored enterprises' base-year intensity, falling at the regional target's "
            "rate in a straight line; not the region's own target path.",
        )
    )

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
target_table = pd.DataFrame(
    [
        {
            "target_title": views.target_title(tg["id"], lang),
            "target_status": views.target_state(tg["status"], tg.get("reason"), lang),
            "expected": tg["expected"],
            "monitored_achieved": tg["monitored_achieved"],
            "monitored_achieved_enterprises": tg["monitored_achieved_enterprises"],
            "source": tg["source"],
            "source_url": tg["source_url"],
        }
        for tg in h["targets"]
    ]
)
common.offer_tables(
    t("总览", "overview"),
    {
        t("年度排放", "annual"): o["annual"],
        t("分区县", "by jurisdiction"): o["by_region"],
        t("分行业", "by sector"): o["by_sector"],
        t("目标", "targets"): target_table,
    },
)
