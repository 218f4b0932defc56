"""大屏 Wall screen: the overview's figures for a display account (role ``display``), large enough to read across a
room at 1920x1080, read again every ``?refresh=`` seconds and, with ``?rotate=overview,targets,regions,quality``,
turning to the next chosen page at each refresh (``dashboard.wallscreen``).

The refresh reruns only the part of the page in ``st.fragment(run_every=...)``, inside the same browser session,
so the wall stays signed in: a full reload of the browser tab would start a new session and ask to sign in again.
Only aggregates are shown (no enterprise is named); nothing here changes or exports data.
"""

from datetime import UTC, datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from carbon import fields, views
from carbon.access import Viewer
from carbon.errors import CarbonError
from dashboard import charts, common, labels, wallscreen
from dashboard import format as fmt
from dashboard.common import t

# Large type; no sidebar (the language is chosen on the sign-in page, and reloading the tab signs out), no toolbar,
# no fading of the figures while they are read again.  Scoped to this page: the rules are only on the page while
# the wall runs.  System fonts only: nothing is fetched.
WALL_CSS = """
<style>
header[data-testid="stHeader"] { background: transparent; }
[data-testid="stToolbar"], [data-testid="stStatusWidget"], [data-testid="stDecoration"],
[data-testid="stHeaderActionElements"], [data-testid="stElementToolbar"] { display: none; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"] {
  display: none; }
[data-testid="stMainBlockContainer"] { padding: 1.2rem 2.5rem 1rem 2.5rem; max-width: 100%; }
[data-testid="stMainBlockContainer"] p { font-size: 1.5rem; }
[data-testid="stMainBlockContainer"] h1 { font-size: 3rem; padding: 0 0 0.3rem 0; }
[data-testid="stMainBlockContainer"] h3 { font-size: 2rem; }
[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"] p { font-size: 1.4rem !important; }
[data-testid="stMainBlockContainer"] [data-testid="stMetricLabel"] p { font-size: 1.5rem; }
[data-testid="stMainBlockContainer"] [data-testid="stMetricValue"] p { font-size: 3.2rem; font-weight: 700;
  line-height: 1.2; }
[data-testid="stMainBlockContainer"] [data-testid="stMetricDelta"] p { font-size: 1.6rem !important; }
[data-stale="true"], .stale-element { opacity: 1 !important; transition: none !important; }
</style>
"""
CHART_FONT = 22  # px: axis labels and titles of the wall's charts
INTENSITIES = tuple(views.MONITORED_INTENSITY.values())
INK = "#263238"  # their colour: darker than the dashboard's grey, for reading from afar


def big(chart: alt.TopLevelMixin, height: int) -> alt.TopLevelMixin:
    """A dashboard chart drawn for the wall: ``height`` px, large axis and legend text."""
    return (
        chart.properties(height=height)
        .configure_axis(
            labelFontSize=CHART_FONT, titleFontSize=CHART_FONT, labelLimit=360, labelColor=INK, titleColor=INK
        )
        .configure_legend(labelFontSize=CHART_FONT, titleFontSize=CHART_FONT, labelLimit=480, labelColor=INK)
    )


def change(share: float | None) -> str | None:
    """The change on the year before as a metric's delta (``-3.2%``), none without one (no arrow for no data)."""
    text = fmt.percent(share)
    return None if text == "—" else text


def headline_metrics(h: dict, scale: charts.Scale, lang: str) -> None:
    """Emissions (with the change on the year before), energy and the two intensities, as on the overview."""
    c = st.columns(4)
    c[0].metric(
        fields.label("emissions_tco2e", lang),
        scale.text(h["emissions_tco2e"]),
        change(h["emissions_change_yoy"]),
        delta_color="inverse",
    )
    c[1].metric(fields.label("energy_tce", lang), fmt.tce(h["energy_tce"], lang))
    for col, name in zip(c[2:], INTENSITIES, strict=True):
        col.metric(fields.title(name, lang), fmt.number(h[name], fields.digits(name)))
    if h["emissions_tco2e"] is None:
        st.info(
            t(
                "无数据：本区域本年度没有任何企业的活动数据（无数据不是零排放）。",
                "No data: no enterprise in this region has activity data for the year (no data is not zero).",
            )
        )
    st.caption(
        t(
            f"统计口径：{h['enterprises']}家监测企业，不是本区域排放总量；强度为监测企业排放（能耗）÷ 其增加值；"
            f"同比为两年都有结果的{h['emissions_change_yoy_enterprises']}家企业。",
            f"Coverage: {h['enterprises']} monitored enterprises, not the region's total; intensity is their "
            "emissions (energy use) over their own value added; the change on the year compares the "
            f"{h['emissions_change_yoy_enterprises']} enterprises with results in both years.",
        )
    )


