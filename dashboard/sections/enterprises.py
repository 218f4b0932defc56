"""企业 Enterprises: searchable table with grade, key-emitter mark and completeness; a detail view per enterprise,
with its sites (厂区) and their jurisdictions and figures.  Staff of a jurisdiction also see the enterprises
registered elsewhere with a site in theirs, with the figures of those sites only.

The detail view opens from the table or from the URL (``?uscc=...``); the access rules in ``carbon.views`` decide
whether it may be shown.
"""

import pandas as pd
import streamlit as st

from carbon import codes, fields, views
from carbon.errors import CarbonError
from carbon.reporting import verification
from dashboard import charts, common, labels
from dashboard import format as fmt
from dashboard.common import t

v = common.require_login()
lang = common.lang()
year, basis = common.year_and_basis()
engine = common.engine()
st.title(t("企业", "Enterprises"))
common.demo_banner()

try:
    with st.spinner(t("正在读取企业数据……", "Loading enterprises…")):
        table = views.enterprise_table(engine, v, year, basis)
except CarbonError as exc:
    common.show_error(exc)
common.basis_caption(basis, views.as_of(engine, basis))

if v.is_staff:
    query = st.text_input(t("搜索企业名称或统一社会信用代码", "search name or USCC"), key="ent_search")
    shown = table
    if query:
        mask = table["name"].str.contains(query, case=False, regex=False) | table["uscc"].str.contains(
            query.upper(), regex=False
        )
        shown = table.loc[mask]
    display = shown.assign(
        region_id=shown["region_id"].map(lambda r: labels.region(r, lang)),
        sector_zh=shown["division_code"].map(lambda d: labels.division_sector(d, lang)),
        division_name=shown["division_code"].map(lambda d: labels.division(d, lang)),
        key_emitter=shown["key_emitter"].map(lambda k: labels.yes_no(k, lang)),  # no data for the year: 无数据
        sites_only=shown["sites_only"].map(lambda k: labels.yes_no(k, lang)),
    )[
        [
            "uscc",
            "name",
            "region_id",
            "sector_zh",
            "division_name",
            "emissions_tco2e",
            "energy_tce",
            "carbon_intensity_tco2e_per_10k_cny",
            "grade",
            "key_emitter",
            "completeness",
            "sites_only",
        ]
    ]
    common.dataframe(
        display,
        hide_index=True,
        width="stretch",
        column_config={**common.columns(display), "completeness": common.share_bar("completeness")},
    )
    options = list(shown["uscc"])
else:
    options = [v.enterprise]

wanted = st.query_params.get("uscc")
if wanted and wanted not in options:
    try:  # refused before anything about it is shown, even the code in a select box
        views.enterprise_detail(engine, v, wanted, year, basis)
    except CarbonError as exc:
        common.show_error(exc)
    options = [wanted, *options]
if not options:
    st.stop()
names = table.set_index("uscc")["name"].to_dict()
uscc = st.selectbox(
    t("查看企业详情", "enterprise detail"),
    options,
    index=options.index(wanted) if wanted in options else 0,
    format_func=lambda c: f"{names.get(c, '')} {c}".strip(),
    key="ent_detail",
)
try:
    d = views.enterprise_detail(engine, v, uscc, year, basis)
except CarbonError as exc:
    common.show_error(exc)
st.query_params["uscc"] = uscc
st.subheader(fmt.plain(f"{d['name']}（{d['uscc']}）"))
if d["sites_only"] is not None:  # staff of a jurisdiction where the enterprise only has sites
    here = "、".join(labels.region(r, "zh") for r in d["sites_only"])
    here_en = ", ".join(labels.region(r, "en") for r in d["sites_only"])
    st.info(
        t(
            f"该企业登记在{labels.region(d['region'], 'zh')}；此处仅显示其位于{here}的厂区的数据"
            "（排放计入厂区所在区县，并采用该区县所在省份的因子）。",
            f"This enterprise is registered in {labels.region(d['region'], 'en')}; only its sites in {here_en} "
            "are shown here (their emissions count where they are, at that province's factors).",
        )
    )
