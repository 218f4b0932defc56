"""数据上报 Upload: upload files, preview them (errors and warnings row by row; the file's rows as written under its own
headers, each with its outcome), confirm; download refused rows to fix; upload history.  Staff upload on behalf of an
enterprise of their jurisdiction, chosen each time."""

import pandas as pd
import streamlit as st

from carbon import codes, fields, views
from carbon.errors import CarbonError
from carbon.ingest import FileReport
from carbon.ingest.preview import PREVIEW_COLUMNS, PREVIEW_ROWS
from carbon.limits import limit
from dashboard import common
from dashboard import format as fmt
from dashboard.common import t
from dashboard.server import MAX_UPLOAD_MB

TYPES = ["csv", "txt", "xlsx", "xls"]  # what the uploader offers; the importer tells the type by content


def count_zh(n: int) -> str:
    """A count as Chinese readers write it: 1100000 -> ``110万``, 1000 -> ``1000``."""
    return f"{n // 10_000}万" if n >= 10_000 and n % 10_000 == 0 else str(n)


def uploader_help(lang: str) -> str:
    """What the uploader's own English words mean, the accepted types and the limits (``MAX_UPLOAD_MB`` of the
    server, the rest from ``carbon/data/input_limits.csv``), in the chosen language."""
    rows, cols, cells = limit("max_rows_per_file"), limit("max_columns"), limit("max_cells_per_file")
    upload_cells = limit("max_cells_per_upload")
    if lang == "zh":
        return (
            "上传框里的英文是浏览器组件自带的：“Drag and drop files here”即把文件拖到框内，“Upload”即点此选择文件，"
            f"“{MAX_UPLOAD_MB}MB per file • {', '.join(x.upper() for x in TYPES)}”即每个文件不超过{MAX_UPLOAD_MB} MB，"
            "接受CSV、TXT（文本表格，逗号、制表符或分号分隔）、XLSX（Excel工作簿）和XLS（网页导出的表格；"
            "旧版二进制XLS请在Excel中另存为XLSX或CSV）。"
            f"每个文件（每个工作表）不超过{count_zh(rows)}行、{count_zh(cols)}列、{count_zh(cells)}个单元格，"
            f"一次上传的全部文件合计不超过{count_zh(upload_cells)}个单元格。"
        )
    return (
        f"At most {MAX_UPLOAD_MB} MB per file; CSV, TXT (text tables split by commas, tabs or semicolons), XLSX "
        "(Excel workbooks) and XLS (tables exported from web pages; save an old binary XLS as XLSX or CSV in Excel). "
        f"Each file (each sheet) at most {rows:,} rows, {cols:,} columns and {cells:,} cells; all the files of one "
        f"upload together at most {upload_cells:,} cells."
    )


def preview_table(report: FileReport) -> pd.DataFrame:
    """The first rows of a file as the user wrote them (its own headers, its cells exactly as written), each with
    its row number, its outcome as a label and the period read in Beijing time."""
    lang = common.lang()
    ours = {c: fields.label(c, lang) for c in PREVIEW_COLUMNS}
    table = views.upload_rows(report, taken=ours.values())
    table["row_status"] = codes.column(table["row_status"], "row_status", lang)
    table["read_period"] = table["read_period"].where(table["read_period"] != "", "—")  # nothing read: refused
    return table.rename(columns=ours)


v = common.require_login()
engine = common.engine()
st.title(t("数据上报", "Upload data"))
common.demo_banner()
if v.is_staff:  # on behalf of an enterprise, chosen each time: none is preselected
    ents = views.visible_enterprises(engine, v)
    names = ents.set_index("uscc")["name"].to_dict()
    enterprise = st.selectbox(
        t("代哪家企业上报", "on behalf of"),
        list(names),
        index=None,
        placeholder=t("请选择企业", "choose an enterprise"),
        format_func=lambda c: f"{names[c]} {c}",
        key="up_ent",
    )
    if enterprise is None:
        st.info(
            t(
                "请先选择代哪家企业上报；选定后才会显示上传框和该企业的上报记录。",
                "Choose the enterprise you upload for first; the upload box and its upload history appear then.",
            )
        )
        st.stop()
