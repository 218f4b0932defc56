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
status_zh = {"verified": "已核实", "single_source": "单一来源", "unverified": "未核实"}
c = st.columns(3)
carrier = c[0].multiselect(
    t("能源品种", "carrier"),
    sorted(lib["carrier"].dropna().unique()),
    format_func=lambda x: labels.carrier(x, lang),
    key="f_carrier",
    placeholder=t("全部", "all"),
)
status = c[1].multiselect(
    t("核实状态", "status"), sorted(lib["status"].unique()), key="f_status", placeholder=t("全部", "all")
)
query = c[2].text_input(t("搜索（文号、发布机构、地区）", "search (document, publisher, region)"), key="f_query")
shown = lib
if carrier:
    shown = shown.loc[shown["carrier"].isin(carrier)]
if status:
    shown = shown.loc[shown["status"].isin(status)]
if query:
    text = shown[["id", "publisher", "document_title", "document_number", "region"]].astype(str).agg(" ".join, axis=1)
    shown = shown.loc[text.str.contains(query, case=False, regex=False)]
st.caption(
    t(
        f"共 {len(lib)} 条，显示 {len(shown)} 条。使用单一来源或未核实因子的结果会标注。",
        f"{len(lib)} records, {len(shown)} shown. Results that use a single-source or unverified factor are flagged.",
    )
)
library = sources.table(shown, lang)
common.dataframe(
    library.assign(status=library["status"].map(lambda s: status_zh.get(s, s) if lang == "zh" else s)),
    hide_index=True,
    width="stretch",
    column_config={
        **common.columns(library),
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
    common.dataframe(
        used.assign(carrier=used["carrier"].map(lambda x: labels.carrier(x, lang))),
        hide_index=True,
        width="stretch",
        column_config=common.columns(used),
    )
    common.offer_tables(
        t("排放因子", "factors"), {t("因子库", "library"): sources.export(shown, lang), t("所用因子", "used"): used}
    )
else:
    common.offer_tables(t("排放因子", "factors"), {t("因子库", "library"): sources.export(shown, lang)})
