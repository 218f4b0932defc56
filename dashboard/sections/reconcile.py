"""对账 Reconciliation: the regional inventory (top-down) against the monitored enterprises (bottom-up), the grid's
figures against the enterprises' own, and the sites that count in another jurisdiction."""

import pandas as pd
import streamlit as st

from carbon import views
from carbon.errors import CarbonError
from dashboard import charts, common, labels
from dashboard import format as fmt
from dashboard.common import t

v = common.require_login(staff_page=True)
lang = common.lang()
year, basis = common.year_and_basis()
engine = common.engine()
st.title(t("对账", "Reconciliation"))
common.demo_banner()
try:
    with st.spinner(t("正在比对清单、企业与电网数据……", "Comparing the inventory, the enterprises and the grid…")):
        rec = views.reconciliation(engine, v, year, basis)
        grid = views.grid_agreement(engine, v, year)
        sites = views.cross_sites(engine, v, year, basis)
except CarbonError as exc:
    common.show_error(exc)


def sector_text(sector: str, remainder: bool = False) -> str:
    return views.sector_label(sector, lang, remainder=bool(remainder))


def readable_lines(df: pd.DataFrame) -> pd.DataFrame:
    """Coverage lines as a person reads them: jurisdiction, sector and carrier by name."""
    named = df.assign(
        region=df["region"].map(lambda r: labels.region(r, lang)),
        sector=[sector_text(s, r) for s, r in zip(df["sector"], df["remainder"], strict=True)],
        carrier=df["carrier"].map(lambda c: labels.carrier(c, lang)),
    )
    return named.drop(columns=["remainder"]).rename(columns={"sector": "inventory_sector"})


def alert_text(a: dict) -> str:
    """An alert in one line: where, the figures, and the enterprises that moved most (names are untrusted text)."""
    tonnes = lambda x: fmt.tonnes_co2e(x, lang)  # noqa: E731
    where = f"{labels.region(a['region'], lang)} · {sector_text(a['sector'])} · {labels.carrier(a['carrier'], lang)}"
    new = t("新进入该行", "new in the line")
    movers = t("；", "; ").join(
        f"{m['name'] or m['enterprise_uscc']}{t('（', ' (')}{new + t('，', ', ') if m['new'] else ''}"
        f"{tonnes(m['change_tco2e'])}{t('）', ')')}"
        for m in a["movers"]
    )
    return t(
        f"{where}：清单 {tonnes(a['inventory_tco2e'])}，监测企业 {tonnes(a['monitored_tco2e'])}，覆盖率 "
        f"{fmt.percent(a['coverage_emissions'])}（历史 {fmt.percent(a['historical_coverage'])}），差额 "
        f"{tonnes(a['gap_tco2e'])}。较上年变化最大的企业：{movers or '无'}",
        f"{where}: inventory {tonnes(a['inventory_tco2e'])}, monitored enterprises {tonnes(a['monitored_tco2e'])}, "
        f"coverage {fmt.percent(a['coverage_emissions'])} (history {fmt.percent(a['historical_coverage'])}), gap "
        f"{tonnes(a['gap_tco2e'])}. Enterprises that moved most against the year before: {movers or 'none'}",
    )


coverage_tab, alerts_tab, grid_tab, sites_tab = st.tabs(
    [
        t("覆盖率", "Coverage"),
        t(f"自上而下与自下而上（{len(rec['alerts'])}条预警）", f"Top-down vs bottom-up ({len(rec['alerts'])} alerts)"),
        t(
            f"电网数据比对（{len(grid['discrepancies'])}个不一致账期）",
            f"Grid data ({len(grid['discrepancies'])} discrepancies)",
        ),
        t(f"跨区域厂区（{len(sites)}）", f"Sites across jurisdictions ({len(sites)})"),
    ]
)