def show_overview(o: dict, lang: str) -> None:
    """Headline figures, the trend with the peak projection, and the splits by jurisdiction and sector."""
    h = o["headline"]
    scale = charts.emissions_scale(
        [h["emissions_tco2e"], *o["annual"]["emissions_tco2e"], *o["by_region"]["emissions_tco2e"]], lang
    )
    headline_metrics(h, scale, lang)
    left, middle, right = st.columns([5, 4, 4])
    with left:
        st.markdown("### " + t("排放趋势与达峰预测", "Emissions trend and peak projection"))
        full_years = o["annual"].loc[o["annual"]["months_with_results"] == 12]
        st.altair_chart(big(charts.trend(full_years, o["peak"].projection, lang, scale), 540), width="stretch")
    by_region = o["by_region"].assign(name=lambda d: d["region"].map(lambda r: labels.region(r, lang)))
    by_sector = o["by_sector"].assign(name=lambda d: d["sector"].map(lambda s: labels.sector(s, lang)))
    with middle:
        st.markdown("### " + t("分区县排放", "Emissions by jurisdiction"))
        st.altair_chart(
            big(charts.share_bars(by_region, "name", "emissions_tco2e", lang, scale, "region"), 540), width="stretch"
        )
    with right:
        st.markdown("### " + t("分行业排放", "Emissions by sector"))
        shown = by_sector.dropna(subset=["emissions_tco2e"])
        if len(shown):
            st.altair_chart(
                big(charts.share_bars(shown, "name", "emissions_tco2e", lang, scale, "sector_zh"), 540), width="stretch"
            )
        if by_sector["suppressed"].any():
            st.caption(
                t(
                    "企业少于3家的行业已隐去，以免泄露单个企业。",
                    "Sectors with fewer than 3 enterprises are hidden to protect single enterprises.",
                )
            )


def show_targets(o: dict, lang: str) -> None:
    """Progress against every applicable target, the shares of electricity and green power, and the peak."""
    h, peak = o["headline"], o["peak"]
    c = st.columns(3)
    for col, name in zip(c[:2], ("electricity_share_of_energy", "green_share_of_electricity"), strict=True):
        col.metric(fields.label(name, lang), fmt.percent(h[name]))
    c[2].metric(fields.label("key_emitter_count", lang), fmt.number(h["key_emitter_count"], 0))
    status = labels.pick(labels.STATUS[peak.status], lang) + (f" {peak.peak_year}" if peak.peak_year else "")
    st.markdown(f"### {t('达峰判断：', 'Peak: ')}{status}")  # a sentence, too long for a metric's one line
    for tg in h["targets"]:
        cols = st.columns([6, 4, 3])
        cols[0].markdown(f"**{fmt.plain(views.target_title(tg['id'], lang))}**")
        cols[1].markdown(
            t(
                f"按路径应较{tg['base_year']}年下降 {fmt.percent(tg['expected'])}",
                f"path expects {fmt.percent(tg['expected'])} below {tg['base_year']}",
            )
        )
        cols[2].markdown(f"**{views.target_state(tg['status'], tg.get('reason'), lang)}**")
    if h["targets"]:
        st.caption(
            t(
                "地区目标按地区温室气体清单评估，无地区能源统计数据时无法评估；监测企业数据只覆盖地区排放的一部分。",
                "Regional targets are assessed on the regional inventory and cannot be without regional energy "
                "statistics; monitored enterprises cover only part of the region's emissions.",
            )
        )
    if not h["targets"]:
        st.info(t("本区域没有适用的目标。", "No target applies to this region."))


