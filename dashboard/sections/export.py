"""导出 Export: the tables of the view last opened, as XLSX or CSV, formula cells escaped; every export audited.

Columns are headed with the labels of the field registry (``carbon/data/fields.csv``) in the chosen language."""

from datetime import datetime
from zoneinfo import ZoneInfo

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
    st.markdown(t(f"- {name}：{len(df)} 行", f"- {name}: {len(df)} rows"))
stamp = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d-%H%M")  # Beijing time, as the user reads it
formats = [
    (
        "xlsx",
        t("下载 Excel（XLSX）", "download Excel (XLSX)"),
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("csv", t("下载 CSV（ZIP）", "download CSV (ZIP)"), "zip", "application/zip"),
]
for column, (fmt, label, suffix, mime) in zip(st.columns(len(formats)), formats, strict=True):
    column.download_button(
        label,
        data=views.export_file(v, common.export_tables(tables, common.lang()), fmt),
        file_name=f"carbon-{stamp}.{suffix}",
        mime=mime,
        on_click=views.record_export,
        args=(engine, v, page, fmt, tables),
        key=f"ex_{fmt}",
    )
st.caption(
    t(
        "以 =、+、-、@ 开头的文本单元格已加前缀 ' ，防止在 Excel/WPS 中被当作公式执行。",
        "Text cells starting with =, +, -, @ are prefixed with ' so Excel or WPS never runs them as formulas.",
    )
)
