"""审核 Review: the status board of the year's cycle (counts by state per jurisdiction, overdue enterprises, days to
the deadline), the queue of submissions with their risk scores and reasons, a submission's lines with the steps its
state allows (start review, approve, return with a comment on a line, record verified figures), and the seeded draw
for on-site verification.  Staff only; a jurisdiction's staff see and review their own enterprises."""

import pandas as pd
import streamlit as st

from carbon import codes
from carbon.errors import CarbonError
from carbon.reporting import cycles, documents, review, risk, submissions, verification
from carbon.reporting.review import LineComment
from carbon.reporting.verification import Adjustment
from dashboard import common, labels, reports
from dashboard import format as fmt
from dashboard.common import t

v = common.require_login(staff_page=True)
engine = common.engine()
lang = common.lang()
st.title(t("报送审核", "Review of annual reports"))
common.demo_banner()
years = cycles.cycle_years(engine)
if not years:
    st.info(t("尚未开启报送周期（用 carbon cycle open 开启）。", "No reporting cycle is open yet (carbon cycle open)."))
    st.stop()
year = st.selectbox(t("报告年度", "reporting year"), years, format_func=lambda y: fmt.year(y, lang), key="rv_year")
cycle = cycles.get_cycle(engine, year)
board = cycles.status_board(engine, v, year)
days = (cycle["deadline"] - cycles.beijing_today()).days
st.caption(
    t(
        f"截止日期：{fmt.date(cycle['deadline'], 'zh')}（{f'还有{days}天' if days >= 0 else f'已过{-days}天'}）",
        f"Deadline: {fmt.date(cycle['deadline'], 'en')} ({f'{days} days left' if days >= 0 else f'{-days} days past'})",
    )
)

st.markdown("#### " + t("报送进度", "Status board"))
counts = cycles.board_counts(board) if len(board) else pd.DataFrame(columns=["region_id", *cycles.STATES, "overdue"])
state_names = {s: codes.label("submission_state", s, lang) for s in cycles.STATES}
common.dataframe(
    counts.assign(region_id=counts["region_id"].map(lambda r: labels.region(r, lang))).rename(
        columns={**state_names, "region_id": t("区县", "jurisdiction"), "overdue": t("逾期", "overdue")}
    )
)
late = board.loc[board["overdue"]]
if len(late):
    with st.expander(t(f"逾期企业（{len(late)}家）", f"Overdue enterprises ({len(late)})")):
        shown = late.assign(
            region_id=late["region_id"].map(lambda r: labels.region(r, lang)),
            state=codes.column(late["state"], "submission_state", lang),
        )[["uscc", "name", "region_id", "state"]]
        common.dataframe(shown, column_config=common.columns(shown))

scope = "zone" if v.role == "zone" else str(v.region)
if st.button(
    t(
        f"生成{labels.region(scope, 'zh')}年度汇总报告（PDF与XLSX）",
        f"make the annual summary of {labels.region(scope, 'en')} (PDF and XLSX)",
    ),
    key="rv_summary",
):
    with st.spinner(t("正在生成汇总报告……", "making the summary…")):
        doc = reports.summary(engine, v, scope, year)
        st.session_state["rv_files"] = (year, documents.pdf(doc), documents.xlsx(doc))
made = st.session_state.get("rv_files")
if made and made[0] == year:
    d = st.columns(2)
    d[0].download_button(
        t("下载PDF", "download PDF"), made[1], f"summary-{scope}-{year}.pdf", "application/pdf", key="rv_pdf"
    )
    d[1].download_button(t("下载XLSX", "download XLSX"), made[2], f"summary-{scope}-{year}.xlsx", key="rv_xlsx")

st.markdown("#### " + t("待审与风险评分", "Queue and risk scores"))
scored = risk.assess(engine, v, year)
if scored.empty:
    st.info(t("还没有报送。", "Nothing has been submitted yet."))
    st.stop()
