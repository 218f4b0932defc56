"""目标与预警 Targets and alerts: targets with sources and progress, enterprises behind their path, missing data."""

import streamlit as st

from carbon import fields
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

st.markdown("#### " + t("适用的目标（含出处）", "Applicable targets, with sources"))
targets = sources.table(a["targets"], lang).assign(
    status=a["targets"]["status"].map(lambda s: labels.pick(labels.STATUS[s], lang)),
    region=a["targets"]["region"].map(lambda r: labels.target_region(r, lang)),
    indicator=a["targets"]["indicator"].map(lambda i: fields.label(i, lang)),
)[
    [
        "region",
        "indicator",
        "base_year",
        "target_year",
        "reduction",
        "achieved",
        "expected",
        "needed_per_year",
        "status",
        "source",
        "source_url",
    ]
]
common.dataframe(
    targets,
    hide_index=True,
    width="stretch",
    column_config={**common.columns(targets), "source_url": sources.link_column(lang)},
)

st.markdown("#### " + t("强度下降落后于目标路径的企业", "Enterprises behind the target path"))
used = a["targets"].set_index("id").loc[a["target_used"]] if a["target_used"] else None
if used is not None:
    where = labels.target_region(used["region"], lang)
    st.caption(
        t(
            f"按{where}“{used['target_year']}年碳排放强度较{used['base_year']}年下降{used['reduction']:.0%}”的直线路径，"
            "比较企业自身碳排放强度（吨CO₂e/万元增加值）较基年的降幅。",
            f"Each enterprise's own carbon intensity (t CO₂e per 10⁴ CNY value added) against the straight path of "
            f"{where}'s target: −{used['reduction']:.0%} by {used['target_year']} vs {used['base_year']}.",
        )
    )
behind = a["behind"].assign(
    status=a["behind"]["status"].map(lambda s: labels.pick(labels.STATUS[s], lang)),
    region_id=a["behind"]["region_id"].map(lambda r: labels.region(r, lang)),
)[["uscc", "name", "region_id", "achieved", "expected", "status"]]
common.dataframe(behind, hide_index=True, width="stretch", column_config=common.columns(behind))
st.markdown("#### " + t(f"{fmt.year(year, 'zh')}缺报月份", f"Missing submissions in {year}"))
common.dataframe(a["missing"], hide_index=True, width="stretch", column_config=common.columns(a["missing"]))
common.offer_tables(
    t("目标与预警", "targets and alerts"),
    {
        t("目标", "targets"): sources.export(a["targets"], lang),
        t("落后企业", "behind"): a["behind"],
        t("缺报", "missing"): a["missing"],
    },
)