else:
    enterprise = v.enterprise
st.caption(
    t(
        "支持上报模板、表头带单位的导出、抄表示数、电费账单和15分钟等间隔数据（UTF-8或GBK编码）。文件类型按内容识别。",
        "Accepts the template, exports with units in the header, register readings, electricity bills and interval "
        "data (UTF-8 or GBK). The type is told by content.",
    )
)
files = st.file_uploader(
    t("选择文件（可多选）", "choose files (several allowed)"),
    accept_multiple_files=True,
    type=TYPES,
    help=t(
        f"每个文件不超过{MAX_UPLOAD_MB} MB；接受CSV、TXT、XLSX、XLS文件",
        f"At most {MAX_UPLOAD_MB} MB per file; CSV, TXT, XLSX or XLS",
    ),
    key="up_files",
)
st.caption(uploader_help(common.lang()))  # the widget's own words stay English: said in Chinese beside it
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
    if preview and report.read_rows is not None and len(report.read_rows):
        shown = min(len(report.read_rows), PREVIEW_ROWS)
        with st.expander(
            t(
                f"文件内容预览（前{shown}行，按文件原样显示，并注明每行的处理结果）",
                f"the file as read (first {shown} rows as written, each with its outcome)",
            )
        ):
            common.dataframe(preview_table(report), hide_index=True, width="stretch")


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

st.markdown("#### " + t("电网户号", "Utility accounts (户号)"))
st.caption(
    t(
        "登记本企业在供电单位的户号及其下的电表，电网的月度结算电量将与上报电量和物联网计量逐期比对。"
        "一个户号只能登记给一家企业，否则就是重复计算。",
        "Register the enterprise's accounts at the grid company and the meters behind each; the utility's monthly "
        "settled energy is then compared with the uploads and the IoT meters, period by period. An account belongs "
        "to one enterprise only: two would count it twice.",
    )
)
held = views.grid_accounts(engine, v, enterprise)
if len(held["accounts"]):
    for zh, en in held["utility_warnings"]:
        st.warning(fmt.plain(t(zh, en)))
    shown = common.grid_table(
        held["accounts"].drop(
            columns=["account_id", "enterprise_uscc", "region_id", "meter_region_ids", "utility_mismatch"]
        )
    )
    shown["meter_codes"] = shown["meter_codes"].map("、".join)
    shown["registered_at"] = pd.to_datetime(shown["registered_at"], utc=True).dt.tz_convert("Asia/Shanghai")
    common.dataframe(shown, column_config=common.columns(shown))
with st.form("grid_account", clear_on_submit=True):
    lang = common.lang()
    utilities = codes.codes("utility")
    cols = st.columns([2, 2, 3])
    utility = cols[0].selectbox(
        t("供电单位", "grid company"),
        utilities,
        index=utilities.index(held["utility"]),
        format_func=lambda c: codes.label("utility", c, lang),
    )
    number = cols[1].text_input(t("户号", "account number"), max_chars=32)
    meters = cols[2].multiselect(
        t("该户号下的电表", "meters behind it"),
        held["free_meters"],
        placeholder=t("选择电表", "choose meters"),
    )
    if st.form_submit_button(t("登记户号", "register account")):
        try:
            done = views.register_grid_account(engine, v, enterprise, utility, number, meters)
        except CarbonError as exc:
            common.show_error(exc)
        if done["existing"]:
            added_zh = "、".join(done["added_meters"]) or "无（均已在该户号下）"
            added_en = ", ".join(done["added_meters"]) or "none (all already behind it)"
            st.success(
                fmt.plain(
                    t(
                        f"户号 {done['account_no']} 已在本企业名下，已添加电表：{added_zh}。",
                        f"Account {done['account_no']} is already this enterprise's; meters added: {added_en}.",
                    )
                )
            )
        else:
            st.success(fmt.plain(t(f"已登记户号 {done['account_no']}。", f"Account {done['account_no']} registered.")))