names = board.set_index("uscc")["name"].to_dict()
queue = pd.DataFrame(
    {
        "id": scored["submission_id"],
        "name": scored["enterprise_uscc"].map(names),
        "version": scored["version"],
        "state": codes.column(scored["state"], "submission_state", lang),
        t("风险评分", "risk score"): scored["score"],
        t("理由", "reasons"): scored["reasons"].map(
            lambda rs: "；".join(r[1] if lang == "zh" else r[2] for r in rs) or labels.EMPTY
        ),
    }
)
common.dataframe(queue, column_config=common.columns(["id", "name", "version", "state"]))
st.caption(
    t(
        "评分为各风险信号的权重之和；阈值和权重为项目默认值（carbon/data/risk_parameters.csv）。",
        "A score is the sum of its signals' weights; thresholds and weights are project defaults "
        "(carbon/data/risk_parameters.csv).",
    )
)

with st.expander(t("抽取现场核查对象", "Draw for on-site verification")):
    p = risk.parameters()
    c = st.columns(3)
    top_n = c[0].number_input(t("按评分抽取数", "highest scores drawn"), 0, 1000, int(p["top_n"]), key="rv_top")
    share = c[1].number_input(
        t("其余随机比例", "random share of the rest"), 0.0, 1.0, float(p["random_share"]), step=0.05, key="rv_share"
    )
    seed_text = c[2].text_input(t("随机种子（可空）", "seed (may be empty)"), key="rv_seed")
    earlier = risk.draws(engine, v, year)
    if len(earlier):  # every draw stays on record, the first one too
        st.caption(t("已记录的抽取：", "Draws on record:"))
        common.dataframe(
            pd.DataFrame(
                {
                    t("编号", "id"): earlier["id"],
                    t("时间", "time"): earlier["drawn_at"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M"),
                    t("抽取人", "by"): earlier["drawn_by"].map(lambda u: labels.actor(str(u), lang)),
                    t("随机种子", "seed"): earlier["seed"].astype(str),
                    t("抽中报送", "drawn"): earlier["selected"].map(
                        lambda ids: "、".join(str(i) for i in ids) or labels.EMPTY
                    ),
                }
            )
        )
    if st.button(t("抽取并记录", "draw and record"), key="rv_draw"):
        try:
            seed = int(seed_text) if seed_text.strip() else None
            made = risk.record_draw(engine, v, year, int(top_n), float(share), seed)
        except ValueError:
            common.show_error(
                CarbonError(
                    f"随机种子须为0至{2**63 - 1}的整数", f"The seed must be a whole number from 0 to {2**63 - 1}"
                )
            )
        except CarbonError as exc:
            common.show_error(exc)
        st.success(
            t(f"已记录抽取（种子 {made['seed']}），抽中：", f"Draw recorded (seed {made['seed']}); drawn: ")
            + "、".join(
                names.get(scored.set_index("submission_id").loc[i, "enterprise_uscc"], str(i)) for i in made["selected"]
            )
        )

st.markdown("#### " + t("审核一份报送", "Review one submission"))
ids = list(scored["submission_id"])
by_id = scored.set_index("submission_id")
chosen = st.selectbox(
    t("报送", "submission"),
    ids,
    index=None,
    placeholder=t("请选择", "choose one"),
    # the label names the enterprise and version only: a label that changed with the state would make Streamlit
    # drop the choice when a step moves the state
    format_func=lambda i: (
        f"{names.get(by_id.loc[i, 'enterprise_uscc'], '')} · {t('第', 'v')}{by_id.loc[i, 'version']}{t('版', '')}"
    ),
    key="rv_sub",
)
if chosen is None:
    st.stop()
chosen = int(chosen)
state = str(by_id.loc[chosen, "state"])
lines = submissions.submission_lines(engine, v, chosen)
monthly = lines.assign(carrier=lines["carrier"].map(lambda c: labels.carrier(c, lang)))[
    ["carrier", "month", "quantity_canonical", "emissions_tco2e", "energy_tce"]
]
common.dataframe(monthly, column_config=common.columns(monthly))


def act(step, *args) -> None:
    """Run a review step; a refusal is shown, success reruns the page and says what became of the submission."""
    try:
        sub = step(engine, v, chosen, *args)
    except CarbonError as exc:
        common.show_error(exc)
    st.session_state["rv_done"] = (sub.id, sub.version, sub.state)
    st.rerun()


done = st.session_state.pop("rv_done", None)
if done and done[0] == chosen:
    st.success(
        t(
            f"第{done[1]}版：{codes.label('submission_state', done[2], 'zh')}",
            f"Version {done[1]}: {codes.label('submission_state', done[2], 'en')}",
        )
    )


c = st.columns(3)
if state == "submitted" and c[0].button(t("开始审核", "start the review"), key="rv_start"):
    act(review.start_review)
if state in ("submitted", "in_review") and c[1].button(t("审核通过", "approve"), key="rv_approve"):
    act(review.approve)
carriers = sorted(set(lines["carrier"]))
meters = submissions.submission_meters(engine, v, chosen)
if state in ("submitted", "in_review"):
    with st.form("rv_return"):
        st.markdown(t("**退回并附意见**", "**Return with a comment**"))
        f = st.columns(3)
        carrier = f[0].selectbox(t("能源品种", "carrier"), carriers, format_func=lambda x: labels.carrier(x, lang))
        month = f[1].selectbox(
            t("月份", "month"),
            [None, *range(1, 13)],
            format_func=lambda m: labels.EMPTY if m is None else labels.months([m], lang),
        )
        meter = f[2].selectbox(
            t("表号", "meter"),
            [None, *meters["meter_code"]],
            format_func=lambda m: labels.EMPTY if m is None else str(m),
        )
        text = st.text_area(t("意见", "comment"))
        if st.form_submit_button(t("退回", "return")):
            act(review.return_submission, [LineComment(text, carrier, month, meter)])
if state == "approved":
    with st.form("rv_verify"):
        st.markdown(
            t(
                "**录入核查结果**（不填调整即按报告值确认）",
                "**Record the verified figures** (no adjustment: as reported)",
            )
        )
        f = st.columns(3)
        carrier = f[0].selectbox(
            t("能源品种", "carrier"),
            [None, *carriers],
            format_func=lambda x: labels.EMPTY if x is None else labels.carrier(x, lang),
        )
        delta = f[1].number_input(t("排放调整（吨二氧化碳当量）", "adjustment (tCO2e)"), value=0.0, format="%.3f")
        reason = f[2].text_input(t("理由", "reason"))
        sure = st.checkbox(
            t(
                "核查结果录入后即为本年度正式数据，不能撤销",
                "Once recorded, these are the year's official figures; this cannot be undone",
            )
        )
        if st.form_submit_button(t("确认核查结果", "record")):
            if not sure:  # a form also submits on Enter: an irreversible step needs the box ticked
                st.warning(t("请先勾选确认框。", "Tick the box first."))
            else:
                act(verification.verify, [Adjustment(carrier, delta, reason)] if carrier else [])
if state == "verified":
    official = verification.official_figure(engine, v, year, str(by_id.loc[chosen, "enterprise_uscc"]))
    if official is not None:
        st.info(
            t(
                f"核查后排放总量：{fmt.tonnes_co2e(official['total_tco2e'], 'zh')}（报告值见上表）",
                f"Verified total: {fmt.tonnes_co2e(official['total_tco2e'], 'en')} (reported figures above)",
            )
        )
st.caption(
    t(
        f"状态：{codes.label('submission_state', state, 'zh')}；所在区县："
        f"{labels.region(str(by_id.loc[chosen, 'region_id']), 'zh')}",
        f"State: {codes.label('submission_state', state, 'en')}; jurisdiction: "
        f"{labels.region(str(by_id.loc[chosen, 'region_id']), 'en')}",
    )
)