def show_regions(table: pd.DataFrame, lang: str) -> None:
    """The three jurisdictions side by side: their totals and intensities (aggregates only)."""
    scale = charts.emissions_scale(table["emissions_tco2e"], lang)
    for col, row in zip(st.columns(len(table)), table.itertuples(), strict=True):
        with col:
            st.markdown(f"### {labels.region(row.region, lang)}")
            st.metric(
                fields.label("emissions_tco2e", lang),
                scale.text(row.emissions_tco2e),
                change(row.emissions_change_yoy),
                delta_color="inverse",
            )
            st.metric(fields.label("energy_tce", lang), fmt.tce(row.energy_tce, lang))
            for name in INTENSITIES:
                st.metric(fields.title(name, lang), fmt.number(getattr(row, name), fields.digits(name)))


def show_quality(summary: pd.DataFrame, year: int, lang: str) -> None:
    """Per jurisdiction of the account's scope: enterprises registered and complete, average completeness by month."""
    cols = st.columns(max(len(summary), 1))
    for col, row in zip(cols, summary.itertuples(), strict=False):
        with col:
            st.markdown(f"### {labels.region(row.region, lang)}")
            st.metric(fields.label("registered_enterprises", lang), f"{row.registered_enterprises}")
            st.metric(fields.label("complete_enterprises", lang), f"{row.complete_enterprises}")
    months = [m for m in summary.columns if isinstance(m, int)]
    data = summary.melt(id_vars="region", value_vars=months, var_name="month", value_name="share").dropna()
    data["name"] = data["region"].map(lambda r: labels.region(r, lang))
    st.markdown("### " + t(f"{year}年逐月平均数据完整度", f"Average completeness by month, {year}"))
    chart = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=120), strokeWidth=4)
        .encode(
            x=alt.X("month:O", title=fields.label("month", lang), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("share:Q", title=fields.label("average_completeness", lang), axis=alt.Axis(format="%")),
            color=alt.Color("name:N", title=None, legend=alt.Legend(orient="top")),
        )
    )
    st.altair_chart(big(chart, 460), width="stretch")


def show(v: Viewer, pages: list[str], refresh: int, notes: list[tuple[str, str]]) -> None:
    """One turn of the wall: check the session, pick the page of this turn, read its figures, draw them."""
    common.end_if_expired(v)
    turn = st.session_state.get("wall_turn", -1) + 1
    st.session_state["wall_turn"] = turn
    name = wallscreen.page_at(pages, turn)
    lang = common.lang()
    engine = common.engine()
    region = v.region or "zone"
    basis = next(iter(labels.BASIS))
    year = views.default_year(engine, basis, cache=common.cube_cache())
    st.title(
        f"{labels.pick(wallscreen.PAGES[name], lang)} · {labels.region(region, lang)}"
        + (f" · {fmt.year(year, lang)}" if year else "")
    )
    now = pd.Timestamp(datetime.now(UTC)).tz_convert("Asia/Shanghai")
    at, of = turn % len(pages) + 1, len(pages)
    st.caption(
        t(
            f"更新于 {now:%H:%M:%S}（北京时间）· 每 {refresh} 秒刷新",
            f"updated {now:%H:%M:%S} (Beijing time) · every {refresh} s",
        )
        + (t(f" · 第 {at}/{of} 页", f" · page {at} of {of}") if of > 1 else "")
    )
    for zh, en in notes:
        st.caption(fmt.plain(t(zh, en)))
    if views.simulated(engine, v):
        common.simulated_warning()
    if year is None:
        st.info(t("尚无核算结果：数据上报后这里显示数字。", "No results yet: figures appear once data are reported."))
        return
    try:
        if name in ("overview", "targets"):
            o = common.remembered("overview", v, region, year, basis, cache=common.cube_cache())
            common.basis_caption(basis, o["as_of"])
            (show_overview if name == "overview" else show_targets)(o, lang)
        elif name == "regions":
            table = common.remembered("compare_regions", v, year, basis)["figures"]
            common.basis_caption(basis, views.as_of(engine, basis))
            show_regions(table, lang)
        else:
            show_quality(common.remembered("completeness_summary", v, year), year, lang)
    except CarbonError as exc:
        common.show_error(exc)


v = common.require_login()
st.markdown(WALL_CSS, unsafe_allow_html=True)
refresh = wallscreen.refresh_seconds(st.query_params.get("refresh"))
rotation = wallscreen.rotation(st.query_params.get("rotate"))
notes = [n for n in (refresh.note, rotation.note) if n]
st.fragment(run_every=timedelta(seconds=refresh.value))(show)(v, rotation.value, refresh.value, notes)