# the reported figures are of the whole enterprise: for the staff of the jurisdiction it is registered in
official = verification.official_figure(engine, v, year, uscc) if d["sites_only"] is None else None
if official is not None:  # the year's reporting cycle: which figure is official
    status = codes.label("verification_status", official["status"], lang)
    st.caption(
        t(
            f"{year}年报送：正式数据为{status}（{fmt.tonnes_co2e(official['total_tco2e'], 'zh')}，"
            f"{codes.label('basis', official['basis'], 'zh')}）；下列图表为本口径的最新核算结果。",
            f"{year} reporting: the official figure is {status} ({fmt.tonnes_co2e(official['total_tco2e'], 'en')}, "
            f"{codes.label('basis', official['basis'], 'en')}); the charts below are the newest results on this basis.",
        )
    )
row = table.loc[table["uscc"] == uscc]
if len(row):
    r = row.iloc[0]
    c = st.columns(4)
    c[0].metric(fields.label("emissions_tco2e", lang), fmt.tonnes_co2e(r["emissions_tco2e"], lang))
    c[1].metric(fields.label("energy_tce", lang), fmt.tce(r["energy_tce"], lang))
    c[2].metric(
        fields.label("grade", lang),
        "—" if pd.isna(r["grade"]) else f"{int(r['grade'])}",
        help=fields.description("grade", lang),
    )
    c[3].metric(fields.label("completeness", lang), fmt.percent(r["completeness"], 0))
    if pd.isna(r["emissions_tco2e"]):
        st.info(
            t(
                "无数据：该企业本年度没有活动数据，因此没有排放量、能耗和评级（无数据不是零排放）。请上报本年度的能源数据。",
                "No data: this enterprise has no activity data for the year, so it has no emissions, energy or "
                "grade (no data is not zero emissions). Upload the year's energy data.",
            )
        )
st.markdown("#### " + t(f"{year}年逐月排放（按能源品种）", f"Monthly emissions {year} by carrier"))
st.altair_chart(charts.monthly_by_carrier(d["monthly"], lang), width="stretch")
meters_tab, sites_tab, uploads_tab, factors_tab = st.tabs(
    [t("计量表", "meters"), t("厂区", "sites"), t("上报记录", "uploads"), t("所用因子", "factors used")]
)
no_site = t("未归入厂区（计入登记区县）", "on no site (counts where registered)")
with sites_tab:
    sites = d["sites"].rename(columns={"region_id": "site_region_id"})
    sites = sites.assign(
        site_name=[no_site if labels.missing(n) else n for n in sites["site_name"]],
        site_region_id=sites["site_region_id"].map(lambda r: labels.region(r, lang)),
    )
    if sites.empty:
        st.caption(
            t("该企业未登记厂区：全部计量表计入其登记区县。", "No sites: every meter counts where it is registered.")
        )
    else:
        common.dataframe(sites, hide_index=True, width="stretch", column_config=common.columns(sites))
with meters_tab:
    meters = d["meters"].rename(columns={"region_id": "site_region_id"})
    meters = meters.assign(
        carrier=meters["carrier"].map(lambda c: labels.carrier(c, lang)),
        site_name=[no_site if labels.missing(n) else n for n in meters["site_name"]],
        site_region_id=meters["site_region_id"].map(lambda r: labels.region(r, lang)),
    )
    common.dataframe(meters, hide_index=True, width="stretch", column_config=common.columns(meters))
with uploads_tab:
    if d["sites_only"] is not None:
        st.caption(
            t("上报文件属于整个企业，仅企业登记区县的工作人员可见。", "Uploaded files cover the whole enterprise: "
              "staff of the jurisdiction it is registered in see them.")
        )  # fmt: skip
    common.dataframe(common.uploads_table(d["uploads"]), column_config=common.columns(d["uploads"]))
    common.show_batch(v, d["uploads"]["batch_id"].tolist(), "ent")
with factors_tab:
    used = common.factors_used_table(d["factors"])
    common.dataframe(used, column_config=common.columns(used))
common.offer_tables(
    t("企业", "enterprises"),
    {
        t("企业列表", "enterprises"): table,
        t("逐月排放", "monthly"): d["monthly"].rename(columns=lambda c: labels.carrier(c, lang)).reset_index(),
        t("厂区", "sites"): d["sites"],
        t("计量表", "meters"): d["meters"],
        t("上报记录", "uploads"): d["uploads"],
    },
)
