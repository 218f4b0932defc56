"""导出 Export: the tables of the view last opened, as XLSX or CSV, formula cells escaped; every export audited."""

from datetime import UTC, datetime

import streamlit as st

from carbon import views
from dashboard import common
from dashboard.common import t

v = common.require_login()
engine = common.engine()
st.title(t("导出", "Export"))
page, tables = st.session_state.get(common.EXPORT_KEY, (None, {}))
if not tables:
    st.info(t("先打开一个页面，这里会列出该页面的表格。", "Open a page first; its tables are listed here."))
    st.stop()
st.markdown(t(f"当前视图：**{page}**", f"Current view: **{page}**"))
for name, df in tables.items():
    st.markdown(f"- {name}：{len(df)} " + t("行", "rows"))
stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
c = st.columns(2)
c[0].download_button(
    t("下载 Excel（XLSX）", "download Excel (XLSX)"),
    data=views.export_file(tables, "xlsx"),
    file_name=f"carbon-{stamp}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    on_click=views.record_export,
    args=(engine, v, page, "xlsx", tables),
    key="ex_xlsx",
)
c[1].download_button(
    t("下载 CSV（ZIP）", "download CSV (ZIP)"),
    data=views.export_file(tables, "csv"),
    file_name=f"carbon-{stamp}.zip",
    mime="application/zip",
    on_click=views.record_export,
    args=(engine, v, page, "csv", tables),
    key="ex_csv",
)
st.caption(
    t(
        "以 =、+、-、@ 开头的文本单元格已加前缀 ' ，防止在 Excel/WPS 中被当作公式执行。",
        "Text cells starting with =, +, -, @ are prefixed with ' so Excel or WPS never runs them as formulas.",
    )
)
