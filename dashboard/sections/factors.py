"""排放因子 Factors: the library with sources, vintages, bases and status; which factors a result used."""

import streamlit as st

from carbon import fields, views
from carbon.errors import CarbonError
from dashboard import common, labels, sources
from dashboard.common import t

v = common.require_login()
lang = common.lang()
year, basis = common.year_and_basis()
engine = common.engine()
st.title(t("排放因子库", "Emission factor library"))
lib = views.factor_library(engine)
c = st.columns(3)
carrier = c[0].multiselect(
    t("能源品种", "carrier"),
    sorted(lib["carrier"].dropna().unique()),
    format_func=lambda x: labels.carrier(x, lang),
    key="f_carrier",
    placeholder=t("全部", "all"),
)
status = c[1].multiselect(
    t("核实状态", "status"),
    sorted(lib["status"].unique()),
    format_func=lambda s: labels.code("factor_status", s, lang),
    key="f_status",
    placeholder=t("全部", "all"),
)
query = c[2].text_input(t("搜索（文号、发布机构、地区）", "search (document, publisher, region)"), key="f_query")
# what a reader sees: every code by its label, a value for any year or of no one gas said so, units as written
shown = lib.assign(
    parameter=lib["parameter"].map(lambda p: labels.code("factor_parameter", p, lang)),
    carrier=lib["carrier"].map(lambda x: labels.EMPTY if labels.missing(x) else labels.carrier(x, lang)),
    region=lib["region"].map(lambda r: labels.area(r, lang)),
    vintage=lib["vintage"].map(lambda y: labels.vintage(y, lang)),
    basis=lib["basis"].map(lambda b: labels.code("factor_basis", b, lang)),
    gas=lib["gas"].map(lambda g: labels.code("gas", g, lang)),
    unit=lib["unit"].map(lambda u: labels.unit(u, lang)),
    status=lib["status"].map(lambda s: labels.code("factor_status", s, lang)),
)
if carrier:
    shown = shown.loc[lib["carrier"].isin(carrier)]
if status:
    shown = shown.loc[lib["status"].isin(status)]
if query:
    searched = ["id", "publisher", "document_title", "document_number", "region"]  # the region by label and code
    text = shown[searched].fillna("").astype(str).agg(" ".join, axis=1) + " " + lib.loc[shown.index, "region"]
    shown = shown.loc[text.str.contains(query, case=False, regex=False)]
st.caption(
    t(
        f"共 {len(lib)} 条，显示 {len(shown)} 条。使用单一来源或未核实因子的结果会标注。“—”表示不适用或未规定"
        "（如没有失效日期）。",
        f"{len(lib)} records, {len(shown)} shown. Results that use a single-source or unverified factor are flagged. "
        "“—” means not applicable or not stated (e.g. no end date).",
    )
)
library = sources.table(shown, lang)
common.dataframe(
    library,
    placeholder=labels.EMPTY,  # no figure is missing here: an empty cell is a date or link the source does not give
    column_config={
        **common.columns(library),
        "vintage": st.column_config.TextColumn(fields.label("vintage", lang), help=fields.description("vintage", lang)),
        "source_url": sources.link_column(lang),
        "value": st.column_config.NumberColumn(
            fields.title("value", lang), help=fields.description("value", lang), format="%.6g"
        ),
    },
)

st.markdown("#### " + t("某企业结果所用的因子", "Factors a result used"))
ents = views.visible_enterprises(engine, v)
names = ents.set_index("uscc")["name"].to_dict()
if names:
    uscc = st.selectbox(t("企业", "enterprise"), list(names), format_func=lambda c: f"{names[c]} {c}", key="f_ent")
    try:
        used = views.factors_used(engine, v, uscc, year, basis)
    except CarbonError as exc:
        common.show_error(exc)
    common.basis_caption(basis, views.as_of(engine, basis))
    used = common.factors_used_table(used)
    common.dataframe(used, column_config=common.columns(used))
    common.offer_tables(
        t("排放因子", "factors"), {t("因子库", "library"): sources.export(shown, lang), t("所用因子", "used"): used}
    )
else:
    common.offer_tables(t("排放因子", "factors"), {t("因子库", "library"): sources.export(shown, lang)})
