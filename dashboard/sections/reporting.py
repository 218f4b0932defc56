"""年度报送 Annual reporting: an enterprise (or staff for it) sees where its annual report stands, the reviewers'
comments on its lines, submits a new version with the declaration, withdraws one waiting for review and downloads
its report (PDF to sign and file, XLSX with the data).  The rules are in ``carbon.reporting``."""

import pandas as pd
import streamlit as st

from carbon import codes
from carbon.errors import CarbonError
from carbon.reporting import cycles, documents, review, submissions
from dashboard import common, labels
from dashboard import format as fmt
from dashboard.common import t

v = common.require_login()
engine = common.engine()
lang = common.lang()
st.title(t("年度报送", "Annual reporting"))
common.demo_banner()
years = cycles.cycle_years(engine)
if not years:
    st.info(
        t(
            "尚未开启报送周期（示范区工作人员用 carbon cycle open 开启）。",
            "No reporting cycle is open yet (zone staff open one with carbon cycle open).",
        )
    )
    st.stop()
year = st.selectbox(
    t("报告年度", "reporting year"), years, format_func=lambda y: fmt.year(y, lang), key=f"rp_year_{lang}"
)
cycle = cycles.get_cycle(engine, year)
must = cycles.cycle_enterprises(engine, cycle["id"])
if v.is_staff:  # for an enterprise of the staff's jurisdictions, chosen each time
    board = cycles.status_board(engine, v, year)
    names = board.set_index("uscc")["name"].to_dict()
    enterprise = st.selectbox(
        t("企业", "enterprise"),
        list(names),
        index=None,
        format_func=lambda c: f"{names[c]} {c}",
        placeholder=t("请选择企业", "choose an enterprise"),
        key="rp_ent",
    )
    if enterprise is None:
        st.info(t("请选择要查看或代为报送的企业。", "Choose the enterprise to look at or to submit for."))
        st.stop()
else:
    enterprise = v.enterprise
if enterprise not in set(must["uscc"]):
    st.info(t(f"本企业不在{year}年报送范围内。", f"This enterprise is not required to report for {year}."))
    st.stop()

versions = submissions.submissions(engine, v, year, enterprise)
done = st.session_state.pop("rp_done", None)
if done:
    st.success(t(f"已报送第{done}版，等待审核。", f"Version {done} submitted; it waits for review."))
today = cycles.beijing_today()
days = (cycle["deadline"] - today).days
state = "not_submitted" if versions.empty or versions["state"].iloc[0] == "withdrawn" else versions["state"].iloc[0]
c = st.columns(3)
c[0].metric(t("报送状态", "state"), codes.label("submission_state", state, lang))
c[1].metric(t("截止日期", "deadline"), fmt.date(cycle["deadline"], lang))
c[2].metric(
    t("距截止日", "to the deadline"),
    t(f"{days}天", f"{days} days") if days >= 0 else t(f"已过{-days}天", f"{-days} days past"),
)
basis = must.set_index("uscc").loc[enterprise, "basis"]
st.caption(
    t(
        f"核算口径：{codes.label('basis', basis, 'zh')}（本区县的报告口径）",
        f"Basis: {codes.label('basis', basis, 'en')} (the jurisdiction's basis of record)",
    )
)

if not versions.empty:
    st.markdown("#### " + t("报送版本", "Versions"))
    shown = versions.assign(
        state=codes.column(versions["state"], "submission_state", lang),
        submitted_at=versions["submitted_at"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M"),
        submitted_by=versions["submitted_by"].map(lambda u: labels.actor(str(u), lang)),
    )[["version", "state", "submitted_at", "submitted_by", "total_tco2e", "energy_tce"]]
    common.dataframe(shown, column_config=common.columns(shown))
    newest = int(versions["id"].iloc[0])
    comments = review.review_comments(engine, v, newest)
    if not comments.empty:
        st.markdown("#### " + t("审核意见", "Reviewers' comments"))
        table = pd.DataFrame(
            {
                t("时间", "time"): comments["at"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M"),
                t("审核人", "reviewer"): comments["author"].map(lambda u: labels.actor(str(u), lang)),
                t("能源品种", "carrier"): comments["carrier"].map(
                    lambda x: labels.EMPTY if labels.missing(x) else labels.carrier(x, lang)
                ),
                t("月份", "month"): comments["month"].map(
                    lambda m: labels.EMPTY if labels.missing(m) else labels.months([int(m)], lang)
                ),
                t("表号", "meter"): comments["meter_code"].map(lambda m: labels.EMPTY if labels.missing(m) else str(m)),
                t("意见", "comment"): comments["text"],
            }
        )
        common.dataframe(table)
    withdrawable = versions["state"].iloc[0] == "submitted" and not v.read_only
    if withdrawable and st.button(t("撤回待审核的版本", "withdraw the version waiting for review"), key="rp_withdraw"):
        try:
            submissions.withdraw(engine, v, newest)
        except CarbonError as exc:
            common.show_error(exc)
        st.rerun()
    if st.button(t("生成报告（PDF与XLSX）", "make the report (PDF and XLSX)"), key="rp_make"):
        with st.spinner(t("正在生成报告……", "making the report…")):
            doc = documents.report(engine, v, newest)
            st.session_state["rp_files"] = (newest, documents.pdf(doc), documents.xlsx(doc))
    made = st.session_state.get("rp_files")
    if made and made[0] == newest:
        name = f"report-{enterprise}-v{int(versions['version'].iloc[0])}"
        d = st.columns(2)
        d[0].download_button(t("下载PDF", "download PDF"), made[1], f"{name}.pdf", "application/pdf", key="rp_pdf")
        d[1].download_button(t("下载XLSX", "download XLSX"), made[2], f"{name}.xlsx", key="rp_xlsx")

if state in ("not_submitted", "returned", "approved") and not v.read_only:
    st.markdown("#### " + t("报送", "Submit"))
    st.caption(
        t(
            "报送时冻结本年度的核算结果、活动数据和所用因子，成为新的版本；之后上传的数据不改变已报送的版本。",
            "Submitting freezes the year's results, activity data and factors as a new version; data uploaded "
            "later do not change a submitted version.",
        )
    )
    preview = submissions.preview(engine, v, year, enterprise)
    if preview is None:
        st.warning(
            t(
                "本企业本年度没有活动数据，无法报送：请先上报本年度的能源数据。",
                "This enterprise has no activity data for the year, so there is nothing to submit: upload the "
                "year's energy data first.",
            )
        )
        st.stop()
    p = st.columns(3)
    p[0].metric(t("将报送的排放总量", "emissions to be submitted"), fmt.tonnes_co2e(preview["total_tco2e"], lang))
    p[1].metric(t("综合能耗", "energy use"), fmt.tce(preview["energy_tce"], lang))
    p[2].metric(
        t("数据完整度", "data completeness"), codes.label("completeness_state", preview["completeness_state"], lang)
    )
    if preview["completeness_state"] not in ("complete", "pending"):
        st.warning(
            t(
                "本年度数据不完整：请先补报缺失的月份，或在报送说明中写明原因。",
                "The year's data are incomplete: upload the missing months first, or say why.",
            )
        )
    declared = st.checkbox(submissions.DECLARATION[0 if lang == "zh" else 1], key="rp_declare")
    if st.button(t("确认报送", "submit the report"), disabled=not declared, key="rp_submit"):
        try:
            sid = submissions.submit(engine, v, year, enterprise, declared=declared)
        except CarbonError as exc:
            common.show_error(exc)
        st.session_state["rp_done"] = submissions.get_submission(engine, sid).version
        st.rerun()
