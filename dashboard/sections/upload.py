"""数据上报 Upload: upload files, preview parsed rows with errors and warnings row by row, confirm; download refused
rows to fix; upload history.  Staff upload on behalf of an enterprise of their jurisdiction."""

import streamlit as st

from carbon import fields, views
from carbon.errors import CarbonError
from dashboard import common
from dashboard import format as fmt
from dashboard.common import t
from dashboard.server import MAX_UPLOAD_MB

v = common.require_login()
engine = common.engine()
st.title(t("数据上报", "Upload data"))
common.demo_banner()
if v.is_staff:
    ents = views.visible_enterprises(engine, v)
    names = ents.set_index("uscc")["name"].to_dict()
    enterprise = st.selectbox(
        t("代哪家企业上报", "on behalf of"), list(names), format_func=lambda c: f"{names[c]} {c}", key="up_ent"
    )
else:
    enterprise = v.enterprise
st.caption(
    t(
        "支持上报模板、表头带单位的导出、抄表示数、电费账单和15分钟等间隔数据（CSV、XLSX，UTF-8或GBK）。"
        f"文件类型按内容识别，单个文件不超过{MAX_UPLOAD_MB} MB。",
        "Accepts the template, exports with units in the header, register readings, electricity bills and interval "
        f"data (CSV, XLSX, UTF-8 or GBK). The type is told by content; at most {MAX_UPLOAD_MB} MB per file.",
    )
)
files = st.file_uploader(
    t("选择文件（可多选）", "choose files (several allowed)"),
    accept_multiple_files=True,
    type=["csv", "txt", "xlsx", "xls"],
    key="up_files",
)
uploads = [(f.name, f.getvalue()) for f in files or []]


def show_report(report, preview: bool) -> None:
    state = {
        "duplicate_file": t("重复文件，已上报过", "duplicate file, already uploaded"),
        "stored": t("已入库", "stored"),
        "rejected": t("未入库", "not stored"),
        "not_stored": t("未入库", "not stored"),
    }.get(report.status, t("预览（尚未入库）", "preview (not stored yet)") if preview else report.status)
    st.markdown(f"**{fmt.plain(report.file)}** — {state}")
    lang = common.lang()
    c = st.columns(5)
    for col, name in zip(c, ("rows_read", "rows_accepted", "rows_rejected", "rows_duplicate"), strict=False):
        col.metric(fields.label(name, lang), getattr(report, name), help=fields.description(name, lang))
    c[4].metric(fields.label("warnings", lang), len(report.warnings))
    if report.issues:
        common.dataframe(common.issues_table([i.as_dict() for i in report.issues]), hide_index=True, width="stretch")
    if preview and report.rows is not None and len(report.rows):
        with st.expander(t("解析结果预览（前200行）", "parsed rows (first 200)")):
            common.dataframe(report.rows.head(200), hide_index=True, width="stretch")


if uploads:
    try:
        with st.spinner(t("正在解析和校验……", "Reading and checking…")):
            reports = views.preview_upload(engine, v, enterprise, uploads)
    except CarbonError as exc:
        common.show_error(exc)
    for r in reports:
        show_report(r, preview=True)
    if any(r.errors for r in reports):
        st.warning(
            t(
                "有行被拒绝。确认后只存入有效行，被拒绝的行会保留，可在下方下载修改后重新上报。",
                "Some rows are refused. Confirming stores only the valid rows; the refused rows are kept to download, "
                "fix and upload again.",
            )
        )
    if st.button(t("确认上报", "confirm upload"), type="primary", key="up_confirm"):
        bar = st.progress(0.0, text=t("正在入库并重新核算……", "Storing and recalculating…"))
        done = []
        for i, upload in enumerate(uploads, start=1):  # one file at a time, so the bar moves
            try:
                done += views.confirm_upload(engine, v, enterprise, [upload])
            except CarbonError as exc:
                common.show_error(exc)
            bar.progress(
                i / len(uploads), text=t(f"已处理 {i}/{len(uploads)} 个文件", f"{i} of {len(uploads)} files done")
            )
        st.success(t("上报完成。", "Upload complete."))
        for r in done:
            show_report(r, preview=False)

st.markdown("#### " + t("上报记录", "Upload history"))
history = views.uploads(engine, v, enterprise)
common.dataframe(common.uploads_table(history), column_config=common.columns(history))
common.show_batch(v, history["batch_id"].tolist(), "up")
common.offer_tables(t("数据上报", "upload"), {t("上报记录", "uploads"): history})