with coverage_tab:
    st.caption(
        t(
            "覆盖率 = 计入该辖区、行业和能源品种的监测企业核算结果 ÷ 地区清单的终端消费（电力按全社会用电量），"
            "同一口径与因子。企业按其GB/T 4754行业计入统计公布的最细一级行业；厂区在其他辖区的，计入厂区所在辖区。"
            "清单无此行时无覆盖率（无数据），不是0。",
            "Coverage = the monitored enterprises' results counted in the jurisdiction, sector and carrier ÷ the "
            "regional inventory's final use (electricity: whole-society use), on the same basis and factors. An "
            "enterprise counts in the finest sector the statistics publish for its GB/T 4754 industry; a site in "
            "another jurisdiction counts where it is. Without an inventory line there is no coverage (no data), not 0.",
        )
    )
    totals = rec["totals"]
    if totals.empty:
        st.info(
            t(
                "尚无地区能源统计数据：无法计算覆盖率。请用 carbon stats import 导入统计数据。",
                "No regional energy statistics yet: coverage cannot be computed. Import them with carbon stats import.",
            )
        )
    else:
        shown = totals.assign(region=totals["region"].map(lambda r: labels.region(r, lang)))
        common.dataframe(shown, column_config=common.columns(shown))
        now = rec["sectors"].loc[rec["sectors"]["year"] == year]
        if len(now):
            st.markdown("#### " + t(f"{year}年分行业排放覆盖率", f"Coverage of emissions by sector, {year}"))
            st.altair_chart(
                charts.coverage_bars(
                    now.assign(
                        label=now["sector"].map(sector_text),
                        region_label=now["region"].map(lambda r: labels.region(r, lang)),
                    ),
                    lang,
                ),
                width="stretch",
            )
        st.markdown("#### " + t(f"{year}年分行业、能源品种", f"By sector and carrier, {year}"))
        lines = readable_lines(rec["coverage"].loc[rec["coverage"]["year"] == year])
        common.dataframe(lines, column_config=common.columns(lines))

with alerts_tab:
    if not rec["alerts"]:
        st.success(
            t(
                f"{year}年没有预警：监测企业之和未超过清单，覆盖率也未较历史明显下降。",
                f"No alerts for {year}: no sum of enterprises above its inventory line, no coverage well below its "
                "history.",
            )
        )
    for a in rec["alerts"]:
        st.markdown(f"**{labels.code('coverage_alert', a['kind'], lang)}**")
        (st.error if a["kind"] == "exceeds" else st.warning)(fmt.plain(alert_text(a)))

with grid_tab:
    relative, floor = views.grid_tolerance()
    st.caption(
        t(
            "按户号和账期（抄表日期之间）并列供电单位结算电量、企业上报电量与物联网计量电量（均按时间折算到账期）；"
            f"差额超过允许偏差（电网电量的{relative:.0%}与{floor:,.0f} kWh中较大者，项目默认值）的账期列为不一致。",
            "Per utility account and billing period (between meter-reading dates): the utility's settled energy, the "
            "enterprise's uploads and its IoT meters side by side (each prorated to the period by time); periods "
            f"differing by more than the tolerance (the larger of {relative:.0%} of the utility's figure and "
            f"{floor:,.0f} kWh, a project default) are discrepancies.",
        )
    )
    common.grid_discrepancies(grid)
    agree = common.grid_table(grid["enterprises"])
    if len(agree):
        st.markdown("#### " + t("各企业一致率", "Agreement by enterprise"))
        common.dataframe(agree, column_config=common.columns(agree))

with sites_tab:
    st.caption(
        t(
            "登记在一个辖区、在另一辖区有厂区的企业：厂区的排放按厂区所在辖区及其省份的排放因子计入该辖区。",
            "Enterprises registered in one jurisdiction with a site in another: a site's emissions count in the "
            "site's jurisdiction, at its province's factors.",
        )
    )
    shown_sites = sites.assign(
        registered_region_id=sites["registered_region_id"].map(lambda r: labels.region(r, lang)),
        site_region_id=sites["site_region_id"].map(lambda r: labels.region(r, lang)),
    )
    common.dataframe(shown_sites, column_config=common.columns(shown_sites))

common.offer_tables(
    t("对账", "reconciliation"),
    {
        t("覆盖率", "coverage"): readable_lines(rec["coverage"]),
        t("预警", "alerts"): pd.DataFrame(
            [{"alert_kind": a["kind"], "alert": alert_text(a)} for a in rec["alerts"]], columns=["alert_kind", "alert"]
        ),
        t("电网不一致", "grid discrepancies"): grid["discrepancies"],
        t("跨区域厂区", "sites"): sites,
    },
)
